"""Guest play in a real browser (Debian's chromium): a shopper without an account plays the wheel
with an email (CONTRACT §13), and every game shows its prizes with their odds.

The demo store as a guest (``?guest=1``: the widgets get no customer token) on the example
wheel, which takes guests; and two copies of the examples: one whose wheel asks for the age,
gives a coupon for every prize and allows five spins a day per email, and one that caps guests
at one spin a day per internet address. Fixtures and checks (console errors, the demo's strict
CSP, axe) are those of ``test_browser.py``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect
from test_browser import PLAYS, SCRATCH, WHEEL, Server, Tab, assert_accessible, make_tab
from test_browser import browser as browser  # the fixture: one chromium for the module
from test_browser import desktop as desktop  # its `server` is this module's
from test_browser import tab as tab  # its `server` is this module's

from gamify.demo import EXAMPLES, create_demo_app

TERMS = "/gamify/campaigns/black-friday-wheel/terms"
FORM = f"{WHEEL} form.guest"


def copy_examples(folder: Path, change: dict[str, str]) -> Path:
    """The example campaigns, with the wheel's file changed: each key replaced by its value."""
    campaigns = folder / "campaigns"
    shutil.copytree(EXAMPLES, campaigns)
    wheel = campaigns / "black-friday-wheel.yaml"
    text = wheel.read_text(encoding="utf-8")
    for old, new in change.items():
        assert old in text, old
        text = text.replace(old, new)
    wheel.write_text(text, encoding="utf-8")
    return campaigns


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo store as it is: its wheel takes guests (no age box, 20 a day per address)."""
    folder = tmp_path_factory.mktemp("guest-demo")
    served = Server(create_demo_app(folder / "instance", history=False))
    yield served
    served.close()


@pytest.fixture(scope="module")
def aged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A wheel that asks for the age (min_age), gives a coupon whatever the prize, and allows
    five spins a day per email."""
    folder = tmp_path_factory.mktemp("guest-aged")
    campaigns = copy_examples(
        folder,
        {
            "- {plays: 1, per: day}": "- {plays: 5, per: day}",
            "    value: 329\n": '    value: 329\n    coupon: {pattern: "TAB-{code:8}"}\n',
            "    win: false\n": '    coupon: {pattern: "AGAIN-{code:8}"}\n',
            "per_ip: {plays: 20, per: day}": "per_ip: {plays: 100, per: day}\n  min_age: 18",
        },
    )
    served = Server(create_demo_app(folder / "instance", campaigns, history=False))
    yield served
    served.close()


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A wheel that takes one guest spin a day from an internet address."""
    folder = tmp_path_factory.mktemp("guest-capped")
    campaigns = copy_examples(
        folder, {"per_ip: {plays: 20, per: day}": "per_ip: {plays: 1, per: day}"}
    )
    served = Server(create_demo_app(folder / "instance", campaigns, history=False))
    yield served
    served.close()


@pytest.fixture(params=["phone", "desktop"])
def aged(browser: Browser, aged_server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from make_tab(browser, aged_server, request, request.param)


@pytest.fixture
def aged_desktop(
    browser: Browser, aged_server: Server, request: pytest.FixtureRequest
) -> Iterator[Tab]:
    yield from make_tab(browser, aged_server, request, "desktop")


def visit(tab: Tab, lang: str = "es") -> Page:
    """The demo store without an account, the wheel's dialog open."""
    page = tab.page
    page.emulate_media(reduced_motion="reduce")
    page.goto(f"{tab.base}/?guest=1&lang={lang}")
    expect(page.locator(f"{SCRATCH} button.go")).to_be_visible()
    assert page.locator("script[data-campaign][data-customer]").count() == 0
    tab.open_wheel()
    return page


def plays_sent(page: Page) -> list[dict[str, Any]]:
    """The bodies of the plays the page sends from now on, as they go."""
    sent: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.method == "POST" and PLAYS.search(request.url):
            body = request.post_data_json
            assert isinstance(body, dict)
            sent.append(body)

    page.on("request", record)
    return sent


def email_of(tab: Tab) -> str:
    return f"{tab.customer}@example.com"


# -- playing as a guest -----------------------------------------------------------------------


