"""The `gamify` commands as a marketer and an auditor use them: output, files and exit codes."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from gamify.audit.bundle import read_records
from gamify.campaigns.loader import load_campaign, load_campaigns
from gamify.campaigns.schema import campaign_schema
from gamify.cli.commands import ProgressBar
from gamify.cli.main import cli
from gamify.core.campaign import Campaign
from gamify.core.periods import period_key
from gamify.core.rules import parse_utc

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "campaigns"
WHEEL = EXAMPLES / "black-friday-wheel.yaml"
SCRATCH = EXAMPLES / "welcome-back-scratch.yaml"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_check_prints_odds_cost_and_warnings_of_every_example(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["check", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "black-friday-wheel" in out and "welcome-back-scratch" in out
    assert "tablet" in out and "1.00 %" in out and "1 in 100.0" in out
    assert "expected cost per play: 7.05" in out
    assert "stock of `tablet` expected to run out after about 100 plays" in out
    assert "daily budget of 1500 expected to be reached after about 213 plays in a day" in out
    # percents 62.5 / 30 / 7.5 are shown as the integer weights they became
    assert "free-shipping      25      62.50 %" in out


def test_check_reports_every_mistake_with_location_and_exits_1(
    runner: CliRunner, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    text = WHEEL.read_text(encoding="utf-8")
    text = text.replace("weight: 30", "weight: 0").replace('color: "#e4572e"', 'colour: "#e4572e"')
    broken.write_text(text, encoding="utf-8")
    result = runner.invoke(cli, ["check", str(broken)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{broken}:25:13: prizes[0].weight: ")
    assert "(got 0)" in lines[0]
    assert lines[1].startswith(f"{broken}:28:5: prizes[0].colour: unknown key")
    assert "did you mean `color`?" in lines[1]


def test_check_of_a_missing_path_is_bad_usage(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2


def test_simulate_export_is_byte_identical_for_the_same_file_plays_and_seed(
    runner: CliRunner, tmp_path: Path
) -> None:
    outputs = []
    for name, seed in (("a", "s1"), ("b", "s1"), ("c", "s2")):
        out = tmp_path / f"{name}.jsonl"
        result = runner.invoke(
            cli, ["simulate", str(WHEEL), "--plays", "600", "--seed", seed, "--export", str(out)]
        )
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


def test_simulation_keeps_stock_limits_and_daily_budget(tmp_path: Path) -> None:
    out = tmp_path / "sim.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            str(WHEEL),
            "--plays",
            "3000",
            "--seed",
            "x",
            "--customers",
            "700",
            "--export",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "tablet" in result.output and "play " in result.output  # when the tablet ran out
    campaign = load_campaign(WHEEL)
    plays = [r for _, _, r in read_records(out) if r["type"] == "play"]
    awarded = Counter(r["awarded"] for r in plays)
    for prize in campaign.prizes:
        if prize.stock is not None:
            assert awarded[prize.id] <= prize.stock
    per_day: Counter[tuple[str, str]] = Counter()
    spent: Counter[str] = Counter()
    for row in plays:
        day = period_key(parse_utc(row["at"]), campaign.timezone, "day")
        per_day[row["player"], day] += 1
        spent[day] += campaign.prize(row["awarded"]).value or 0
    assert max(per_day.values()) == 1  # one play a day per customer
    assert max(spent.values()) <= 1500
    # 700 shoppers, one play a day, four days: the last 200 moments find nobody allowed
    assert len(plays) == 2800
    assert "200 time slots without a play" in result.output


def test_verify_accepts_a_simulation_and_names_the_first_tampered_seq(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "sim.jsonl"
    runner.invoke(
        cli, ["simulate", str(SCRATCH), "--plays", "200", "--seed", "v", "--export", str(out)]
    )
    ok = runner.invoke(cli, ["verify", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "OK: welcome-back-scratch: 200 plays verified" in ok.output
    assert "\r" not in ok.output  # no progress bar when the output is not a terminal

    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    row = json.loads(lines[2 + 57])
    row["client_seed"] = "forged"
    lines[2 + 57] = json.dumps(row) + "\n"
    out.write_text("".join(lines), encoding="utf-8")
    bad = runner.invoke(cli, ["verify", str(out)])
    assert bad.exit_code == 1
    assert "FAILED: seq 57: hash:" in bad.output


def test_verify_of_a_file_that_is_not_json_lines_is_a_finding(
    runner: CliRunner, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text("hello\n", encoding="utf-8")
    result = runner.invoke(cli, ["verify", str(junk)])
    assert result.exit_code == 1
    assert "line 1: json:" in result.output


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only() -> None:
    ticks = iter([0.0, 0.5, 0.55, 1.0, 2.0])
    tty = _Terminal()
    bar = ProgressBar(1000, tty, clock=lambda: next(ticks))
    assert bar.enabled
    bar.update(500)
    bar.update(600)  # within 0.1 s of the last draw: skipped
    bar.update(1000)
    bar.finish()
    drawn = tty.getvalue()
    assert drawn.count("%") == 2 and "50.0%" in drawn and "100.0%" in drawn
    assert not ProgressBar(1000, io.StringIO()).enabled


def test_schema_command_prints_the_schema_and_the_published_copy_is_current(
    runner: CliRunner,
) -> None:
    result = runner.invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == campaign_schema()
    published = json.loads((ROOT / "docs" / "campaign.schema.json").read_text(encoding="utf-8"))
    assert published == campaign_schema(), "run: gamify schema > docs/campaign.schema.json"


def test_examples_point_editors_at_the_schema_and_speak_spanish_and_english() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        schema = "loyalty" if path.name == "loyalty.yaml" else "campaign"
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../../docs/{schema}.schema.json"
        assert (path.parent / f"../../docs/{schema}.schema.json").exists()
    for campaign in load_campaigns(EXAMPLES):
        labels = (
            [p.label for p in campaign.prizes]
            if isinstance(campaign, Campaign)
            else [
                campaign.reward.label,
                *(s.label for s in campaign.steps),
                *(
                    t
                    for s in campaign.steps
                    if s.quiz
                    for q in s.quiz.questions
                    for t in (q.text, *q.options)
                ),
            ]
        )
        for text in [campaign.title, *labels]:
            assert set(text.languages) == {"es", "en"}


def test_unknown_command_and_option_are_bad_usage(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["frobnicate"]).exit_code == 2
    assert (
        runner.invoke(cli, ["simulate", str(WHEEL), "--plays", "0", "--seed", "s"]).exit_code == 2
    )


# -- what a game's terms page needs (CONTRACT §13) --------------------------------------------

ORGANISER_JSON = '{"name": "Tienda Demo S.L.", "email": "promos@tienda.example"}'


GAME = """\
id: {id}
game: wheel
title: {{es: "Rueda", en: "Wheel"}}
timezone: Europe/Madrid
starts: 2026-11-27T00:00:00
ends: 2026-12-01T00:00:00
{guests}fallback: nothing
prizes:
  - id: mug
    label: {{es: "Una taza", en: "A mug"}}
    weight: 1
    value: 8
  - id: nothing
    label: {{es: "Nada", en: "Nothing"}}
    weight: 3
    win: false
