"""Fairness v2 bundles (CONTRACT §12): per-player nonces, the Merkle tree over the plays, and
signed checkpoints that make a truncated, rewritten or forked log a finding.

The six kinds of tampering an auditor names: an edited row, a deleted one, two swapped, a log
cut short against a later checkpoint, a fork shown to another auditor, and a play slipped into
a player's sequence. Each forger here re-chains the rows (``rechain``), as one who controls the
log would, so only the rule under test can catch the change.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from bundles import Bundle, Play, build_bundle, fixed_seed, leaf_hashes, rechain, write_records
from click.testing import CliRunner
from test_audit import CAMPAIGN, STARTS, plays, wheel

from gamify.audit import signed_note
from gamify.audit.bundle import campaign_record, play_record
from gamify.audit.verify import verify_bundle
from gamify.cli.main import cli
from gamify.core import fairness, merkle
from gamify.core.checkpoint import Checkpoint
from gamify.core.errors import BundleError
from gamify.core.rules import Rules

ORIGIN = f"shop.example/gamify/{CAMPAIGN}"
KEY_NAME = "shop.example/gamify"
PRIVATE = signed_note.load_private_key(signed_note.new_private_key_pem())


def v2(rules: Rules | None = None) -> Rules:
    return dataclasses.replace(rules or wheel(), algorithm=fairness.V2)


def build(
    path: Path, count: int = 16, rules: Rules | None = None, split: int | None = None
) -> Bundle:
    return build_bundle(path, rules or v2(), plays(count, split), [fixed_seed(0), fixed_seed(1)])


def records(bundle: Bundle, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [campaign_record(bundle.rules), *bundle.epochs, *map(play_record, rows)]


def checkpoint(rows: list[dict[str, Any]], origin: str = ORIGIN) -> Checkpoint:
    return Checkpoint(origin, len(rows), merkle.root_of(leaf_hashes(rows)))


def renumbered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows given gap-free seqs again and re-chained: what a forger does after a change."""
    out = [dict(row, seq=i) for i, row in enumerate(rows)]
    return rechain(out)


def finding(
    path: Path, rows: list[dict[str, Any]], bundle: Bundle, signed: Checkpoint | None
) -> BundleError:
    write_records(path, records(bundle, rows))
    with pytest.raises(BundleError) as info:
        verify_bundle(path, checkpoint=signed)
    return info.value


@pytest.fixture
def honest(tmp_path: Path) -> Bundle:
    return build(tmp_path / "honest.jsonl")


# --- v2 draws and nonces ---------------------------------------------------------------------


def test_a_v2_bundle_verifies_with_each_players_nonces(honest: Bundle) -> None:
    by_player: dict[str, list[int]] = {}
    for row in honest.rows:
        by_player.setdefault(row["player"], []).append(row["nonce"])
    assert all(nonces == list(range(len(nonces))) for nonces in by_player.values())
    report = verify_bundle(honest.path)
    assert report.plays == 16
    assert report.root == merkle.root_of(leaf_hashes(honest.rows)).hex()


def test_a_v2_draw_names_the_player_a_v1_draw_of_the_same_row_fails(
    honest: Bundle, tmp_path: Path
) -> None:
    as_v1 = dataclasses.replace(honest.rules, algorithm=fairness.V1)
    rows = [dict(row, config_hash=as_v1.config_hash) for row in honest.rows]
    forged = dataclasses.replace(honest, rules=as_v1)
    error = finding(tmp_path / "v1.jsonl", rechain(rows), forged, None)
    assert error.rule in {"nonce", "draw"}  # v1 numbers the epoch's plays, and draws apart


