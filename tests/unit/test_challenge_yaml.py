"""Challenge YAML (``game: challenge``): a valid file becomes a Challenge; every mistake of a file
is reported at once, located, as for the games; the JSON Schema agrees on the obvious ones."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from gamify.campaigns.loader import load_campaign, load_campaigns
from gamify.campaigns.registry import Registry
from gamify.campaigns.schema import campaign_schema
from gamify.campaigns.yaml_nodes import parse_yaml
from gamify.core.challenge import AtMost, Challenge, ExtraPlays, Where
from gamify.core.errors import CampaignError, ConfigIssue

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "campaigns"

# Line numbers below are those of this text; tests change one line and keep the rest.
VALID = """\
id: reto
game: challenge
title: {es: "Reto", en: "Challenge"}
timezone: Europe/Madrid
starts: 2026-11-01T00:00:00
ends: 2026-12-31T00:00:00
steps:
  - id: compras
    label: {es: "Tres pedidos", en: "Three orders"}
    event: order.paid
    where: {min_total: 20, category: [shoes, bags]}
    count: 3
    at_most: {times: 1, per: day}
  - id: gasto
    label: Gasta 150
    event: order.paid
    sum: total
    target: 150
  - id: quiz
    label: Quiz
    quiz:
      pass: 1
      attempts: 3
      questions:
        - text: "¿?"
          options: [a, b, c]
          answer: 2
complete: any
repeat: week
winners_max: 100
reward:
  label: Premio
  coupon: {pattern: "R-{code:8}"}
  plays: {campaign: wheel, count: 2}
  points: 200
"""

WHEEL = """\
id: wheel
game: wheel
title: Wheel
timezone: Europe/Madrid
starts: 2026-11-01T00:00:00
ends: 2026-12-31T00:00:00
fallback: nothing
prizes:
  - {id: nothing, label: Nothing, weight: 1, win: false}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "wheel.yaml").write_text(WHEEL, encoding="utf-8")
    return tmp_path


@pytest.fixture
def issues(folder: Path) -> Callable[[str], list[ConfigIssue]]:
    def issues(text: str) -> list[ConfigIssue]:
        path = folder / "reto.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(CampaignError) as caught:
            load_campaign(path)
        return list(caught.value.issues)

    return issues


def edit(old: str, new: str, text: str = VALID) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_a_valid_challenge_loads_with_every_part(folder: Path) -> None:
    path = folder / "reto.yaml"
    path.write_text(VALID, encoding="utf-8")
    challenge = load_campaign(path)
    assert isinstance(challenge, Challenge)
    orders, spend, quiz = challenge.steps
    assert orders.where == Where(min_total=Decimal(20), category=("shoes", "bags"))
    assert orders.at_most == AtMost(1, "day") and orders.goal == 3
    assert spend.sum == "total" and spend.goal == Decimal(150)
    assert quiz.quiz is not None and quiz.quiz.questions[0].answer == 2
    assert (challenge.complete, challenge.repeat, challenge.winners_max) == ("any", "week", 100)
    assert challenge.reward.plays == ExtraPlays("wheel", 2) and challenge.reward.points == 200
    assert challenge.source == path


