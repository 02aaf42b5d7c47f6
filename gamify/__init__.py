"""gamify: spin wheels, scratch cards and provably fair, auditable draws for online stores."""

from gamify.campaign import Campaign, Coupon, Prize, Text
from gamify.campaign_schema import campaign_schema
from gamify.campaign_yaml import load_campaign, load_campaigns
from gamify.errors import BundleError, CampaignError, ConfigIssue, GamifyError
from gamify.extension import Gamify
from gamify.rules import Budget, Limit, PrizeRule, Rules

__version__ = "0.1.0"

__all__ = [
    "Budget",
    "BundleError",
    "Campaign",
    "CampaignError",
    "ConfigIssue",
    "Coupon",
    "Gamify",
    "GamifyError",
    "Limit",
    "Prize",
    "PrizeRule",
    "Rules",
    "Text",
    "__version__",
    "campaign_schema",
    "load_campaign",
    "load_campaigns",
]
