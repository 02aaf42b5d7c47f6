"""Who is asking: the customer of a signed token, or the store's server with the events key."""

from __future__ import annotations

import hmac

from flask import request

from gamify.core.errors import InvalidKey, InvalidToken
from gamify.web.state import state


def bearer_token() -> str | None:
    """The token of ``Authorization: Bearer <token>``; None without the header.

    A header with another scheme or no token is an :class:`InvalidToken`, not an anonymous
    request: a storefront that sends a broken header should hear about it.
    """
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header must be `Bearer <token>`")
    return token.strip()


def customer_id(*, required: bool) -> str | None:
    token = bearer_token()
    if token is None and not required:
        return None
    return state().tokens.customer(token)


def require_key(key: str, name: str) -> None:
    """The request must carry ``key`` as its bearer token (compared in constant time)."""
    sent = bearer_token()
    if sent is None or not hmac.compare_digest(sent.encode(), key.encode()):
        raise InvalidKey(f"send the key as `Authorization: Bearer <{name}>`")
