"""Who may see the admin pages: the holder of ``GAMIFY_ADMIN_TOKEN``, by bearer header or by a
signed cookie the sign-in form sets.

The cookie holds no token, only a signature over a digest of it: changing the token signs
everyone out. It is HttpOnly, SameSite=Strict and scoped to the admin path, so neither the
store's scripts nor another site's forms can use it; forms also carry a token derived from
the cookie (a second line against cross-site posts from browsers that ignore SameSite).
Wrong tokens are compared in constant time, answered after a delay, and counted per client
address: past :data:`MAX_FAILURES` in :data:`FAILURE_WINDOW` seconds the address is refused
without a comparison until the window passes. The count is per worker process, so a store with
N workers allows N times as many guesses: a token of 32 random characters makes that moot.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

COOKIE = "gamify_admin"
COOKIE_MAX_AGE = 12 * 3600
MAX_FAILURES = 10
FAILURE_WINDOW = 600.0  # seconds
FAILURE_DELAY = 1.0  # seconds a wrong token waits for its answer
MAX_ADDRESSES = 10_000  # addresses remembered; the oldest go first


class TooManyFailures(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong admin tokens: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Failures:
    """Wrong tokens per client address, in this process."""

    delay: float = FAILURE_DELAY
    window: float = FAILURE_WINDOW
    limit: int = MAX_FAILURES
    _seen: dict[str, list[float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, address: str) -> None:
        """Raise :class:`TooManyFailures` while ``address`` is over the limit."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._seen.get(address, ()) if now - t < self.window]
            if recent:
                self._seen[address] = recent
            else:
                self._seen.pop(address, None)
            if len(recent) >= self.limit:
                raise TooManyFailures(int(self.window - (now - recent[0])) + 1)

    def failed(self, address: str) -> None:
        with self._lock:
            if address not in self._seen and len(self._seen) >= MAX_ADDRESSES:
                self._seen.pop(next(iter(self._seen)))
            self._seen.setdefault(address, []).append(time.monotonic())
        time.sleep(self.delay)


def same_token(sent: str, token: str) -> bool:
    return hmac.compare_digest(sent.encode(), token.encode())


@dataclass(frozen=True)
class AdminAccess:
    """The admin token and what it signs with; built once per app."""

    token: str
    secret: str | bytes
    path: str  # the admin pages' path, the cookie's scope
    failures: Failures

    @property
    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt="gamify.admin")

    def _token_digest(self) -> str:
        return hashlib.sha256(b"gamify.admin:" + self.token.encode()).hexdigest()[:32]

    def signed_in(self) -> bool:
        """Whether this request carries the token (bearer) or a valid cookie. A wrong bearer
        counts as a failure; a stale cookie does not (it was once right)."""
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, sent = header.strip().partition(" ")
            return scheme.lower() == "bearer" and self.attempt(sent.strip())
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return False
        try:
            digest = self._serializer.loads(cookie, max_age=COOKIE_MAX_AGE)
        except BadSignature:
            return False
        return isinstance(digest, str) and hmac.compare_digest(digest, self._token_digest())

    def attempt(self, sent: str) -> bool:
        """Compare a token a client sent; a wrong one waits and counts against its address."""
        address = request.remote_addr or "unknown"
        self.failures.check(address)
        if sent and same_token(sent, self.token):
            return True
        self.failures.failed(address)
        return False

    def sign_in(self, response: Response) -> None:
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(self._token_digest()),
            max_age=COOKIE_MAX_AGE,
            path=self.path,
            secure=request.is_secure,
            httponly=True,
            samesite="Strict",
        )

    def sign_out(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE, path=self.path, secure=request.is_secure, httponly=True, samesite="Strict"
        )

    def form_token(self) -> str:
        """The token the pages' forms carry: tied to the cookie, so only a page that could read
        the cookie's session can post."""
        cookie = request.cookies.get(COOKIE, "")
        key = self.secret.encode() if isinstance(self.secret, str) else self.secret
        return hmac.new(key, b"gamify.admin.form:" + cookie.encode(), "sha256").hexdigest()

    def form_ok(self) -> bool:
        sent = request.form.get("form_token", "")
        return same_origin() and hmac.compare_digest(sent.encode(), self.form_token().encode())


def secure(response: Response) -> None:
    """Every admin answer: never stored, never framed, no script at all, no referrer sent to
    other sites."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    # same-origin, not no-referrer: with no-referrer a browser posts the forms with
    # `Origin: null`, and the sign-in's check of where a post comes from needs the origin.
    response.headers["Referrer-Policy"] = "same-origin"


def same_origin() -> bool:
    """A post's ``Origin`` (or, without it, ``Referer``) is this host, or absent (non-browser
    clients send neither)."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return source != "null"
    found = urlsplit(source)
    return f"{found.scheme}://{found.netloc}" == request.host_url.rstrip("/")


def safe_next(target: str | None, path: str) -> str:
    """Where to go after signing in: a path under the admin pages, nothing else (no open
    redirect to another site)."""
    if target and target.startswith(path + "/") and "//" not in target and "\\" not in target:
        return target
    return path + "/"
