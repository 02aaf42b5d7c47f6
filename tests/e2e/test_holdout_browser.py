"""The holdout group in a real browser: a customer kept from a campaign sees no trace of it
(no launcher, no dialog), while the other games of the page work; a customer of the treatment
sees it as always. Chromium, as in tests/e2e/test_browser.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from test_browser import SCRATCH, WHEEL, Server, Tab, make_tab
from test_browser import browser as browser  # the fixture: one chromium for the module

from gamify.core.holdout import holdout_group
from gamify.demo import EXAMPLES, create_demo_app
from gamify.web.state import state

WHEEL_ID = "black-friday-wheel"


@pytest.fixture(scope="module")
def holdout_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo, its wheel with half of the customers held out."""
    folder = tmp_path_factory.mktemp("holdout")
    campaigns = folder / "campaigns"
    shutil.copytree(EXAMPLES, campaigns)
    wheel = campaigns / f"{WHEEL_ID}.yaml"
    lines = wheel.read_text(encoding="utf-8").splitlines()  # the example's holdout, now 50 %
    kept = [line for line in lines if not line.startswith("holdout:")]
    wheel.write_text("\n".join([*kept, "holdout: 50"]) + "\n", encoding="utf-8")
    served = Server(create_demo_app(folder / "instance", campaigns))
    yield served
    served.close()


def _customer(server: Server, group: str) -> str:
    key = state(server.app).service.holdout_key
    return next(
        name
        for name in (f"h{n}" for n in range(1000))
        if holdout_group(key, WHEEL_ID, name, 50) == group
    )


@pytest.fixture
def desktop(
    browser: Browser, holdout_server: Server, request: pytest.FixtureRequest
) -> Iterator[Tab]:
    yield from make_tab(browser, holdout_server, request, "desktop")


def test_a_holdout_customer_gets_no_launcher_and_the_other_game_still_works(
    desktop: Tab, holdout_server: Server
) -> None:
    desktop.customer = _customer(holdout_server, "holdout")
    desktop.allowed.append("403")  # the browser logs the answer that hides the game
    answered = f"/api/campaigns/{WHEEL_ID}"
    with desktop.page.expect_response(lambda r: answered in r.url and r.status == 403):
        page = desktop.shop()  # the scratch card (no holdout) is there and ready
    expect(page.locator(WHEEL)).to_have_count(0)  # after the answer: removed, not just late
    expect(page.locator("dialog")).to_have_count(0)
    page.locator(f"{SCRATCH} button.go").click()
    expect(page.locator(f"{SCRATCH} .status[role=status]").first).not_to_be_empty()


def test_a_treatment_customer_sees_the_wheel_as_always(
    desktop: Tab, holdout_server: Server
) -> None:
    desktop.customer = _customer(holdout_server, "treatment")
    page = desktop.shop()
    desktop.open_wheel()
    expect(page.locator(f"{WHEEL} button.go")).to_be_enabled()
