"""The parts of a challenge file (``game: challenge``, CONTRACT §9): steps that count or sum
events, quizzes, how it completes and repeats, and its reward.

Mistakes are reported as for the other games, all at once and located; what only the folder can
tell (a reward's extra plays naming a wheel or scratch campaign that exists) is checked by
:mod:`~gamify.campaigns.loader` once every file is read.
"""

from __future__ import annotations

import re
from typing import cast

from gamify.campaigns.check_prizes import PrizeChecks
from gamify.campaigns.check_schedule import ScheduleChecks
from gamify.campaigns.checks import short, shown
from gamify.campaigns.yaml_nodes import Located
from gamify.core.challenge import (
    AT_MOST_PERS,
    COMPLETES,
    REPEATS,
    SUM_FIELDS,
    AtMost,
    AtMostPer,
    Challenge,
    Complete,
    ExtraPlays,
    Question,
    Quiz,
    Repeat,
    Reward,
    Step,
    Where,
)
from gamify.core.events import MAX_ATTRIBUTE_TEXT

CHALLENGE_KEYS = (
    "id", "game", "title", "description", "timezone", "starts", "ends",
    "steps", "complete", "repeat", "winners_max", "reward", "holdout",
)  # fmt: skip
CHALLENGE_REQUIRED = ("id", "game", "title", "timezone", "starts", "ends", "steps", "reward")
STEP_KEYS = ("id", "label", "event", "where", "count", "sum", "target", "at_most", "quiz")
WHERE_KEYS = ("min_total", "max_total", "category", "sku", "attributes")
AT_MOST_KEYS = ("times", "per")
QUIZ_KEYS = ("pass", "attempts", "questions")
QUESTION_KEYS = ("text", "options", "answer")
REWARD_KEYS = ("label", "value", "coupon", "plays", "points")
PLAYS_KEYS = ("campaign", "count")
MAX_STEPS = 10
MAX_QUESTIONS = 20
MAX_OPTIONS = 10
MAX_LIST = 100
EVENT_TYPE = re.compile(r"[a-z][a-z0-9_.]{0,63}")
ATTRIBUTE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ORDER_ONLY = ("min_total", "max_total", "category", "sku")


