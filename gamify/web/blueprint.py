"""The blueprint every view of the API registers on, and the rules for every request under the
prefix: unknown paths and methods, ``OPTIONS``, the body size, a database that is not there
yet, and the headers every answer carries (``nosniff``, ``no-store`` for a customer's, CORS).

The hooks run for every request of the host app but act only under the prefix, so the store's
own pages are untouched.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.routing import RequestRedirect

from gamify.core.events import MAX_REQUEST
from gamify.web import cors, problems
from gamify.web.admin_access import secure
from gamify.web.state import state

blueprint = Blueprint("gamify", __name__, template_folder="templates")
problems.install(blueprint)

# Views whose answers are about one customer: never stored by a cache, even on errors.
_CUSTOMER_VIEWS = frozenset(
    {"gamify.play", "gamify.my_plays", "gamify.events", "gamify.my_challenges", "gamify.quiz"}
)


def under_prefix(path: str) -> bool:
    prefix = state().settings.url_prefix
    return not prefix or path == prefix or path.startswith(prefix + "/")


@blueprint.before_app_request
def _before() -> Response | None:
    """Runs for every request of the app, but acts only under the prefix."""
    if not under_prefix(request.path):
        return None
    current = state()
    routing = request.routing_exception
    if isinstance(routing, RequestRedirect):
        return problems.misspelt_path(routing)
    if routing is not None and routing.code in (404, 405):
        return problems.from_http_error(routing)
    if request.method == "OPTIONS":
        return (cors.is_preflight() and cors.preflight(current.settings)) or _allowed_methods()
    if request.path.startswith(f"{current.settings.url_prefix}/api/") and not current.ready():
        return problems.unavailable(None)  # the database is away since the app started
    if request.method == "POST":
        limit = body_limit(request.endpoint, current.settings.max_body)
        # Werkzeug stops reading a body without Content-Length at this size (without an
        # error), so one byte more than the limit tells a too-large body from a full one.
        request.max_content_length = limit + 1
        if request.content_length is not None and request.content_length > limit:
            return problems.problem(
                413, "payload_too_large", f"the request body is larger than {limit} bytes"
            )
    return None


def _allowed_methods() -> Response:
    """A plain ``OPTIONS`` (or a preflight from an origin not allowed): the methods, no body."""
    response = Response(status=204)
    del response.headers["Content-Type"]  # no body, nothing to type
    rule = request.url_rule
    response.headers["Allow"] = ", ".join(sorted(rule.methods or ())) if rule else "OPTIONS"
    return response


@blueprint.after_app_request
def _after(response: Response) -> Response:
    if not under_prefix(request.path):
        return response
    response.headers["X-Content-Type-Options"] = "nosniff"
    if _under_admin(request.path):
        secure(response)  # the admin pages' own rules, and no CORS
        return response
    if "Authorization" in request.headers or request.endpoint in _CUSTOMER_VIEWS:
        response.headers["Cache-Control"] = "no-store"
    cors.add_headers(response, state().settings)
    return response


def _under_admin(path: str) -> bool:
    admin = f"{state().settings.url_prefix}/admin"
    return path == admin or path.startswith(admin + "/")


def body_limit(endpoint: str | None, default: int) -> int:
    """The largest body a view takes: ``GAMIFY_MAX_BODY``, or 1 MiB for a batch of events."""
    from_view = _BODY_LIMITS.get(endpoint or "")
    return max(default, from_view) if from_view else default


_BODY_LIMITS = {"gamify.events": MAX_REQUEST}
