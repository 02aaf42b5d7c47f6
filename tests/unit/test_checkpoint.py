"""Checkpoints and signed notes: the C2SP text formats, Go's published vectors, Ed25519 signing
and verifying, and every malformed input named."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gamify.audit.signed_note import (
    CheckpointError,
    load_private_key,
    load_public_key,
    new_private_key_pem,
    public_key_bytes,
    sign,
    verifier_key_for,
    verify,
    verify_text,
)
from gamify.core.checkpoint import (
    MAX_SIZE,
    Checkpoint,
    Note,
    NoteSignature,
    VerifierKey,
    check_note_text,
    key_hash,
    parse_note,
    verifier_key,
)
from gamify.core.errors import GamifyError
from gamify.core.merkle import leaf_hash

# -- vectors --------------------------------------------------------------------------------------
# golang.org/x/mod/sumdb/note/note_test.go (github.com/golang/mod, BSD-3-Clause, commit
# fe2ec04f7c3c3aa6fad97631aafcff6e49e2d1db): a signer key, its verifier key, the note Go's Sign
# writes with it, and a second signature over the same text by another key.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
QUOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6"
    "KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33W"
    "Wd1RvMc+QQ=\n"
)
GO_NOTE = QUOTE + "\n" + PETER_SIG

# github.com/transparency-dev/formats log/note_test.go (Apache-2.0, commit
# 5242c17862d31acd165afafa140ecc973a621469): a real checkpoint of Go's checksum database,
# signed by sum.golang.org, and four key pairs made by Go's note.GenerateKey.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = (
    "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n"
    "— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvi"
    "mWEPWL+o3GeoWwOoAw=\n"
)
GO_KEY_PAIRS = [
    (
        "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ",
        "Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs",
    ),
    (
        "PRIVATE+KEY+Known+451c786d+AQPRoE2+Z+Ed1HaHBA9F/FfracvcZ2rDU39kCecMEoci",
        "Known+451c786d+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdUH",
    ),
    (
        "PRIVATE+KEY+KnownAgain+4893b26c+ARhZda/l25zjGZswYLDZsLNRzNpmv5wYTN9IoTr1OJ2+",
        "KnownAgain+4893b26c+AQ+LR7BFF/F/dkpIBjBpSvT0crkteizuUkavAoGeaYMj",
    ),
    (
        "PRIVATE+KEY+Unknown+fdbb2e08+Aav2knTC6orbhXX8pMWuNiWgO+Wwk2DB+h1eU2Q1W1nU",
        "Unknown+fdbb2e08+AWgRIYZ+8x1Vl+1Q+sR8zciNHiYI1SdlBjNw+RV0rots",
    ),
    (PETER_SKEY, PETER_VKEY),
]

# The example of c2sp.org/tlog-checkpoint (github.com/C2SP/C2SP tlog-checkpoint.md).
C2SP_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def go_signer(skey: str) -> tuple[str, Ed25519PrivateKey]:
    """The name and key of a Go signer key ``PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>``."""
    _, _, name, _, encoded = skey.split("+", 4)
    raw = base64.b64decode(encoded)
    assert raw[0] == 0x01
    return name, Ed25519PrivateKey.from_private_bytes(raw[1:])


ROOT = leaf_hash(b"hello world")
CHECKPOINT = Checkpoint("shop.example/gamify/spring-wheel", 1234, ROOT)


# -- checkpoint bodies ----------------------------------------------------------------------------


def test_a_body_is_origin_size_and_base64_root() -> None:
    # golang.org/x/mod/sumdb/tlog/note_test.go (TestFormatTree): the same three lines, the root
    # being tlog.RecordHash("hello world"), which is the RFC 6962 leaf hash.
    tree = Checkpoint("go.sum database tree", 123456789012, leaf_hash(b"hello world"))
    golden = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
    assert tree.body() == golden
    assert Checkpoint.parse(golden) == tree


def test_the_c2sp_example_round_trips() -> None:
    checkpoint = Checkpoint.parse(C2SP_BODY)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.body() == C2SP_BODY


def test_extension_lines_are_kept() -> None:
    text = CHECKPOINT.body() + "rotated epoch 7\nsecond line\n"
    parsed = Checkpoint.parse(text)
    assert parsed.extensions == ("rotated epoch 7", "second line")
    assert parsed.body() == text


@pytest.mark.parametrize("size", [0, 1, 10, MAX_SIZE])
def test_sizes_round_trip(size: int) -> None:
    checkpoint = Checkpoint("o", size, ROOT)
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


ROOT_B64 = base64.b64encode(ROOT).decode()


def body(size: str = "1234", root: str = ROOT_B64, origin: str = "shop.example/g") -> str:
    return f"{origin}\n{size}\n{root}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (body()[:-1], "ends with a newline"),
        ("shop.example/g\n1234\n", "at least three lines"),
        ("", "ends with a newline"),
        ("\n", "at least three lines"),
        (body(origin=""), "line 1: the origin is empty"),
        (body() + "\n", "line 4: an extension line is empty"),
        (body() + "ext\n\n", "line 5: an extension line is empty"),
        (body(size=""), "line 2: the tree size is empty"),
        ("o\n1\n\n", "line 3: the root hash is empty"),
        (body(size="0xabcdef"), "decimal digits without leading zeros"),  # Go tlog vector
        (body(size="bananas"), "decimal digits"),  # transparency-dev/formats vector
        (body(size="-34"), "decimal digits"),  # transparency-dev/formats vector
        (body(size="+5"), "decimal digits"),
        (body(size=" 5"), "decimal digits"),
        (body(size="1_000"), "decimal digits"),
        (body(size="١٢"), "decimal digits"),  # Arabic-Indic digits, which int() would take
        (body(size="007"), "without leading zeros"),
        (body(size="00"), "without leading zeros"),
        (body(size="3438945738945739845734895735"), "larger than"),  # formats vector
        (body(size=str(MAX_SIZE + 1)), "larger than"),
        (body(size="9" * 5000), "larger than"),
        (body(root="ThisIsn'tBase64"), "line 3: the root hash is not valid base64"),  # formats
        (
            body(root="TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG="),  # Go tlog vector
            "not canonical base64",
        ),
        (body(root="YmFuYW5hcw=="), "must be 32 bytes \\(got 7\\)"),  # formats vector
        (body(root=ROOT_B64.rstrip("=")), "not valid base64"),
        (body(root=ROOT_B64[:-2] + "1="), "not canonical base64"),
        (body(root=" " + ROOT_B64), "not valid base64"),
        (body(origin="shop\texample"), "control character '\\\\t'"),
        (body(origin="shop\rexample"), "control character"),
        (body(origin="shop\ud800"), "valid UTF-8"),
    ],
)
def test_malformed_bodies_are_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("", 1, ROOT), ValueError, "the origin must not be empty"),
        (("a\nb", 1, ROOT), ValueError, "the origin must be a single line"),
        (("o", -1, ROOT), ValueError, "between 0 and"),
        (("o", MAX_SIZE + 1, ROOT), ValueError, "between 0 and"),
        (("o", True, ROOT), TypeError, "tree size must be an int"),
        (("o", 1.0, ROOT), TypeError, "tree size must be an int"),
        (("o", 1, ROOT[:31]), ValueError, "32 bytes \\(got 31\\)"),
        (("o", 1, ROOT.hex()), TypeError, "root hash must be bytes"),
        (("o", 1, ROOT, ("",)), ValueError, "an extension line must not be empty"),
        (("o", 1, ROOT, ("a\nb",)), ValueError, "an extension line must be a single line"),
    ],
)
def test_a_checkpoint_cannot_be_built_wrong(
    args: tuple[object, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Checkpoint(*args)  # type: ignore[arg-type]


# -- signed notes ---------------------------------------------------------------------------------


def test_gos_note_parses_and_formats_back() -> None:
    note = parse_note(GO_NOTE + ENOCH_SIG)
    assert note.text == QUOTE
    assert [(s.name, s.key_id.hex()) for s in note.signatures] == [
        ("PeterNeumann", "c74f20a3"),
        ("EnochRoot", "af0cfe78"),
    ]
    assert len(note.signatures[0].signature) == 64
    assert str(note) == GO_NOTE + ENOCH_SIG
    assert note.signatures_by("PeterNeumann", bytes.fromhex("c74f20a3")) == note.signatures[:1]
    assert note.signatures_by("PeterNeumann", bytes.fromhex("af0cfe78")) == ()
    assert parse_note(GO_NOTE.encode()) == parse_note(GO_NOTE)


def test_the_text_ends_at_the_last_blank_line() -> None:
    text = "first\n\nsecond\n"
    note = parse_note(text + "\n" + PETER_SIG)
    assert note.text == text
    assert str(Note(text, note.signatures)) == text + "\n" + PETER_SIG


@pytest.mark.parametrize(
    ("note", "message"),
    [
        # The malformed messages of Go's TestOpen, each with the reason.
        (QUOTE, "needs a blank line between its text and its signatures"),
        (QUOTE + "\n", "has no signature line after its last blank line"),
        (QUOTE + "\n" + PETER_SIG[:-1], "does not end with a newline"),
        ("\x01" + GO_NOTE, "control character '\\\\x01'"),
        (b"\xff" + GO_NOTE.encode(), "must be UTF-8"),
        (
            QUOTE + "\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS\n",
            "line 4: the signature is not valid base64",
        ),
        (GO_NOTE + "Unexpected line.\n", "line 5: a signature line starts with an em dash"),
        (QUOTE + "\n" + PETER_SIG * 101, "101 signatures; at most 100"),
        # And the rest of the grammar.
        (QUOTE + "\n- PeterNeumann AAAAAAA=\n", "starts with an em dash and a space"),
        (QUOTE + "\n—PeterNeumann AAAAAAA=\n", "starts with an em dash and a space"),
        (QUOTE + "\n— PeterNeumann\n", "is '— <key name> <base64 signature>'"),
        (QUOTE + "\n— PeterNeumann \n", "is '— <key name> <base64 signature>'"),
        (QUOTE + "\n—  AAAAAAA=\n", "line 4: a key name must not be empty"),
        (QUOTE + "\n— a+b AAAAAAA=\n", "line 4: a key name must contain neither"),
        (QUOTE + "\n— a\u00a0b AAAAAAA=\n", "neither spaces nor"),
        (QUOTE + "\n— PeterNeumann AAAAAA==\n", "key id and the signature \\(got 4 bytes\\)"),
        (QUOTE + "\n— PeterNeumann AAAAAAA\n", "not valid base64"),
        (QUOTE + "\n" + PETER_SIG + "\n", "no signature line after its last blank line"),
        (QUOTE + "\n\t" + PETER_SIG, "control character"),
        ("", "needs a blank line"),
    ],
)
def test_malformed_notes_are_named(note: str | bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_note(note)


def test_a_signature_line_needs_a_four_byte_key_id() -> None:
    assert NoteSignature("n", b"\x00" * 4, b"sig").line() == "— n AAAAAHNpZw==\n"
    with pytest.raises(ValueError, match="a key id is 4 bytes"):
        NoteSignature("n", b"\x00" * 3, b"sig").line()


def test_note_texts_end_with_a_newline() -> None:
    check_note_text("a\n")
    with pytest.raises(ValueError, match="must end with a newline"):
        check_note_text("a")


# -- verifier keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(("skey", "vkey"), GO_KEY_PAIRS)
def test_key_hashes_and_verifier_keys_match_go(skey: str, vkey: str) -> None:
    name, private = go_signer(skey)
    public = public_key_bytes(private)
    assert key_hash(name, public).hex() == skey.split("+")[3]
    assert verifier_key(name, public) == vkey
    assert verifier_key_for(name, private) == vkey
    parsed = VerifierKey.parse(vkey)
    assert (parsed.name, parsed.public_key, str(parsed)) == (name, public, vkey)


def test_verifier_keys_parse_with_the_base64_s_plus_signs_and_a_final_newline() -> None:
    key = VerifierKey.parse(SUMDB_VKEY + "\n")
    assert (key.name, key.key_id.hex()) == ("sum.golang.org", "033de0ae")
    assert str(key) == SUMDB_VKEY
    assert VerifierKey.parse(ENOCH_VKEY.replace("af0cfe78", "AF0CFE78")) == VerifierKey.parse(
        ENOCH_VKEY
    )


def test_every_mangling_of_a_verifier_key_is_refused() -> None:
    """Go's TestNewVerifier: each proper substring and each single-byte change must fail."""
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(ValueError):
                    VerifierKey.parse(PETER_VKEY[i:j])
    for i in range(len(PETER_VKEY)):
        changed = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(ValueError):
            VerifierKey.parse(changed)


