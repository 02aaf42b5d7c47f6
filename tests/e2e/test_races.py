"""Real races: gunicorn with four worker processes, 50+ client threads, PostgreSQL and SQLite.

Each database gets its own server (``tests.apps.race_app``), started as a subprocess in its own
process group and killed at the end; its stderr is kept in a file and shown under any failure.
PostgreSQL must listen on 127.0.0.1:5432 (user ``postgres``, trust auth, a database ``test``
to connect to): a throwaway database is created for the run and dropped with ``WITH (FORCE)``.
Without PostgreSQL its tests are skipped with the reason, or fail when ``CI=true``.

Four campaigns, identical but for their id, so one test's awards cannot change another's
counts: ``race-limit`` (one customer hammering), ``race-stock`` (300 customers exhausting the
10 ``grand`` prizes), ``race-idem`` (one Idempotency-Key sent 20 times at once) and
``race-rotate`` (epochs rotated, as ``gamify rotate`` does, in the middle of a burst of plays).
And a challenge, ``race-challenge``, fed by store events: the same event sent to every worker at
once, a customer's orders racing its ``at_most`` cap and its quiz attempts, and 60 customers
completing at once for 25 rewards (``winners_max``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import re
import secrets
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import servers
from databases import postgres_database
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

from gamify.audit.verify import verify_bundle
from gamify.services.service import Service
from gamify.storage.database import make_engine
from gamify.storage.wiring import sql_service

PREFIX = "/gamify"
TIMEZONE = "Europe/Madrid"
WORKERS = 4
GRAND_STOCK = 10
LIMIT_PER_DAY = 2
ATTEMPTS = 60  # (a): one customer, this many plays at once
CUSTOMERS = 300  # (b): each plays LIMIT_PER_DAY times, all at once
CLIENT_THREADS = 64
IDEMPOTENT_COPIES = 20  # (c)
CAMPAIGNS = ("race-limit", "race-stock", "race-idem", "race-rotate")
ROTATIONS = 5  # (d): epochs closed while a burst of plays is running

CAMPAIGN_YAML = """\
id: {id}
game: wheel
title: {{es: "Carrera", en: "Race"}}
timezone: {timezone}
starts: {starts}
ends: {ends}
limits:
  per_customer:
    - {{plays: {limit}, per: day}}
fallback: nothing
prizes:
  - id: grand
    label: {{es: "Premio gordo", en: "Grand prize"}}
    weight: 50
    stock: {stock}
    coupon: {{pattern: "G-{{code:8}}"}}
  - id: small
    label: {{es: "Premio pequeño", en: "Small prize"}}
    weight: 30
    coupon: {{pattern: "S-{{code:6}}"}}
  - id: nothing
    label: {{es: "Sin premio", en: "No prize"}}
    weight: 20
    win: false
"""
CODE = "[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]"
COUPON_PATTERNS = {
    "grand": re.compile(f"G-{CODE}{{8}}"),
    "small": re.compile(f"S-{CODE}{{6}}"),
}


# Guests (CONTRACT §13): every request comes from 127.0.0.1, so one campaign's per_ip cap is
# out of reach (aliases of one mailbox racing) and the other's is the cap under test.
PER_IP = 7
GUEST_CAMPAIGNS = {"race-guest-mailbox": 10_000, "race-guest-address": PER_IP}

EVENTS_KEY = "race-events-key"
WINNERS_MAX = 25
CHALLENGE_YAML = """\
id: race-challenge
game: challenge
title: Race challenge
timezone: {timezone}
starts: {starts}
ends: {ends}
steps:
  - id: orders
    label: Orders
    event: order.paid
    count: 3
    at_most: {{times: 3, per: day}}
  - id: quiz
    label: Quiz
    quiz:
      pass: 1
      attempts: 2
      questions:
        - {{text: "?", options: ["a", "b"], answer: 0}}
complete: any
winners_max: {winners}
reward:
  label: Gift
  coupon: {{pattern: "RC-{{code:8}}"}}
  plays: {{campaign: race-limit, count: 1}}
  points: 5
