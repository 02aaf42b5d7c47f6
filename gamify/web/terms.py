"""``GET {prefix}/campaigns/<id>/terms``: a game's terms as a page for shoppers (CONTRACT §13),
in Spanish or English, made from the campaign file, ``GAMIFY_ORGANISER`` and the awards so far.

Promotional games must state the organiser, dates, who may enter, the number and nature of the
prizes and the odds before the play; generating the page from the configuration the draws use
means it cannot say one thing while the wheel does another. The page needs no script, and its
one style sheet is allowed by its hash, so it runs under a policy that forbids everything else.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Response, render_template, request, url_for
from markupsafe import Markup

from gamify.core.campaign import Campaign, Text
from gamify.services.admin import status
from gamify.services.disclosure import Disclosure
from gamify.web import problems
from gamify.web.admin_texts import number
from gamify.web.blueprint import blueprint
from gamify.web.http import find_campaign, negotiate
from gamify.web.state import state
from gamify.web.terms_texts import (
    LANGUAGES,
    TEXTS,
    amount,
    chance,
    duration,
    limit_words,
    local_time,
    one_in,
    utc_offset,
)

MAX_AGE = 60  # seconds a shared cache may keep the page: its units left change with each award

CSS = Markup("""
:root { color-scheme: light; --ink: #1f2937; --muted: #4b5563; --line: #d1d5db; --accent: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.6 system-ui, sans-serif; color: var(--ink); background: #f9fafb; }
header, main, footer { max-width: 56rem; margin: 0 auto; padding: .75rem 1.25rem; }
header { display: flex; justify-content: flex-end; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: .5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; }
a { color: var(--accent); }
a:focus-visible, .table-wrap:focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: .5rem; background: #fff; padding: .25rem .5rem; }
.note { border-left: 4px solid #b45309; padding: .5rem .75rem; background: #fffbeb; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; }
caption { text-align: left; font-weight: 600; padding: .5rem 0; }
th, td { padding: .45rem .6rem; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
code { font-size: .875rem; overflow-wrap: anywhere; }
footer, .muted { color: var(--muted); }
""")
_STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)


@dataclass(frozen=True)
class Shown:
    """A campaign text in the language the page could give it (``lang``: when it differs from
    the page's, the markup says so, for screen readers)."""

    text: str
    lang: str


def shown(text: Text, lang: str) -> Shown:
    given = text.language(lang)
    return Shown(text.get(given), given)


@blueprint.get("/campaigns/<campaign_id>/terms")
def terms(campaign_id: str) -> Response:
    current = state()
    if not current.ready():  # the campaigns load with the database: nothing to tell yet
        return problems.unavailable(None)
    campaign = find_campaign(current, campaign_id)
    lang = negotiate(LANGUAGES)
    disclosure = current.service.disclosure(campaign)
    epochs = current.service.epochs(campaign.id)
    committed = epochs[-1].commitment if epochs and epochs[-1].server_seed is None else None
    body = render_template(
        "gamify/terms.html",
        css=CSS,
        lang=lang,
        t=TEXTS[lang],
        other=_other_language(lang),
        c=campaign,
        d=disclosure,
        status=status(campaign, disclosure.at),
        organiser=current.settings.organiser,
        committed=committed,
        fairness_url=url_for("gamify.fairness", campaign_id=campaign.id),
        audit_url=url_for("gamify.audit_bundle", campaign_id=campaign.id),
        **_words(campaign, disclosure, lang),
    )
    response = Response(body, mimetype="text/html")
    response.vary.add("Accept-Language")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _other_language(lang: str) -> tuple[str, str]:
    other = next(x for x in LANGUAGES if x != lang)
    return other, f"{request.path}?{urlencode({'lang': other})}"


def _words(campaign: Campaign, disclosure: Disclosure, lang: str) -> dict[str, Any]:
    """Everything the page says in figures, already in words of ``lang``."""
    zone = campaign.timezone
    winning = [p for p in disclosure.prizes if p.prize.win]
    with_code = [p.prize for p in winning if p.prize.coupon is not None]
    without_code = [p.prize for p in winning if p.prize.coupon is None]
    guests = campaign.guests
    budget = campaign.budget
    return {
        "shown": lambda text: shown(text, lang),
        "starts": local_time(campaign.starts, zone, lang),
        "ends": local_time(campaign.ends, zone, lang),
        "offset": utc_offset(campaign.starts, zone),
        "limits": [limit_words(lim, lang) for lim in campaign.limits],
        "per_ip": limit_words(guests.per_ip, lang) if guests and guests.per_ip else None,
        "rows": [
            {
                "label": shown(p.prize.label, lang),
                "chance": chance(p.probability, lang),
                "odds": one_in(p.probability, lang),
                "value": amount(p.prize.value, lang) if p.prize.value is not None else None,
                "units": p.prize.stock,
                "left": p.left,
                "win": p.prize.win,
            }
            for p in disclosure.prizes
        ],
        "win_chance": chance(sum(p.probability for p in winning), lang) if winning else None,
        "fallback": shown(campaign.prize(campaign.fallback).label, lang),
        "budget_day": _amount_or_none(budget.max_value_per_day, lang),
        "budget_total": _amount_or_none(budget.max_value_total, lang),
        "with_code": ", ".join(shown(p.label, lang).text for p in with_code),
        "without_code": ", ".join(shown(p.label, lang).text for p in without_code),
        "every": duration(campaign.rotate_every, lang),
        "counted_at": local_time(disclosure.at, zone, lang),
        "count": lambda value: number(value, lang),
    }


def _amount_or_none(value: Any, lang: str) -> str | None:
    return None if value is None else amount(value, lang)