def test_the_example_loads_beside_its_games() -> None:
    found = {c.id: c for c in load_campaigns(EXAMPLES)}
    assert isinstance(found["seasonal-challenge"], Challenge)


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("          answer: 2", "          answer: 3",
         (27, 19, "steps[2].quiz.questions[0].answer"),
         "is the index of the right option, from 0 to 2"),
        ("    target: 150\n", "", (14, 5, "steps[1].target"), "sum: needs target:"),
        ("    event: order.paid\n    sum", "    sum", (14, 5, "steps[1].event"),
         "a step needs event (what customers do) or quiz"),
        ("campaign: wheel,", "campaign: wheels,", (34, 21, "reward.plays.campaign"),
         "no wheel or scratch campaign has this id; did you mean `wheel`?"),
        ("      pass: 1", "      pass: 2", (22, 13, "steps[2].quiz.pass"),
         "cannot be more than the 1 questions"),
        ("    count: 3", "    count: 3\n    sum: total", (13, 5, "steps[0].sum"),
         "give either count or sum (with target), not both"),
        ("    event: order.paid\n    sum: total", "    event: review.published\n    sum: total",
         (17, 10, "steps[1].sum"), "`sum: total` adds up orders: it needs an order.* event"),
        ("repeat: week", "repeat: daily", (29, 9, "repeat"), "must be one of never, week, month"),
        ("  - id: gasto", "  - id: compras", (14, 9, "steps[1].id"), "duplicate step id"),
        ("    at_most: {times: 1, per: day}", "    at_most: {times: 1, per: month}",
         (13, 30, "steps[0].at_most.per"), "must be one of day, week"),
        ("          options: [a, b, c]", "          options: [a]",
         (26, 20, "steps[2].quiz.questions[0].options"), "must be a list of 2 to 10 options"),
    ],
)  # fmt: skip
def test_each_mistake_is_located_and_named(
    issues: Callable[[str], list[ConfigIssue]],
    old: str,
    new: str,
    where: tuple[int, int, str],
    message: str,
) -> None:
    found = issues(edit(old, new))
    assert any(
        (i.line, i.column, i.path) == where and i.message.startswith(message) for i in found
    ), [str(i) for i in found]


def test_every_mistake_of_a_file_is_reported_at_once(
    issues: Callable[[str], list[ConfigIssue]],
) -> None:
    text = edit("          answer: 2", "          answer: 7")
    text = edit("    target: 150\n", "", text)
    text = edit("campaign: wheel,", "campaign: nope,", text)
    text = edit("    where: {min_total: 20", "    where: {min_totl: 20", text)
    found = issues(text)
    paths = [i.path for i in found]
    assert paths == [
        "steps[0].where.min_totl",
        "steps[1].target",
        "steps[2].quiz.questions[0].answer",
        "reward.plays.campaign",
    ], [str(i) for i in found]
    assert all(str(i).startswith(f"{i.file}:{i.line}:{i.column}: ") for i in found)


def test_a_broken_challenge_keeps_its_last_good_version_running(folder: Path) -> None:
    loaded: list[str] = []
    registry = Registry(folder, on_load=lambda c: loaded.append(c.id), interval=0)
    (folder / "reto.yaml").write_text(VALID, encoding="utf-8")
    registry.reload()
    assert registry.challenge("reto").winners_max == 100
    assert [c.id for c in registry.all()] == ["wheel"]  # a challenge is not a game
    (folder / "reto.yaml").write_text(edit("winners_max: 100", "winners_max: -1"), "utf-8")
    report = registry.reload()
    assert report.refused and registry.challenge("reto").winners_max == 100
    (folder / "reto.yaml").write_text(edit("winners_max: 100", "winners_max: 7"), "utf-8")
    registry.reload()
    assert registry.challenge("reto").winners_max == 7
    assert [s for s, _ in registry.index().by_type.items()] == ["order.paid"]


def test_the_schema_takes_the_example_and_refuses_the_obvious_mistakes(tmp_path: Path) -> None:
    validator = Draft202012Validator(campaign_schema())

    def errors(text: str) -> list[str]:
        root, found = parse_yaml(text, "x.yaml")
        assert root is not None and not found
        return [e.message for e in validator.iter_errors(root.plain())]

    assert errors(VALID) == []
    example = EXAMPLES / "seasonal-challenge.yaml"
    assert errors(example.read_text(encoding="utf-8")) == []
    assert errors(edit("repeat: week", "repeat: daily"))
    assert errors(edit("    target: 150\n", ""))  # sum without target
    assert errors(edit("    event: order.paid\n    sum", "    sum"))  # neither event nor quiz
    assert errors(edit("complete: any", "complete: any\nprizes: []"))  # a game's key
    shutil.rmtree(tmp_path, ignore_errors=True)