def test_v1_epochs_then_v2_epochs_verify_in_one_bundle(tmp_path: Path) -> None:
    v1_rules, v2_rules = wheel(), v2()
    first = build_bundle(tmp_path / "a.jsonl", v1_rules, plays(6), [fixed_seed(0)])
    later = [Play(p.client_seed, p.player, p.at + timedelta(hours=3), 1) for p in plays(6)]
    second = build_bundle(tmp_path / "b.jsonl", v2_rules, later, [fixed_seed(0), fixed_seed(1)])
    rows = [*first.rows, *[r for r in second.rows if r["epoch"] == 1]]
    rows = rechain([dict(row, seq=i) for i, row in enumerate(rows)])
    path = write_records(
        tmp_path / "both.jsonl",
        [
            campaign_record(v1_rules),
            campaign_record(v2_rules),
            *second.epochs,
            *map(play_record, rows),
        ],
    )
    report = verify_bundle(path)
    assert (report.plays, report.configs) == (12, 2)


def test_one_epoch_mixing_v1_and_v2_is_a_finding(tmp_path: Path) -> None:
    v1_rules, v2_rules = wheel(), v2()
    first = build_bundle(tmp_path / "a.jsonl", v1_rules, plays(4), [fixed_seed(0)])
    rows = [dict(row) for row in first.rows]
    rows[2]["config_hash"] = v2_rules.config_hash
    path = write_records(
        tmp_path / "mixed.jsonl",
        [campaign_record(v1_rules), campaign_record(v2_rules), *first.epochs,
         *map(play_record, rechain(rows))],
    )  # fmt: skip
    with pytest.raises(BundleError) as info:
        verify_bundle(path)
    assert (info.value.rule, info.value.seq) == ("algorithm", 2)
    assert "mixes gamify-fairness-v1 and gamify-fairness-v2" in info.value.detail


def test_an_unknown_algorithm_is_a_config_finding(honest: Bundle, tmp_path: Path) -> None:
    config = dict(campaign_record(honest.rules)["config"], algorithm="gamify-fairness-v9")
    from gamify.core.rules import config_hash

    record = {
        "type": "campaign",
        "id": CAMPAIGN,
        "config_hash": config_hash(config),
        "config": config,
    }
    path = write_records(tmp_path / "v9.jsonl", [record, *honest.epochs])
    with pytest.raises(BundleError) as info:
        verify_bundle(path)
    assert info.value.rule == "config" and "gamify-fairness-v9" in info.value.detail


# --- the six kinds of tampering -------------------------------------------------------------