def test_a_guest_plays_with_an_email_only_and_a_second_play_reuses_it(aged: Tab) -> None:
    page = visit(aged)
    sent = plays_sent(page)
    expect(page.locator(FORM)).to_have_count(0)  # not loaded before the first play
    assert "guest" not in aged.modules()
    page.locator(f"{WHEEL} button.go").click()
    form = page.locator(FORM)
    expect(form).to_be_visible()
    # before any play: the email field, focused, the unticked consent, the age, the terms
    email = form.locator("input[type=email]")
    expect(email).to_be_focused()
    assert sent == []
    for name, value in (("autocomplete", "email"), ("inputmode", "email"), ("required", "")):
        expect(email).to_have_attribute(name, value)
    expect(form.get_by_label("Email *", exact=True)).to_have_count(1)
    consent = form.get_by_label("Quiero recibir ofertas de Tienda Demo por email")
    expect(consent).not_to_be_checked()
    age = form.get_by_label("Tengo 18 años o más")
    expect(age).not_to_be_checked()
    terms = form.get_by_role("link", name="Bases y probabilidades")
    expect(terms).to_have_attribute("href", f"{aged.base}{TERMS}?lang=es")  # the form's language
    expect(terms).to_have_attribute("target", "_blank")
    expect(form.locator("fieldset legend")).to_have_text("Juega con tu email")
    # targets of 44 px: the field, each box's whole label, the button
    for control in (email, *form.locator("label.check").all(), form.locator("button")):
        box = control.bounding_box()
        assert box is not None and box["height"] >= 44, control
    aged.screenshot(f"guest-form-{aged.device}", of=f"{WHEEL} .panel")

    email.fill(f"  {email_of(aged)} ")
    age.check()
    form.get_by_role("button", name="Jugar").click()
    [result] = aged.results()
    assert sent == [
        {
            "email": email_of(aged),
            "marketing_consent": False,
            "age_confirmed": True,
            "client_seed": page.evaluate("localStorage.getItem('gamify.client_seed')"),
        }
    ]
    # the coupon at once, the form gone
    coupon = result["play"]["coupon"]
    assert coupon
    expect(page.locator(f"{WHEEL} input.code")).to_have_value(coupon)
    expect(form).to_be_hidden()
    expect(page.locator(f"{WHEEL} button.go")).to_be_focused()

    # the next spin of the page goes with the same email, without the form
    page.locator(f"{WHEEL} button.go").click()
    aged.results(2)
    assert [body["email"] for body in sent] == [email_of(aged)] * 2
    expect(form).to_be_hidden()
    # the email is personal data: kept in memory only
    stored = page.evaluate("JSON.stringify({...localStorage, ...sessionStorage})")
    assert email_of(aged) not in stored and "@" not in stored


def test_the_demo_wheel_takes_a_guest_from_the_visit_link(tab: Tab) -> None:
    page = tab.page
    page.goto(f"{tab.base}/?customer={tab.customer}&lang=en")
    page.get_by_role("link", name="Visit without an account").click()
    expect(page).to_have_url(re.compile(r"/\?lang=en&guest=1$"))
    expect(page.locator(".account")).to_contain_text("without an account")
    assert page.locator("script[data-campaign][data-customer]").count() == 0
    expect(page.locator(f"{SCRATCH} button.go")).to_be_visible()
    tab.open_wheel()
    page.locator(f"{WHEEL} button.go").click()
    form = page.locator(FORM)
    expect(form.locator("input[type=email]")).to_be_focused()
    expect(form.locator("input[type=checkbox]")).to_have_count(1)  # consent; no age asked
    expect(
        form.get_by_label("I want to receive offers from Demo Store by email")
    ).not_to_be_checked()
    form.locator("input[type=email]").fill(email_of(tab))
    page.keyboard.press("Enter")
    [result] = tab.results()
    status = page.locator(f"{WHEEL} .status[role=status]")
    expect(status).to_contain_text(result["play"]["prize"]["label"])
    if result["play"]["coupon"]:
        expect(page.locator(f"{WHEEL} input.code")).to_have_value(result["play"]["coupon"])
    tab.screenshot(f"guest-played-{tab.device}", of=f"{WHEEL} .panel")


def test_an_invalid_email_is_said_at_the_field(aged_desktop: Tab) -> None:
    tab = aged_desktop
    tab.allowed.append("status of 400 (BAD REQUEST)")  # the refused email, as chromium logs it
    page = visit(tab, "en")
    sent = plays_sent(page)
    page.locator(f"{WHEEL} button.go").click()
    form = page.locator(FORM)
    email = form.locator("input[type=email]")
    form.get_by_label("I am 18 or older").check()
    submit = form.get_by_role("button", name="Play")

    # the browser checks the syntax first: nothing is sent
    email.fill("not an email")
    submit.click()
    error = form.locator("#guest-email-error")
    expect(error).to_have_text("Enter a valid email address, such as name@example.com.")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute("aria-describedby", "guest-email-error")
    expect(email).to_be_focused()
    email.fill("")
    expect(email).not_to_have_attribute("aria-invalid", "true")  # typing clears it
    submit.click()
    expect(error).to_have_text("Enter your email to play.")
    assert sent == []

    # the server refuses a disposable address: said at the field, the focus there
    email.fill("someone@mailinator.com")
    submit.click()
    expect(error).to_have_text("Use an email address of your own, not a disposable one.")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    assert len(sent) == 1
    assert_accessible(page, "the guest form with an error")
    tab.screenshot("guest-invalid-email", of=f"{WHEEL} .panel")

    # a good one plays, with a new attempt
    email.fill(email_of(tab))
    submit.click()
    tab.results()
    assert [body["email"] for body in sent] == ["someone@mailinator.com", email_of(tab)]
    expect(form).to_be_hidden()


