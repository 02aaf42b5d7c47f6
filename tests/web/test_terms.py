"""The campaign terms page (CONTRACT §13) as a shopper, a store and a regulator read it: what it
states is checked against the campaign file it is made from, on SQLite and PostgreSQL.

Every response goes through the OpenAPI checker (tests/api_support.py), so the page and its
404s are also held to the document.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_support import (
    CHALLENGE,
    PREFIX,
    TZ,
    WHEEL,
    bearer,
    campaign_yaml,
    challenge_yaml,
    checked_client,
    local_today,
    make_app,
)
from databases import KINDS, database_url
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gamify.core import fairness
from gamify.storage.tables import epoch_t
from gamify.web.state import state

GUESTS = "guest-wheel"
HOSTILE = "hostile-wheel"
SCRIPT = "<script>alert(1)</script>"
ORGANISER = {
    "name": "Tienda Demo S.L.",
    "address": "Calle Mayor 1, 28013 Madrid",
    "email": "promos@tienda.example",
}


def terms_url(campaign_id: str) -> str:
    return f"{PREFIX}/campaigns/{campaign_id}/terms"


def guest_yaml() -> str:
    """The test wheel, open to guests of 16 or over (5 plays a day from one address), with a
    holdout, a daily and total budget, a prize of 1/3 odds and a weekly seed."""
    today = local_today()
    text = campaign_yaml(GUESTS, today - timedelta(days=1), today + timedelta(days=30))
    text = text.replace("weight: 40", "weight: 50")  # 30 + 30 + 50: odds that are not round
    return text + (
        "guests:\n"
        '  consent: {es: "Acepto ofertas", en: "Send me offers"}\n'
        "  per_ip: {plays: 5, per: day}\n"
        "  min_age: 16\n"
        "holdout: 10\n"
        "budget: {max_value_per_day: 100, max_value_total: 2500.5}\n"
        "fairness: {rotate_every: 1w}\n"
    )


def hostile_yaml() -> str:
    today = local_today()
    text = campaign_yaml(HOSTILE, today - timedelta(days=1), today + timedelta(days=30))
    text = text.replace('{es: "Premio gordo", en: "Big prize"}', f"'{SCRIPT}'")
    return text.replace('{es: "Rueda de prueba", en: "Test wheel"}', f"'<b>{SCRIPT}</b>'")


@pytest.fixture
def campaigns_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    today = local_today()
    starts, ends = today - timedelta(days=1), today + timedelta(days=30)
    (folder / f"{WHEEL}.yaml").write_text(campaign_yaml(WHEEL, starts, ends), encoding="utf-8")
    (folder / f"{GUESTS}.yaml").write_text(guest_yaml(), encoding="utf-8")
    (folder / f"{HOSTILE}.yaml").write_text(hostile_yaml(), encoding="utf-8")
    (folder / f"{CHALLENGE}.yaml").write_text(challenge_yaml(), encoding="utf-8")
    return folder


@pytest.fixture(params=KINDS)
def app(request: pytest.FixtureRequest, tmp_path: Path, campaigns_dir: Path) -> Iterator[Flask]:
    with database_url(request.param, tmp_path) as url:
        app = make_app(
            tmp_path / "store", campaigns_dir, GAMIFY_DATABASE_URL=url, GAMIFY_ORGANISER=ORGANISER
        )
        yield app
        state(app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client, _ = checked_client(app)
    return client


# -- reading the page -------------------------------------------------------------------------


_BLOCKS = frozenset({"p", "li", "dt", "dd", "td", "th", "h1", "h2", "caption"})


class Page(HTMLParser):
    """The page's text by section (the ``h2`` ids), its prize table's rows as cell texts, and
    its links and style."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.sections: dict[str, list[str]] = {"top": []}
        self.rows: list[list[str]] = []
        self.links: dict[str, str] = {}
        self.lang = ""
        self.style = ""
        self._section = "top"
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._href: str | None = None
        self._tag = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self._tag = tag
        if tag in _BLOCKS:  # a word boundary, as a browser shows it
            self.sections[self._section].append(" ")
        if tag == "html":
            self.lang = found.get("lang") or ""
        elif tag == "h2":
            self._section = found.get("id") or "?"
            self.sections[self._section] = []
        elif tag == "tr" and self._section == "prizes":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a":
            self._href = found.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "a":
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._tag == "style":
            self.style += data
            self._tag = ""
            return
        self.sections[self._section].append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._href is not None and data.strip():
            self.links[" ".join(data.split())] = self._href

    def text(self, section: str) -> str:
        return " ".join("".join(self.sections[section]).split())

    def prize_rows(self) -> dict[str, list[str]]:
        """Prize label -> [chance, odds, value, units, left, is a prize] (header row left out)."""
        return {row[0]: row[1:] for row in self.rows[1:]}


