"""The Merkle log over HTTP (CONTRACT §12): inclusion and consistency proofs that any RFC 9162
verifier accepts, against the root of the plays the audit bundle holds; bad parameters are
problems, never a 5xx. Every response is checked against the OpenAPI document (``client``)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from api_support import PREFIX, WHEEL, bearer, make_app
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from gamify.audit import signed_note
from gamify.audit.verify import verify_bundle
from gamify.cli.main import cli
from gamify.core import merkle
from gamify.core.canonical import canonical_json
from gamify.core.checkpoint import VerifierKey
from gamify.web.state import state

API = f"{PREFIX}/api/campaigns/{WHEEL}"
PLAYS = 11


@pytest.fixture
def played(client: FlaskClient, token: Callable[[str], str], tmp_path: Path) -> bytes:
    """Eleven plays by four customers; the root of the bundle's tree."""
    for i in range(PLAYS):
        response = client.post(f"{API}/plays", headers=bearer(token(f"c{i % 4}")))
        assert response.status_code == 201, response.get_json()
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_bytes(client.get(f"{API}/audit.jsonl").data)
    report = verify_bundle(bundle)
    assert report.plays == PLAYS
    return bytes.fromhex(report.root)


def test_an_inclusion_proof_checks_each_play_against_the_bundles_root(
    client: FlaskClient, played: bytes
) -> None:
    for seq in range(PLAYS):
        body = client.get(f"{API}/proof/inclusion?seq={seq}").get_json()
        assert (body["seq"], body["size"], body["root"]) == (seq, PLAYS, played.hex())
        hashes = [bytes.fromhex(h) for h in body["hashes"]]
        leaf = bytes.fromhex(body["leaf_hash"])
        assert merkle.verify_inclusion(leaf, seq, PLAYS, hashes, played)
    older = client.get(f"{API}/proof/inclusion?seq=2&size=5").get_json()
    assert older["size"] == 5 and older["root"] != played.hex()