def test_the_age_box_is_required_when_the_campaign_asks(aged_desktop: Tab) -> None:
    tab = aged_desktop
    page = visit(tab)
    sent = plays_sent(page)
    page.locator(f"{WHEEL} button.go").click()
    form = page.locator(FORM)
    form.locator("input[type=email]").fill(email_of(tab))
    form.get_by_role("button", name="Jugar").click()
    age = form.get_by_label("Tengo 18 años o más")
    expect(form.locator("#guest-age-error")).to_have_text(
        "Para jugar, confirma que tienes 18 años o más."
    )
    expect(age).to_have_attribute("aria-invalid", "true")
    expect(age).to_be_focused()
    assert sent == []
    page.keyboard.press("Space")  # ticks the focused box
    expect(age).to_be_checked()
    expect(form.locator("#guest-age-error")).to_be_hidden()
    form.get_by_role("button", name="Jugar").click()
    tab.results()
    assert sent[0]["age_confirmed"] is True and sent[0]["marketing_consent"] is False


@pytest.fixture
def capped(
    browser: Browser, capped_server: Server, request: pytest.FixtureRequest
) -> Iterator[Tab]:
    yield from make_tab(browser, capped_server, request, "phone")


def test_past_the_cap_per_internet_address_the_guest_is_told(capped: Tab) -> None:
    capped.allowed.append("status of 429 (TOO MANY REQUESTS)")
    page = visit(capped)
    page.locator(f"{WHEEL} button.go").click()
    page.locator(f"{FORM} input[type=email]").fill(f"first-{email_of(capped)}")
    page.locator(f"{FORM} button[type=submit]").click()
    capped.results()
    # another email, from the same address: the cap of one a day
    page = visit(capped)
    page.locator(f"{WHEEL} button.go").click()
    page.locator(f"{FORM} input[type=email]").fill(f"second-{email_of(capped)}")
    page.locator(f"{FORM} button[type=submit]").click()
    status = page.locator(f"{WHEEL} .status[role=status]")
    expect(status).to_contain_text(re.compile(r"Has usado todas tus jugadas\. Vuelve el .*\d{4}"))
    expect(page.locator(f"{WHEEL} button.go")).to_have_attribute("aria-disabled", "true")
    expect(page.locator(FORM)).to_be_hidden()
    assert page.evaluate("window.__results.length") == 0
    capped.screenshot("guest-capped", of=f"{WHEEL} .panel")


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_guest_form_is_accessible(aged_desktop: Tab, lang: str) -> None:
    page = visit(aged_desktop, lang)
    page.locator(f"{WHEEL} button.go").click()
    expect(page.locator(f"{FORM} input[type=email]")).to_be_focused()
    assert_accessible(page, f"the guest form ({lang})")
    # keyboard only: email, consent, age, terms link, play
    page.keyboard.type(email_of(aged_desktop))
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator(f"{FORM} button[type=submit]")).to_be_focused()
    page.keyboard.press("Enter")
    [result] = aged_desktop.results()
    assert result["play"]["coupon"]
    assert_accessible(page, f"the guest's result ({lang})")


def test_signed_in_shoppers_never_see_the_form(desktop: Tab) -> None:
    page = desktop.shop()
    sent = plays_sent(page)
    desktop.open_wheel()
    page.locator(f"{WHEEL} button.go").click()
    desktop.results()
    assert "email" not in sent[0]
    assert page.locator(FORM).count() == 0
    assert "guest" not in desktop.modules()


# -- prizes and odds --------------------------------------------------------------------------


def test_every_game_lists_its_prizes_with_their_odds_and_the_terms(desktop: Tab) -> None:
    page = desktop.shop(lang="en")
    desktop.open_wheel()
    odds = page.locator(f"{WHEEL} details.odds")
    expect(odds.locator("summary")).to_have_text("Prizes and odds")
    odds.locator("summary").focus()
    page.keyboard.press("Enter")  # a disclosure: open by keyboard
    items = odds.locator("#odds li")
    expect(items).to_have_text(
        [
            "10% off: 30%",
            "Free shipping: 20%",
            "20% off: 8%",
            "€50 gift card: 1%",
            "A tablet!: 1%",
            "So close! Come back tomorrow: 40%",
        ]
    )
    link = odds.get_by_role("link", name="Terms and odds")
    expect(link).to_have_attribute("href", f"{desktop.base}{TERMS}?lang=en")
    # the wheel's canvas is described by the list: each slice's odds for a screen reader
    canvas = page.locator(f"{WHEEL} canvas")
    expect(canvas).to_have_attribute("aria-describedby", "odds")
    expect(canvas).to_have_accessible_description(re.compile(r"^10% off: 30%.*40%$"))
    assert_accessible(page, "the wheel's odds")
    page.keyboard.press("Escape")
    # the scratch card, in Spanish
    page = desktop.shop(lang="es")
    odds = page.locator(f"{SCRATCH} details.odds")
    expect(odds.locator("summary")).to_have_text("Premios y probabilidades")
    odds.locator("summary").click()
    expect(odds.locator("li").first).to_have_text(re.compile(r": \d+(,\d+)?\s%$"))
    expect(odds.get_by_role("link", name="Bases y probabilidades")).to_have_attribute(
        "href", f"{desktop.base}/gamify/campaigns/welcome-back-scratch/terms?lang=es"
    )
    desktop.screenshot("odds-scratch", of=SCRATCH)