PETER_B64 = PETER_VKEY.split("+", 2)[2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PeterNeumann+c74f20a3", "has the form <name>\\+<8 hex digits>\\+<base64 key>"),
        ("", "has the form"),
        ("+c74f20a3+" + PETER_B64, "a key name must not be empty"),
        ("Peter Neumann+c74f20a3+" + PETER_B64, "neither spaces nor"),
        ("PeterNeumann+c74f20a+" + PETER_B64, "8 hex digits \\(got 'c74f20a'\\)"),
        ("PeterNeumann+c74f20a3x+" + PETER_B64, "8 hex digits"),
        ("PeterNeumann+zzzzzzzz+" + PETER_B64, "8 hex digits"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQ%gwxbzhKqiBfsVkmqq", "not valid base64"),
        ("PeterNeumann+c74f20a3+", "an empty key"),
        ("PeterNeumann+c74f20a4+" + PETER_B64, "key hash c74f20a4 does not match"),
        ("EnochRoot+c74f20a3+" + PETER_B64, "does not match the name and key"),
        # Go's: an unknown algorithm (0x65), and a key of the wrong length, each with its hash.
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key type 0x65"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy", "holds 32 bytes"),
        ("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key type 0x02"),
    ],
)
def test_malformed_verifier_keys_are_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VerifierKey.parse(text)