class ChallengeChecker(ScheduleChecks, PrizeChecks):
    """Reads one challenge document, section by section, recording every mistake."""

    def challenge(self, root: Located) -> Challenge | None:
        fields = self.mapping(root, CHALLENGE_KEYS, CHALLENGE_REQUIRED)
        if fields is None:
            return None
        f = fields.get
        challenge_id = self.slug(n) if (n := f("id")) else None
        title = self.text(n) if (n := f("title")) else None
        description = self.text(n) if (n := f("description")) else None
        timezone, starts, ends = self.schedule(fields)
        steps = self.steps(n) if (n := f("steps")) else None
        complete = self.choice(n, COMPLETES) if (n := f("complete")) else "all"
        repeat = self.choice(n, REPEATS) if (n := f("repeat")) else "never"
        winners_max = self.integer(n, 1) if (n := f("winners_max")) else None
        reward = self.reward(n, winners_max) if (n := f("reward")) else None
        holdout = self.holdout(n) if (n := f("holdout")) else 0
        if self.issues or not (challenge_id and title and timezone and starts and ends):
            return None
        if steps is None or reward is None or complete is None or repeat is None:
            return None
        return Challenge(
            id=challenge_id,
            title=title,
            timezone=timezone,
            starts=starts,
            ends=ends,
            steps=steps,
            reward=reward,
            complete=cast(Complete, complete),
            repeat=cast(Repeat, repeat),
            winners_max=winners_max,
            description=description,
            holdout=holdout or 0,
        )

    # -- steps ------------------------------------------------------------------------------

    def steps(self, node: Located) -> tuple[Step, ...] | None:
        if node.kind != "list" or not 1 <= len(node.items) <= MAX_STEPS:
            self.expect(node, f"a list of 1 to {MAX_STEPS} steps")
            return None
        before = len(self.issues)
        seen: dict[str, int] = {}
        steps = []
        for item in node.items:
            step = self.step(item)
            if step is None:
                continue
            if step.id in seen:
                message = f"duplicate step id (first used on line {seen[step.id]})"
                self.report(item.entries["id"], message, repr(step.id))
                continue
            seen[step.id] = item.entries["id"].line
            steps.append(step)
        return tuple(steps) if len(self.issues) == before else None

    def step(self, node: Located) -> Step | None:
        fields = self.mapping(node, STEP_KEYS, ("id", "label"))
        if fields is None:
            return None
        before = len(self.issues)
        f = fields.get
        step_id = self.slug(n) if (n := f("id")) else None
        label = self.text(n) if (n := f("label")) else None
        if "event" in fields and "quiz" in fields:
            self.report(node.keys["quiz"], "a step has either event or quiz, not both")
            return None
        if "event" not in fields and "quiz" not in fields:
            self.missing(node, "event", "a step needs event (what customers do) or quiz")
            return None
        if "quiz" in fields:
            for key in ("where", "count", "sum", "target", "at_most"):
                if key in fields:
                    self.report(node.keys[key], f"a quiz step has no `{key}`; remove it")
            quiz = self.quiz(fields["quiz"])
            if len(self.issues) > before or step_id is None or label is None or quiz is None:
                return None
            return Step(id=step_id, label=label, quiz=quiz)
        event = self.event_type(fields["event"])
        where = self.where(n, event) if (n := f("where")) else Where()
        count = target = None
        sum_field = self.sum_field(n, event) if (n := f("sum")) else None
        if "count" in fields and "sum" in fields:
            self.report(node.keys["sum"], "give either count or sum (with target), not both")
        elif "sum" in fields:
            if "target" not in fields:
                self.missing(node, "target", "sum: needs target: (the sum to reach)")
            else:
                target = self.decimal(fields["target"], 4, positive=True)
        elif "target" in fields:
            self.report(node.keys["target"], "target goes with sum:; a count step uses count:")
        elif "count" in fields:
            count = self.integer(fields["count"], 1)
        else:
            self.missing(node, "count", "required key missing (count, or sum with target)")
        at_most = self.at_most(n) if (n := f("at_most")) else None
        if len(self.issues) > before or step_id is None or label is None or event is None:
            return None
        if where is None or (count is None and target is None):
            return None
        return Step(
            id=step_id,
            label=label,
            event=event,
            where=where,
            count=count,
            sum=sum_field,
            target=target,
            at_most=at_most,
        )

    def event_type(self, node: Located) -> str | None:
        expected = "an event type such as order.paid or review.published ([a-z][a-z0-9_.]*)"
        text = self.word(node, expected)
        if text is not None and not EVENT_TYPE.fullmatch(text):
            self.expect(node, expected)
            return None
        return text

    def where(self, node: Located, event: str | None) -> Where | None:
        fields = self.mapping(node, (*WHERE_KEYS, *_attribute_keys(node)))
        if fields is None:
            return None
        before = len(self.issues)
        if event is not None and not event.startswith("order."):
            for key in ORDER_ONLY:
                if key in fields:
                    message = f"`{key}` looks at the order: it needs an order.* event"
                    self.report(node.keys[key], message, repr(event))
        f = fields.get
        low = self.decimal(n, 4, positive=False) if (n := f("min_total")) else None
        high = self.decimal(n, 4, positive=False) if (n := f("max_total")) else None
        if low is not None and high is not None and high < low and (n := f("max_total")):
            self.report(n, f"must be at least min_total ({low})", shown(n))
        category = self.names(n) if (n := f("category")) else ()
        sku = self.names(n) if (n := f("sku")) else ()
        attributes: list[tuple[str, str | int | float | bool]] = []
        if (n := f("attributes")) is not None:
            attributes.extend(self.attributes(n))
        for key, value in fields.items():
            if key.startswith("attributes."):
                attributes.extend(self.attribute(key.removeprefix("attributes."), value))
        if len(self.issues) > before or category is None or sku is None:
            return None
        return Where(low, high, category, sku, tuple(attributes))

    def names(self, node: Located) -> tuple[str, ...] | None:
        """One name, or a list of names (any of them matches)."""
        items = node.items if node.kind == "list" else [node]
        if not 1 <= len(items) <= MAX_LIST:
            self.expect(node, f"a name, or a list of 1 to {MAX_LIST} names")
            return None
        names = [self.word(item, "a name of 1 to 128 characters") for item in items]
        if any(n is None or not 1 <= len(n) <= 128 for n in names):
            return None
        return tuple(n for n in names if n is not None)

    def attributes(self, node: Located) -> list[tuple[str, str | int | float | bool]]:
        if node.kind != "mapping" or not node.entries:
            self.expect(node, "a mapping of attribute names to values, such as {channel: app}")
            return []
        found = []
        for name, value in node.entries.items():
            found.extend(self.attribute(name, value))
        return found

    def attribute(self, name: str, node: Located) -> list[tuple[str, str | int | float | bool]]:
        if not ATTRIBUTE.fullmatch(name):
            self.report(node, "attribute names are 1 to 64 characters of A-Z, a-z, 0-9, _ . -")
            return []
        value = node.scalar
        if node.kind == "str" and isinstance(value, str) and len(value) <= MAX_ATTRIBUTE_TEXT:
            return [(name, value)]
        if node.kind in ("int", "float", "bool") and isinstance(value, int | float | bool):
            return [(name, value)]
        self.expect(node, "a text, a number, or true/false")
        return []

    def sum_field(self, node: Located, event: str | None) -> str | None:
        expected = "total, quantity or attributes.NAME"
        text = self.word(node, expected)
        if text is None:
            return None
        if text in SUM_FIELDS:
            if event is not None and not event.startswith("order."):
                message = f"`sum: {text}` adds up orders: it needs an order.* event"
                self.report(node, message, repr(event))
                return None
            return text
        if text.startswith("attributes.") and ATTRIBUTE.fullmatch(text.removeprefix("attributes.")):
            return text
        self.report(node, f"must be {expected}", short(text))
        return None

    def at_most(self, node: Located) -> AtMost | None:
        fields = self.mapping(node, AT_MOST_KEYS, AT_MOST_KEYS)
        if fields is None:
            return None
        times = self.integer(fields["times"], 1) if "times" in fields else None
        per = self.choice(fields["per"], AT_MOST_PERS) if "per" in fields else None
        if times is None or per is None:
            return None
        return AtMost(times, cast(AtMostPer, per))

    # -- quizzes ----------------------------------------------------------------------------

    def quiz(self, node: Located) -> Quiz | None:
        fields = self.mapping(node, QUIZ_KEYS, QUIZ_KEYS)
        if fields is None:
            return None
        before = len(self.issues)
        questions: list[Question] = []
        raw = fields.get("questions")
        if raw is not None:
            if raw.kind != "list" or not 1 <= len(raw.items) <= MAX_QUESTIONS:
                self.expect(raw, f"a list of 1 to {MAX_QUESTIONS} questions")
            else:
                for item in raw.items:
                    question = self.question(item)
                    if question is not None:
                        questions.append(question)
        pass_mark = self.integer(fields["pass"], 1) if "pass" in fields else None
        attempts = self.integer(fields["attempts"], 1) if "attempts" in fields else None
        count = len(raw.items) if raw is not None and raw.kind == "list" else None
        if pass_mark is not None and count is not None and pass_mark > count:
            message = f"cannot be more than the {count} questions"
            self.report(fields["pass"], message, str(pass_mark))
        if len(self.issues) > before or pass_mark is None or attempts is None:
            return None
        return Quiz(pass_mark, attempts, tuple(questions))

    def question(self, node: Located) -> Question | None:
        fields = self.mapping(node, QUESTION_KEYS, QUESTION_KEYS)
        if fields is None:
            return None
        before = len(self.issues)
        text = self.text(fields["text"]) if "text" in fields else None
        options: list[object] = []
        raw = fields.get("options")
        if raw is not None:
            if raw.kind != "list" or not 2 <= len(raw.items) <= MAX_OPTIONS:
                self.expect(raw, f"a list of 2 to {MAX_OPTIONS} options")
            else:
                options = [self.text(item) for item in raw.items]
        answer = self.integer(fields["answer"], 0) if "answer" in fields else None
        count = len(raw.items) if raw is not None and raw.kind == "list" else None
        if answer is not None and count is not None and answer >= count:
            message = (
                f"is the index of the right option, from 0 to {count - 1} "
                f"(0 is the first of the {count} options)"
            )
            self.report(fields["answer"], message, str(answer))
        if len(self.issues) > before or text is None or answer is None or None in options:
            return None
        return Question(text, tuple(o for o in options if o is not None), answer)  # type: ignore[misc]

    # -- the reward -------------------------------------------------------------------------

    def reward(self, node: Located, winners_max: int | None) -> Reward | None:
        fields = self.mapping(node, REWARD_KEYS, ("label",))
        if fields is None:
            return None
        before = len(self.issues)
        f = fields.get
        label = self.text(n) if (n := f("label")) else None
        value = self.decimal(n, 2, positive=False) if (n := f("value")) else None
        coupon = self.coupon(n) if (n := f("coupon")) else None
        plays = self.extra_plays(n) if (n := f("plays")) else None
        points = self.integer(n, 1) if (n := f("points")) else None
        if coupon is not None and coupon.pool is not None:
            codes = self.pool_codes(fields["coupon"], coupon.pool, "reward")
            if codes is not None and (winners_max is None or winners_max > codes):
                message = (
                    f"a reward with a coupon pool needs winners_max of at most its {codes} codes"
                )
                got = "no winners_max" if winners_max is None else str(winners_max)
                self.report(fields["coupon"], message, got)
        if len(self.issues) > before or label is None:
            return None
        return Reward(label, value, coupon, plays, points)

    def extra_plays(self, node: Located) -> ExtraPlays | None:
        fields = self.mapping(node, PLAYS_KEYS, PLAYS_KEYS)
        if fields is None:
            return None
        campaign = self.slug(fields["campaign"]) if "campaign" in fields else None
        count = self.integer(fields["count"], 1) if "count" in fields else None
        if campaign is None or count is None:
            return None
        return ExtraPlays(campaign, count)


def _attribute_keys(node: Located) -> tuple[str, ...]:
    """``attributes.NAME: value`` keys of a ``where``, allowed beside ``attributes: {…}``."""
    if node.kind != "mapping":
        return ()
    return tuple(key for key in node.entries if key.startswith("attributes."))