"""
GUESTS = """\
guests:
  consent: {es: "Acepto", en: "I agree"}
"""


def game_file(folder: Path, campaign_id: str, guests: bool = False) -> Path:
    """A small wheel whose winning prize has a value; with ``guests`` (on line 7), open to
    shoppers without an account."""
    path = folder / f"{campaign_id}.yaml"
    path.write_text(GAME.format(id=campaign_id, guests=GUESTS if guests else ""), "utf-8")
    return path


def test_check_warns_about_a_winning_prize_without_a_value_and_still_exits_0(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAMIFY_ORGANISER", ORGANISER_JSON)
    result = runner.invoke(cli, ["check", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert (
        f"{SCRATCH}:25:5: prizes[0]: warning: the winning prize `free-shipping` has no value: "
        "the terms page cannot state what it is worth (add `value:`)"
    ) in result.stderr.splitlines()
    assert "GAMIFY_ORGANISER" not in result.stderr
    assert "welcome-back-scratch" in result.stdout  # the odds are printed as before


def test_check_warns_about_every_game_when_no_organiser_is_configured(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GAMIFY_ORGANISER", raising=False)
    plain, guests = game_file(tmp_path, "plain-wheel"), game_file(tmp_path, "guest-wheel", True)
    result = runner.invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"{guests}:7:1: guests: warning: no organiser is configured (GAMIFY_ORGANISER): the "
        "terms page cannot say who runs this game or whom guests ask to erase their data",
        f"{plain}:1:1: id: warning: no organiser is configured (GAMIFY_ORGANISER): the terms "
        "page cannot say who runs this game",
    ]
    examples = runner.invoke(cli, ["check", str(EXAMPLES)])
    organiser = [line for line in examples.stderr.splitlines() if "GAMIFY_ORGANISER" in line]
    assert len(organiser) == 2  # the two games; the challenge has no terms page
    assert not any("seasonal-challenge" in line for line in organiser)


def test_check_refuses_a_malformed_organiser_in_the_environment_as_bad_usage(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAMIFY_ORGANISER", '{"nombre": "Tienda"}')
    result = runner.invoke(cli, ["check", str(WHEEL)])
    assert result.exit_code == 2
    assert "GAMIFY_ORGANISER: unknown key(s) 'nombre'" in result.output


def test_check_errors_keep_their_form_and_exit_status_beside_warnings(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GAMIFY_ORGANISER", raising=False)
    broken = tmp_path / "broken.yaml"
    broken.write_text(WHEEL.read_text(encoding="utf-8").replace("weight: 30", "weight: 0"))
    result = runner.invoke(cli, ["check", str(broken), str(SCRATCH)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{broken}:25:13: prizes[0].weight: ")
    assert all(": warning: " in line for line in lines[1:]) and len(lines) == 3


@pytest.mark.parametrize("organiser", [None, {"name": "Tienda Demo S.L."}])
def test_flask_gamify_check_reads_the_organiser_from_the_app_config(
    tmp_path: Path, organiser: dict[str, str] | None
) -> None:
    from flask import Flask

    from gamify import Gamify
    from gamify.web.state import state

    app = Flask("store", instance_path=str(tmp_path / "instance"))
    app.config.update(
        GAMIFY_SECRET_KEY="secret",
        GAMIFY_DATABASE_URL=f"sqlite:///{tmp_path / 'gamify.sqlite3'}",
        GAMIFY_CAMPAIGNS=str(EXAMPLES),
        GAMIFY_ORGANISER=organiser,
    )
    Gamify(app)
    try:
        result = app.test_cli_runner().invoke(args=["gamify", "check", str(WHEEL)])
    finally:
        state(app).engine.dispose()
    assert result.exit_code == 0, result.output
    assert ("GAMIFY_ORGANISER" in result.output) is (organiser is None)
