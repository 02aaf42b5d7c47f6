"""CORS for the storefront origins in ``GAMIFY_ALLOWED_ORIGINS`` (exact match), and no others.

An allowed origin gets ``Access-Control-Allow-Origin: <origin>`` on every response under the
prefix (errors included, so the widget can read a problem's ``detail``) and a 204 answer to its
preflight. Any other origin gets no CORS header at all, so the browser keeps the response from
the page. Credentials (cookies) are never allowed: the API reads a Bearer token instead.
"""

from __future__ import annotations

from flask import Response, request

from gamify.web.state import Settings

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
EXPOSE_HEADERS = "Retry-After"
MAX_AGE = "600"


def allowed_origin(settings: Settings) -> str | None:
    origin = request.headers.get("Origin")
    if origin and origin in settings.allowed_origins:
        return origin
    return None


def is_preflight() -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def preflight(settings: Settings) -> Response | None:
    """The 204 answer to an allowed origin's preflight; None lets Flask answer the OPTIONS."""
    if allowed_origin(settings) is None:
        return None
    response = Response(status=204)
    del response.headers["Content-Type"]  # no body, nothing to type
    response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
    response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = MAX_AGE
    return response


def add_headers(response: Response, settings: Settings) -> None:
    if settings.allowed_origins:
        response.vary.add("Origin")
    origin = allowed_origin(settings)
    if origin is None:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