def test_key_hash_takes_only_32_byte_keys_and_good_names() -> None:
    with pytest.raises(ValueError, match="32 bytes \\(got 33\\)"):
        key_hash("n", b"\x01" * 33)
    with pytest.raises(ValueError, match="neither spaces nor"):
        key_hash("a b", b"\x01" * 32)
    with pytest.raises(TypeError, match="must be bytes"):
        key_hash("n", "k" * 32)  # type: ignore[arg-type]


# -- signing and verifying ------------------------------------------------------------------------


def test_a_note_signed_here_is_the_note_go_signs() -> None:
    """Ed25519 is deterministic: the same key over the same text gives Go's very bytes, so
    Go's verifier accepts what we sign."""
    name, key = go_signer(PETER_SKEY)
    assert sign(QUOTE, name, key) == GO_NOTE


def test_notes_go_signed_verify_here() -> None:
    assert verify_text(GO_NOTE, PETER_VKEY) == QUOTE
    assert verify_text(GO_NOTE + ENOCH_SIG, ENOCH_VKEY) == QUOTE
    assert verify_text((GO_NOTE + ENOCH_SIG).encode(), PETER_VKEY) == QUOTE
    assert verify_text(GO_NOTE + PETER_SIG, PETER_VKEY) == QUOTE  # a repeated signature


