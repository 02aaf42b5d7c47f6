"""The schedule and limits of a campaign file: time zone, start and end, per-customer limits,
budgets."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import cast
from zoneinfo import ZoneInfo, available_timezones

from gamify.campaigns.checks import BUDGET_KEYS, LIMIT_KEYS, LIMITS_KEYS, Checker, shown, suggest
from gamify.campaigns.yaml_nodes import Located
from gamify.core.rules import PERIODS, Budget, Limit, Period


@cache
def iana_timezones() -> frozenset[str]:
    """IANA zone names, without the system's own aliases that differ from machine to machine."""
    local = {"localtime", "Factory", "posixrules"}
    return frozenset(
        name
        for name in available_timezones()
        if name not in local and not name.startswith(("posix/", "right/"))
    )


class ScheduleChecks(Checker):
    def timezone(self, node: Located) -> str | None:
        expected = "an IANA time zone such as Europe/Madrid"
        name = self.word(node, expected)
        if name is not None and name not in iana_timezones():
            self.report(node, f"must be {expected}{suggest(name, iana_timezones())}", shown(node))
            return None
        return name

    def schedule(
        self, fields: Mapping[str, Located]
    ) -> tuple[str | None, datetime | None, datetime | None]:
        """The time zone, the start and the end (after the start) of a game or challenge."""
        f = fields.get
        timezone = self.timezone(n) if (n := f("timezone")) else None
        starts = self.moment(n, timezone) if (n := f("starts")) else None
        ends = self.moment(n, timezone) if (n := f("ends")) else None
        if starts and ends and ends <= starts and (n := f("ends")):
            self.report(n, f"must be after starts ({fields['starts'].text})", shown(n))
        return timezone, starts, ends

    def moment(self, node: Located, timezone: str | None) -> datetime | None:
        """Naive times and bare dates are local to the campaign's zone; stored in UTC."""
        expected = "a date-time such as 2026-11-27T00:00:00 (optionally with an offset, +01:00)"
        if node.kind not in ("timestamp", "str"):
            self.expect(node, expected)
            return None
        try:
            moment = datetime.fromisoformat(node.text.strip())
            if moment.tzinfo is None:
                if timezone is None:
                    return None  # the zone is reported already
                moment = moment.replace(tzinfo=ZoneInfo(timezone))
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            self.expect(node, expected)
            return None

    def limits(self, node: Located) -> tuple[Limit, ...] | None:
        fields = self.mapping(node, LIMITS_KEYS)
        if fields is None or "per_customer" not in fields:
            return None if fields is None else ()
        rules = fields["per_customer"]
        if rules.kind != "list":
            self.expect(rules, "a list such as [{plays: 1, per: day}]")
            return None
        limits = [self.limit(rule) for rule in rules.items]
        return tuple(limit for limit in limits if limit is not None)

    def limit(self, node: Located) -> Limit | None:
        fields = self.mapping(node, LIMIT_KEYS, LIMIT_KEYS)
        if fields is None:
            return None
        plays = self.integer(fields["plays"], 1) if "plays" in fields else None
        per = self.choice(fields["per"], PERIODS) if "per" in fields else None
        if plays is None or per is None:
            return None
        return Limit(plays=plays, per=cast(Period, per))

    def budget(self, node: Located) -> Budget | None:
        fields = self.mapping(node, BUDGET_KEYS)
        if fields is None:
            return None
        caps = {key: self.decimal(value, 2, positive=True) for key, value in fields.items()}
        return Budget(caps.get("max_value_per_day"), caps.get("max_value_total"))
