"""One base error for everything gamify raises on purpose.

Callers catch :class:`GamifyError` to tell a finding (a broken file, a forged bundle) from a
bug. Subclasses carry the data a caller needs to act, so nobody parses messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


class GamifyError(Exception):
    """Base of every error gamify raises deliberately."""


@dataclass(frozen=True)
class ConfigIssue:
    """One mistake in a campaign file, located so a marketer can jump to it."""

    file: str
    line: int
    column: int
    path: str
    message: str
    got: str | None = None

    def __str__(self) -> str:
        got = f" (got {self.got})" if self.got is not None else ""
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}{got}"


class CampaignError(GamifyError):
    """A campaign file (or folder) has mistakes; all of them are in :attr:`issues`."""

    def __init__(self, issues: list[ConfigIssue] | tuple[ConfigIssue, ...]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class BundleError(GamifyError):
    """An audit bundle breaks a rule; :attr:`seq` is the first faulty play, if any."""

    def __init__(self, rule: str, detail: str, *, seq: int | None = None, line: int | None = None):
        self.rule = rule
        self.detail = detail
        self.seq = seq
        self.line = line
        where = (
            f"seq {seq}" if seq is not None else f"line {line}" if line is not None else "bundle"
        )
        super().__init__(f"{where}: {rule}: {detail}")


class InvalidCustomerId(GamifyError, ValueError):
    """The store passed a customer id gamify cannot sign (empty, not text, or too long): a bug
    in the storefront's code, named with the limit so it is fixed there."""

    def __init__(self, customer_id: object, limit: int) -> None:
        self.customer_id = customer_id
        self.limit = limit
        got = (
            f"{len(customer_id)} characters"
            if isinstance(customer_id, str)
            else type(customer_id).__name__
        )
        super().__init__(
            f"a customer id must be a string of 1 to {limit} characters (got {got}); "
            "use the store's stable, never reused id of the customer"
        )


class PlayError(GamifyError):
    """A request the service refuses; :attr:`code` is the API's machine-readable code."""

    code = "invalid_request"
    status = 400
    title = "Invalid request"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class InvalidRequest(PlayError):
    pass


class InvalidToken(PlayError):
    code = "invalid_token"
    status = 401
    title = "Invalid customer token"


class InvalidKey(InvalidToken):
    """A server-to-server request without the right key (``GAMIFY_EVENTS_KEY``)."""

    title = "Invalid key"


class CampaignNotFound(PlayError):
    code = "campaign_not_found"
    status = 404
    title = "Campaign not found"

    def __init__(self, campaign_id: str) -> None:
        self.campaign_id = campaign_id
        super().__init__(f"there is no campaign {campaign_id!r}")


class CampaignInactive(PlayError):
    code = "campaign_inactive"
    status = 409
    title = "Campaign not running"

    def __init__(self, campaign_id: str, starts: datetime, ends: datetime, now: datetime) -> None:
        self.campaign_id, self.starts, self.ends = campaign_id, starts, ends
        when = f"starts at {_iso(starts)}" if now < starts else f"ended at {_iso(ends)}"
        super().__init__(f"campaign {campaign_id!r} {when}")


class LimitReached(PlayError):
    """Over a per-customer limit; :attr:`retry_at` is when a play becomes possible (None: never)."""

    code = "limit_reached"
    status = 429
    title = "Play limit reached"

    def __init__(self, plays: int, per: str, retry_at: datetime | None) -> None:
        self.plays, self.per, self.retry_at = plays, per, retry_at
        when = f"next play at {_iso(retry_at)}" if retry_at else "no more plays in this campaign"
        super().__init__(f"limit of {plays} play(s) per {per} reached; {when}")


class AddressLimitReached(LimitReached):
    """Over a guest campaign's ``per_ip`` cap: too many plays from one internet address in the
    period, whatever the email (CONTRACT §13)."""

    def __init__(self, plays: int, per: str, retry_at: datetime | None) -> None:
        self.plays, self.per, self.retry_at = plays, per, retry_at
        when = f"next play at {_iso(retry_at)}" if retry_at else "no more plays in this campaign"
        PlayError.__init__(
            self, f"limit of {plays} play(s) per {per} from one internet address reached; {when}"
        )


class InvalidEmail(PlayError):
    """A guest's email that cannot be played with: not an address, or a throwaway one."""

    code = "invalid_email"
    title = "Invalid email"


class AgeNotConfirmed(PlayError):
    """A guest campaign with ``min_age`` set, played without confirming that age."""

    code = "age_not_confirmed"
    title = "Age not confirmed"


class QuizAttemptsUsed(LimitReached):
    """Every attempt of a quiz step in this window is used; :attr:`retry_at` is when the next
    window brings new ones (None: never)."""

    title = "No quiz attempts left"

    def __init__(self, attempts: int, retry_at: datetime | None) -> None:
        self.plays, self.per, self.retry_at = attempts, "window", retry_at
        when = f"new attempts at {_iso(retry_at)}" if retry_at else "no more attempts"
        PlayError.__init__(self, f"all {attempts} attempt(s) of this quiz are used; {when}")


class InHoldout(PlayError):
    """The customer is in the campaign's holdout group: kept from it so that the report can
    show what it changed (CONTRACT §11). The widget stays hidden."""

    code = "holdout"
    status = 403
    title = "Not part of this campaign"

    def __init__(self, campaign_id: str) -> None:
        self.campaign_id = campaign_id
        super().__init__(
            f"this customer is in the holdout group of {campaign_id!r}, which does not show it"
        )


class NotFound(PlayError):
    code = "not_found"
    status = 404
    title = "Not found"


class InsufficientPoints(PlayError):
    """A spend larger than the customer's usable points (pending ones wait their turn)."""

    code = "insufficient_points"
    status = 409
    title = "Not enough points"

    def __init__(self, needed: int, available: int) -> None:
        self.needed, self.available = needed, available
        super().__init__(f"this needs {needed} points and {available} are usable now")


class OutOfStock(PlayError):
    code = "out_of_stock"
    status = 409
    title = "Out of stock"

    def __init__(self, reward: str) -> None:
        self.reward = reward
        super().__init__(f"reward {reward!r} is out of stock")


class IdempotencyConflict(PlayError):
    """An Idempotency-Key used before with another request: a bug in the client, which must
    send a new key for a new request."""

    code = "idempotency_conflict"
    status = 409
    title = "Idempotency-Key reused"


class RewardNotFound(PlayError):
    code = "reward_not_found"
    status = 404
    title = "Reward not found"

    def __init__(self, reward: str, known: tuple[str, ...]) -> None:
        self.reward = reward
        choices = ", ".join(known) or "none"
        super().__init__(f"there is no reward {reward!r} (the rewards: {choices})")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
