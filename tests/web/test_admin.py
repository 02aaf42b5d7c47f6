"""The admin pages: closed without a token, open only to its holder (bearer or the sign-in
cookie), never cached or framed, and showing what the campaigns did, in English and Spanish."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from api_support import bearer, challenge_yaml, make_app, write_campaign
from flask import Flask
from flask.testing import FlaskClient

from gamify.web.admin_access import COOKIE
from gamify.web.state import state

TOKEN = "admin-token-0123456789abcdef0123"
ADMIN = "/gamify/admin"


@pytest.fixture
def admin_app(tmp_path: Path) -> Iterator[Flask]:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    write_campaign(folder, "wheel", -3, 30)
    write_campaign(folder, "later", 10, 20)
    (folder / "reviews.yaml").write_text(
        challenge_yaml("reviews", plays_campaign="wheel"), encoding="utf-8"
    )
    app = make_app(tmp_path / "store", folder, GAMIFY_ADMIN_TOKEN=TOKEN)
    access = state(app).admin
    assert access is not None
    access.failures.delay = 0.0  # wrong tokens wait a second in production
    yield app
    state(app).engine.dispose()


@pytest.fixture
def admin(admin_app: Flask) -> FlaskClient:
    return admin_app.test_client()


def _sign_in(client: FlaskClient, token: str = TOKEN, next_: str = f"{ADMIN}/") -> object:
    return client.post(f"{ADMIN}/sign-in", data={"token": token, "next": next_})


def _play(app: Flask, customers: int) -> None:
    current = state(app)
    wheel = current.registry.get("wheel")
    for n in range(customers):
        current.service.play(wheel, f"shopper-{n}")


def test_the_pages_are_closed_without_an_admin_token(tmp_path: Path) -> None:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    write_campaign(folder, "wheel", -1, 30)
    app = make_app(tmp_path / "store", folder)
    client = app.test_client()
    for path in (f"{ADMIN}/", f"{ADMIN}/campaigns/wheel", f"{ADMIN}/sign-in"):
        response = client.get(path, headers=bearer("anything"))
        assert response.status_code == 404
        assert "GAMIFY_ADMIN_TOKEN" in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
    assert client.post(f"{ADMIN}/sign-in", data={"token": ""}).status_code == 404
    state(app).engine.dispose()


def test_a_browser_without_the_cookie_is_sent_to_sign_in_and_comes_back(
    admin: FlaskClient,
) -> None:
    response = admin.get(f"{ADMIN}/campaigns/wheel?lang=es")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{ADMIN}/sign-in?next=")
    form = admin.get(response.headers["Location"])
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert 'name="next" value="/gamify/admin/campaigns/wheel?lang=es"' in page
    assert 'type="password"' in page and 'lang="es"' in page
    signed = _sign_in(admin, next_="/gamify/admin/campaigns/wheel?lang=es")
    assert signed.status_code == 303  # type: ignore[attr-defined]
    assert signed.headers["Location"] == "/gamify/admin/campaigns/wheel?lang=es"  # type: ignore[attr-defined]
    assert admin.get(f"{ADMIN}/campaigns/wheel").status_code == 200


def test_the_cookie_is_http_only_strict_and_scoped_to_the_admin_path(admin: FlaskClient) -> None:
    response = _sign_in(admin)
    cookie = response.headers["Set-Cookie"]  # type: ignore[attr-defined]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/gamify/admin" in cookie
    assert TOKEN not in cookie
    # The store's own pages never see it.
    assert admin.get_cookie(COOKIE, path="/") is None
    assert admin.get_cookie(COOKIE, path=ADMIN) is not None


def test_a_wrong_token_a_customer_token_or_a_forged_cookie_gets_nothing(
    admin_app: Flask, admin: FlaskClient
) -> None:
    customer = state(admin_app).tokens.sign("alice")
    for headers in (bearer("wrong"), bearer(customer), {"Authorization": f"Basic {TOKEN}"}):
        response = admin.get(f"{ADMIN}/", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "wheel" not in response.get_data(as_text=True)
    admin.set_cookie(COOKIE, "forged.value.here", path=ADMIN)
    assert admin.get(f"{ADMIN}/").status_code == 303
    wrong = _sign_in(admin, token="nearly-" + TOKEN)
    assert wrong.status_code == 401  # type: ignore[attr-defined]
    assert admin.get_cookie(COOKIE, path=ADMIN).value == "forged.value.here"  # type: ignore[union-attr]


def test_changing_the_token_signs_everyone_out(tmp_path: Path, admin_app: Flask) -> None:
    client = admin_app.test_client()
    _sign_in(client)
    cookie = client.get_cookie(COOKIE, path=ADMIN)
    assert cookie is not None
    other = make_app(
        tmp_path / "store",
        Path(admin_app.config["GAMIFY_CAMPAIGNS"]),
        GAMIFY_ADMIN_TOKEN=TOKEN + "-new",
    )
    again = other.test_client()
    again.set_cookie(COOKIE, cookie.value, path=ADMIN)
    assert again.get(f"{ADMIN}/").status_code == 303
    state(other).engine.dispose()


def test_wrong_tokens_are_slow_and_then_refused_per_address(admin_app: Flask) -> None:
    access = state(admin_app).admin
    assert access is not None
    access.failures.delay = 0.05
    client = admin_app.test_client()
    started = time.monotonic()
    assert client.get(f"{ADMIN}/", headers=bearer("guess")).status_code == 401
    assert time.monotonic() - started >= 0.05
    access.failures.delay = 0.0
    for _ in range(access.failures.limit - 1):
        _sign_in(client, token="guess")
    refused = _sign_in(client)  # even the right token, while the address is over the limit
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert int(refused.headers["Retry-After"]) > 0  # type: ignore[attr-defined]
    assert client.get(f"{ADMIN}/", headers=bearer(TOKEN)).status_code == 429
    elsewhere = admin_app.test_client()
    response = elsewhere.get(
        f"{ADMIN}/", headers=bearer(TOKEN), environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert response.status_code == 200


def test_sign_in_refuses_other_sites_and_never_redirects_away(admin: FlaskClient) -> None:
    hostile = admin.post(
        f"{ADMIN}/sign-in",
        data={"token": TOKEN, "next": f"{ADMIN}/"},
        headers={"Origin": "https://evil.example"},
    )
    assert hostile.status_code == 403 and "Set-Cookie" not in hostile.headers
    for target in ("https://evil.example/", "//evil.example/x", "/gamify/api/campaigns", "/x"):
        response = _sign_in(admin, next_=target)
        assert response.headers["Location"] == f"{ADMIN}/"  # type: ignore[attr-defined]


def test_sign_out_needs_the_pages_form_token(admin: FlaskClient) -> None:
    _sign_in(admin)
    assert admin.post(f"{ADMIN}/sign-out", data={}).status_code == 403
    page = admin.get(f"{ADMIN}/").get_data(as_text=True)
    form_token = re.search(r'name="form_token" value="([0-9a-f]+)"', page)
    assert form_token is not None
    response = admin.post(f"{ADMIN}/sign-out", data={"form_token": form_token.group(1)})
    assert response.status_code == 303
    assert admin.get(f"{ADMIN}/").status_code == 303


def test_every_answer_is_private_unframed_and_scriptless(admin: FlaskClient) -> None:
    _sign_in(admin)
    for path in (
        f"{ADMIN}/",
        f"{ADMIN}/campaigns/wheel",
        f"{ADMIN}/campaigns/nope",
        f"{ADMIN}/sign-in",
        f"{ADMIN}/campaigns/wheel/report.csv",
    ):
        response = admin.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "script-src" not in response.headers["Content-Security-Policy"]  # default none
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Access-Control-Allow-Origin" not in response.headers
    assert admin.get(f"{ADMIN}/campaigns/nope").status_code == 404


def test_the_list_shows_status_plays_today_stock_and_spend(
    admin_app: Flask, admin: FlaskClient
) -> None:
    _play(admin_app, 30)
    counters = state(admin_app).service.log.counters("wheel", ["prize:big"])
    big = counters.get("prize:big", 0)
    page = admin.get(f"{ADMIN}/?lang=en", headers=bearer(TOKEN)).get_data(as_text=True)
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr>\s*<th scope="row"><a href="/gamify/admin/campaigns/([a-z-]+)'
                             r'.*?</tr>', page, re.S)
    }  # fmt: skip
    assert set(rows) == {"wheel", "later", "reviews"}
    assert "running" in rows["wheel"] and "scheduled" in rows["later"]
    cells = re.findall(r'<td class="n">(.*?)</td>', rows["wheel"], re.S)
    assert cells[0].strip() == "30" and cells[1].strip() == "30"  # plays today, in all
    assert cells[2].strip() == f"{2 - big} of 2"  # stock left of the prize with stock
    assert cells[3].strip().startswith(f"{big * 10:,.2f}")  # spent today (big is worth 10)
    assert page.index("wheel") < page.index("later")  # running before scheduled
    spanish = admin.get(f"{ADMIN}/?lang=es", headers=bearer(TOKEN)).get_data(as_text=True)
    assert "en curso" in spanish and "programada" in spanish and "Jugadas hoy" in spanish


def test_the_campaign_page_compares_draws_with_odds_and_draws_charts(
    admin_app: Flask, admin: FlaskClient
) -> None:
    _play(admin_app, 60)
    page = admin.get(f"{ADMIN}/campaigns/wheel", headers=bearer(TOKEN)).get_data(as_text=True)
    current = state(admin_app)
    drawn = current.service.activity.draws("wheel")
    assert sum(drawn.values()) == 60
    for (_, prize), n in drawn.items():
        label = {"big": "Big prize", "ten-off": "10% off", "try-again": "So close!"}[prize]
        row = re.search(rf"<th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", page, re.S)
        assert row is not None, label
        assert f">{n} (" in row.group(1)
    assert re.search(r"χ² = [\d.]+ with 2 degrees of freedom over 60 plays, p = ", page)
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 2  # plays per day, prizes awarded
    for svg in svgs:
        root = ElementTree.fromstring(svg)
        assert root.get("role") == "img" and root.get("aria-labelledby")
    assert "60 in all" in page  # the chart's description says it in words


def test_hostile_titles_and_labels_come_out_as_text(tmp_path: Path) -> None:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    write_campaign(folder, "wheel", -1, 30)
    source = (folder / "wheel.yaml").read_text(encoding="utf-8")
    hostile = '"<script>alert(1)</script><img src=x onerror=alert(2)>"'
    source = source.replace('en: "Big prize"', f"en: {hostile}")
    source = source.replace('en: "Test wheel"', f"en: {hostile}")
    (folder / "wheel.yaml").write_text(source, encoding="utf-8")
    app = make_app(tmp_path / "store", folder, GAMIFY_ADMIN_TOKEN=TOKEN)
    _play(app, 40)
    client = app.test_client()
    for path in (f"{ADMIN}/?lang=en", f"{ADMIN}/campaigns/wheel?lang=en"):
        page = client.get(path, headers=bearer(TOKEN)).get_data(as_text=True)
        assert "<script>" not in page and "<img" not in page
        assert "&lt;script&gt;" in page
    state(app).engine.dispose()


def test_the_report_csv_downloads_and_a_bad_window_is_explained(
    admin_app: Flask, admin: FlaskClient
) -> None:
    _sign_in(admin)
    empty = admin.get(f"{ADMIN}/campaigns/wheel/report.csv")
    assert empty.status_code == 422 and "has seen no customers" in empty.get_data(as_text=True)
    _play(admin_app, 5)
    current = state(admin_app)
    events = [
        {"id": f"o-{n}", "type": "order.paid", "customer": f"shopper-{n}",
         "occurred_at": current.service.clock().isoformat(),
         "order": {"id": f"o-{n}", "total": "20.00", "currency": "EUR"}}
        for n in range(5)
    ]  # fmt: skip
    current.service.track_events({"events": events}, current.registry.index(), [])
    response = admin.get(f"{ADMIN}/campaigns/wheel/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["group"] for r in rows] == ["treatment"] and rows[0]["customers"] == "5"
    page = admin.get(f"{ADMIN}/campaigns/wheel?from=nope&to=2020-01-01").get_data(as_text=True)
    assert "Dates are written YYYY-MM-DD." in page
    spanish = admin.get(f"{ADMIN}/campaigns/wheel?lang=es&from=2099-01-01&to=2099-01-02")
    assert "en el futuro" in spanish.get_data(as_text=True)


def test_a_challenge_page_shows_its_funnel_step_by_step(
    admin_app: Flask, admin: FlaskClient
) -> None:
    current = state(admin_app)
    now = current.service.clock()
    yesterday = now - timedelta(hours=24)

    def event(kind: str, n: int, at: datetime, k: int = 0) -> dict[str, Any]:
        found: dict[str, Any] = {
            "id": f"{kind}-{n}-{k}", "type": kind, "customer": f"c{n}",
            "occurred_at": at.isoformat(),
        }  # fmt: skip
        if kind == "order.paid":
            found["order"] = {"id": f"o-{n}-{k}", "total": "25.00", "currency": "EUR"}
        return found

    events = [event("review.published", n, now) for n in (1, 2, 3)]
    events += [event("order.paid", 2, now), event("order.paid", 3, now)]
    events += [event("order.paid", 3, yesterday, 1)]  # c3: two orders on two days
    current.service.track_events({"events": events}, current.registry.index(), [])
    page = admin.get(f"{ADMIN}/campaigns/reviews", headers=bearer(TOKEN)).get_data(as_text=True)
    expected = {
        "Took part": 3,
        "Step: Two orders of €20": 1,
        "Step: A review": 3,
        "Step: The quiz": 0,
        "Completed": 0,
        "Rewarded": 0,
    }
    for stage, n in expected.items():
        assert f'<th scope="row">{stage}</th><td class="n">{n}</td>' in page, stage
    assert 'id="funnel-title"' in page
