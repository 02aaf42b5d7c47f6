"""The admin pages (CONTRACT §11): HTML drawn on the server, charts included, so they work
without JavaScript and can forbid every script (see :func:`secure`). Closed (404) unless
``GAMIFY_ADMIN_TOKEN`` is set; :mod:`gamify.web.admin_access` says who gets in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Response, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response as AnyResponse

from gamify.core.challenge import AnyCampaign
from gamify.core.errors import CampaignNotFound
from gamify.services.admin import CampaignPage
from gamify.services.report import ReportError
from gamify.web import admin_charts
from gamify.web.admin_access import AdminAccess, TooManyFailures, safe_next, same_origin
from gamify.web.admin_texts import LANGUAGES, TEXTS, number, percent
from gamify.web.blueprint import blueprint
from gamify.web.http import find_any, negotiate
from gamify.web.state import GamifyState, state

View = TypeVar("View", bound=Callable[..., Any])
TEMPLATES = "gamify/admin"


def admin_path(current: GamifyState) -> str:
    return f"{current.settings.url_prefix}/admin"


def _page(template: str, status: int = 200, **context: Any) -> Response:
    lang = negotiate(LANGUAGES)
    texts = TEXTS[lang]
    current = state()
    access = current.admin
    body = render_template(
        f"{TEMPLATES}/{template}",
        lang=lang,
        t=texts,
        number=lambda value, places=0: number(value, lang, places),
        percent=lambda value, places=1: percent(value, lang, places),
        admin=admin_path(current),
        form_token=access.form_token() if access else "",
        signed_in_by_cookie=bool(access and request.cookies.get("gamify_admin")),
        local=_local,
        switch=[(other, _with_lang(other)) for other in LANGUAGES if other != lang],
        **context,
    )
    return Response(body, status=status, mimetype="text/html")


def _local(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _with_lang(lang: str) -> str:
    """This page in another language (a GET keeps its query; a form's answer goes home)."""
    if request.method != "GET":
        return f"{admin_path(state())}/?lang={lang}"
    args = {**request.args.to_dict(), "lang": lang}
    return f"{request.path}?{urlencode(args)}"


def _message(key: str, status: int, **values: Any) -> Response:
    texts = TEXTS[negotiate(LANGUAGES)]
    return _page("message.html", status, message=texts[key].format(**values))


def _refused(exc: TooManyFailures) -> Response:
    response = _message("too_many", 429, seconds=exc.retry_after)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def admin_view(view: View) -> View:
    """Open to the admin only: closed without a token; a browser without the cookie goes to
    the sign-in form, a client with a wrong bearer token gets 401."""

    @wraps(view)
    def wrapper(**kwargs: Any) -> AnyResponse:
        current = state()
        access = current.admin
        if access is None:
            return _message("closed", 404)
        try:
            allowed = access.signed_in()
        except TooManyFailures as exc:
            return _refused(exc)
        if not allowed:
            if "Authorization" in request.headers:
                response = _message("wrong_token", 401)
                response.headers["WWW-Authenticate"] = 'Bearer realm="gamify admin"'
                return response
            target = request.full_path.rstrip("?")
            return redirect(url_for("gamify.admin_sign_in", next=target, lang=_lang()), 303)
        if not current.ready():
            return _message("unavailable", 503)
        try:
            return cast(AnyResponse, view(**kwargs))
        except CampaignNotFound:
            return _message("not_found", 404, name=repr(kwargs.get("campaign_id", "")))

    return cast(View, wrapper)


def _lang() -> str | None:
    return request.args.get("lang") or None


@blueprint.route("/admin/", endpoint="admin_campaigns")
@admin_view
def campaigns() -> AnyResponse:
    current = state()
    found: list[AnyCampaign] = [*current.registry.all(), *current.registry.challenges()]
    lines = current.service.overview(found)
    return _page("campaigns.html", lines=lines)


@blueprint.route("/admin/campaigns/<campaign_id>", endpoint="admin_campaign")
@admin_view
def campaign(campaign_id: str) -> Response:
    current = state()
    found = find_any(current, campaign_id)
    first, last, bad_date = _window()
    page = current.service.campaign_page(found, first, last)
    lang = negotiate(LANGUAGES)
    return _page(
        "campaign.html",
        page=page,
        charts=_charts(page, lang),
        bad_date=bad_date,
        asked={"from": request.args.get("from", ""), "to": request.args.get("to", "")},
    )


@blueprint.route("/admin/campaigns/<campaign_id>/report.csv", endpoint="admin_report_csv")
@admin_view
def report_csv(campaign_id: str) -> Response:
    current = state()
    found = find_any(current, campaign_id)
    first, last, _ = _window()
    try:
        made = current.service.report(found, first, last)
    except ReportError as exc:
        return Response(str(exc) + "\n", status=422, mimetype="text/plain")
    response = Response(made.as_csv(), mimetype="text/csv")
    name = f"{found.id}-report-{made.first}-{made.last}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@blueprint.route("/admin/sign-in", methods=["GET", "POST"], endpoint="admin_sign_in")
def sign_in() -> AnyResponse:
    current = state()
    access = current.admin
    if access is None:
        return _message("closed", 404)
    target = safe_next(request.values.get("next"), admin_path(current))
    if request.method == "GET":
        return _page("sign_in.html", target=target, error=None)
    if not same_origin():
        return _page("sign_in.html", 403, target=target, error=TEXTS[_lang_now()]["expired_form"])
    try:
        ok = access.attempt(request.form.get("token", "").strip())
    except TooManyFailures as exc:
        return _refused(exc)
    if not ok:
        return _page("sign_in.html", 401, target=target, error=TEXTS[_lang_now()]["wrong_token"])
    response = redirect(target, 303)
    access.sign_in(response)
    return response


@blueprint.route("/admin/sign-out", methods=["POST"], endpoint="admin_sign_out")
@admin_view
def sign_out() -> AnyResponse:
    access = cast(AdminAccess, state().admin)
    if not access.form_ok():
        return _message("expired_form", 403)
    response = redirect(url_for("gamify.admin_sign_in", lang=_lang()), 303)
    access.sign_out(response)
    return response


def _lang_now() -> str:
    return negotiate(LANGUAGES)


def _window() -> tuple[date | None, date | None, bool]:
    """The report window asked for in ``?from=&to=`` (local dates); bad dates are ignored and
    said so on the page."""
    found: list[date | None] = []
    bad = False
    for key in ("from", "to"):
        raw = request.args.get(key, "").strip()
        try:
            found.append(date.fromisoformat(raw) if raw else None)
        except ValueError:
            found.append(None)
            bad = True
    return found[0], found[1], bad


def _charts(page: CampaignPage, lang: str) -> dict[str, Markup]:
    return admin_charts.charts(page, lang, TEXTS[lang], lambda v, p=0: number(v, lang, p))