def test_a_real_checksum_database_checkpoint_verifies() -> None:
    checkpoint = verify(SUMDB_NOTE, SUMDB_VKEY)
    assert (checkpoint.origin, checkpoint.size) == ("go.sum database tree", 6476701)
    assert base64.b64encode(checkpoint.root) == b"mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk="


def test_a_checkpoint_round_trips_through_sign_and_verify() -> None:
    key = load_private_key(new_private_key_pem())
    name = "shop.example/gamify"
    note = sign(CHECKPOINT.body(), name, key)
    assert note.startswith(CHECKPOINT.body() + "\n— shop.example/gamify ")
    assert verify(note, verifier_key_for(name, key)) == CHECKPOINT
    extended = Checkpoint(CHECKPOINT.origin, 7, ROOT, ("epoch 3 closed",))
    assert verify(sign(extended.body(), name, key), verifier_key_for(name, key)) == extended


def test_witness_signatures_are_ignored_and_kept() -> None:
    log_name, log_key = go_signer(GO_KEY_PAIRS[0][0])
    witness_name, witness_key = go_signer(GO_KEY_PAIRS[1][0])
    note = sign(CHECKPOINT.body(), log_name, log_key)
    cosigned = note + sign(CHECKPOINT.body(), witness_name, witness_key).split("\n\n")[1]
    assert verify(cosigned, GO_KEY_PAIRS[0][1]) == CHECKPOINT
    assert verify(cosigned, GO_KEY_PAIRS[1][1]) == CHECKPOINT
    assert len(parse_note(cosigned).signatures) == 2


def test_a_note_signed_by_another_key_is_refused() -> None:
    with pytest.raises(
        CheckpointError,
        match=r"no signature by EnochRoot\+af0cfe78 \(it is signed by PeterNeumann\+c74f20a3\)",
    ):
        verify_text(GO_NOTE, ENOCH_VKEY)
    name, _ = go_signer(PETER_SKEY)
    impostor = Ed25519PrivateKey.generate()  # same name, another key: another key id
    with pytest.raises(CheckpointError, match="no signature by PeterNeumann"):
        verify(sign(CHECKPOINT.body(), name, impostor), PETER_VKEY)


