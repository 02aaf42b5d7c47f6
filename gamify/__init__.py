"""gamify: spin wheels, scratch cards and provably fair, auditable draws for online stores.

The names below are loaded when first used, so that importing a layer of the package (an
auditor's ``import gamify.core.fairness``) loads nothing it does not need: no Flask, SQLAlchemy
or psycopg through this file.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gamify.core.version import __version__

if TYPE_CHECKING:
    from gamify.campaigns.loader import load_campaign, load_campaigns  # noqa: F401
    from gamify.campaigns.schema import campaign_schema  # noqa: F401
    from gamify.core.campaign import Campaign, Coupon, Prize, Text  # noqa: F401
    from gamify.core.errors import BundleError, CampaignError, ConfigIssue, GamifyError  # noqa: F401
    from gamify.core.rules import Budget, Limit, PrizeRule, Rules  # noqa: F401
    from gamify.extension import Gamify  # noqa: F401

_WHERE = {
    "Budget": "gamify.core.rules",
    "BundleError": "gamify.core.errors",
    "Campaign": "gamify.core.campaign",
    "CampaignError": "gamify.core.errors",
    "ConfigIssue": "gamify.core.errors",
    "Coupon": "gamify.core.campaign",
    "Gamify": "gamify.extension",
    "GamifyError": "gamify.core.errors",
    "Limit": "gamify.core.rules",
    "Prize": "gamify.core.campaign",
    "PrizeRule": "gamify.core.rules",
    "Rules": "gamify.core.rules",
    "Text": "gamify.core.campaign",
    "campaign_schema": "gamify.campaigns.schema",
    "load_campaign": "gamify.campaigns.loader",
    "load_campaigns": "gamify.campaigns.loader",
}

__all__ = [*sorted(_WHERE), "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'gamify' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
