"""Who a campaign shows itself to (CONTRACT §11): each customer is assigned a group the first
time a campaign sees them, and the holdout group never sees it. A campaign with a holdout sees
a customer at a call with their token or one of their events during its schedule; one without
a holdout records its customers as they play (a challenge's report counts its progress's).

The group is recorded in the database (the first record wins, whatever the number of workers)
and remembered by the process, so that showing a campaign to a customer seen before costs no
query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from gamify.core.challenge import AnyCampaign
from gamify.core.errors import CampaignError, ConfigIssue, InHoldout
from gamify.core.events import Event
from gamify.core.holdout import Group, holdout_group
from gamify.services.ports import Assignment, AudienceStore

_REMEMBERED = 200_000  # (campaign, customer) pairs a process keeps: a few tens of MB at most


class AudienceCases:
    audience: AudienceStore
    holdout_key: bytes
    clock: Callable[[], datetime]

    if TYPE_CHECKING:  # PlayCases, beside this class in the Service

        def player(self, campaign_id: str, customer_id: str) -> str: ...

    def _seen(self) -> _Seen:
        seen: _Seen | None = getattr(self, "_seen_groups", None)
        if seen is None:
            seen = self._seen_groups = _Seen(_REMEMBERED)
        return seen

    def group(self, campaign: AnyCampaign, customer: str) -> Group:
        """The customer's group in the campaign, assigning it now if the campaign had not
        seen them. Without a holdout everyone is in the treatment, and nothing is asked of
        the database here: a play records its customer in its own write, and a challenge's
        report counts the customers its progress holds."""
        if campaign.holdout <= 0:
            return "treatment"
        key = (campaign.id, customer)
        seen = self._seen()
        group = seen.get(key)
        if group is None:
            assignment = self._assignment(campaign, customer, self.clock())
            group = self.audience.assign([assignment], {campaign.id: campaign.holdout})[key]
            seen.put(key, group)
        return group

    def show(self, campaign: AnyCampaign, customer: str) -> None:
        """Raise :class:`InHoldout` unless the customer may see the campaign."""
        if self.group(campaign, customer) == "holdout":
            raise InHoldout(campaign.id)

    def event_assignments(
        self, campaigns: Iterable[AnyCampaign], events: Sequence[Event]
    ) -> list[Assignment]:
        """The customers of ``events`` seen by the campaigns with a holdout whose schedule
        holds the event (a campaign without one records its customers as they play)."""
        return [
            self._assignment(campaign, customer, at)
            for campaign in campaigns
            if campaign.holdout > 0
            for customer, at in {
                e.customer: e.occurred_at for e in events if campaign.is_running(e.occurred_at)
            }.items()
        ]

    def check_holdout(self, campaign: AnyCampaign) -> None:
        """Refuse a file whose holdout differs from the percent recorded when the campaign
        started or first assigned a customer: the groups the report compares would no longer
        be those it ran with."""
        now = self.clock()
        if now >= campaign.starts:
            recorded: int | None = self.audience.fix_holdout(campaign.id, campaign.holdout, now)
        else:
            recorded = self.audience.holdouts().get(campaign.id)
        if recorded is None or recorded == campaign.holdout:
            return
        raise CampaignError([holdout_issue(campaign, recorded)])

    def _assignment(self, campaign: AnyCampaign, customer: str, at: datetime) -> Assignment:
        group = holdout_group(self.holdout_key, campaign.id, customer, campaign.holdout)
        return Assignment(campaign.id, customer, self.player(campaign.id, customer), group, at)


def holdout_issue(
    campaign: AnyCampaign, recorded: int, line: int = 1, column: int = 1
) -> ConfigIssue:
    file = str(campaign.source) if campaign.source is not None else campaign.id
    return ConfigIssue(
        file,
        line,
        column,
        "holdout",
        f"cannot change once the campaign has assigned customers: it runs with holdout "
        f"{recorded} (set it back, or start a new campaign with a new id)",
        str(campaign.holdout),
    )


class _Seen:
    """The groups of the (campaign, customer) pairs seen last, at most ``size`` of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.groups: OrderedDict[tuple[str, str], Group] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Group | None:
        return self.groups.get(key)

    def put(self, key: tuple[str, str], group: Group) -> None:
        with self.lock:
            self.groups[key] = group
            while len(self.groups) > self.size:
                self.groups.popitem(last=False)
