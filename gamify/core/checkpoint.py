"""Checkpoints and signed notes as text: the C2SP tlog-checkpoint body (c2sp.org/tlog-checkpoint)
inside a C2SP signed note (c2sp.org/signed-note), the format of Go's checksum database
(golang.org/x/mod/sumdb/note) and of Sigstore, so that their tools read our checkpoints.

This module only formats and parses, with the standard library: the Ed25519 signing and checking
lives in :mod:`gamify.audit.signed_note`. PyPI has no maintained signed-note package for Python
3.11 (aics-tlog needs 3.12; sigstore reads Rekor checkpoints in private modules only), so the
format is written here and tested against Go's published notes and keys.

Parsing is strict and every refusal is a ``ValueError`` that names the line and the rule, because
these texts come from files and servers an auditor does not control, and "malformed note" helps
nobody fix one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from gamify.core.merkle import HASH_SIZE

ED25519 = 0x01  # the signature type byte of Ed25519 note signatures
ED25519_KEY_SIZE = 32
KEY_ID_SIZE = 4
MAX_SIZE = 2**63 - 1  # the largest tree a BIGINT column (and Go's int64 tree sizes) can hold
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16; Go stops at 100

_LINE_NAMES = {1: "the origin", 2: "the tree size", 3: "the root hash"}
_SIGNATURE_PREFIX = "— "  # em dash (U+2014), space
_DECIMAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_KEY_HASH = re.compile(r"[0-9a-fA-F]{8}", re.ASCII)
_FORBIDDEN = re.compile(r"[\x00-\x09\x0b-\x1f\ud800-\udfff]")  # controls but newline; surrogates


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's ``origin``, its ``size`` in leaves and its RFC 9162 ``root``.
    ``extensions`` are the optional lines after the root, kept so a parsed body round-trips."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "the origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise TypeError(f"the tree size must be an int (got {type(self.size).__name__})")
        if not 0 <= self.size <= MAX_SIZE:
            raise ValueError(f"the tree size must be between 0 and {MAX_SIZE} (got {self.size})")
        if not isinstance(self.root, bytes):
            raise TypeError(f"the root hash must be bytes (got {type(self.root).__name__})")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"the root hash must be {HASH_SIZE} bytes (got {len(self.root)})")
        for line in self.extensions:
            _check_line(line, "an extension line")

    def body(self) -> str:
        """The note text: ``origin``, size, base64 root and any extension lines, each ending in a
        newline. This exact text is what a log signs."""
        lines = [self.origin, str(self.size), _b64(self.root), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The checkpoint a note text holds. Only the text: a caller must have checked the
        note's signature first (:func:`gamify.audit.signed_note.verify` does both)."""
        _check_text(text)
        if not text.endswith("\n"):
            raise ValueError("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise ValueError(
                "a checkpoint has at least three lines: origin, tree size, base64 root hash "
                f"(got {len(lines)})"
            )
        origin, size, root, *extensions = lines
        for number, line in enumerate(lines, start=1):
            if not line:
                name = _LINE_NAMES.get(number, "an extension line")
                raise ValueError(f"line {number}: {name} is empty")
        if not _DECIMAL.fullmatch(size):
            raise ValueError(
                f"line 2: the tree size must be decimal digits without leading zeros (got {size!r})"
            )
        if len(size) > len(str(MAX_SIZE)) or int(size) > MAX_SIZE:
            raise ValueError(f"line 2: the tree size is larger than {MAX_SIZE} (got {size})")
        digest = _unb64(root, "line 3: the root hash")
        if len(digest) != HASH_SIZE:
            raise ValueError(f"line 3: the root hash must be {HASH_SIZE} bytes (got {len(digest)})")
        return cls(origin, int(size), digest, tuple(extensions))


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's ``name``, its 4-byte ``key_id`` and the signature proper."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """``— <name> <base64(key id ‖ signature)>`` and a newline."""
        check_key_name(self.name)
        if len(self.key_id) != KEY_ID_SIZE:
            raise ValueError(f"a key id is {KEY_ID_SIZE} bytes (got {len(self.key_id)})")
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """A signed note taken apart, its signatures not yet checked: ``text`` means nothing until
    a signature by a trusted key over it verifies."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __str__(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def signatures_by(self, name: str, key_id: bytes) -> tuple[NoteSignature, ...]:
        """The signatures that claim to be by this key. The spec says to ignore all others, even
        one that shares the name or the id (never both) with a known key."""
        return tuple(s for s in self.signatures if s.name == name and s.key_id == key_id)


def parse_note(note: str | bytes) -> Note:
    """Split a signed note into its text and signature lines, checking the format only."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"a signed note must be UTF-8 ({error})") from None
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise ValueError("a signed note needs a blank line between its text and its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise ValueError("the signed note has no signature line after its last blank line")
    if not block.endswith("\n"):
        raise ValueError("the last signature line of the note does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise ValueError(f"the note has {len(lines)} signatures; at most {MAX_SIGNATURES} are read")
    first = text.count("\n") + 2
    return Note(text, tuple(_signature(line, first + n) for n, line in enumerate(lines)))


def check_key_name(name: str) -> None:
    """A key name is non-empty and holds neither Unicode spaces nor '+' (it is the first field
    of a verifier key, and a signature line splits on the space after it)."""
    if not isinstance(name, str):
        raise TypeError(f"a key name must be a string (got {type(name).__name__})")
    if not name:
        raise ValueError("a key name must not be empty")
    if "+" in name or any(c.isspace() for c in name):
        raise ValueError(f"a key name must contain neither spaces nor '+' (got {name!r})")
    _check_text(name)


def check_note_text(text: str) -> None:
    """A text that can be signed: no control character but newline, and a final newline (the
    blank line that follows it in the note then separates it from the signatures)."""
    _check_text(text)
    if not text.endswith("\n"):
        raise ValueError("a note text must end with a newline")


def key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 key: SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)[:4]."""
    check_key_name(name)
    _check_ed25519_key(public_key)
    return _key_id(name, bytes([ED25519]) + public_key)


def verifier_key(name: str, public_key: bytes) -> str:
    """``<name>+<key id in hex>+<base64(0x01 ‖ public key)>``: what a verifier configures."""
    return str(VerifierKey(name, public_key))


@dataclass(frozen=True)
class VerifierKey:
    """An Ed25519 verifier key: the key's name, its raw 32-byte public key, and its id."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _check_ed25519_key(self.public_key)

    @property
    def key_id(self) -> bytes:
        return key_hash(self.name, self.public_key)

    def __str__(self) -> str:
        encoded = _b64(bytes([ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Read ``<name>+<key hash>+<base64 key>``; surrounding whitespace (a file's final
        newline) is ignored."""
        parts = text.strip().split("+", 2)  # base64 may hold '+', a name and a hash never do
        if len(parts) != 3:
            raise ValueError(
                f"a verifier key has the form <name>+<8 hex digits>+<base64 key> (got {text!r})"
            )
        name, hex_id, encoded = parts
        check_key_name(name)
        if not _KEY_HASH.fullmatch(hex_id):
            raise ValueError(f"the key hash of a verifier key is 8 hex digits (got {hex_id!r})")
        raw = _unb64(encoded, "the key of the verifier key")
        if not raw:
            raise ValueError("the verifier key has an empty key")
        if raw[0] != ED25519:
            raise ValueError(
                f"unknown key type 0x{raw[0]:02x} in the verifier key (only Ed25519, 0x01)"
            )
        if len(raw) != 1 + ED25519_KEY_SIZE:
            raise ValueError(
                f"an Ed25519 verifier key holds {ED25519_KEY_SIZE} bytes (got {len(raw) - 1})"
            )
        key = cls(name, raw[1:])
        if key.key_id != bytes.fromhex(hex_id):
            raise ValueError(
                f"the key hash {hex_id} does not match the name and key "
                f"(they hash to {key.key_id.hex()})"
            )
        return key


def _signature(line: str, number: int) -> NoteSignature:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise ValueError(
            f"line {number}: a signature line starts with an em dash and a space (got {line!r})"
        )
    name, space, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if not space or not encoded:
        raise ValueError(f"line {number}: a signature line is '— <key name> <base64 signature>'")
    try:
        check_key_name(name)
    except ValueError as error:
        raise ValueError(f"line {number}: {error}") from None
    raw = _unb64(encoded, f"line {number}: the signature")
    if len(raw) <= KEY_ID_SIZE:
        raise ValueError(
            f"line {number}: a signature holds a {KEY_ID_SIZE}-byte key id and the signature "
            f"(got {len(raw)} bytes)"
        )
    return NoteSignature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])


def _key_id(name: str, typed_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + typed_key).digest()[:KEY_ID_SIZE]


def _check_ed25519_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes):
        raise TypeError(f"a public key must be bytes (got {type(public_key).__name__})")
    if len(public_key) != ED25519_KEY_SIZE:
        raise ValueError(
            f"an Ed25519 public key is {ED25519_KEY_SIZE} bytes (got {len(public_key)})"
        )


def _check_text(text: str) -> None:
    """Signed notes are UTF-8 without ASCII control characters other than newline."""
    if not isinstance(text, str):
        raise TypeError(f"a note must be text (got {type(text).__name__})")
    found = _FORBIDDEN.search(text)
    if found:
        char, position = found.group(), found.start()
        if char >= "\ud800":
            raise ValueError(
                f"a note must be valid UTF-8 (a lone surrogate at character {position})"
            )
        raise ValueError(
            f"a note must not hold the control character {char!r} (at character {position})"
        )


def _check_line(line: str, what: str) -> None:
    if not isinstance(line, str):
        raise TypeError(f"{what} must be a string (got {type(line).__name__})")
    if not line:
        raise ValueError(f"{what} must not be empty")
    if "\n" in line:
        raise ValueError(f"{what} must be a single line (got {line!r})")
    _check_text(line)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 section 4), padded, in its one canonical spelling, so that a
    parsed value formats back to the very text that was signed."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64 (got {text!r})") from None
    if _b64(raw) != text:
        raise ValueError(f"{what} is not canonical base64 (got {text!r})")
    return raw
