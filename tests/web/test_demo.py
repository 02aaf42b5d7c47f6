"""`gamify demo`: the sample store a newcomer opens at http://127.0.0.1:5000.

Through Flask's test client, no browser: the page (languages, the widget tags, the signed
customer, escaping), the demo dates, a draw verified end to end on the fairness page, the
shop's orders and reviews, which move the seasonal challenge, and the wheel's report, filled
by the history the demo makes up, behind its "Report" button. What the games and the
challenge's card do in a browser is for the browser tests.

The module's demo store makes its history once (about a second); tests that start demos of
their own skip it unless it is what they test (``create_demo_app(..., history=False)``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import flask
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text as sql

import gamify.demo
from gamify.cli.main import cli
from gamify.core.fairness import commitment
from gamify.core.holdout import holdout_group
from gamify.core.kpis import MIN_SAMPLE
from gamify.core.rules import iso_utc
from gamify.demo import create_demo_app
from gamify.demo.dates import with_demo_dates
from gamify.demo.history import generate_history
from gamify.demo.shop import BACKDATE_DAYS, CUSTOMERS, PRODUCTS
from gamify.web.state import state

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "campaigns"
WHEEL = "black-friday-wheel"
SCRATCH = "welcome-back-scratch"
CHALLENGE = "seasonal-challenge"
MADRID = ZoneInfo("Europe/Madrid")
SYNTHETIC = "demo-c[0-9][0-9][0-9][0-9]"  # the history's customers (not demo-customer)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One demo store for the module; tests that play use customers of their own."""
    app = create_demo_app(tmp_path_factory.mktemp("demo") / "instance")
    app.config["TESTING"] = True
    yield app
    state(app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Tags(HTMLParser):
    """Every start tag of a page, as (tag, attributes)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def widgets(html: str) -> dict[str, dict[str, str | None]]:
    return {str(s["data-campaign"]): s for s in Tags(html).all("script") if "data-campaign" in s}


def customer_of(app: Flask, script: dict[str, str | None]) -> str:
    return state(app).tokens.customer(script["data-customer"])


def play(client: FlaskClient, app: Flask, campaign: str, customer: str) -> dict[str, Any]:
    response = client.post(
        f"/gamify/api/campaigns/{campaign}/plays",
        json={"client_seed": "demo-test-seed"},
        headers={"Authorization": f"Bearer {state(app).tokens.sign(customer)}"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()["play"]
    return body


def epoch_rows(html: str) -> dict[int, tuple[str, str | None]]:
    """Epoch → (commitment, revealed seed or None), as the fairness page shows them."""
    rows = {}
    for number, row in re.findall(r'<tr data-epoch="(\d+)">(.*?)</tr>', html, re.S):
        [committed] = re.findall(r"data-commitment>([0-9a-f]{64})<", row)
        seeds = re.findall(r"data-seed>([0-9a-f]{64})<", row)
        rows[int(number)] = (committed, seeds[0] if seeds else None)
    return rows


# -- the shop page ----------------------------------------------------------------------------


def test_the_shop_speaks_spanish_by_default_and_english_with_lang_en(client: FlaskClient) -> None:
    spanish = page(client, "/")
    assert '<html lang="es">' in spanish
    for text in ("Tienda Demo", "Productos", "Rasca y gana", "Tu carrito", "Fechas de demo"):
        assert text in spanish
    assert 'data-applied="Cupón aplicado a tu carrito"' in spanish
    assert {s["data-lang"] for s in widgets(spanish).values()} == {"es"}

    english = page(client, "/?lang=en")
    assert '<html lang="en">' in english
    for text in ("Demo Shop", "Products", "Scratch and win", "Your cart", "Demo dates"):
        assert text in english
    assert 'data-applied="Coupon applied to your cart"' in english
    assert "Tienda Demo" not in english
    assert {s["data-lang"] for s in widgets(english).values()} == {"en"}
    # the switch: ES | EN, each link keeping the page; an unknown language is Spanish
    links = {a.get("hreflang"): a for a in Tags(english).all("a") if a.get("hreflang")}
    assert links["es"]["href"] == "/" and links["en"]["href"] == "/?lang=en"
    assert "aria-current" in links["en"] and "aria-current" not in links["es"]
    assert '<html lang="es">' in page(client, "/?lang=fr")


def test_the_shop_embeds_the_wheel_behind_the_launcher_and_the_scratch_card_inline(
    app: Flask, client: FlaskClient
) -> None:
    html = page(client, "/")
    tags = widgets(html)
    assert set(tags) == {WHEEL, SCRATCH, CHALLENGE, "loyalty"}
    for script in tags.values():
        assert script["src"] == "/gamify/widget.js"
        assert "defer" in script
        assert customer_of(app, script) == "demo-customer"
    assert "data-target" not in tags[WHEEL]  # the floating launcher
    assert tags[SCRATCH]["data-target"] == "#scratch"
    assert tags[CHALLENGE]["data-target"] == "#challenge"  # the challenge's card, inline
    ids = {d.get("id") for d in Tags(html).all("div")}
    assert {"scratch", "challenge"} <= ids
    # the cart listens for gamify:result and writes the coupon as text only
    [demo] = [s for s in Tags(html).all("script") if s.get("src") == "/static/demo.js"]
    assert "defer" in demo
    script = client.get("/static/demo.js").get_data(as_text=True)
    assert "gamify:result" in script and "textContent" in script
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script


# -- Content-Security-Policy ------------------------------------------------------------------


def test_every_page_sends_a_strict_csp_and_has_nothing_inline(client: FlaskClient) -> None:
    """``default-src 'self'``: every script and style of the demo is a file of its own."""
    for url, status in (
        ("/", 200),
        ("/?lang=en&customer=ana", 200),
        (f"/fairness/{WHEEL}", 200),
        ("/no-such-page", 404),
    ):
        response = client.get(url)
        assert response.status_code == status, url
        assert response.headers["Content-Security-Policy"] == "default-src 'self'", url
        html = response.get_data(as_text=True)
        tags = Tags(html)
        assert all(s.get("src") for s in tags.all("script")), f"{url}: an inline script"
        assert not tags.all("style"), f"{url}: a <style> element"
        assert not any("style" in attrs for _, attrs in tags.tags), f"{url}: a style attribute"
        assert not any(name.startswith("on") for _, attrs in tags.tags for name in attrs), (
            f"{url}: an inline event handler"
        )
        assert "javascript:" not in html
    # the product pictures keep their colours, from data-tint (demo.js sets them)
    html = page(client, "/")
    assert [d["data-tint"] for d in Tags(html).all("div") if "data-tint" in d] == [
        p.tint for p in PRODUCTS
    ]
    # the API, and the files, are not the demo's pages: no policy of the demo on them
    assert "Content-Security-Policy" not in client.get("/gamify/api/campaigns").headers
    assert "Content-Security-Policy" not in client.get("/static/demo.css").headers


def test_every_script_carries_the_nonce_of_its_page(app: Flask, client: FlaskClient) -> None:
    """A nonce-based policy works too: set DEMO_CONTENT_SECURITY_POLICY, {nonce} in it."""
    policy = "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic'"
    app.config["DEMO_CONTENT_SECURITY_POLICY"] = policy
    try:
        seen = set()
        for _ in range(2):
            response = client.get("/")
            html = response.get_data(as_text=True)
            nonces = {s.get("nonce") for s in Tags(html).all("script")}
            [nonce] = nonces
            assert nonce and len(nonce) >= 22
            assert response.headers["Content-Security-Policy"] == policy.replace("{nonce}", nonce)
            assert len(widgets(html)) == 4  # the widget tags carry it (gamify_widget(nonce=…))
            seen.add(nonce)
        assert len(seen) == 2  # a new one for every page
    finally:
        del app.config["DEMO_CONTENT_SECURITY_POLICY"]


def test_the_shop_shows_six_products_landmarks_and_labels(client: FlaskClient) -> None:
    html = page(client, "/")
    assert len(PRODUCTS) == 6
    assert html.count('class="product"') == 6
    for product in PRODUCTS:
        assert product.name["es"] in html and product.price_text("es") in html
    assert "59,90 €" in html and "€59.90" in page(client, "/?lang=en")
    tags = Tags(html)
    for landmark in ("header", "main", "footer", "nav"):
        assert tags.all(landmark), landmark
    # one h1, and the headings of the page are h2 under it
    assert len(tags.all("h1")) == 1
    assert re.search(r"<h1[^>]*>.*Tienda Demo", html)
    labelled = {label["for"] for label in tags.all("label")}
    assert all(i.get("type") == "hidden" or i["id"] in labelled for i in tags.all("input"))
    assert not re.search(r'(src|href)="https?://', html)  # no external assets
    css = client.get("/static/demo.css").get_data(as_text=True)
    assert ":focus-visible" in css and "@import" not in css and "url(" not in css


def test_the_signed_in_customer_can_switch(app: Flask, client: FlaskClient) -> None:
    html = page(client, "/")
    assert '<strong class="who">demo-customer</strong>' in html
    assert 'href="/?customer=ana"' in html and 'href="/?customer=luis"' in html

    html = page(client, "/?customer=ana&lang=en")
    assert '<strong class="who">ana</strong>' in html
    assert {customer_of(app, s) for s in widgets(html).values()} == {"ana"}
    assert 'href="/?lang=en"' in html  # back to demo-customer, in English
    assert 'href="/?lang=en&amp;customer=luis"' in html
    assert 'href="/?customer=ana"' in html  # Spanish, as ana


def test_a_shopper_may_visit_without_an_account(app: Flask, client: FlaskClient) -> None:
    """``?guest=1``: the widgets get no customer token; the wheel, which takes guests, asks
    for an email at the first spin (the browser tests play it)."""
    html = page(client, "/?lang=en")
    guest_link = next(a for a in Tags(html).all("a") if "data-guest-link" in a)
    assert guest_link["href"] == "/?lang=en&guest=1"
    assert "Visit without an account" in html

    html = page(client, "/?lang=en&guest=1")
    assert '<strong class="who">' not in html
    assert "You are visiting without an account" in html
    tags = widgets(html)
    assert set(tags) == {WHEEL, SCRATCH, CHALLENGE, "loyalty"}
    assert all("data-customer" not in tag for tag in tags.values())
    # signing in as a demo customer leaves the guest's visit; the language links keep it
    for customer in CUSTOMERS:
        assert f'href="/?lang=en&amp;customer={customer}"' in html or (
            customer == "demo-customer" and 'href="/?lang=en">Sign in as demo-customer' in html
        )
    links = {a.get("hreflang"): a["href"] for a in Tags(html).all("a") if a.get("hreflang")}
    assert links == {"es": "/?guest=1", "en": "/?lang=en&guest=1"}
    assert 'href="/fairness/black-friday-wheel?lang=en&amp;guest=1"' in html
    # a guest neither orders nor reviews: the shop says so
    said = notice(client, client.post("/orders?guest=1", data={"product": "watch"}))
    assert said == "Sin cuenta no puedes comprar ni escribir reseñas: entra como cliente."
    response = client.post("/reviews?guest=1&lang=en", data={"product": "watch", "rating": "5"})
    assert notice(client, response).startswith("Without an account you cannot order or review")
    # and has no plays of a demo customer on the fairness page
    fairness = page(client, f"/fairness/{WHEEL}?guest=1")
    assert 'id="plays-title"' not in fairness


def test_the_example_wheel_takes_guests_and_opens_on_exit_intent(client: FlaskClient) -> None:
    tag = widgets(page(client, "/"))[WHEEL]
    assert tag["data-trigger"] == "exit" and tag["data-show"] == "daily"
    for lang, consent in (
        ("es", "Quiero recibir ofertas de Tienda Demo por email"),
        ("en", "I want to receive offers from Demo Store by email"),
    ):
        body = client.get(f"/gamify/api/campaigns/{WHEEL}?lang={lang}").get_json()
        assert body["guests"]["consent"] == consent
        assert body["guests"]["ask_age"] is False
        assert body["terms_url"] == f"/gamify/campaigns/{WHEEL}/terms"
    # the other games take no guests
    assert client.get(f"/gamify/api/campaigns/{SCRATCH}").get_json()["guests"] is None


def test_a_customer_id_with_markup_stays_text(app: Flask, client: FlaskClient) -> None:
    evil = '<script>alert("x")</script>'
    html = page(client, "/?" + "customer=" + "%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E")
    assert evil not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert {customer_of(app, s) for s in widgets(html).values()} == {evil}
    fairness = page(client, "/fairness/black-friday-wheel?customer=%3Cb%3Ebold%3C%2Fb%3E")
    assert "<b>bold</b>" not in fairness and "&lt;b&gt;bold&lt;/b&gt;" in fairness


# -- demo dates -------------------------------------------------------------------------------


def test_the_demo_campaigns_run_now_though_the_examples_have_fixed_dates(
    app: Flask, client: FlaskClient
) -> None:
    # the examples keep their dates: Black Friday 2026 is not running on most days of the year
    assert "starts: 2026-11-27T00:00:00" in (EXAMPLES / f"{WHEEL}.yaml").read_text("utf-8")
    listed = client.get("/gamify/api/campaigns").get_json()["campaigns"]
    assert {c["id"] for c in listed} == {WHEEL, SCRATCH, CHALLENGE}
    assert all(c["active"] for c in listed)

    today = datetime.now(MADRID).date()
    copies = Path(app.instance_path) / "campaigns"
    # a game started yesterday; the wheel, which has a holdout, four weeks ago (its report
    # compares that window with as many days before it, which the demo's history fills)
    for campaign, days in ((SCRATCH, 1), (WHEEL, 28)):
        copy = (copies / f"{campaign}.yaml").read_text("utf-8")
        assert f"starts: {today - timedelta(days=days)}T00:00:00" in copy
        assert f"ends: {today + timedelta(days=30)}T00:00:00" in copy
    # the challenge started a week ago, so that orders dated back (demo only) count
    copy = (copies / f"{CHALLENGE}.yaml").read_text("utf-8")
    assert f"starts: {today - timedelta(days=7)}T00:00:00" in copy
    assert f"ends: {today + timedelta(days=30)}T00:00:00" in copy
    assert max(BACKDATE_DAYS) < 7
    assert (copies / "coupons" / "partner-gift.csv").is_file()  # the pool goes along
    html = page(client, "/")
    assert f"{today - timedelta(days=1)} 00:00" in html and "Europe/Madrid" in html


def test_demo_dates_change_only_the_starts_and_ends_lines() -> None:
    text = (EXAMPLES / f"{WHEEL}.yaml").read_text("utf-8")
    # 23:30 UTC on 10 March is already 11 March in Madrid: dates are the campaign's local ones
    moved = with_demo_dates(text, datetime(2030, 3, 10, 23, 30, tzinfo=ZoneInfo("UTC")))
    changed = [
        line
        for line in difflib.unified_diff(text.splitlines(), moved.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert sorted(changed) == sorted(
        [
            "-starts: 2026-11-27T00:00:00",
            "-ends: 2026-12-01T00:00:00",
            "+starts: 2030-02-11T00:00:00",  # four weeks back: the wheel has a holdout
            "+ends: 2030-04-10T00:00:00",
        ]
    )
    assert text.count("\n") == moved.count("\n")
    # a trailing comment stays; nested keys named starts/ends are not campaign dates
    other = "starts: '2026-01-01'  # opening day\nnested:\n  ends: 5\n"
    assert with_demo_dates(other, datetime(2030, 1, 5, tzinfo=ZoneInfo("UTC"))) == (
        "starts: 2030-01-04T00:00:00  # opening day\nnested:\n  ends: 5\n"
    )
    # the longest rule that applies: a game starts yesterday, a challenge a week back, and a
    # campaign with a holdout (challenge or game) four weeks back
    for head, starts in (
        ("game: wheel\nholdout: 0\n", "2030-01-04"),
        ("game: wheel\nholdout: true\n", "2030-01-04"),
        ("game: challenge\n", "2029-12-29"),
        ("game: challenge\nholdout: 5\n", "2029-12-08"),
        ("game: scratch\nholdout: 50\n", "2029-12-08"),
    ):
        moved = with_demo_dates(head + "starts: x\n", datetime(2030, 1, 5, tzinfo=ZoneInfo("UTC")))
        assert moved == f"{head}starts: {starts}T00:00:00\n", head


def test_demo_dates_move_the_challenge_a_week_back_and_nothing_else() -> None:
    text = (EXAMPLES / f"{CHALLENGE}.yaml").read_text("utf-8")
    assert "ends: 2027-01-06T23:59:59" in text
    moved = with_demo_dates(text, datetime(2030, 3, 10, 23, 30, tzinfo=ZoneInfo("UTC")))
    changed = [
        line
        for line in difflib.unified_diff(text.splitlines(), moved.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert sorted(changed) == sorted(
        [
            "-starts: 2026-11-01T00:00:00",
            "-ends: 2027-01-06T23:59:59",
            "+starts: 2030-03-04T00:00:00",
            "+ends: 2030-04-10T00:00:00",
        ]
    )


# -- orders, reviews and the challenge --------------------------------------------------------


def me_challenge(app: Flask, client: FlaskClient, customer: str) -> dict[str, Any]:
    """The customer's seasonal challenge, as GET /api/me/challenges gives it."""
    response = client.get(
        "/gamify/api/me/challenges",
        headers={"Authorization": f"Bearer {state(app).tokens.sign(customer)}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    [item] = [c for c in response.get_json()["challenges"] if c["id"] == CHALLENGE]
    return dict(item)


def steps_of(item: dict[str, Any]) -> dict[str, tuple[Any, Any, bool]]:
    return {s["id"]: (s["progress"], s["target"], s["done"]) for s in item["steps"]}


def notice(client: FlaskClient, response: Any) -> str:
    """The notice of the page a form redirected to (303, as the shop's forms answer)."""
    assert response.status_code == 303, response.get_data(as_text=True)
    html = page(client, response.headers["Location"])
    found = re.search(
        r'<div id="notice" class="flash" role="status" tabindex="-1">(.*?)</div>', html, re.S
    )
    assert found is not None, "no notice on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found[1])).strip()


def test_the_shop_tells_the_facts_its_quiz_asks_about(client: FlaskClient) -> None:
    spanish = page(client, "/")
    for fact in (
        "Envío gratis desde 49 €.",
        "Tienes 30 días para devolver un pedido.",
        "Nuestro logo es una bolsa de la compra.",
    ):
        assert fact in spanish
    english = page(client, "/?lang=en")
    for fact in (
        "Free shipping from €49.",
        "You have 30 days to return an order.",
        "Our logo is a shopping bag.",
    ):
        assert fact in english
    # on every page of the demo (the footer), and the logo is a bag indeed
    assert "Free shipping from €49." in page(client, f"/fairness/{WHEEL}?lang=en")
    assert "🛍️" in spanish


def test_every_product_can_be_bought_and_reviewed_with_a_labelled_form(
    client: FlaskClient,
) -> None:
    html = page(client, "/?customer=ana&lang=en")
    tags = Tags(html)
    forms = tags.all("form")
    posts = [f for f in forms if f.get("method") == "post"]
    assert [f["action"] for f in posts].count("/orders?lang=en&customer=ana") == len(PRODUCTS) + 1
    assert [f["action"] for f in posts].count("/reviews?lang=en&customer=ana") == len(PRODUCTS)
    for product in PRODUCTS:
        assert f'<h3 id="product-{product.id}">{product.name["en"]}</h3>' in html
        assert html.count(f'aria-describedby="product-{product.id}"') == 2  # buy, review
    labelled = {label["for"] for label in tags.all("label")}
    for field in (*tags.all("select"), *tags.all("textarea")):
        assert field["id"] in labelled, field
    assert html.count(">Buy now</button>") == len(PRODUCTS)
    assert html.count(">Write a review</summary>") == len(PRODUCTS)
    # the demo's order "on another day", a few days back only
    days = re.findall(r'<option value="(\d+)">(\d+ days? ago)</option>', html)
    assert [int(d) for d, _ in days] == list(BACKDATE_DAYS)
    assert days[0][1] == "1 day ago" and days[1][1] == "2 days ago"


def test_buy_now_tells_gamify_and_the_challenge_moves(app: Flask, client: FlaskClient) -> None:
    customer = "buyer"
    assert steps_of(me_challenge(app, client, customer))["orders"] == (0, 3, False)
    said = notice(client, client.post(f"/orders?customer={customer}", data={"product": "watch"}))
    assert said == "Pedido hecho: Reloj deportivo, 89,00 €. Tu reto ha avanzado."
    item = me_challenge(app, client, customer)
    assert steps_of(item)["orders"] == (1, 3, False)
    assert item["status"] == "in_progress"
    # one order a day counts; one under €20 never does
    said = notice(
        client, client.post(f"/orders?customer={customer}&lang=en", data={"product": "books"})
    )
    assert said == (
        "Order placed: Novel bundle, €24.00. Your challenge did not move this time: see its steps."
    )
    said = notice(client, client.post(f"/orders?customer={customer}", data={"product": "plant"}))
    assert said.endswith("Esta vez tu reto no ha avanzado: mira sus pasos.")
    assert steps_of(me_challenge(app, client, customer))["orders"] == (1, 3, False)
    # an order dated back (demo only) counts on its own day
    response = client.post(
        f"/orders?customer={customer}", data={"product": "books", "days_ago": "3"}
    )
    assert notice(client, response).endswith("Tu reto ha avanzado.")
    assert steps_of(me_challenge(app, client, customer))["orders"] == (2, 3, False)
    # the redirect keeps the language and the customer
    response = client.post(f"/orders?customer={customer}&lang=en", data={"product": "coffee"})
    assert response.headers["Location"] == f"/?lang=en&customer={customer}"


def test_a_review_tells_gamify_and_the_review_step_is_done(app: Flask, client: FlaskClient) -> None:
    customer = "reviewer"
    response = client.post(
        f"/reviews?customer={customer}&lang=en",
        data={"product": "plant", "rating": "4", "text": "Green & happy <3"},
    )
    said = notice(client, response)
    assert said == "Review published: House plant. Your challenge progress moved."
    item = me_challenge(app, client, customer)
    assert steps_of(item)["review"] == (1, 1, True)
    assert steps_of(item)["orders"] == (0, 3, False)


def test_a_form_the_shop_does_not_understand_changes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    customer = "fumbler"
    for url, data in (
        ("/orders", {"product": "no-such-product"}),
        ("/orders", {}),
        ("/orders", {"product": "watch", "days_ago": "30"}),
        ("/orders", {"product": "watch", "days_ago": "-1"}),
        ("/orders", {"product": "watch", "days_ago": "x"}),
        ("/reviews", {"product": "watch", "rating": "6"}),
        ("/reviews", {"product": "watch"}),
        ("/reviews", {"product": "watch", "rating": "5", "text": "x" * 501}),
    ):
        said = notice(client, client.post(f"{url}?customer={customer}&lang=en", data=data))
        assert said == "We did not understand the form. Please try again.", (url, data)
    assert all(not done for *_, done in steps_of(me_challenge(app, client, customer)).values())
    assert {p for p, _, _ in steps_of(me_challenge(app, client, customer)).values()} == {0}


def test_a_form_sent_from_another_site_is_refused(app: Flask, client: FlaskClient) -> None:
    """CSRF: the browser says where a POST comes from; only the shop's own pages may order."""
    customer = "victim"
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ):
        for url, data in (
            ("/orders", {"product": "watch"}),
            ("/reviews", {"product": "watch", "rating": "5"}),
            (f"/fairness/{WHEEL}/rotate", {}),
        ):
            response = client.post(f"{url}?customer={customer}", data=data, headers=headers)
            assert response.status_code == 403, (url, headers)
            assert response.headers["Content-Security-Policy"] == "default-src 'self'"
            assert "Formulario rechazado" in response.get_data(as_text=True)
    assert steps_of(me_challenge(app, client, customer))["orders"] == (0, 3, False)
    assert steps_of(me_challenge(app, client, customer))["review"] == (0, 1, False)
    # the shop's own page, as a browser sends it
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://localhost"}):
        response = client.post(
            f"/orders?customer={customer}", data={"product": "watch"}, headers=headers
        )
        assert response.status_code == 303, headers
    assert steps_of(me_challenge(app, client, customer))["orders"] == (1, 3, False)


# -- fairness ---------------------------------------------------------------------------------


def test_a_play_is_listed_on_the_fairness_page_with_its_seq_and_hash(
    app: Flask, client: FlaskClient
) -> None:
    played = play(client, app, WHEEL, "luis")  # a shopper of the demo: never held out
    html = page(client, f"/fairness/{WHEEL}?customer=luis")
    assert '<html lang="es">' in html and "Tus jugadas (luis)" in html
    row = re.search(rf'<tr data-seq="{played["seq"]}">(.*?)</tr>', html, re.S)
    assert row is not None
    for value in (played["hash"], played["client_seed"], played["drawn"]):
        assert str(value) in row[1]
    assert f"<td>{played['nonce']}</td>" in row[1]
    assert f'href="/gamify/api/campaigns/{WHEEL}/audit.jsonl"' in html
    assert "gamify verify bundle.jsonl" in html
    # the commitment the play was made under is on the page
    assert played["commitment"] in {c for c, _ in epoch_rows(html).values()}
    # another customer does not see it
    assert played["hash"] not in page(client, f"/fairness/{WHEEL}?customer=someone-else")
    english = page(client, f"/fairness/{WHEEL}?customer=luis&lang=en")
    assert '<html lang="en">' in english and "Your plays (luis)" in english
    assert "How to verify a draw" in english


def test_rotating_on_the_fairness_page_reveals_the_seed_and_the_draw_checks_out(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    played = play(client, app, SCRATCH, "rotator")
    before = page(client, f"/fairness/{SCRATCH}?customer=rotator")
    assert epoch_rows(before)[played["epoch"]] == (played["commitment"], None)
    assert 'data-check="pending"' in before

    response = client.post(f"/fairness/{SCRATCH}/rotate?customer=rotator")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/fairness/{SCRATCH}?customer=rotator"
    after = page(client, response.headers["Location"])
    shown, seed = epoch_rows(after)[played["epoch"]]
    assert shown == played["commitment"]
    assert seed is not None and commitment(seed) == shown
    assert "SHA-256(semilla) = compromiso ✓" in after
    assert epoch_rows(after)[played["epoch"] + 1][1] is None  # the next epoch keeps its secret
    row = re.search(rf'<tr data-seq="{played["seq"]}">(.*?)</tr>', after, re.S)
    assert row is not None and 'data-check="ok"' in row[1] and f"✓ {played['drawn']}" in row[1]

    # and the bundle linked from the page verifies, seed revealed
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_bytes(client.get(f"/gamify/api/campaigns/{SCRATCH}/audit.jsonl").data)
    result = CliRunner().invoke(cli, ["verify", str(bundle)])
    assert result.exit_code == 0, result.output
    assert "OK: welcome-back-scratch" in result.output
    assert "not revealed" not in result.output


def test_an_unknown_campaign_has_no_fairness_page(client: FlaskClient) -> None:
    for response in (
        client.get("/fairness/no-such-campaign"),
        client.get("/fairness/%3Cscript%3E"),
        client.post("/fairness/no-such-campaign/rotate"),
        client.get("/no-such-page?lang=en"),
    ):
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert "Página no encontrada" in html or "Page not found" in html
        assert "<script>" not in html
    # under the API prefix a 404 is still a problem, not the demo's page
    api = client.get("/gamify/api/no-such-thing")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"


def test_the_secret_is_kept_so_customers_keep_their_plays(tmp_path: Path) -> None:
    first = create_demo_app(tmp_path / "instance", history=False)
    played = play(first.test_client(), first, WHEEL, "ana")
    state(first).engine.dispose()
    again = create_demo_app(tmp_path / "instance", history=False)
    try:
        html = page(again.test_client(), f"/fairness/{WHEEL}?customer=ana")
        assert played["hash"] in html
    finally:
        state(again).engine.dispose()


# -- the report, its generated history and the admin token -----------------------------------


def synthetic(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """The history's rows (its customers are demo-c0001 …; the tests' own are not; its epochs
    opened before today), with what is random in any store left out: the prizes, drawn from
    secret server seeds, and the codes that came with them (which a later order may carry)."""
    today = datetime.combine(datetime.now(MADRID).date(), datetime.min.time(), MADRID)

    def without_coupons(payload: str) -> str:
        event = json.loads(payload)
        event.get("order", {}).pop("coupons", None)
        return json.dumps(event, sort_keys=True)

    with state(app).engine.connect() as conn:
        events = conn.execute(
            sql(
                "SELECT id, type, customer, occurred_at, order_id, payload FROM gamify_event "
                "WHERE customer GLOB :synthetic ORDER BY id"
            ),
            {"synthetic": SYNTHETIC},
        ).all()
        plays = conn.execute(
            sql(
                "SELECT a.customer, p.seq, p.epoch, p.nonce, p.client_seed, p.at "
                "FROM gamify_play p JOIN gamify_assignment a "
                "ON a.campaign = p.campaign AND a.player = p.player "
                "WHERE p.campaign = :campaign AND a.customer GLOB :synthetic ORDER BY p.seq"
            ),
            {"campaign": WHEEL, "synthetic": SYNTHETIC},
        ).all()
        assigned = conn.execute(
            sql(
                "SELECT customer, grp, assigned_at FROM gamify_assignment "
                "WHERE campaign = :campaign AND customer GLOB :synthetic ORDER BY customer"
            ),
            {"campaign": WHEEL, "synthetic": SYNTHETIC},
        ).all()
    return {
        "events": [(*row[:5], without_coupons(row[5])) for row in events],
        "plays": [tuple(row) for row in plays],
        "assigned": [tuple(row) for row in assigned],
        "epochs": [
            (e.epoch, e.opened_at, e.revealed_at is not None and e.revealed_at < today)
            for e in state(app).service.epochs(WHEEL)
            if e.opened_at < today  # a play today closes the last by itself, after a week
        ],
    }


def test_the_wheels_report_is_filled_and_shows_the_uplift(app: Flask) -> None:
    current = state(app)
    wheel = current.registry.find(WHEEL)
    assert wheel.holdout == 10
    report = current.service.report(wheel)
    today = datetime.now(MADRID).date()
    # the window: four weeks and today, against as many days before
    assert (report.first, report.last) == (today - timedelta(days=28), today)
    assert report.before_first == today - timedelta(days=57)
    treatment, holdout = report.groups["treatment"], report.groups["holdout"]
    sums = report.sums
    assert sums["treatment"].customers > 500 and sums["holdout"].customers >= MIN_SAMPLE
    for group in ("treatment", "holdout"):
        assert sums[group].before > 0 and sums[group].orders > 0, group
        assert sums[group].revenue > 0, group
    assert treatment.prizes > 0 and holdout.prizes == 0  # the holdout never played
    assert sums["treatment"].coupons_redeemed > 0  # some coupons came back in an order
    assert treatment.aov is not None and 20 < treatment.aov < 200  # euros, the shop's baskets
    # the uplift, each with its interval; the injected effect shows, whatever the secret
    for uplift in (report.retention, report.revenue_per_customer):
        assert uplift is not None and uplift.diff is not None and uplift.ci95 is not None
        low, high = uplift.ci95
        assert low < uplift.diff < high
        assert uplift.diff > 0
    json_report = report.as_json()
    assert set(json_report["uplift"]) == {"retention", "revenue_per_customer"}


def test_the_history_is_made_once_from_its_seed(app: Flask, tmp_path: Path) -> None:
    """Another demo with the same secret, on the same day, makes the same history: customers,
    orders, visits, spins and client seeds (the prizes come from the server's secret seeds).
    Started again, it makes none."""
    history = synthetic(app)
    assert len({row[2] for row in history["events"]}) > 500  # customers who ordered
    assert {row[1] for row in history["events"]} == {"order.paid", "order.refunded"}
    assert len(history["plays"]) > 300
    assert {row[1] for row in history["assigned"]} == {"treatment", "holdout"}
    # set up on the campaign's first day, rotated every week since (its rotate_every), the
    # last epoch open (until a play today, a week after it opened, closes it by itself)
    starts = state(app).registry.find(WHEEL).starts
    assert history["epochs"] == [(n, starts + timedelta(days=7 * n), n < 3) for n in range(4)]
    # everything is in the past, in the campaign's time order
    today = datetime.combine(datetime.now(MADRID).date(), datetime.min.time(), MADRID)
    assert all(at < iso_utc(today) for *_, at in history["plays"])
    assert [row[-1] for row in history["plays"]] == sorted(row[-1] for row in history["plays"])

    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copy(Path(app.instance_path) / "secret.key", instance / "secret.key")
    other = create_demo_app(instance)
    try:
        assert synthetic(other) == history
    finally:
        state(other).engine.dispose()
    token = (instance / "admin.token").read_text("ascii")
    again = create_demo_app(instance)
    try:
        assert synthetic(again) == history  # nothing made twice
        assert again.config["GAMIFY_ADMIN_TOKEN"] == token.strip()  # kept, as the secret is
        database, campaigns = again.config["GAMIFY_DATABASE_URL"], instance / "campaigns"
        secret = again.config["GAMIFY_SECRET_KEY"]
        assert generate_history(database, campaigns, secret) is None
    finally:
        state(again).engine.dispose()


def test_the_historys_plays_verify_with_the_audit_bundle(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_bytes(client.get(f"/gamify/api/campaigns/{WHEEL}/audit.jsonl").data)
    result = CliRunner().invoke(cli, ["verify", str(bundle)])
    assert result.exit_code == 0, result.output
    assert f"OK: {WHEEL}" in result.output


def test_a_database_with_events_gets_no_history(tmp_path: Path) -> None:
    """A store that already told gamify something is no new demo: its history is its own."""
    quiet = create_demo_app(tmp_path / "instance", history=False)
    try:
        with quiet.app_context():
            gamify.demo.gamify.track(
                {
                    "id": "first-order",
                    "type": "order.paid",
                    "customer": "demo-c0001",  # even one named as the history names them
                    "occurred_at": (datetime.now(MADRID) - timedelta(days=40)).isoformat(),
                    "order": {"id": "o-1", "total": "18.90", "currency": "EUR"},
                }
            )
        config = quiet.config
        made = generate_history(
            config["GAMIFY_DATABASE_URL"], Path(config["GAMIFY_CAMPAIGNS"]), config["SECRET_KEY"]
        )
        assert made is None
        history = synthetic(quiet)
        assert [row[0] for row in history["events"]] == ["first-order"]
        assert history["plays"] == [] and history["assigned"] == []
        assert history["epochs"] == []  # set up today, by the app, not in the past
    finally:
        state(quiet).engine.dispose()


def test_the_demos_shoppers_are_in_the_treatment_and_see_the_wheel(
    app: Flask, client: FlaskClient
) -> None:
    current = state(app)
    for customer in CUSTOMERS:
        assert holdout_group(current.service.holdout_key, WHEEL, customer, 10) == "treatment"
        response = client.get(
            f"/gamify/api/campaigns/{WHEEL}",
            headers={"Authorization": f"Bearer {current.tokens.sign(customer)}"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert current.service.group(current.registry.find(WHEEL), customer) == "treatment"
        assert WHEEL in widgets(page(client, f"/?customer={customer}"))
    # a new demo draws its secret so (each draw keeps all three with a chance of 0.73)
    for _ in range(20):
        secret = gamify.demo._treating_shoppers({WHEEL: 10, SCRATCH: 50})
        assert gamify.demo._held_out(secret, {WHEEL: 10, SCRATCH: 50}) == []


def test_the_report_button_signs_in_with_the_demos_token_and_lands_on_the_report(
    app: Flask, client: FlaskClient
) -> None:
    token = (Path(app.instance_path) / "admin.token").read_text("ascii").strip()
    assert token and app.config["GAMIFY_ADMIN_TOKEN"] == token
    for url, label in (
        ("/", "Informe"),
        ("/?lang=en", "Report"),
        (f"/fairness/{WHEEL}", "Informe"),
    ):
        html = page(client, url)
        forms = [f for f in Tags(html).all("form") if f.get("class") == "report"]
        [form] = forms
        assert (form["method"], form["action"]) == ("post", "/gamify/admin/sign-in")
        fields = {
            i["name"]: i["value"]
            for i in Tags(html).all("input")
            if i.get("name") in ("token", "next")
        }
        assert fields == {"token": token, "next": f"/gamify/admin/campaigns/{WHEEL}"}, url
        assert re.search(
            rf'<button type="submit" class="link" data-report="{WHEEL}">{label}</button>', html
        )
        assert f"<code>{token}</code>" in html  # in the footer, to sign in by hand
    assert "10% of the customers never see this game" in page(client, "/?lang=en")
    # a game without a holdout has no report button (its report could not compare)
    assert 'class="report"' not in page(client, f"/fairness/{SCRATCH}")
    if "gamify.admin_sign_in" not in app.view_functions:
        pytest.skip("gamify's admin pages are not there yet")
    response = client.post(
        "/gamify/admin/sign-in",
        data={"token": token, "next": f"/gamify/admin/campaigns/{WHEEL}"},
        headers={"Origin": "http://localhost"},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/gamify/admin/campaigns/{WHEEL}"
    report = client.get(response.headers["Location"])
    assert report.status_code == 200, report.get_data(as_text=True)
    assert "holdout" in report.get_data(as_text=True)


def test_without_an_admin_token_there_is_no_report_button(app: Flask, client: FlaskClient) -> None:
    current = state(app)
    settings = current.settings
    current.settings = dataclasses.replace(settings, admin_token=None)
    try:
        html = page(client, "/")
        assert 'class="report"' not in html and "admin-token" not in html
    finally:
        current.settings = settings


# -- the command ------------------------------------------------------------------------------


def test_demo_help() -> None:
    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0, result.output
    for text in ("--host", "--port", "--campaigns", "http://127.0.0.1:5000", "127.0.0.1", "5000"):
        assert text in result.output


def test_demo_prints_the_url_and_runs_the_dev_server_without_reloader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[tuple[Flask, dict[str, Any]]] = []

    def run(self: Flask, **options: Any) -> None:
        calls.append((self, options))

    monkeypatch.setattr(flask.Flask, "run", run)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["demo", "--port", "5055"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5055" in result.output
    [(app, options)] = calls
    state(app).engine.dispose()
    assert options == {"host": "127.0.0.1", "port": 5055, "debug": False, "use_reloader": False}
    instance = tmp_path.resolve() / "instance" / "gamify-demo"  # under the current directory
    assert Path(app.instance_path) == instance
    assert (instance / "gamify.sqlite3").is_file()
    assert (instance / "campaigns" / f"{WHEEL}.yaml").is_file()


def test_demo_without_examples_asks_for_campaigns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(gamify.demo, "EXAMPLES", tmp_path / "not-a-checkout" / "examples")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 2
    assert "--campaigns" in result.output


def test_the_shop_shows_the_loyalty_card_and_buying_earns_points(
    app: Flask, client: FlaskClient
) -> None:
    html = page(client, "/?customer=points-buyer")
    card = widgets(html)["loyalty"]
    assert card["data-target"] == "#loyalty" and customer_of(app, card) == "points-buyer"
    assert 'id="loyalty"' in html and "Tus puntos" in html
    headers = {"Authorization": f"Bearer {card['data-customer']}"}
    before = client.get("/gamify/api/me/loyalty", headers=headers).get_json()
    assert before["points"] == {"available": 0, "pending": 0, "expiring": []}
    client.post("/orders?customer=points-buyer", data={"product": "watch"})  # 89,00 €
    after = client.get("/gamify/api/me/loyalty", headers=headers).get_json()
    assert (after["points"]["available"], after["points"]["pending"]) == (0, 89)
    assert after["tier"]["id"] == "bronce" and after["tier"]["next"]["id"] == "plata"
