"""Every error the API returns, as RFC 9457 ``application/problem+json``, made in this one place.

Domain errors (:class:`gamify.core.errors.PlayError`) carry their own ``code``, ``status``,
``title`` and ``detail``; HTTP errors (unknown path, wrong method, body too large, wrong media type,
malformed request) get a code of their own. Nothing under the prefix renders an HTML error page,
and an unexpected exception is logged and answered with a problem as a last resort.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, default_exceptions
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import RequestRedirect

from gamify.core.errors import LimitReached, PlayError, QuizAttemptsUsed
from gamify.core.events import InvalidEvents
from gamify.core.rules import iso_utc
from gamify.storage.database import database_unavailable

log = logging.getLogger("gamify")

PROBLEM_MIMETYPE = "application/problem+json"
TYPE_BASE = "https://gamify.dev/problems/"

#: Every ``code`` the API can return, with its HTTP status and what it means (for the docs and
#: the OpenAPI document).
CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "the request is malformed: see `detail`"),
    "invalid_email": (400, "a guest's email is not an address, or a disposable one"),
    "age_not_confirmed": (400, "a guest did not confirm the campaign's minimum age"),
    "invalid_token": (401, "missing, forged or expired customer token (or events key)"),
    "holdout": (403, "the customer is in the campaign's holdout group: do not show the game"),
    "not_found": (404, "no such path, or a closed feature such as events"),
    "campaign_not_found": (404, "no campaign with this id"),
    "method_not_allowed": (405, "the path exists but not with this method; see `Allow`"),
    "reward_not_found": (404, "no loyalty reward with this id"),
    "campaign_inactive": (409, "the campaign has not started yet or has ended"),
    "insufficient_points": (409, "the customer's usable points do not cover the reward"),
    "out_of_stock": (409, "the reward's stock (or coupon pool) is used up"),
    "idempotency_conflict": (409, "the Idempotency-Key was used before with another request"),
    "payload_too_large": (413, "the request body is larger than GAMIFY_MAX_BODY"),
    "unsupported_media_type": (415, "a request body that is not application/json"),
    "limit_reached": (429, "a play limit (per customer, or per address for guests) is used up"),
    "internal_error": (500, "a bug: never expected, logged on the server"),
    "unavailable": (503, "the database cannot serve requests right now; see `Retry-After`"),
}
#: Seconds a client waits before retrying after ``unavailable``: pools reconnect at once.
UNAVAILABLE_RETRY_AFTER = 2

# Werkzeug's HTTP errors that have a code of their own; any other one is an invalid_request.
_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response.

    With a ``title`` of its own it is a gamify problem whose ``type`` is a URL naming the code;
    without, a plain HTTP error: ``about:blank`` titled with the status phrase (RFC 9457 §4.2.1).
    """
    body: dict[str, Any] = {
        "type": problem_type(code) if title else "about:blank",
        "title": title or HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra or {})
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIMETYPE
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_type(code: str) -> str:
    return TYPE_BASE + code.replace("_", "-")


def from_play_error(exc: PlayError) -> Response:
    if isinstance(exc, LimitReached):
        return _limit_reached(exc)
    if isinstance(exc, InvalidEvents):
        errors = [issue.as_json() for issue in exc.issues]
        return problem(exc.status, exc.code, exc.detail, title=exc.title, extra={"errors": errors})
    return problem(exc.status, exc.code, exc.detail, title=exc.title)


def _limit_reached(exc: LimitReached) -> Response:
    from gamify.web.state import state

    if exc.retry_at is None:
        return problem(
            exc.status,
            exc.code,
            exc.detail
            if isinstance(exc, QuizAttemptsUsed)
            else f"limit of {exc.plays} play(s) per {exc.per} reached: no more plays in this "
            "campaign",
            title=exc.title,
            extra={"retry_at": None},
        )
    retry_after = seconds_until(exc.retry_at, state().service.clock())
    return problem(
        exc.status,
        exc.code,
        exc.detail,
        title=exc.title,
        extra={"retry_after": retry_after, "retry_at": iso_utc(exc.retry_at)},
        headers={"Retry-After": str(retry_after)},
    )


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds from ``now`` to ``moment``, rounded up, at least 1 (for ``Retry-After``)."""
    return max(1, math.ceil((moment - now).total_seconds()))


def from_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        return internal_error(exc)
    code = _HTTP_CODES.get(status, "invalid_request")
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    return problem(status, code, _http_detail(status, exc), headers=headers)


def _http_detail(status: int, exc: HTTPException) -> str:
    if status == 404:
        return f"there is nothing at {request.path}"
    if status == 405:
        return f"{request.method} is not allowed on {request.path}"
    if status == 413:
        from gamify.web.state import state

        return f"the request body is larger than {state().settings.max_body} bytes"
    return str(exc.description or HTTP_STATUS_CODES.get(status, "bad request"))


def misspelt_path(redirect: RequestRedirect) -> Response:
    """A path the router would redirect (a doubled slash): the API's paths are exact, so the
    caller's bug is named, with the path it meant, rather than answered with a redirect."""
    meant = urlsplit(redirect.new_url).path
    return problem(404, "not_found", f"there is nothing at {request.path}; did you mean {meant}?")


def unavailable(exc: BaseException | None) -> Response:
    """The database is down, restarting or busy: the client retries (with its Idempotency-Key,
    a play whose answer was lost is returned rather than played twice). ``None``: the app
    started without its database, and has logged why."""
    if exc is not None:
        log.warning("gamify: database unavailable on %s %s: %s", request.method, request.path, exc)
    return problem(
        503,
        "unavailable",
        "the games are briefly unavailable; try again in a moment",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
    )


def internal_error(exc: BaseException) -> Response:
    original = getattr(exc, "original_exception", None) or exc
    log.error("gamify: unexpected error on %s %s", request.method, request.path, exc_info=original)
    return problem(500, "internal_error", "an unexpected error happened; it has been logged")


def install(blueprint: Blueprint) -> None:
    """Errors raised inside the blueprint's views become problems (before any host handler).

    Handlers are registered per HTTP status as well as per class, because Flask looks up a
    handler by status code first: a host app's ``@app.errorhandler(404)`` would otherwise
    render its HTML page for our views. Routing errors (unknown path, wrong method) happen
    before a blueprint is known; :mod:`gamify.web.blueprint` answers those in a before-request hook.
    """
    blueprint.register_error_handler(PlayError, from_play_error)
    for status in default_exceptions:
        blueprint.register_error_handler(status, _on_http_error)
    blueprint.register_error_handler(HTTPException, _on_http_error)
    blueprint.register_error_handler(Exception, _on_exception)


def _on_http_error(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return from_http_error(exc)
    return _on_exception(exc)


def _on_exception(exc: Exception) -> Response:
    if isinstance(exc, PlayError):
        return from_play_error(exc)
    if isinstance(exc, HTTPException):
        return from_http_error(exc)
    if database_unavailable(exc):
        return unavailable(exc)
    return internal_error(exc)
