"""The store's events and the challenges they move (CONTRACT §8–9): events checked whole by the
core and stored once each, the progress they make planned by the core
(:func:`gamify.core.progress.plan`), quizzes graded here, and each completed window rewarded
exactly once: all in one transaction per request, under the customers' locks.

A reward is given in the transaction that completes the window, so an event is never stored
without what it earned, and a retried request (a duplicate) earns nothing twice.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from gamify.core.challenge import AnyCampaign, Challenge, Window, shown_units
from gamify.core.coupons import PoolPathError, make_code, read_pool
from gamify.core.errors import (
    CampaignError,
    CampaignInactive,
    ConfigIssue,
    InvalidRequest,
    QuizAttemptsUsed,
)
from gamify.core.events import Event, parse_events
from gamify.core.loyalty import Loyalty
from gamify.core.play import bonus_scope
from gamify.core.progress import ChallengeIndex, Contribution, Key, Plan, Tally, plan
from gamify.services.ports import (
    Assignment,
    Completed,
    PoolConflict,
    ProgressStore,
    ProgressTransaction,
    start_over_once,
)

if TYPE_CHECKING:
    from gamify.services.loyalty import Change

log = logging.getLogger("gamify")
_PATTERN_TRIES = 20


@dataclass(frozen=True)
class Granted:
    """A window completed now, and what it gave (``rewarded`` False past ``winners_max``)."""

    challenge: Challenge
    customer: str
    window: Window
    rewarded: bool
    coupon: str | None = None

    def as_json(self, lang: str | None = None) -> dict[str, Any]:
        reward = self.challenge.reward
        shown: dict[str, Any] = {
            "challenge": self.challenge.id,
            "window": self.window.key,
            "rewarded": self.rewarded,
            "label": reward.label.get(lang),
        }
        if self.rewarded:
            shown["coupon"] = self.coupon
            shown["points"] = reward.points
            shown["plays"] = reward.plays_json()
            shown["value"] = float(reward.value) if reward.value is not None else None
        return shown


@dataclass
class Tracked:
    """The answer to a request of events: a result per event, and the windows they completed."""

    results: list[dict[str, Any]]
    granted: list[Granted] = field(default_factory=list)
    loyalty: list[Change] = field(default_factory=list)  # what the events did to points


@dataclass(frozen=True)
class QuizResult:
    correct: int
    passed: bool
    attempts_left: int
    granted: Granted | None


class ChallengeCases:
    progress: ProgressStore
    clock: Callable[[], datetime]

    def player(self, campaign_id: str, customer_id: str) -> str:
        raise NotImplementedError  # PlayCases

    if TYPE_CHECKING:  # AudienceCases, beside this class in the Service

        def event_assignments(
            self, campaigns: Iterable[AnyCampaign], events: Sequence[Event]
        ) -> list[Assignment]: ...

        def show(self, campaign: AnyCampaign, customer: str) -> None: ...

        def settle(self, program: Loyalty, customers: Collection[str]) -> list[Change]: ...

    # -- set up ----------------------------------------------------------------------------

    def sync_challenge(self, challenge: Challenge) -> None:
        """Create the challenge's row and load its reward's pool codes (every worker at once is
        fine); CampaignError when the pool cannot be read or a code is held already."""
        coupon = challenge.reward.coupon
        codes: list[str] = []
        if coupon is not None and coupon.pool is not None:
            folder = challenge.source.parent if challenge.source is not None else None
            try:
                codes = list(dict.fromkeys(read_pool(coupon.pool, folder)))
            except (OSError, UnicodeDecodeError, csv.Error, PoolPathError) as exc:
                raise _reward_error(challenge, f"coupon pool cannot be read: {exc}") from None
        try:
            self.progress.setup(challenge.id, codes)
        except PoolConflict as exc:
            message = f"coupon pool code {exc.code!r} is already held by {exc.held_by!r}"
            raise _reward_error(challenge, message) from None

    # -- events ----------------------------------------------------------------------------

    def track_events(
        self,
        body: Any,
        index: ChallengeIndex,
        holdouts: Sequence[AnyCampaign] = (),
        loyalty: Loyalty | None = None,
    ) -> Tracked:
        """One event object or ``{"events": [...]}``: a result per event, in order, each
        ``accepted`` (stored now, with the progress it made and the rewards it completed) or
        ``duplicate`` (its id was stored before: nothing changed). Raises
        :class:`~gamify.core.events.InvalidEvents` and stores nothing when any event has a
        mistake. With a loyalty programme, the events that earn or take back points go to its
        inbox in the same transaction, and into the ledger right after."""
        now = self.clock()
        events = parse_events(body, now)
        earning = loyalty.event_types | {"order.refunded"} if loyalty else frozenset()

        def attempt() -> tuple[set[str], Plan, list[Granted]]:
            with self.progress.transaction() as tx:
                stored_ids, done, granted = self._advance(tx, index, events, now)
                seen = [e for e in events if e.id in stored_ids]
                if holdouts and (assigned := self.event_assignments(holdouts, seen)):
                    tx.assign(assigned, {c.id: c.holdout for c in holdouts})
                if inbox := [(e.customer, e.id) for e in seen if e.type in earning]:
                    tx.to_loyalty(inbox)
            return stored_ids, done, granted

        stored_ids, done, granted = start_over_once(attempt, self.progress.reset)
        changes: list[Change] = []
        if loyalty is not None:
            customers = {e.customer for e in events if e.id in stored_ids and e.type in earning}
            customers |= {g.customer for g in granted if g.rewarded and g.challenge.reward.points}
            if customers:
                changes = self.settle(loyalty, customers)
        by_event: dict[str, list[Granted]] = {}
        for g in granted:
            by_event.setdefault(done.completed_by[_key(g)], []).append(g)
        results = [
            {
                "id": event.id,
                "status": "accepted" if event.id in stored_ids else "duplicate",
                "progress": done.progress.get(event.id, []),
                "rewards": [g.as_json() for g in by_event.get(event.id, ())],
            }
            for event in events
        ]
        return Tracked(results, granted, changes)

    def _advance(
        self,
        tx: ProgressTransaction,
        index: ChallengeIndex,
        events: Sequence[Event],
        now: datetime,
    ) -> tuple[set[str], Plan, list[Granted]]:
        """Store the events, plan what those stored now do, write it, reward what they
        completed. What the plan reads is asked for with the events' insert (one round trip):
        the windows of every event given, stored now or not."""
        matched = index.match(events)
        keys = index.keys_for(events, matched)
        refunds = [e for e in events if e.type == "order.refunded"]
        moves = bool(keys) or bool(refunds and index.order_challenges)
        order_ids = (
            {e.order_id for e in events if e.order_id is not None}
            if moves and index.order_challenges
            else set()
        )
        customers = {e.customer for e in events} if moves else set()
        stored_ids, tallies, facts, given = tx.start(
            events, now, customers, keys, order_ids, index.counting
        )
        events = [e for e in events if e.id in stored_ids]
        if not moves or not events:
            return stored_ids, Plan(), []
        refunds = [e for e in refunds if e.id in stored_ids]
        refunded = {s.key for s in given if any(s.customer == e.customer for e in refunds)}
        if refunded - keys:  # windows only a refund touches (an order of an earlier window)
            tallies.update(tx.tallies(refunded - keys))
        done = plan(index, events, tallies, facts, given, matched)
        tx.add(done.contributions, now)
        tx.reverse(done.reversals)
        completed = [(index.challenges[k[0]], k) for k in done.completions]
        return stored_ids, done, self._reward_all(tx, completed, now)

    def _reward_all(
        self, tx: ProgressTransaction, completed: Sequence[tuple[Challenge, Key]], now: datetime
    ) -> list[Granted]:
        """The rewards of windows completed now, once each, in a few statements per challenge
        whatever their number: their numbers among the challenge's rewards (at most
        ``winners_max``, first completed first served), coupons, extra plays, points. Past
        ``winners_max`` a window is completed unrewarded."""
        by_challenge: dict[str, list[tuple[Challenge, Key]]] = {}
        for challenge, key in completed:
            by_challenge.setdefault(challenge.id, []).append((challenge, key))
        granted: dict[Key, Granted] = {}
        records: list[Completed] = []
        plays: list[tuple[str, str, int]] = []
        points: list[tuple[str, str, int]] = []
        # Challenge by challenge in id order: each takes its row's lock (winners_max), so two
        # requests completing the same two challenges cannot wait for each other.
        for challenge_id in sorted(by_challenge):
            group = by_challenge[challenge_id]
            challenge = group[0][0]
            ordinals = tx.number_rewards(challenge_id, len(group), challenge.winners_max)
            codes = self._coupons(tx, challenge, ordinals)
            reward = challenge.reward
            for i, (_, key) in enumerate(group):
                _, customer, window_key = key
                ordinal = ordinals[i] if i < len(ordinals) else None
                coupon = codes.get(ordinal) if ordinal is not None else None
                records.append(Completed(key, ordinal, coupon))
                window = _window_of(challenge, window_key, now)
                granted[key] = Granted(challenge, customer, window, ordinal is not None, coupon)
                if ordinal is None:
                    continue
                if reward.plays is not None:
                    scope = bonus_scope(self.player(reward.plays.campaign, customer))
                    plays.append((reward.plays.campaign, scope, reward.plays.count))
                if reward.points is not None:
                    source = f"challenge:{challenge_id}:{window_key}"
                    points.append((customer, source, reward.points))
        tx.complete(records, now)
        tx.grant_plays(plays)
        tx.grant_points(points, now)
        return [granted[key] for _, key in completed]

    def _coupons(
        self, tx: ProgressTransaction, challenge: Challenge, ordinals: Sequence[int]
    ) -> dict[int, str]:
        """Each rewarded number's coupon code: the pool's next, or a pattern code the
        challenge has not given yet."""
        coupon = challenge.reward.coupon
        if coupon is None or not ordinals:
            return {}
        if coupon.pool is not None:
            codes = tx.pool_codes(challenge.id, ordinals)
            if len(codes) < len(ordinals):
                log.error("gamify: the coupon pool of %s ran out", challenge.id)
            return dict(zip(ordinals, codes, strict=False))
        assert coupon.pattern is not None
        given: dict[int, str] = {}
        for _ in range(_PATTERN_TRIES):
            wanted = {n: make_code(coupon.pattern) for n in ordinals if n not in given}
            if not wanted:
                return given
            free = tx.pattern_codes(challenge.id, wanted)
            given.update({n: wanted[n] for n in free})
        raise InvalidRequest(f"the coupon pattern of {challenge.id!r} ran out of codes")

    # -- quizzes ---------------------------------------------------------------------------

    def answer_quiz(
        self, challenge: Challenge, customer: str, step_id: str, answers: Any
    ) -> QuizResult:
        """Grade one attempt of a quiz step in the window running now. A step passed already
        answers passed without using an attempt; with no attempt left,
        :class:`QuizAttemptsUsed` (429)."""
        self.show(challenge, customer)  # a holdout customer never sees the challenge
        now = self.clock()
        step = challenge.step(step_id)
        if step is None or step.quiz is None:
            quizzes = ", ".join(s.id for s in challenge.steps if s.quiz is not None) or "none"
            raise InvalidRequest(f"step must be a quiz step of this challenge ({quizzes})")
        quiz = step.quiz
        count = len(quiz.questions)
        if (
            not isinstance(answers, list)
            or len(answers) != count
            or any(isinstance(a, bool) or not isinstance(a, int) for a in answers)
        ):
            raise InvalidRequest(
                f"answers must be a list of {count} option indexes, one a question"
            )
        for i, (question, answer) in enumerate(zip(quiz.questions, answers, strict=True)):
            if not 0 <= answer < len(question.options):
                last = len(question.options) - 1
                raise InvalidRequest(f"answers[{i}] must be an option index from 0 to {last}")
        window = challenge.window(now)
        if window is None:
            raise CampaignInactive(challenge.id, challenge.starts, challenge.ends, now)
        key = (challenge.id, customer, window.key)
        with self.progress.transaction() as tx:
            tx.lock_customers([customer])
            tally = tx.tallies([key], attempts=True)[key]
            used = tally.attempts.get(step.id, 0)
            if tally.units.get(step.id, 0) >= step.goal_units:  # passed before: stays passed
                return QuizResult(quiz.grade(answers), True, max(quiz.attempts - used, 0), None)
            if used >= quiz.attempts:
                retry = (
                    window.ends
                    if challenge.repeat != "never" and window.ends < challenge.ends
                    else None
                )
                raise QuizAttemptsUsed(quiz.attempts, retry)
            correct = quiz.grade(answers)
            passed = correct >= quiz.pass_mark
            tx.attempt(key, step.id, used + 1, correct, passed, now)
            granted = None
            if passed:
                contribution = Contribution(
                    challenge.id, customer, window.key, step.id, f"quiz:{used + 1}", step.goal_units
                )
                tx.add([contribution], now)
                tally.units[step.id] = step.goal_units
                if not tally.completed and challenge.done(tally.units):
                    [granted] = self._reward_all(tx, [(challenge, key)], now)
        return QuizResult(correct, passed, quiz.attempts - used - 1, granted)

    # -- the shopper's view ----------------------------------------------------------------

    def standings(
        self, challenges: Iterable[Challenge], customer: str
    ) -> list[tuple[Challenge, Window, Tally]]:
        """Each started challenge with the customer's window now (the last one once it
        ended) and what it holds."""
        now = self.clock()
        found = []
        for challenge in challenges:
            if now < challenge.starts:
                continue
            window = challenge.window(now) or challenge.window(_last_moment(challenge))
            if window is not None:
                found.append((challenge, window))
        tallies = self.progress.tallies([(c.id, customer, w.key) for c, w in found], attempts=True)
        return [(c, w, tallies[(c.id, customer, w.key)]) for c, w in found]


Status = Literal["not_started", "in_progress", "completed", "expired"]


def challenge_status(challenge: Challenge, window: Window, tally: Tally, now: datetime) -> Status:
    if tally.completed:
        return "completed"
    if now >= window.ends:
        return "expired"
    if any(units > 0 for units in tally.units.values()) or any(tally.attempts.values()):
        return "in_progress"
    return "not_started"


def step_views(challenge: Challenge, tally: Tally, lang: str | None) -> list[dict[str, Any]]:
    views = []
    for step in challenge.steps:
        units = max(tally.units.get(step.id, 0), 0)
        view: dict[str, Any] = {
            "id": step.id,
            "label": step.label.get(lang),
            "progress": shown_units(min(units, step.goal_units)),
            "target": shown_units(step.goal_units),
            "done": units >= step.goal_units,
        }
        if step.quiz is not None:
            view["attempts_left"] = max(step.quiz.attempts - tally.attempts.get(step.id, 0), 0)
        views.append(view)
    return views


def _key(granted: Granted) -> Key:
    return (granted.challenge.id, granted.customer, granted.window.key)


def _window_of(challenge: Challenge, key: str, now: datetime) -> Window:
    """The window named ``key`` (a late event may complete one that has ended)."""
    current = challenge.window(now)
    if current is not None and current.key == key:
        return current
    moment = challenge.starts
    while moment < challenge.ends:
        window = challenge.window(moment)
        assert window is not None
        if window.key == key:
            return window
        moment = window.ends
    return Window(key, challenge.starts, challenge.ends)


def _last_moment(challenge: Challenge) -> datetime:
    return challenge.ends - timedelta(microseconds=1)


def _reward_error(challenge: Challenge, message: str) -> CampaignError:
    file = str(challenge.source) if challenge.source is not None else challenge.id
    return CampaignError([ConfigIssue(file, 1, 1, "reward.coupon", message)])