def test_an_edited_row_rechained_is_caught_by_the_checkpoint(
    honest: Bundle, tmp_path: Path
) -> None:
    rows = [dict(row) for row in honest.rows]
    rows[5]["at"] = (STARTS + timedelta(hours=8, minutes=13 * 5, seconds=30)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    rows = rechain(rows)
    write_records(tmp_path / "edited.jsonl", records(honest, rows))
    verify_bundle(tmp_path / "edited.jsonl")  # every other rule still holds
    error = finding(tmp_path / "edited.jsonl", rows, honest, checkpoint(honest.rows))
    assert error.rule == "tree" and "changed, removed or inserted" in error.detail


def test_a_deleted_last_play_of_a_player_is_caught_by_the_checkpoint(
    honest: Bundle, tmp_path: Path
) -> None:
    last = max(i for i, row in enumerate(honest.rows) if row["player"] == "player-1")
    rows = renumbered([row for i, row in enumerate(honest.rows) if i != last])
    error = finding(tmp_path / "deleted.jsonl", rows, honest, checkpoint(honest.rows[:-1]))
    assert error.rule == "tree"


def test_a_deleted_play_in_the_middle_breaks_its_players_nonces(
    honest: Bundle, tmp_path: Path
) -> None:
    rows = renumbered([row for i, row in enumerate(honest.rows) if i != 5])  # player-1's 2nd
    error = finding(tmp_path / "deleted.jsonl", rows, honest, None)
    assert error.rule == "nonce" and "for player player-1" in error.detail


def test_swapped_plays_of_two_players_are_caught_by_the_checkpoint(
    honest: Bundle, tmp_path: Path
) -> None:
    rows = [dict(row) for row in honest.rows]
    rows[6], rows[7] = dict(rows[7], at=rows[6]["at"]), dict(rows[6], at=rows[7]["at"])
    rows = renumbered(rows)
    write_records(tmp_path / "swapped.jsonl", records(honest, rows))
    verify_bundle(tmp_path / "swapped.jsonl")  # each player's nonces still run 0, 1, 2…
    error = finding(tmp_path / "swapped.jsonl", rows, honest, checkpoint(honest.rows))
    assert error.rule == "tree"


def test_a_log_cut_short_of_a_later_checkpoint_is_truncated(honest: Bundle, tmp_path: Path) -> None:
    error = finding(tmp_path / "cut.jsonl", honest.rows[:10], honest, checkpoint(honest.rows))
    assert error.rule == "truncated"
    assert "covers 16 plays and the bundle holds 10" in error.detail


def test_a_longer_log_matches_an_earlier_checkpoint(honest: Bundle) -> None:
    report = verify_bundle(honest.path, checkpoint=checkpoint(honest.rows[:9]))
    assert report.plays == 16 and report.checkpoint is not None


def test_a_fork_shown_to_another_auditor_fails_against_the_first_ones_checkpoint(
    tmp_path: Path,
) -> None:
    shown_to_a = build(tmp_path / "a.jsonl", 12)
    other = [Play(f"fork-{i}", p.player, p.at, p.epoch) for i, p in enumerate(plays(12))]
    shown_to_b = build_bundle(tmp_path / "b.jsonl", v2(), [*plays(12)[:8], *other[8:]],
                              [fixed_seed(0), fixed_seed(1)])  # fmt: skip
    verify_bundle(shown_to_b.path)  # a consistent log on its own
    with pytest.raises(BundleError) as info:
        verify_bundle(shown_to_b.path, checkpoint=checkpoint(shown_to_a.rows))
    assert info.value.rule == "tree"
    verify_bundle(shown_to_b.path, checkpoint=checkpoint(shown_to_a.rows[:8]))  # shared prefix


def test_a_play_slipped_into_a_players_sequence_shows_in_their_nonces(
    honest: Bundle, tmp_path: Path
) -> None:
    """The operator burns player-2's next nonce with a play of its own: their later real play
    now carries a nonce the player's sequence has already used."""
    rows = [dict(row) for row in honest.rows]
    victim = next(
        i for i, row in enumerate(rows) if row["player"] == "player-2" and row["nonce"] == 1
    )
    rules = honest.rules
    seed = next(  # a play the log's own rules accept: drawn as the victim's would have been
        f"operator-{n}"
        for n in range(1000)
        if rules.prizes[
            fairness.draw(fixed_seed(0), CAMPAIGN, f"operator-{n}", 1, rules.running, "player-2")
        ].id
        == rows[victim]["drawn"]
    )
    burnt = dict(rows[victim], client_seed=seed, at=rows[victim - 1]["at"])
    rows.insert(victim, burnt)
    error = finding(tmp_path / "slipped.jsonl", renumbered(rows), honest, None)
    assert (error.rule, error.seq) == ("nonce", victim + 1)
    assert "expected nonce 2 for player player-2" in error.detail


def test_a_checkpoint_of_another_campaign_is_refused(honest: Bundle) -> None:
    with pytest.raises(BundleError) as info:
        verify_bundle(honest.path, checkpoint=checkpoint(honest.rows, "shop.example/gamify/other"))
    assert info.value.rule == "checkpoint-origin"


def test_an_empty_checkpoint_holds_for_any_bundle(honest: Bundle) -> None:
    assert verify_bundle(honest.path, checkpoint=checkpoint([])).plays == 16


# --- the command ----------------------------------------------------------------------------


def signed(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(signed_note.sign(checkpoint(rows).body(), KEY_NAME, PRIVATE), encoding="utf-8")
    return path


def test_verify_command_checks_the_tree_against_a_signed_checkpoint(
    honest: Bundle, tmp_path: Path
) -> None:
    note = signed(tmp_path / "checkpoint.txt", honest.rows)
    vkey = tmp_path / "log.vkey"
    vkey.write_text(signed_note.verifier_key_for(KEY_NAME, PRIVATE) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["verify", str(honest.path), "--checkpoint", str(note), "--key", str(vkey)]
    )
    assert result.exit_code == 0, result.output
    assert f"matches the signed checkpoint of {ORIGIN} at size 16" in result.output
    root = merkle.root_of(leaf_hashes(honest.rows)).hex()
    assert f"tree root: {root} (16 leaves)" in result.output


def test_verify_command_takes_a_pem_public_key_and_names_a_truncated_log(
    honest: Bundle, tmp_path: Path
) -> None:
    note = signed(tmp_path / "checkpoint.txt", honest.rows)
    pem = tmp_path / "log.pem"
    from cryptography.hazmat.primitives import serialization

    pem.write_bytes(
        PRIVATE.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    cut = write_records(tmp_path / "cut.jsonl", records(honest, honest.rows[:12]))
    result = CliRunner().invoke(
        cli, ["verify", str(cut), "--checkpoint", str(note), "--key", str(pem)]
    )
    assert result.exit_code == 1
    assert "truncated: the signed checkpoint covers 16 plays and the bundle holds 12" in (
        result.output
    )


@pytest.mark.parametrize(
    ("note_text", "key_text", "message"),
    [
        ("not a note\n", None, "malformed signed note"),
        (None, "someone+00000000+AQ==", "bad verifier key"),
        (None, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "PEM public key"),
        ("forged", None, "does not verify"),
    ],
)
def test_verify_command_refuses_a_bad_checkpoint_or_key_without_a_traceback(
    honest: Bundle, tmp_path: Path, note_text: str | None, key_text: str | None, message: str
) -> None:
    note = signed(tmp_path / "checkpoint.txt", honest.rows)
    if note_text == "forged":
        note.write_text(note.read_text().replace("\n16\n", "\n15\n"), encoding="utf-8")
    elif note_text is not None:
        note.write_text(note_text, encoding="utf-8")
    key = tmp_path / "key"
    key.write_text(key_text or signed_note.verifier_key_for(KEY_NAME, PRIVATE), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["verify", str(honest.path), "--checkpoint", str(note), "--key", str(key)]
    )
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


def test_verify_command_wants_checkpoint_and_key_together(honest: Bundle, tmp_path: Path) -> None:
    note = signed(tmp_path / "checkpoint.txt", honest.rows)
    result = CliRunner().invoke(cli, ["verify", str(honest.path), "--checkpoint", str(note)])
    assert result.exit_code == 2 and "--checkpoint and --key go together" in result.output


def test_past_a_few_players_their_nonces_move_to_a_file_and_still_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle of a million players verifies in flat memory: past ``in_memory`` players the
    nonces live in a temporary SQLite file, with the same findings."""
    from gamify.audit.verify import PlayerNonces

    monkeypatch.setattr(PlayerNonces, "in_memory", 3)
    many = [Play(f"s{i}", f"player-{i % 9}", STARTS + timedelta(hours=8, minutes=i), i // 30)
            for i in range(60)]  # fmt: skip
    bundle = build_bundle(tmp_path / "many.jsonl", v2(), many, [fixed_seed(0), fixed_seed(1)])
    assert verify_bundle(bundle.path).plays == 60
    rows = [dict(row) for row in bundle.rows]
    del rows[40]  # player-4's second play of epoch 1
    error = finding(tmp_path / "gap.jsonl", renumbered(rows), bundle, None)
    assert error.rule == "nonce" and "for player player-4" in error.detail