def terms(client: FlaskClient, campaign_id: str = WHEEL, **kwargs: Any) -> Page:
    response = client.get(terms_url(campaign_id), **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    return Page(response.get_data(as_text=True))


def seed_drawing(app: Flask, campaign_id: str, prize_id: str, customer: str) -> str:
    """A client seed whose draw is ``prize_id`` for the customer's first play (the test reads
    the open epoch's seed; v2 names the player)."""
    current = state(app)
    rules = current.registry.get(campaign_id).rules
    player = current.service.player(campaign_id, customer)
    with current.engine.connect() as conn:
        seed = conn.execute(
            select(epoch_t.c.server_seed).where(epoch_t.c.campaign == campaign_id)
        ).scalar_one()
    target = rules.index[prize_id]
    for i in itertools.count():
        candidate = f"seed-{i}"
        if fairness.draw(seed, campaign_id, candidate, 0, rules.running, player) == target:
            return candidate
    raise AssertionError("unreachable")


def win(client: FlaskClient, app: Flask, campaign_id: str, prize_id: str, customer: str) -> str:
    """A play by a new customer that draws ``prize_id``; the prize it was awarded."""
    seed = seed_drawing(app, campaign_id, prize_id, customer)
    response = client.post(
        f"{PREFIX}/api/campaigns/{campaign_id}/plays",
        json={"client_seed": seed},
        headers=bearer(state(app).tokens.sign(customer)),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    awarded: str = response.get_json()["play"]["prize"]["id"]
    return awarded


# -- what the page states ---------------------------------------------------------------------


def test_every_prize_is_stated_with_its_odds_value_and_units(client: FlaskClient) -> None:
    page = terms(client, query_string={"lang": "en"})
    assert page.prize_rows() == {
        "Big prize": ["30.00 %", "1 in 3.3", "10", "2", "2", "Yes"],
        "10% off": ["30.00 %", "1 in 3.3", "Not stated", "No limit", "No limit", "Yes"],
        "So close!": ["40.00 %", "1 in 2.5", "–", "No limit", "No limit", "No: no prize"],
    }
    assert page.rows[0] == [
        "Prize",
        "Chance in each play",
        "Odds",
        "Value",
        "Units in the promotion",
        "Units left now",
        "Is it a prize?",
    ]
    assert "Chance of drawing a prize in each play: 60.00 %." in page.text("prizes")


def test_units_left_count_down_with_the_awards_and_then_the_fallback_is_given(
    client: FlaskClient, app: Flask
) -> None:
    assert win(client, app, WHEEL, "big", "ana") == "big"
    assert terms(client, query_string={"lang": "en"}).prize_rows()["Big prize"][3:5] == ["2", "1"]
    assert win(client, app, WHEEL, "big", "bea") == "big"
    assert win(client, app, WHEEL, "big", "carla") == "try-again"  # out of stock: the fallback
    page = terms(client, query_string={"lang": "es"})
    assert page.prize_rows()["Premio gordo"][3:5] == ["2", "0"]
    assert "Si el premio que sale no tiene unidades, recibes «¡Casi!» en su lugar." in page.text(
        "fallback"
    )


def test_odds_that_are_not_round_are_given_as_a_percentage_and_one_in_n(
    client: FlaskClient,
) -> None:
    rows = terms(client, GUESTS, query_string={"lang": "es"}).prize_rows()
    assert rows["Premio gordo"][:2] == ["27,27 %", "1 de cada 3,7"]  # 30 / 110
    assert rows["¡Casi!"][:2] == ["45,45 %", "1 de cada 2,2"]


def test_dates_are_local_times_of_the_campaign_zone(client: FlaskClient) -> None:
    today = local_today()
    starts = datetime.combine(today - timedelta(days=1), datetime.min.time(), ZoneInfo(TZ))
    ends = datetime.combine(today + timedelta(days=30), datetime.min.time(), ZoneInfo(TZ))
    months = "January February March April May June July August September October November"
    month = [*months.split(), "December"]
    text = terms(client, query_string={"lang": "en"}).text("dates")
    assert f"Starts {starts.day} {month[starts.month - 1]} {starts.year}, 00:00" in text
    assert f"Ends {ends.day} {month[ends.month - 1]} {ends.year}, 00:00" in text
    offset = starts.strftime("%z")
    assert f"local times of the {TZ} time zone (UTC{offset[:3]}:{offset[3:]}" in text
    assert "It is running now." in text
    es = terms(client, query_string={"lang": "es"}).text("dates")
    assert f"Empieza {starts.day} de " in es and f"de {starts.year}, 00:00" in es
    assert f"zona horaria {TZ}" in es


def test_who_may_play_and_how_often_follow_the_guests_settings(client: FlaskClient) -> None:
    page = terms(client, GUESTS, query_string={"lang": "en"})
    who = page.text("who")
    assert "Anyone aged 16 or over" in who
    assert "by ticking a box, that you are 16 or over" in who
    assert "10 % of customers, chosen at random, do not see it" in who
    limits = page.text("limits")
    assert "3 plays a day" in limits
    assert "(IP address), plays without an account are capped at 5 plays a day." in limits
    assert "your email address is kept" in page.text("data")
    es = terms(client, GUESTS, query_string={"lang": "es"})
    assert "Cualquier persona de 16 años o más" in es.text("who")
    assert "3 jugadas al día" in es.text("limits") and "5 jugadas al día" in es.text("limits")


def test_a_campaign_without_guests_is_for_signed_in_customers_only(client: FlaskClient) -> None:
    page = terms(client, query_string={"lang": "en"})
    assert page.text("who") == "Who may play Customers signed in to their account in the store."
    assert "IP address" not in page.text("limits")
    assert "email address is kept" not in page.text("data")


def test_budgets_and_the_fallback_rule_are_stated_in_words(client: FlaskClient) -> None:
    text = terms(client, GUESTS, query_string={"lang": "en"}).text("fallback")
    assert "or giving it would go over the store's budget for prizes, you get “So close!”" in text
    assert f"at most 100 a day ({TZ} days)" in text
    assert "at most 2,500.50 in the whole promotion" in text


def test_draws_are_explained_with_links_to_their_public_record(client: FlaskClient) -> None:
    page = terms(client, GUESTS, query_string={"lang": "en"})
    fair = page.text("fair")
    assert "every week, or when the promotion ends" in fair
    assert f"gamify verify {GUESTS}.audit.jsonl" in fair
    commitment = client.get(f"{PREFIX}/api/campaigns/{GUESTS}").get_json()["commitment"]
    assert commitment in fair
    record = page.links["The public record of the seeds and their fingerprints"]
    bundle = page.links["The audit bundle: every play of the promotion, under pseudonyms"]
    assert record == f"{PREFIX}/api/campaigns/{GUESTS}/fairness"
    assert bundle == f"{PREFIX}/api/campaigns/{GUESTS}/audit.jsonl"
    assert client.get(record).status_code == 200
    assert client.get(bundle).status_code == 200


def test_coupons_are_said_to_be_shown_at_once(client: FlaskClient) -> None:
    text = terms(client, query_string={"lang": "en"}).text("delivery")
    assert "Prizes with a code (10% off): the code is shown on screen as soon as you play" in text
    assert "Prizes without a code (Big prize): the store tells you" in text


def test_the_organiser_is_named_with_a_link_to_write_to_them(client: FlaskClient) -> None:
    page = terms(client, query_string={"lang": "en"})
    text = page.text("organiser")
    assert ORGANISER["name"] in text and ORGANISER["address"] in text
    assert page.links[ORGANISER["email"]] == f"mailto:{ORGANISER['email']}"
    assert "write to the organiser: promos@tienda.example" in page.text("data")


def test_without_an_organiser_the_page_says_the_store_has_not_named_one(
    tmp_path: Path, campaigns_dir: Path
) -> None:
    app = make_app(tmp_path / "bare", campaigns_dir)
    client, _ = checked_client(app)
    try:
        page = terms(client, query_string={"lang": "en"})
        assert "The store has not named the organiser of this promotion yet" in page.text(
            "organiser"
        )
        assert "write to the store" in page.text("data")
        assert "mailto:" not in " ".join(page.links.values())
        es = terms(client, query_string={"lang": "es"})
        assert "La tienda aún no ha indicado quién organiza" in es.text("organiser")
    finally:
        state(app).engine.dispose()


# -- languages, escaping, headers, errors -----------------------------------------------------


def test_the_language_comes_from_the_query_else_accept_language(client: FlaskClient) -> None:
    page = terms(client, query_string={"lang": "es"})
    assert page.lang == "es" and "Bases de la promoción: Rueda de prueba" in page.text("top")
    page = terms(client, headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert page.lang == "es" and "Premio gordo" in page.prize_rows()
    page = terms(client, headers={"Accept-Language": "en-GB"})
    assert page.lang == "en" and "Terms of the promotion: Test wheel" in page.text("top")
    assert page.links["Español"] == f"{terms_url(WHEEL)}?lang=es"
    response = client.get(terms_url(WHEEL), headers={"Accept-Language": "fr"})
    assert "Accept-Language" in response.headers["Vary"]


def test_hostile_labels_and_titles_stay_text(client: FlaskClient) -> None:
    response = client.get(terms_url(HOSTILE), query_string={"lang": "en"})
    html = response.get_data(as_text=True)
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = Page(html)
    assert SCRIPT in page.prize_rows()
    assert f"Terms of the promotion: <b>{SCRIPT}</b>" in page.text("top")


def test_the_page_runs_under_a_policy_that_allows_only_its_own_style(
    client: FlaskClient,
) -> None:
    response = client.get(terms_url(WHEEL))
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert "script-src" not in policy  # no script at all
    digest = hashlib.sha256(Page(response.get_data(as_text=True)).style.encode()).digest()
    assert f"style-src 'sha256-{base64.b64encode(digest).decode()}'" in policy
    assert not re.search(r"\sstyle=|\son\w+=", response.get_data(as_text=True))
    assert response.cache_control.max_age is not None and response.cache_control.max_age <= 60
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_campaigns_and_challenges_are_404_problems(client: FlaskClient) -> None:
    for campaign_id in ("no-such-wheel", "Not_A_Slug", CHALLENGE):
        response = client.get(terms_url(campaign_id))
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    assert client.get(terms_url("no-such-wheel")).get_json()["code"] == "campaign_not_found"


def test_the_campaign_json_links_to_its_terms(client: FlaskClient) -> None:
    body = client.get(f"{PREFIX}/api/campaigns/{WHEEL}").get_json()
    assert body["terms_url"] == terms_url(WHEEL)
    assert client.get(body["terms_url"]).status_code == 200


# -- GAMIFY_ORGANISER -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (["Tienda"], "must be a mapping"),
        ("Tienda Demo", "must be a mapping"),
        ({"address": "Calle Mayor 1"}, 'needs a "name"'),
        ({"name": "  "}, 'needs a "name"'),
        ({"name": "Tienda", "phone": "1"}, "unknown key(s) 'phone'"),
        ({"name": "Tienda", "email": "not an address"}, '"email" must be an email address'),
        ({"name": 7}, '"name" must be text'),
    ],
)
def test_a_malformed_organiser_stops_the_app_naming_the_key(
    tmp_path: Path, campaigns_dir: Path, value: object, says: str
) -> None:
    with pytest.raises(RuntimeError, match="GAMIFY_ORGANISER") as raised:
        make_app(tmp_path / "store", campaigns_dir, GAMIFY_ORGANISER=value)
    assert says in str(raised.value)


def test_the_organiser_may_come_as_json_text_from_the_environment(
    tmp_path: Path, campaigns_dir: Path
) -> None:
    app = make_app(
        tmp_path / "store",
        campaigns_dir,
        GAMIFY_ORGANISER='{"name": "Tienda Demo S.L.", "email": "promos@tienda.example"}',
    )
    client, _ = checked_client(app)
    try:
        page = terms(client, query_string={"lang": "en"})
        assert "Organiser Tienda Demo S.L." in page.text("organiser")
        assert "Address" not in page.text("organiser")
    finally:
        state(app).engine.dispose()
