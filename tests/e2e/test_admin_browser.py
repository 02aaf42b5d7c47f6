"""The admin pages in a real browser, on the demo store and its generated history: signing in
with the keyboard, the list, a campaign's page with its charts and report, the CSV download,
both languages, axe-core on every page, and the same pages with JavaScript turned off (they
are drawn on the server). With ``GAMIFY_SCREENSHOTS=DIR`` the docs' screenshots are written
there (``make screenshots`` writes them to docs/images)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from test_browser import Server, assert_accessible
from test_browser import browser as browser  # the fixture: one chromium for the module

from gamify.demo import create_demo_app

WHEEL_ID = "black-friday-wheel"
SHOTS = os.environ.get("GAMIFY_SCREENSHOTS")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = Server(create_demo_app(tmp_path_factory.mktemp("admin") / "instance"))
    yield served
    served.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/Madrid"
    )
    opened = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # a wrong token's answer is a 401 page, which Chromium logs as a failed load
        if message.type == "error" and "status of 401" not in message.text:
            errors.append(message.text)

    opened.on("console", on_console)
    yield opened
    context.close()
    assert not errors, errors


def _token(server: Server) -> str:
    token = server.app.config["GAMIFY_ADMIN_TOKEN"]
    assert isinstance(token, str) and len(token) >= 32
    return token


def _sign_in_by_keyboard(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/gamify/admin/")
    expect(page).to_have_url(re.compile(r"/gamify/admin/sign-in\?next="))
    assert_accessible(page, "the sign-in form")
    token_field = page.get_by_label("Admin token")
    for _ in range(10):  # from the top of the page, by Tab alone
        page.keyboard.press("Tab")
        if token_field.evaluate("field => field === document.activeElement"):
            break
    expect(token_field).to_be_focused()
    page.keyboard.type(_token(server))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/gamify/admin/")


def _shot(page: Page, name: str, selector: str | None = None) -> None:
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    target = page.locator(selector) if selector else page
    target.screenshot(path=str(folder / f"{name}.png"))


def test_a_marketer_signs_in_by_keyboard_and_reads_every_page(
    page: Page, server: Server, tmp_path: Path
) -> None:
    _sign_in_by_keyboard(page, server)
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    wheel_row = page.get_by_role("row").filter(has_text=WHEEL_ID)
    expect(wheel_row).to_contain_text("running")
    assert_accessible(page, "the campaign list")
    _shot(page, "admin-campaigns", "main")

    wheel_row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Odds: configured and drawn")).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"χ² = [\d.,]+ with \d+ degrees of freedom"))
    ).to_be_visible()
    charts = page.locator("figure svg[role=img]")
    expect(charts).to_have_count(4)  # plays per day, awards, two uplift intervals
    for n in range(4):
        name = charts.nth(n).get_attribute("aria-labelledby") or ""
        assert all(page.locator(f"[id='{part}']").count() == 1 for part in name.split())
    report = page.locator("section[aria-labelledby=report-heading]")
    expect(report.get_by_role("columnheader", name="holdout")).to_be_visible()
    expect(report.get_by_role("columnheader", name="treatment")).to_be_visible()
    assert_accessible(page, "the campaign page")
    _shot(page, "admin-campaign", "main")
    _shot(page, "admin-report", "section[aria-labelledby=report-heading]")

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download the report (CSV)").click()
    saved = tmp_path / "report.csv"
    downloading.value.save_as(saved)
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("campaign,from,to,group,customers")
    assert [line.split(",")[3] for line in lines[1:]] == ["treatment", "holdout"]

    page.get_by_role("link", name="Español").click()
    expect(
        page.get_by_role("heading", name="Probabilidades: configuradas y sorteadas")
    ).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    assert_accessible(page, "the campaign page in Spanish")

    page.get_by_role("button", name="Salir").click()
    expect(page).to_have_url(re.compile(r"/gamify/admin/sign-in"))
    page.goto(f"{server.url}/gamify/admin/campaigns/{WHEEL_ID}")
    expect(page).to_have_url(re.compile(r"/gamify/admin/sign-in\?next="))


def test_the_pages_read_the_same_without_javascript(browser: Browser, server: Server) -> None:
    context = browser.new_context(java_script_enabled=False, locale="es-ES")
    page = context.new_page()
    page.goto(f"{server.url}/gamify/admin/sign-in?next=/gamify/admin/campaigns/{WHEEL_ID}")
    page.get_by_label("Token de administración").fill(_token(server))
    page.get_by_role("button", name="Entrar").click()
    expect(page).to_have_url(re.compile(rf"/gamify/admin/campaigns/{WHEEL_ID}$"))
    expect(page.locator("figure svg[role=img]")).to_have_count(4)
    page.get_by_text("Jugadas por día: Día / Jugadas").click()  # the chart's table, opened
    expect(page.locator("details table tbody tr").first).to_be_visible()
    context.close()


def test_a_wrong_token_is_told_plainly_and_the_field_marked(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/gamify/admin/sign-in")
    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That token is not the admin token.")
    expect(page.get_by_label("Admin token")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "the sign-in form with its error")
