"""The report's figures (CONTRACT §11), aggregated by the database: a campaign's assigned
customers, their orders before and during the window, the prizes and coupons they got. Only a
row per group comes back, whatever the number of customers or events (flat memory).

Orders are the store's ``order.paid`` events, one per order id (an order paid twice under two
event ids counts once), net of every ``order.refunded`` of that order: an order refunded in
full is no order, and refunds lower revenue whenever they come.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, bindparam, text

from gamify.services.ports import GroupSums, Span
from gamify.storage.activity_queries import play_time


def _amount(dialect: str, key: str) -> str:
    if dialect == "postgresql":
        return f"CAST(CAST(e.payload AS JSON) -> 'order' ->> '{key}' AS NUMERIC)"
    return f"CAST(json_extract(e.payload, '$.order.{key}') AS REAL)"


def _orders_sql(dialect: str, progress: bool) -> str:
    """``progress``: a challenge without a holdout counts the customers its progress holds
    too (it records its customers only as they open its card or answer its quiz)."""
    paid, refund = _amount(dialect, "total"), _amount(dialect, "refund_total")
    more = (
        """
  UNION SELECT DISTINCT customer, 'treatment' FROM gamify_progress WHERE challenge = :campaign"""
        if progress
        else ""
    )
    return f"""
WITH assigned AS (
  SELECT customer, grp FROM gamify_assignment WHERE campaign = :campaign{more}
),
paid AS (
  SELECT MIN(customer) AS customer, order_id, MIN(occurred_at) AS first_at,
         MAX(total) AS total
    FROM (SELECT e.customer, e.order_id, e.occurred_at, {paid} AS total
            FROM gamify_event e
           WHERE e.type = 'order.paid' AND e.occurred_at >= :before AND e.occurred_at < :end
             AND e.order_id IS NOT NULL) AS e
   GROUP BY order_id
),
refunds AS (
  SELECT e.order_id, SUM({refund}) AS refunded
    FROM gamify_event e
   WHERE e.type = 'order.refunded' AND e.occurred_at >= :before
   GROUP BY e.order_id
),
per_customer AS (
  SELECT o.customer,
         SUM(CASE WHEN o.net > 0 AND o.first_at >= :start THEN 1 ELSE 0 END) AS orders,
         SUM(CASE WHEN o.net > 0 AND o.first_at >= :start THEN o.net ELSE 0 END) AS revenue,
         MAX(CASE WHEN o.net > 0 AND o.first_at < :start THEN 1 ELSE 0 END) AS before
    FROM (SELECT p.customer, p.first_at, p.total - COALESCE(r.refunded, 0) AS net
            FROM paid p LEFT JOIN refunds r ON r.order_id = p.order_id) AS o
   GROUP BY o.customer
)
SELECT a.grp, COUNT(*) AS customers,
       SUM(COALESCE(c.before, 0)) AS before,
       SUM(CASE WHEN c.orders > 0 THEN 1 ELSE 0 END) AS during,
       SUM(CASE WHEN c.orders > 0 AND COALESCE(c.before, 0) = 0 THEN 1 ELSE 0 END) AS new,
       SUM(CASE WHEN c.orders >= 2 THEN 1 ELSE 0 END) AS repeat,
       SUM(COALESCE(c.orders, 0)) AS orders,
       SUM(COALESCE(c.revenue, 0)) AS revenue,
       SUM(COALESCE(c.revenue, 0) * COALESCE(c.revenue, 0)) AS revenue_squares
  FROM assigned a LEFT JOIN per_customer c ON c.customer = a.customer
 GROUP BY a.grp"""


_PLAY_AWARDS = """
SELECT a.grp, p.awarded AS prize, COUNT(*) AS n,
       SUM(CASE WHEN p.coupon IS NOT NULL THEN 1 ELSE 0 END) AS coupons
  FROM gamify_play p
  JOIN gamify_assignment a ON a.campaign = p.campaign AND a.player = p.player
 WHERE p.campaign = :campaign AND p.at >= :start_text AND p.at < :end_text
 GROUP BY a.grp, p.awarded"""

# A challenge's completers are its customers whether or not it recorded them: without a holdout
# it records none (its report counts its progress's customers, all in the treatment).
_CHALLENGE_AWARDS = """
SELECT COALESCE(a.grp, 'treatment') AS grp, 'reward' AS prize, COUNT(*) AS n,
       SUM(CASE WHEN en.coupon IS NOT NULL THEN 1 ELSE 0 END) AS coupons
  FROM gamify_challenge_entry en
  LEFT JOIN gamify_assignment a ON a.campaign = en.challenge AND a.customer = en.customer
 WHERE en.challenge = :campaign AND en.ordinal IS NOT NULL
   AND en.completed_at >= :start AND en.completed_at < :end
 GROUP BY COALESCE(a.grp, 'treatment')"""


def _redeemed_sql(dialect: str, game: bool) -> str:
    """Codes given to each group that came back in a store order. Payloads are gamify's
    canonical JSON (no spaces), so a text match skips the orders without a coupon before any
    JSON is parsed."""
    if game:
        issued = """
  SELECT a.grp, p.coupon AS code FROM gamify_play p
    JOIN gamify_assignment a ON a.campaign = p.campaign AND a.player = p.player
   WHERE p.campaign = :campaign AND p.coupon IS NOT NULL
     AND p.at >= :start_text AND p.at < :end_text"""
    else:
        issued = """
  SELECT COALESCE(a.grp, 'treatment') AS grp, en.coupon AS code FROM gamify_challenge_entry en
    LEFT JOIN gamify_assignment a ON a.campaign = en.challenge AND a.customer = en.customer
   WHERE en.challenge = :campaign AND en.coupon IS NOT NULL
     AND en.completed_at >= :start AND en.completed_at < :end"""
    if dialect == "postgresql":
        used = """
  SELECT DISTINCT c.code FROM gamify_event e
   CROSS JOIN LATERAL json_array_elements_text(
         COALESCE(CAST(e.payload AS JSON) -> 'order' -> 'coupons', '[]')) AS c(code)
   WHERE e.type = 'order.paid' AND e.occurred_at >= :start
     AND e.payload LIKE '%"coupons":["%'"""
    else:
        used = """
  SELECT DISTINCT j.value AS code FROM gamify_event e, json_each(e.payload, '$.order.coupons') j
   WHERE e.type = 'order.paid' AND e.occurred_at >= :start
     AND e.payload LIKE '%"coupons":["%'"""
    return f"""