"""


def _madrid_today() -> date:
    return datetime.now(ZoneInfo(TIMEZONE)).date()


# -- fixtures: database, campaigns, server ------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_database("gamify_race") as url:
        yield url


@pytest.fixture(scope="module")
def campaign_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("campaigns")
    today = _madrid_today()

    def game(campaign_id: str) -> str:
        return CAMPAIGN_YAML.format(
            id=campaign_id,
            timezone=TIMEZONE,
            starts=f"{today - timedelta(days=1)}T00:00:00",
            ends=f"{today + timedelta(days=30)}T00:00:00",
            limit=LIMIT_PER_DAY,
            stock=GRAND_STOCK,
        )

    guests = 'guests:\n  consent: "Offers by email"\n  per_ip: {{plays: {per_ip}, per: day}}\n'
    files = {c: game(c) for c in CAMPAIGNS} | {
        c: game(c) + guests.format(per_ip=n) for c, n in GUEST_CAMPAIGNS.items()
    }
    for campaign_id, yaml_text in files.items():
        (folder / f"{campaign_id}.yaml").write_text(yaml_text, encoding="utf-8")
    (folder / "race-challenge.yaml").write_text(
        CHALLENGE_YAML.format(
            timezone=TIMEZONE,
            starts=f"{today - timedelta(days=1)}T00:00:00",
            ends=f"{today + timedelta(days=30)}T00:00:00",
            winners=WINNERS_MAX,
        ),
        encoding="utf-8",
    )
    (folder / "loyalty.yaml").write_text(LOYALTY_YAML, encoding="utf-8")
    return folder


# Points usable at once (no return window), so a race can spend them right after earning.
LOYALTY_YAML = f"""\
loyalty:
  timezone: {TIMEZONE}
  earn:
    - {{event: order.paid, points_per_unit: 1}}
  rewards:
    - {{id: mug, label: Mug, cost: 10, stock: {GRAND_STOCK}, coupon: {{pattern: "MUG-{{code:8}}"}}}}
    - {{id: pin, label: Pin, cost: 10, coupon: {{pattern: "PIN-{{code:8}}"}}}}
    - {{id: ship, label: Shipping, cost: 100, coupon: {{pattern: "SHIP-{{code:8}}"}}}}
"""


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    """A running gunicorn: how to talk to it, and what it wrote on stderr."""

    backend: str
    database_url: str
    port: int
    secret: str
    log_path: Path
    process: subprocess.Popen[bytes]
    tmp: Path
    _signer: URLSafeTimedSerializer = field(init=False)

    def __post_init__(self) -> None:
        self._signer = URLSafeTimedSerializer(self.secret, salt="gamify.customer")

    def token(self, customer_id: str) -> str:
        return str(self._signer.dumps(customer_id))

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, resp.getheader("Content-Type") or "", resp.read())
        finally:
            conn.close()

    def play(
        self,
        campaign_id: str,
        token: str,
        client_seed: str | None = None,
        idempotency_key: str | None = None,
    ) -> Response:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        payload = {} if client_seed is None else {"client_seed": client_seed}
        return self.request(
            "POST",
            f"{PREFIX}/api/campaigns/{campaign_id}/plays",
            json.dumps(payload).encode(),
            headers,
        )

    def guest_play(self, campaign_id: str, email: str, consent: bool = False) -> Response:
        body = json.dumps({"email": email, "marketing_consent": consent}).encode()
        headers = {"Content-Type": "application/json"}
        return self.request("POST", f"{PREFIX}/api/campaigns/{campaign_id}/plays", body, headers)

    def events(self, *events: dict[str, Any]) -> Response:
        headers = {"Authorization": f"Bearer {EVENTS_KEY}", "Content-Type": "application/json"}
        body = json.dumps({"events": list(events)}).encode()
        return self.request("POST", f"{PREFIX}/api/events", body, headers)

    def customer_get(self, path: str, customer: str) -> Response:
        return self.request(
            "GET", path, headers={"Authorization": f"Bearer {self.token(customer)}"}
        )

    def bundle(self, campaign_id: str) -> Path:
        """Download the campaign's audit bundle into a file and return its path."""
        resp = self.request("GET", f"{PREFIX}/api/campaigns/{campaign_id}/audit.jsonl")
        assert resp.status == 200, f"audit.jsonl answered {resp.status}: {resp.body[:500]!r}"
        path = self.tmp / f"{self.backend}-{campaign_id}-{time.monotonic_ns()}.jsonl"
        path.write_bytes(resp.body)
        return path

    @contextlib.contextmanager
    def service(self) -> Iterator[Service]:
        """The server's service, in this process (for what the CLI does: rotate)."""
        engine = make_engine(self.database_url)
        try:
            yield sql_service(engine, self.secret)
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def explain(self) -> Iterator[None]:
        """Show the server's stderr under a failing assertion; fail on a new traceback in it."""
        start = len(self.log())
        try:
            yield
        except Exception as exc:
            alive = (
                "running" if self.process.poll() is None else f"exited {self.process.returncode}"
            )
            raise AssertionError(
                f"{type(exc).__name__}: {exc}\n\n--- gunicorn ({alive}) stderr ---\n"
                f"{self.log()[-6000:]}"
            ) from exc
        new = self.log()[start:]
        assert "Traceback" not in new, f"the server logged an error:\n{new[-6000:]}"


