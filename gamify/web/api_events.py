"""``/api/events``: the store's server tells gamify what its customers do (CONTRACT §8)."""

from __future__ import annotations

from flask import Response

from gamify.core.errors import InvalidRequest, NotFound
from gamify.web.auth import require_key
from gamify.web.blueprint import blueprint
from gamify.web.state import state


@blueprint.post("/api/events")
def events() -> Response:
    key = state().settings.events_key
    if not key:
        raise NotFound("events are closed: set GAMIFY_EVENTS_KEY to open them")
    require_key(key, "GAMIFY_EVENTS_KEY")
    raise InvalidRequest("no challenges are configured")