WITH issued AS ({issued}), used AS ({used})
SELECT i.grp, COUNT(*) AS redeemed FROM issued i JOIN used u ON u.code = i.code GROUP BY i.grp"""


class SqlReports:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sums(self, campaign: str, game: bool, span: Span, holdout: int) -> dict[str, GroupSums]:
        return group_sums(self.engine, campaign, game, span, holdout)


_TIMES = ("before", "start", "end")


def _query(sql: str) -> Any:
    """The statement with its times bound as the columns store them (SQLite keeps UTC text)."""
    return text(sql).bindparams(
        *(
            bindparam(name, type_=DateTime(timezone=True))
            for name in _TIMES
            if re.search(rf":{name}\b", sql)
        )
    )


def group_sums(
    engine: Engine, campaign: str, game: bool, span: Span, holdout: int
) -> dict[str, GroupSums]:
    """Each group's sums for ``campaign`` (a game when ``game``, else a challenge)."""
    params: dict[str, Any] = {
        "campaign": campaign,
        "before": span.before.astimezone(UTC),
        "start": span.start.astimezone(UTC),
        "end": span.end.astimezone(UTC),
        "start_text": play_time(span.start),
        "end_text": play_time(span.end),
    }
    with engine.connect() as conn:
        dialect = conn.dialect.name
        found: dict[str, dict[str, Any]] = {}
        orders = _query(_orders_sql(dialect, not game and holdout <= 0))
        for summed in conn.execute(orders, params).mappings():
            found[summed["grp"]] = {k: v for k, v in summed.items() if k != "grp"}
        awards: dict[str, dict[str, int]] = {}
        issued: dict[str, int] = {}
        for row in conn.execute(_query(_PLAY_AWARDS if game else _CHALLENGE_AWARDS), params):
            awards.setdefault(row.grp, {})[row.prize] = int(row.n)
            issued[row.grp] = issued.get(row.grp, 0) + int(row.coupons or 0)
        redeemed = _redeemed(conn, dialect, game, params)
    groups = set(found) | set(awards)
    return {
        group: GroupSums(
            customers=int(found.get(group, {}).get("customers") or 0),
            before=int(found.get(group, {}).get("before") or 0),
            during=int(found.get(group, {}).get("during") or 0),
            new=int(found.get(group, {}).get("new") or 0),
            repeat=int(found.get(group, {}).get("repeat") or 0),
            orders=int(found.get(group, {}).get("orders") or 0),
            revenue=_decimal(found.get(group, {}).get("revenue")),
            revenue_squares=_decimal(found.get(group, {}).get("revenue_squares")),
            awards=awards.get(group, {}),
            coupons_issued=issued.get(group, 0),
            coupons_redeemed=redeemed.get(group, 0),
        )
        for group in groups
    }


def _redeemed(
    conn: Connection, dialect: str, game: bool, params: Mapping[str, Any]
) -> dict[str, int]:
    rows = conn.execute(_query(_redeemed_sql(dialect, game)), dict(params))
    return {row.grp: int(row.redeemed) for row in rows}


def _decimal(value: Any) -> Decimal:
    """Sums as exact decimals (PostgreSQL's NUMERIC), or SQLite's floats to the cent."""
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(float(value))).quantize(Decimal("0.0001"))