def _start_server(backend: str, database_url: str, folder: Path, tmp: Path) -> Server:
    secret = secrets.token_urlsafe(24)
    log_path = tmp / f"gunicorn-{backend}.log"
    process, port = servers.spawn(
        database_url=database_url,
        campaigns=folder,
        secret=secret,
        log_path=log_path,
        workers=WORKERS,
        timeout=60,
        env={"GAMIFY_EVENTS_KEY": EVENTS_KEY},
    )
    server = Server(backend, database_url, port, secret, log_path, process, tmp)
    # Every worker builds its app (migrations, campaign sync) at the same time: wait until all
    # of them say so, and until the server answers, or fail with what gunicorn said.
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{server.log()[-6000:]}")
        if server.log().count("race_app ready in process") >= WORKERS:
            with contextlib.suppress(OSError):
                if server.request("GET", f"{PREFIX}/api/campaigns", timeout=5).status == 200:
                    # A worker that could not start answers 503 for a while: not a race's fault.
                    assert "not available yet" not in server.log(), server.log()[-6000:]
                    return server
        if time.monotonic() > deadline:
            servers.stop(process)
            pytest.fail(f"gunicorn was not ready within 60 s:\n{server.log()[-6000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def server(
    request: pytest.FixtureRequest,
    campaign_folder: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"race-{request.param}")
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp / 'gamify.sqlite3'}"
    running = _start_server(request.param, url, campaign_folder, tmp)
    try:
        yield running
    finally:
        servers.stop(running.process)


# -- helpers -------------------------------------------------------------------------------------


def _at_once(count: int, task: Callable[[int], Response], threads: int) -> list[Response]:
    """Run ``task(0..count-1)`` on ``threads`` threads; the first wave starts on one barrier."""
    barrier = threading.Barrier(min(count, threads))

    def run(i: int) -> Response:
        if i < threads:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=30)
        return task(i)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, range(count)))


def _play_of(resp: Response) -> dict[str, Any]:
    assert resp.status == 201, f"expected 201, got {resp.status}: {resp.body[:500]!r}"
    body = resp.json
    assert isinstance(body.get("play"), dict), body
    play: dict[str, Any] = body["play"]
    return play


def _prize_id(play: dict[str, Any]) -> str:
    prize = play["prize"]
    return str(prize["id"] if isinstance(prize, dict) else prize)


def _problem_code(resp: Response) -> str | None:
    if not resp.content_type.startswith("application/problem+json"):
        return None
    code = resp.json.get("code")
    return None if code is None else str(code)


