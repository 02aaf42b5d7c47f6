"""Ed25519 signatures on checkpoints, as signed notes (c2sp.org/signed-note).

Ed25519 signatures are deterministic, so a note signed here is byte for byte the note Go's
``golang.org/x/mod/sumdb/note`` signs with the same key, and each verifies the other's. The text
format is :mod:`gamify.core.checkpoint`'s; this module adds only what needs ``cryptography``.
Every refusal is a :class:`CheckpointError`, so the CLI and the API can report a forged or
broken checkpoint as a finding rather than a traceback.
"""

from __future__ import annotations

import contextlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from gamify.core.checkpoint import (
    Checkpoint,
    NoteSignature,
    VerifierKey,
    check_key_name,
    check_note_text,
    key_hash,
    parse_note,
    verifier_key,
)
from gamify.core.errors import GamifyError


class CheckpointError(GamifyError, ValueError):
    """A signed note, checkpoint or key that cannot be trusted: malformed, not signed by the
    expected key, or signed with a signature that does not verify."""


def new_private_key_pem() -> str:
    """A fresh Ed25519 private key as unencrypted PKCS#8 PEM (the form ``GAMIFY_SIGNING_KEY``
    takes), for an instance that has none yet."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")


def load_private_key(pem: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``pem`` (unencrypted PKCS#8)."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"not a usable PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"the signing key must be Ed25519 (got {type(key).__name__})")
    return key


def load_public_key(pem: str) -> Ed25519PublicKey:
    """The Ed25519 public key in ``pem`` (SubjectPublicKeyInfo), as an auditor's key file."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"not a usable PEM public key: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"the public key must be Ed25519 (got {type(key).__name__})")
    return key


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key (RFC 8032), as the verifier key and key id encode it."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verifier_key_for(name: str, private_key: Ed25519PrivateKey) -> str:
    """``<name>+<key id>+<base64(0x01 ‖ public key)>`` for the key that signs as ``name``."""
    try:
        return str(VerifierKey(name, public_key_bytes(private_key)))
    except ValueError as error:
        raise CheckpointError(str(error)) from None


def sign(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note: ``body`` (a note text, normally :meth:`Checkpoint.body`), a blank line,
    and one signature line by ``name``."""
    try:
        check_key_name(name)
        check_note_text(body)
    except ValueError as error:
        raise CheckpointError(f"cannot sign this note: {error}") from None
    key_id = key_hash(name, public_key_bytes(private_key))
    signature = private_key.sign(body.encode())
    return body + "\n" + NoteSignature(name, key_id, signature).line()


def verify_text(note: str | bytes, verifier_key: str) -> str:
    """The text of ``note`` once a signature by ``verifier_key`` is checked. Signatures by other
    keys are ignored, as the spec requires (witnesses may add theirs); a signature that claims
    this key and does not verify makes the whole note untrusted."""
    try:
        key = VerifierKey.parse(verifier_key)
    except ValueError as error:
        raise CheckpointError(f"bad verifier key: {error}") from None
    try:
        parsed = parse_note(note)
    except ValueError as error:
        raise CheckpointError(f"malformed signed note: {error}") from None
    claims = parsed.signatures_by(key.name, key.key_id)
    if not claims:
        others = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in parsed.signatures)
        raise CheckpointError(
            f"the note has no signature by {key.name}+{key.key_id.hex()} (it is signed by {others})"
        )
    public = Ed25519PublicKey.from_public_bytes(key.public_key)
    for claim in claims:
        try:
            public.verify(claim.signature, parsed.text.encode())
        except InvalidSignature:
            raise CheckpointError(
                f"the signature by {key.name}+{key.key_id.hex()} does not verify: the note was "
                "changed after it was signed, or signed by another key with the same id"
            ) from None
    return parsed.text


def verify(note: str | bytes, verifier_key: str) -> Checkpoint:
    """The checkpoint in ``note``, once its signature by ``verifier_key`` is checked."""
    text = verify_text(note, verifier_key)
    try:
        return Checkpoint.parse(text)
    except ValueError as error:
        raise CheckpointError(f"the signed note is not a checkpoint: {error}") from None


def verify_with(note: str | bytes, key_text: str) -> Checkpoint:
    """The checkpoint in ``note`` checked with an auditor's key file: a verifier key line
    (``<name>+<id>+<key>``, as ``GET /api/log/key`` gives it) or an Ed25519 PEM public key. A
    PEM key carries no name: the note's signature whose id the key matches under its own name
    is the one checked."""
    if "-----BEGIN" not in key_text:
        return verify(note, key_text)
    raw = public_key_bytes(load_public_key(key_text))
    try:
        parsed = parse_note(note)
    except ValueError as error:
        raise CheckpointError(f"malformed signed note: {error}") from None
    for signature in parsed.signatures:
        with contextlib.suppress(ValueError):  # a witness's name this format cannot hold
            if key_hash(signature.name, raw) == signature.key_id:
                return verify(note, verifier_key(signature.name, raw))
    raise CheckpointError("the note has no signature by this public key")


class LogSigner:
    """The key a log signs its checkpoints with, under its note name (``<host>/gamify``)."""

    def __init__(self, private_key: Ed25519PrivateKey, name: str) -> None:
        check_key_name(name)
        self.private_key = private_key
        self.name = name
        self.public_key = public_key_bytes(private_key)
        self.vkey = verifier_key(name, self.public_key)

    def sign(self, body: str) -> str:
        return sign(body, self.name, self.private_key)
