"""``/api/events``: the store's server tells gamify what its customers do (CONTRACT §8)."""

from __future__ import annotations

from flask import Response

from gamify.core.errors import NotFound
from gamify.core.events import MAX_REQUEST
from gamify.web import shapes
from gamify.web.auth import require_key
from gamify.web.blueprint import blueprint
from gamify.web.http import json_body, json_response
from gamify.web.state import state


@blueprint.post("/api/events")
def events() -> Response:
    current = state()
    key = current.settings.events_key
    if not key:
        raise NotFound("events are closed: set GAMIFY_EVENTS_KEY to open them")
    require_key(key, "GAMIFY_EVENTS_KEY")
    results = current.service.track(json_body(max(current.settings.max_body, MAX_REQUEST)))
    body: shapes.EventResults = {"results": results}  # type: ignore[typeddict-item]
    return json_response(body)