def _bundle_plays(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return [r for r in records if r["type"] == "play"]


def _assert_gap_free(plays: list[dict[str, Any]], players: list[str] | None = None) -> None:
    """seq is 0..N-1 exactly once each; within each epoch, each player's nonces are 0..n-1
    exactly once each (fairness v2). ``players``: who made each play (a response does not say;
    a bundle's row does)."""
    seqs = sorted(p["seq"] for p in plays)
    assert seqs == list(range(len(plays))), f"seq has gaps or duplicates: {_holes(seqs)}"
    who = players if players is not None else [p["player"] for p in plays]
    by_player: dict[tuple[int, str], list[int]] = {}
    for p, player in zip(plays, who, strict=True):
        by_player.setdefault((p["epoch"], player), []).append(p["nonce"])
    for (epoch, player), nonces in by_player.items():
        nonces.sort()
        assert nonces == list(range(len(nonces))), (
            f"epoch {epoch}, player {player}: nonces {_holes(nonces)}"
        )


def _holes(values: list[int]) -> str:
    dupes = sorted(v for v, n in Counter(values).items() if n > 1)
    missing = sorted(set(range(len(values))) - set(values))
    return f"duplicates {dupes[:10]}, missing {missing[:10]}"


# -- (a) one customer, many concurrent plays -----------------------------------------------------


def test_one_customer_concurrent_plays_respect_the_daily_limit(server: Server) -> None:
    with server.explain():
        token = server.token("alice")
        day = _madrid_today()
        results = _at_once(ATTEMPTS, lambda i: server.play("race-limit", token), ATTEMPTS)
        # A run across Madrid's midnight legitimately gets a second day's allowance.
        allowed = LIMIT_PER_DAY if _madrid_today() == day else 2 * LIMIT_PER_DAY
        statuses = Counter(r.status for r in results)
        assert statuses == {201: allowed, 429: ATTEMPTS - allowed}, statuses
        refused = [r for r in results if r.status == 429]
        assert {_problem_code(r) for r in refused} == {"limit_reached"}, refused[0].body
        plays = [_play_of(r) for r in results if r.status == 201]
        assert sorted(p["seq"] for p in plays) == list(range(allowed))
        left = sorted(r.json["plays_left"] for r in results if r.status == 201)
        assert left == sorted(list(range(LIMIT_PER_DAY)) * (allowed // LIMIT_PER_DAY))
        report = verify_bundle(server.bundle("race-limit"))
        assert report.plays == allowed


# -- (b) many customers exhaust a stock at once --------------------------------------------------


def test_many_customers_share_the_stock_without_overselling(server: Server) -> None:
    with server.explain():
        customers = [f"shopper-{i:03d}" for i in range(CUSTOMERS)]
        tokens = {c: server.token(c) for c in customers}
        jobs = [(c, n) for n in range(LIMIT_PER_DAY) for c in customers]
        random.Random(7).shuffle(jobs)
        # Half the requests choose their client seed, half let the server make one.
        seeds = {job: f"seed-{job[0]}-{job[1]}" if i % 2 else None for i, job in enumerate(jobs)}

        def attempt(i: int) -> Response:
            job = jobs[i]
            return server.play("race-stock", tokens[job[0]], client_seed=seeds[job])

        started = time.monotonic()
        results = _at_once(len(jobs), attempt, CLIENT_THREADS)
        elapsed = time.monotonic() - started
        total = len(jobs)
        statuses = Counter(r.status for r in results)
        assert statuses == {201: total}, statuses
        plays = [_play_of(r) for r in results]
        for job, play in zip(jobs, plays, strict=True):
            if seeds[job] is not None:
                assert play["client_seed"] == seeds[job], play
        # From the responses: stock, coupons, seq and nonces.
        awarded = Counter(_prize_id(p) for p in plays)
        assert awarded["grand"] == GRAND_STOCK, (awarded, f"{total} plays in {elapsed:.1f} s")
        coupons = [p.get("coupon") for p in plays]
        for play, code in zip(plays, coupons, strict=True):
            prize = _prize_id(play)
            if prize == "nothing":
                assert code is None, play
            else:
                assert code is not None and COUPON_PATTERNS[prize].fullmatch(code), play
        given = [c for c in coupons if c is not None]
        assert len(given) == len(set(given)), "a coupon code was given twice"
        assert len(given) == awarded["grand"] + awarded["small"]
        _assert_gap_free(plays, [job[0] for job in jobs])

        # From the bundle: the same story, and it verifies.
        path = server.bundle("race-stock")
        report = verify_bundle(path)
        assert report.plays == total
        assert report.awarded["grand"] == GRAND_STOCK, report.awarded
        logged = _bundle_plays(path)
        assert [r["seq"] for r in logged] == list(range(total))
        _assert_gap_free(logged)
        assert Counter(r["awarded"] for r in logged)["grand"] == GRAND_STOCK
        assert Counter(r["drawn"] for r in logged)["grand"] > GRAND_STOCK  # the stock ran out
        by_seq = {r["seq"]: r for r in logged}
        for play in plays:
            row = by_seq[play["seq"]]
            assert row["awarded"] == _prize_id(play), (play, row)
            assert (row["epoch"], row["nonce"]) == (play["epoch"], play["nonce"]), (play, row)
            assert row["client_seed"] == play["client_seed"], (play, row)
        players = Counter(r["player"] for r in logged)
        assert len(players) == CUSTOMERS and set(players.values()) == {LIMIT_PER_DAY}

        # Reveal the seed (as `gamify rotate` does) and verify every draw too.
        with server.service() as service:
            service.rotate("race-stock")
        revealed = verify_bundle(server.bundle("race-stock"))
        assert (revealed.plays, revealed.unrevealed_plays) == (total, 0)
        assert revealed.awarded == report.awarded


# -- (c) one Idempotency-Key, many concurrent copies ---------------------------------------------


def test_concurrent_retries_with_one_idempotency_key_store_one_play(server: Server) -> None:
    with server.explain():
        token = server.token("bob")
        key = f"checkout-{secrets.token_hex(8)}"
        day = _madrid_today()
        results = _at_once(
            IDEMPOTENT_COPIES,
            lambda i: server.play("race-idem", token, client_seed="same-seed", idempotency_key=key),
            IDEMPOTENT_COPIES,
        )
        statuses = Counter(r.status for r in results)
        assert set(statuses) <= {200, 201} and statuses[201] >= 1, statuses
        plays = [r.json["play"] for r in results]
        assert {p["seq"] for p in plays} == {0}, [p["seq"] for p in plays]
        assert len({(p["nonce"], _prize_id(p), p.get("coupon")) for p in plays}) == 1
        assert {r.json["plays_left"] for r in results} == {LIMIT_PER_DAY - 1}
        assert verify_bundle(server.bundle("race-idem")).plays == 1

        # The copies consumed nothing: a new key plays once more, then the limit holds.
        second = server.play("race-idem", token, idempotency_key=f"{key}-2")
        assert _play_of(second)["seq"] == 1
        third = server.play("race-idem", token, idempotency_key=f"{key}-3")
        if _madrid_today() == day:
            assert (third.status, _problem_code(third)) == (429, "limit_reached"), third.body
        assert verify_bundle(server.bundle("race-idem")).plays == 3 - (third.status == 429)


# -- (d) epochs rotate while plays are running ---------------------------------------------------


def test_rotating_epochs_during_a_burst_of_plays_loses_no_play(server: Server) -> None:
    with server.explain():
        tokens = [server.token(f"rotator-{i:03d}") for i in range(CUSTOMERS)]
        results: list[Response] = []
        burst = threading.Thread(
            target=lambda: results.extend(
                _at_once(CUSTOMERS, lambda i: server.play("race-rotate", tokens[i]), CLIENT_THREADS)
            )
        )
        burst.start()
        rotated = 0
        with server.service() as service:
            time.sleep(0.05)
            while burst.is_alive() and rotated < ROTATIONS:  # `gamify rotate`, mid-traffic
                service.rotate("race-rotate")
                rotated += 1
                time.sleep(0.05)
        burst.join()
        statuses = Counter(r.status for r in results)
        assert statuses == {201: CUSTOMERS}, (statuses, f"{rotated} rotations")
        plays = [_play_of(r) for r in results]
        _assert_gap_free(plays, [f"rotator-{i:03d}" for i in range(CUSTOMERS)])
        assert rotated >= 1, "the burst ended before the epochs could rotate during it"
        report = verify_bundle(server.bundle("race-rotate"))
        assert report.plays == CUSTOMERS
        assert report.epochs == rotated + 1 and report.revealed_epochs == rotated


# -- (e) challenges: store events and quizzes from every worker at once ------------------------


def _order_event(event_id: str, customer: str) -> dict[str, Any]:
    at = datetime.now(ZoneInfo("UTC")).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {
        "id": event_id,
        "type": "order.paid",
        "customer": customer,
        "occurred_at": at,
        "order": {"id": f"o-{event_id}", "total": "30.00", "items": []},
    }


def _my_challenge(server: Server, customer: str) -> dict[str, Any]:
    resp = server.customer_get(f"{PREFIX}/api/me/challenges", customer)
    assert resp.status == 200, resp.body[:500]
    [found] = [c for c in resp.json["challenges"] if c["id"] == "race-challenge"]
    return dict(found)


def test_one_event_sent_to_every_worker_at_once_counts_once(server: Server) -> None:
    with server.explain():
        event = _order_event(f"dup-{secrets.token_hex(4)}", "dup-customer")
        results = _at_once(20, lambda i: server.events(event), 20)
        assert {r.status for r in results} == {200}, [r.body[:300] for r in results]
        statuses = Counter(r.json["results"][0]["status"] for r in results)
        assert statuses == {"accepted": 1, "duplicate": 19}, statuses
        [orders, _] = _my_challenge(server, "dup-customer")["steps"]
        assert orders["progress"] == 1


def test_a_customers_racing_orders_and_quiz_attempts_hold_their_caps(server: Server) -> None:
    with server.explain():
        customer = f"capped-{secrets.token_hex(4)}"
        orders = _at_once(
            12, lambda i: server.events(_order_event(f"{customer}-{i}", customer)), 12
        )
        assert {r.status for r in orders} == {200}, [r.body[:300] for r in orders]
        moved = [r for r in orders if r.json["results"][0]["progress"]]
        rewarded = [r for r in orders if r.json["results"][0]["rewards"]]
        assert len(moved) == 3, "at_most: 3 orders a day count, whatever the race"
        assert len(rewarded) <= 1
        quizzer = f"quiz-{secrets.token_hex(4)}"
        headers = {
            "Authorization": f"Bearer {server.token(quizzer)}",
            "Content-Type": "application/json",
        }
        wrong = json.dumps({"step": "quiz", "answers": [1]}).encode()
        answers = _at_once(
            10,
            lambda i: server.request(
                "POST", f"{PREFIX}/api/campaigns/race-challenge/quiz", wrong, headers
            ),
            10,
        )
        statuses = Counter(r.status for r in answers)
        assert statuses == {200: 2, 429: 8}, statuses
        assert _my_challenge(server, quizzer)["steps"][1]["attempts_left"] == 0


def test_many_customers_completing_at_once_get_winners_max_rewards(server: Server) -> None:
    with server.explain():
        run = secrets.token_hex(3)
        customers = [f"winner-{run}-{i:02d}" for i in range(60)]

        def complete(i: int) -> Response:
            customer = customers[i]
            return server.events(*(_order_event(f"{customer}-{n}", customer) for n in range(3)))

        results = _at_once(len(customers), complete, CLIENT_THREADS)
        assert {r.status for r in results} == {200}, [r.body[:300] for r in results]
        rewards = [
            reward for r in results for result in r.json["results"] for reward in result["rewards"]
        ]
        assert len(rewards) == len(customers)  # every one completed its window
        given = [r for r in rewards if r["rewarded"]]
        assert 0 < len(given) <= WINNERS_MAX
        engine = make_engine(server.database_url)
        try:
            with engine.connect() as conn:
                winners = conn.execute(
                    text("SELECT winners FROM gamify_challenge WHERE id = 'race-challenge'")
                ).scalar_one()
                entries = conn.execute(
                    text(
                        "SELECT count(ordinal), count(DISTINCT coupon) FROM gamify_challenge_entry"
                        " WHERE challenge = 'race-challenge'"
                    )
                ).one()
        finally:
            engine.dispose()
        # 60 completions for the 25 rewards left at most: exactly 25 given, each its own coupon
        assert winners == WINNERS_MAX and tuple(entries) == (WINNERS_MAX, WINNERS_MAX)
        coupons = [r["coupon"] for r in given]
        assert len(set(coupons)) == len(coupons) and all(c.startswith("RC-") for c in coupons)
        # the extra play shows in the game's plays_left
        lucky = next(
            c
            for c, r in zip(customers, results, strict=True)
            if r.json["results"][2]["rewards"][0]["rewarded"]
        )
        campaign = server.customer_get(f"{PREFIX}/api/campaigns/race-limit", lucky).json
        assert campaign["plays_left"] == LIMIT_PER_DAY + 1


# -- loyalty ----------------------------------------------------------------------------------


def _redeem(server: Server, customer: str, reward: str, key: str) -> Response:
    headers = {
        "Authorization": f"Bearer {server.token(customer)}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    body = json.dumps({"reward": reward}).encode()
    return server.request("POST", f"{PREFIX}/api/me/loyalty/redeem", body, headers)


def _loyalty(server: Server, customer: str) -> dict[str, Any]:
    resp = server.customer_get(f"{PREFIX}/api/me/loyalty", customer)
    assert resp.status == 200, resp.body[:500]
    return dict(resp.json)


def test_forty_concurrent_redemptions_never_spend_a_point_twice(server: Server) -> None:
    with server.explain():
        customer = f"spender-{secrets.token_hex(4)}"
        assert server.events(_order_event(f"{customer}-paid", customer)).status == 200
        spent = _loyalty(server, customer)["points"]["available"]
        assert spent == 30  # one order of 30.00
        tries = _at_once(40, lambda i: _redeem(server, customer, "pin", f"k{i}"), 40)
        statuses = Counter(r.status for r in tries)
        assert statuses[201] == 3, statuses  # 30 points buy 3 pins of 10, whatever the race
        assert {_problem_code(r) for r in tries if r.status != 201} == {"insufficient_points"}
        coupons = {r.json["coupon"] for r in tries if r.status == 201}
        assert len(coupons) == 3
        assert _loyalty(server, customer)["points"]["available"] == 0
        with server.service() as service:
            assert service.rebuild() == []


def test_forty_customers_racing_for_a_reward_never_exceed_its_stock(server: Server) -> None:
    with server.explain():
        tag = secrets.token_hex(4)
        customers = [f"stock-{tag}-{i}" for i in range(40)]
        for start in range(0, 40, 20):
            batch = [_order_event(f"{c}-paid", c) for c in customers[start : start + 20]]
            assert server.events(*batch).status == 200
        tries = _at_once(40, lambda i: _redeem(server, customers[i], "mug", f"mug-{i}"), 40)
        bought = [r for r in tries if r.status == 201]
        assert {_problem_code(r) for r in tries if r.status != 201} == {"out_of_stock"}
        assert len(bought) == GRAND_STOCK  # the only test buying mugs
        assert len({r.json["coupon"] for r in bought}) == GRAND_STOCK
        refused = [c for c, r in zip(customers, tries, strict=True) if r.status != 201]
        assert _loyalty(server, refused[0])["points"]["available"] == 30  # nothing spent


def test_one_idempotency_key_sent_to_every_worker_redeems_once(server: Server) -> None:
    with server.explain():
        customer = f"retrier-{secrets.token_hex(4)}"
        for i in range(4):
            assert server.events(_order_event(f"{customer}-paid-{i}", customer)).status == 200
        before = _loyalty(server, customer)["points"]["available"]
        assert before >= 120  # 4 orders of 30 (and the race challenge's points)
        tries = _at_once(20, lambda i: _redeem(server, customer, "ship", "same-key"), 20)
        assert Counter(r.status for r in tries) == {201: 1, 200: 19}
        assert len({r.json["coupon"] for r in tries}) == 1
        assert _loyalty(server, customer)["points"]["available"] == before - 100


# -- (h) guests: aliases of one mailbox, and one address, racing ---------------------------------


def test_aliases_of_one_mailbox_racing_share_one_guest_and_its_limit(server: Server) -> None:
    """60 plays at once by spellings of one Gmail address, all with consent: one guest, its
    daily limit exact, its consent recorded once."""
    with server.explain():
        day = _madrid_today()
        spellings = [
            "Race.Guest@gmail.com",
            "raceguest+a@gmail.com",
            "r.a.c.e.guest@googlemail.com",
        ]
        results = _at_once(
            ATTEMPTS,
            lambda i: server.guest_play("race-guest-mailbox", spellings[i % 3], consent=True),
            ATTEMPTS,
        )
        allowed = LIMIT_PER_DAY if _madrid_today() == day else 2 * LIMIT_PER_DAY
        statuses = Counter(r.status for r in results)
        assert statuses == {201: allowed, 429: ATTEMPTS - allowed}, statuses
        plays = _bundle_plays(server.bundle("race-guest-mailbox"))
        assert len(plays) == allowed and len({p["player"] for p in plays}) == 1
        with server.service() as service:
            leads = list(service.leads("race-guest-mailbox"))
        assert len(leads) == 1 and leads[0].email in {s.lower() for s in spellings} | set(spellings)


def test_plays_from_one_address_racing_hold_the_per_ip_cap(server: Server) -> None:
    with server.explain():
        day = _madrid_today()
        results = _at_once(
            ATTEMPTS,
            lambda i: server.guest_play("race-guest-address", f"shopper{i}@example.com"),
            ATTEMPTS,
        )
        allowed = PER_IP if _madrid_today() == day else 2 * PER_IP
        statuses = Counter(r.status for r in results)
        assert statuses == {201: allowed, 429: ATTEMPTS - allowed}, statuses
        refused = {r.json["detail"].split(";")[0] for r in results if r.status == 429}
        assert refused == {f"limit of {PER_IP} play(s) per day from one internet address reached"}
        assert verify_bundle(server.bundle("race-guest-address")).plays == allowed