def test_a_forged_signature_under_the_right_key_id_is_refused() -> None:
    """Key ids are short: anyone can claim one. The signature must still verify."""
    forger = Ed25519PrivateKey.generate()
    forged = forger.sign(CHECKPOINT.body().encode())
    line = NoteSignature("PeterNeumann", bytes.fromhex("c74f20a3"), forged).line()
    with pytest.raises(
        CheckpointError, match=r"signature by PeterNeumann\+c74f20a3 does not verify"
    ):
        verify(CHECKPOINT.body() + "\n" + line, PETER_VKEY)


def test_a_bad_signature_by_the_key_spoils_the_note_even_beside_a_good_one() -> None:
    # Go's TestOpen "invalid signature": four characters pushed into the base64.
    broken = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_text(QUOTE + "\n" + broken, PETER_VKEY)
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_text(GO_NOTE + broken, PETER_VKEY)


@pytest.mark.parametrize(
    "edit",
    [
        lambda note: note.replace("\n1234\n", "\n1233\n"),  # a truncated tree
        lambda note: note.replace("\n1234\n", "\n12345\n"),
        lambda note: note.replace("spring-wheel", "autumn-wheel"),
        lambda note: note.replace(
            base64.b64encode(ROOT).decode(), base64.b64encode(b"\x00" * 32).decode()
        ),
        lambda note: note.replace("\n\n", "\nextension\n\n", 1),
    ],
)
def test_an_edited_body_is_refused(edit: Callable[[str], str]) -> None:
    name, key = go_signer(PETER_SKEY)
    note = sign(CHECKPOINT.body(), name, key)
    edited = edit(note)
    assert edited != note
    with pytest.raises(CheckpointError, match="does not verify"):
        verify(edited, PETER_VKEY)


def test_malformed_input_to_verify_is_a_checkpoint_error() -> None:
    with pytest.raises(CheckpointError, match=r"malformed signed note: .*blank line"):
        verify(CHECKPOINT.body(), PETER_VKEY)
    with pytest.raises(CheckpointError, match=r"bad verifier key: .*does not match"):
        verify(GO_NOTE, PETER_VKEY.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(
        CheckpointError, match=r"the signed note is not a checkpoint: .*at least three"
    ):
        verify(GO_NOTE, PETER_VKEY)


def test_checkpoint_errors_are_gamify_errors_and_value_errors() -> None:
    assert issubclass(CheckpointError, GamifyError)
    assert issubclass(CheckpointError, ValueError)


@pytest.mark.parametrize(
    ("body", "name", "message"),
    [
        ("no final newline", "n", "must end with a newline"),
        ("a\x00b\n", "n", "control character"),
        (CHECKPOINT.body(), "two words", "neither spaces nor"),
        (CHECKPOINT.body(), "a+b", "neither spaces nor"),
        (CHECKPOINT.body(), "", "must not be empty"),
    ],
)
def test_what_cannot_be_signed(body: str, name: str, message: str) -> None:
    key = Ed25519PrivateKey.generate()
    with pytest.raises(CheckpointError, match=f"cannot sign this note: .*{message}"):
        sign(body, name, key)


# -- keys -----------------------------------------------------------------------------------------


def test_private_and_public_keys_load_from_pem() -> None:
    pem = new_private_key_pem()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    private = load_private_key(pem)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public = load_public_key(public_pem.decode())
    assert public_key_bytes(public) == public_key_bytes(private)
    assert len(public_key_bytes(private)) == 32
    assert load_private_key(new_private_key_pem()) != private


def test_keys_that_are_not_ed25519_pem_are_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    ec_public = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(CheckpointError, match="must be Ed25519"):
        load_private_key(ec_pem)
    with pytest.raises(CheckpointError, match="must be Ed25519"):
        load_public_key(ec_public.decode())
    with pytest.raises(CheckpointError, match="not a usable PEM private key"):
        load_private_key("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(CheckpointError, match="not a usable PEM public key"):
        load_public_key(PETER_VKEY)
    with pytest.raises(CheckpointError, match="neither spaces nor"):
        verifier_key_for("two words", load_private_key(new_private_key_pem()))