def test_a_consistency_proof_shows_an_older_tree_is_a_prefix(
    client: FlaskClient, played: bytes
) -> None:
    old_root = bytes.fromhex(client.get(f"{API}/proof/inclusion?seq=0&size=6").get_json()["root"])
    body = client.get(f"{API}/proof/consistency?from=6").get_json()
    assert (body["from"], body["to"]) == (6, PLAYS)
    hashes = [bytes.fromhex(h) for h in body["hashes"]]
    assert merkle.verify_consistency(6, PLAYS, old_root, played, hashes)
    same = client.get(f"{API}/proof/consistency?from=4&to=4").get_json()
    assert same == {"from": 4, "to": 4, "hashes": []}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("proof/inclusion", "seq is required"),
        ("proof/inclusion?seq=", "seq is required"),
        ("proof/inclusion?seq=abc", "whole number"),
        ("proof/inclusion?seq=-1", "whole number"),
        ("proof/inclusion?seq=1.5", "whole number"),
        ("proof/inclusion?seq=%EF%BC%91", "whole number"),  # a full-width digit one
        ("proof/inclusion?seq=99999999999999999999999", "whole number"),
        ("proof/inclusion?seq=11", "0 to 10 for size 11"),
        ("proof/inclusion?seq=3&size=3", "0 to 2 for size 3"),
        ("proof/inclusion?seq=0&size=12", "the log's tree has 11 plays"),
        ("proof/inclusion?seq=0&size=0", "no plays"),
        ("proof/consistency", "from is required"),
        ("proof/consistency?from=0&to=5", "from must be between 1 and to"),
        ("proof/consistency?from=6&to=5", "from must be between 1 and to"),
        ("proof/consistency?from=1&to=12", "the log's tree has 11 plays"),
        ("proof/consistency?from=1&to=9223372036854775808", "whole number"),
    ],
)
def test_a_proof_out_of_range_or_malformed_is_a_problem(
    client: FlaskClient, played: bytes, query: str, words: str
) -> None:
    response = client.get(f"{API}/{query}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert words in response.get_json()["detail"]


def test_proofs_of_an_unknown_campaign_are_not_found(client: FlaskClient) -> None:
    response = client.get(f"{PREFIX}/api/campaigns/no-such-wheel/proof/inclusion?seq=0")
    assert response.status_code == 404


def test_a_campaign_without_plays_has_an_empty_tree(client: FlaskClient) -> None:
    response = client.get(f"{API}/proof/inclusion?seq=0")
    assert response.status_code == 400 and "no plays" in response.get_json()["detail"]


# -- signed checkpoints ------------------------------------------------------------------------


def test_the_log_key_is_published_as_a_verifier_key(client: FlaskClient) -> None:
    body = client.get(f"{PREFIX}/api/log/key").get_json()
    key = VerifierKey.parse(body["vkey"])
    assert key.name == body["name"] == "shop.test/gamify"
    assert base64.b64decode(body["ed25519"]) == key.public_key


def test_a_checkpoint_covers_every_play_and_verifies_with_the_published_key(
    client: FlaskClient, token: Callable[[str], str], played: bytes
) -> None:
    vkey = client.get(f"{PREFIX}/api/log/key").get_json()["vkey"]
    response = client.get(f"{API}/checkpoint")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    signed = signed_note.verify(response.get_data(as_text=True), vkey)
    assert (signed.origin, signed.size, signed.root) == (f"shop.test/gamify/{WHEEL}", PLAYS, played)
    assert client.get(f"{API}/checkpoint").data == response.data  # no play since: the same
    client.post(f"{API}/plays", headers=bearer(token("late")))
    later = signed_note.verify(client.get(f"{API}/checkpoint").get_data(as_text=True), vkey)
    assert later.size == PLAYS + 1
    proof = client.get(f"{API}/proof/consistency?from={PLAYS}&to={PLAYS + 1}").get_json()
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    assert merkle.verify_consistency(PLAYS, PLAYS + 1, signed.root, later.root, hashes)


def test_an_auditor_checks_the_bundle_against_the_downloaded_checkpoint(
    client: FlaskClient, played: bytes, tmp_path: Path
) -> None:
    (tmp_path / "log.vkey").write_text(client.get(f"{PREFIX}/api/log/key").get_json()["vkey"])
    (tmp_path / "checkpoint.txt").write_bytes(client.get(f"{API}/checkpoint").data)
    (tmp_path / "bundle.jsonl").write_bytes(client.get(f"{API}/audit.jsonl").data)
    args = ["verify", str(tmp_path / "bundle.jsonl"), "--checkpoint",
            str(tmp_path / "checkpoint.txt"), "--key", str(tmp_path / "log.vkey")]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"matches the signed checkpoint of shop.test/gamify/{WHEEL} at size {PLAYS}" in (
        result.output
    )


def test_a_rotation_signs_a_checkpoint_as_it_reveals_the_seed(
    app: Flask, client: FlaskClient, played: bytes
) -> None:
    current = state(app)
    first = current.service.checkpoint(WHEEL, fresh=False)  # the first play's, a minute ago
    assert first is not None and first.size == 1
    current.service.rotate(WHEEL)
    made = current.service.checkpoint(WHEEL, fresh=False)
    assert made is not None and (made.size, made.root) == (PLAYS, played)


def test_the_instance_key_is_made_once_and_kept(tmp_path: Path, campaigns_dir: Path) -> None:
    first = make_app(tmp_path / "store", campaigns_dir, GAMIFY_LOG_HOST="shop.test")
    second = make_app(tmp_path / "store", campaigns_dir, GAMIFY_LOG_HOST="shop.test")
    try:
        signers = [state(a).service.signer for a in (first, second)]
        assert signers[0] is not None and signers[1] is not None
        assert signers[0].vkey == signers[1].vkey
        key_file = tmp_path / "store" / "instance" / "gamify-signing-key.pem"
        assert key_file.stat().st_mode & 0o777 == 0o600
    finally:
        for a in (first, second):
            state(a).engine.dispose()


def test_a_configured_signing_key_is_used_and_a_broken_one_named(
    tmp_path: Path, campaigns_dir: Path
) -> None:
    pem = signed_note.new_private_key_pem()
    app = make_app(tmp_path / "a", campaigns_dir, GAMIFY_SIGNING_KEY=pem, GAMIFY_LOG_HOST="x.test")
    try:
        signer = state(app).service.signer
        expected = signed_note.verifier_key_for("x.test/gamify", signed_note.load_private_key(pem))
        assert signer is not None and signer.vkey == expected
        assert not (tmp_path / "a" / "instance" / "gamify-signing-key.pem").exists()
    finally:
        state(app).engine.dispose()
    with pytest.raises(RuntimeError, match="GAMIFY_SIGNING_KEY: not a usable PEM private key"):
        make_app(tmp_path / "b", campaigns_dir, GAMIFY_SIGNING_KEY="-----BEGIN nonsense")


def test_plays_are_checkpointed_at_least_every_minute(
    app: Flask, client: FlaskClient, token: Callable[[str], str]
) -> None:
    current = state(app)
    start = datetime.now(UTC)
    sizes = []
    for seconds in (0, 20, 40, 61, 70, 125):
        current.service.clock = lambda s=seconds: start + timedelta(seconds=s)  # type: ignore[misc]
        assert client.post(f"{API}/plays", headers=bearer(token(f"m{seconds}"))).status_code == 201
        made = current.service.checkpoint(WHEEL, fresh=False)
        sizes.append(made.size if made else None)
    assert sizes == [1, 1, 1, 4, 4, 6]


def test_gamify_checkpoint_prints_the_signed_note_an_auditor_keeps(
    app: Flask, client: FlaskClient, played: bytes
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["gamify", "checkpoint", WHEEL])
    assert result.exit_code == 0, result.output
    vkey = client.get(f"{PREFIX}/api/log/key").get_json()["vkey"]
    assert signed_note.verify(result.output, vkey).root == played
    missing = runner.invoke(args=["gamify", "checkpoint", "no-such-wheel"])
    assert missing.exit_code == 2 and "no campaign 'no-such-wheel'" in missing.output


def test_standalone_gamify_checkpoint_signs_only_with_a_configured_key(
    app: Flask, played: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = app.config["GAMIFY_DATABASE_URL"]
    state(app).service.rotate(WHEEL)  # a checkpoint of every play is kept
    monkeypatch.delenv("GAMIFY_SIGNING_KEY", raising=False)
    stored = CliRunner().invoke(cli, ["--database-url", database, "checkpoint", WHEEL])
    assert stored.exit_code == 0, stored.output
    assert f"\n{PLAYS}\n" in stored.output
    other = CliRunner().invoke(cli, ["--database-url", database, "checkpoint", "other-wheel"])
    assert other.exit_code == 2
    pem = signed_note.new_private_key_pem()
    monkeypatch.setenv("GAMIFY_SIGNING_KEY", pem)
    monkeypatch.setenv("GAMIFY_LOG_HOST", "cli.test")
    result = CliRunner().invoke(cli, ["--database-url", database, "checkpoint", WHEEL])
    assert result.exit_code == 0, result.output
    assert result.output == stored.output  # covers every play already: kept, not signed again


def test_a_shoppers_receipts_carry_proofs_against_a_signed_checkpoint(
    client: FlaskClient, token: Callable[[str], str], played: bytes
) -> None:
    vkey = client.get(f"{PREFIX}/api/log/key").get_json()["vkey"]
    receipts = client.get(f"{PREFIX}/api/me/plays", headers=bearer(token("c1"))).get_json()
    plays = receipts["plays"]
    assert [p["seq"] for p in plays] == [1, 5, 9]
    for play in plays:
        proof = play["proof"]
        signed = signed_note.verify(proof["checkpoint"], vkey)
        assert (
            (signed.size, signed.root.hex())
            == (proof["size"], proof["root"])
            == (
                PLAYS,
                played.hex(),
            )
        )
        hashes = [bytes.fromhex(h) for h in proof["hashes"]]
        row = {k: v for k, v in play.items() if k not in ("coupon", "proof")}
        leaf = merkle.leaf_hash(canonical_json(row))  # the shopper's own row, hashed
        assert leaf.hex() == proof["leaf_hash"]
        assert merkle.verify_inclusion(leaf, play["seq"], PLAYS, hashes, signed.root)


def test_receipts_of_one_campaign_are_asked_for_by_its_id(
    client: FlaskClient, token: Callable[[str], str], played: bytes
) -> None:
    headers = bearer(token("c2"))
    mine = client.get(f"{PREFIX}/api/me/plays?campaign={WHEEL}", headers=headers).get_json()
    assert [p["seq"] for p in mine["plays"]] == [2, 6, 10]
    assert {p["campaign"] for p in mine["plays"]} == {WHEEL}
    for unknown in ("no-such-game", "<b>", ""):
        response = client.get(f"{PREFIX}/api/me/plays?campaign={unknown}", headers=headers)
        assert response.status_code == 404, unknown
        assert response.get_json()["code"] == "campaign_not_found"


def test_a_receipts_config_version_is_served_as_its_hash_was_taken(
    client: FlaskClient, token: Callable[[str], str], played: bytes
) -> None:
    [first, *_] = client.get(f"{PREFIX}/api/me/plays", headers=bearer(token("c0"))).get_json()[
        "plays"
    ]
    response = client.get(f"{API}/configs/{first['config_hash']}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert hashlib.sha256(response.data).hexdigest() == first["config_hash"]
    config = response.get_json()
    assert config["algorithm"] == "gamify-fairness-v2" and config["id"] == WHEEL
    assert [p["weight"] for p in config["prizes"]] and all(
        isinstance(p["weight"], int) for p in config["prizes"]
    )
    assert "immutable" in response.headers["Cache-Control"]
    for wrong in ("0" * 64, first["config_hash"].upper(), "abc", "../../etc/passwd"):
        missing = client.get(f"{API}/configs/{wrong}")
        assert missing.status_code == 404, wrong
        assert missing.mimetype == "application/problem+json"
    assert client.get(f"{PREFIX}/api/campaigns/nope/configs/{'0' * 64}").status_code == 404


def test_the_open_epoch_says_when_it_closes_and_a_closed_one_does_not(
    client: FlaskClient, app: Flask
) -> None:
    body = client.get(f"{API}/fairness").get_json()
    [open_epoch] = body["epochs"]
    opened = datetime.fromisoformat(open_epoch["opened_at"])
    closes = datetime.fromisoformat(open_epoch["closes_at"])
    campaign = state(app).registry.find(WHEEL)
    assert closes == min(opened + campaign.rotate_every, campaign.ends)
    client.application.test_cli_runner().invoke(args=["gamify", "rotate", WHEEL])
    closed, now_open = client.get(f"{API}/fairness").get_json()["epochs"]
    assert closed["closes_at"] is None and closed["server_seed"] is not None
    assert now_open["closes_at"] is not None


def test_gamify_attest_tests_the_closed_epochs_of_the_verified_log(
    app: Flask, played: bytes, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    still_open = runner.invoke(args=["gamify", "attest", WHEEL])
    assert still_open.exit_code == 0, still_open.output  # nothing closed yet: nothing to test
    assert "Epochs tested: none" in still_open.output
    state(app).service.rotate(WHEEL)
    out = tmp_path / "statement.txt"
    result = runner.invoke(args=["gamify", "attest", WHEEL, "-o", str(out)])
    statement = out.read_text(encoding="utf-8")
    assert result.exit_code == (1 if "EVIDENCE AGAINST" in statement else 0), result.output
    assert (
        f"{PLAYS} plays verified" in statement and f"Merkle tree root {played.hex()}" in statement
    )
    assert f"Epochs tested: 0 (closed: seeds revealed), {PLAYS} draws" in statement
    bundle = out.with_suffix(".audit.jsonl")
    assert verify_bundle(bundle).plays == PLAYS
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() in statement
    wrong = runner.invoke(args=["gamify", "attest", WHEEL, "--epoch", "1"])
    assert wrong.exit_code == 1 and "epoch 1 is not closed" in wrong.output
