"""Store events with 10 million events already stored: the table stays usable.

On a throwaway PostgreSQL database, the service (in this process, no HTTP) takes single
``order.paid`` events and refunds while 5 challenges count orders: first with the events table
empty, then after 10 million older events of 200,000 customers (and their orders) were added
with ``INSERT … SELECT generate_series`` and the table analysed. Printed: the time per event in
both cases and their ratio (goal: close to 1, since every lookup an event makes goes through an
index: the event's id, the order's events, the customer's progress, what an order gave through
its events' customers), and the plans PostgreSQL chooses for those lookups on the big table.

    .venv/bin/python bench/events_table.py [--rows 10000000] [--events 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the test support: throwaway databases
sys.path.insert(0, str(REPO / "bench"))

from databases import postgres_database  # noqa: E402
from events import write_challenges  # noqa: E402

from gamify.campaigns.registry import Registry  # noqa: E402
from gamify.services.service import Service  # noqa: E402
from gamify.storage.database import make_engine, upgrade  # noqa: E402
from gamify.storage.wiring import sql_service  # noqa: E402

FILL = """\
INSERT INTO gamify_event (id, type, customer, occurred_at, received_at, order_id, payload)
SELECT 'old-' || n,
       CASE WHEN n % 10 = 0 THEN 'review.published' ELSE 'order.paid' END,
       'customer-' || (n % 200000),
       TIMESTAMPTZ '2025-01-01' + n * INTERVAL '3 seconds',
       TIMESTAMPTZ '2025-01-01' + n * INTERVAL '3 seconds',
       CASE WHEN n % 10 = 0 THEN NULL ELSE 'old-order-' || n END,
       '{"id":"old-' || n || '","type":"order.paid","customer":"customer-' || (n % 200000)
         || '","occurred_at":"2025-01-01T00:00:00Z","order":{"id":"old-order-' || n
         || '","total":"59.90","items":[]}}'
  FROM generate_series(:start, :stop) AS n
"""
LOOKUPS = {
    "an event's id": "SELECT 1 FROM gamify_event WHERE id = 'old-123456'",
    "an order's events": (
        "SELECT payload FROM gamify_event WHERE order_id IN ('old-order-77', 'x') "
        "AND type IN ('order.paid', 'order.refunded') ORDER BY occurred_at, id"
    ),
    "what an order gave (through its events' customers)": (
        "SELECT p.* FROM gamify_event e JOIN gamify_progress p ON p.customer = e.customer "
        "AND p.order_id = e.order_id WHERE e.order_id = 'old-order-77' "
        "AND p.challenge = ANY('{bench-000,bench-001,bench-002,bench-003,bench-004}')"
    ),
    "a customer's events in a window": (
        "SELECT count(*) FROM gamify_event WHERE customer = 'customer-42' "
        "AND occurred_at >= TIMESTAMPTZ '2025-03-01' AND occurred_at < TIMESTAMPTZ '2025-04-01'"
    ),
}


def timed_events(service: Service, registry: Registry, count: int, tag: str) -> float:
    """Seconds per request of ``count`` single events (orders, every fifth a refund)."""
    index = registry.index()
    now = datetime.now(UTC)
    at = (now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    durations = []
    for i in range(count):
        customer = f"customer-{(i * 7919) % 200000}"
        if i % 5 == 4:
            event = {
                "id": f"{tag}-{i}",
                "type": "order.refunded",
                "customer": customer,
                "occurred_at": at,
                "order": {"id": f"{tag}-o-{i - 1}", "refund_total": "5"},
            }
        else:
            event = {"id": f"{tag}-{i}", "type": "order.paid", "customer": customer,
                     "occurred_at": at, "order": {"id": f"{tag}-o-{i}", "total": "30.00",
                                                  "items": []}}  # fmt: skip
        started = time.perf_counter()
        service.track_events(event, index)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def fill(engine: Engine, rows: int) -> float:
    started = time.perf_counter()
    step = 1_000_000
    for start in range(1, rows + 1, step):
        with engine.begin() as conn:
            conn.execute(text(FILL), {"start": start, "stop": min(start + step - 1, rows)})
        print(f"  {min(start + step - 1, rows):,} events stored", flush=True)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE gamify_event"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=10_000_000, help="events to add [10000000]")
    parser.add_argument("--events", type=int, default=2000, help="events timed each time [2000]")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gamify-bench-table-"))
    write_challenges(folder, 20, 5)
    with postgres_database("gamify_bench_table") as url:
        engine = make_engine(url)
        upgrade(engine)
        service = sql_service(engine, "bench-secret")
        registry = Registry(folder, on_load=service.load, interval=3600)
        registry.reload()
        empty = timed_events(service, registry, args.events, "empty")
        print(f"events table empty: {empty * 1000:.2f} ms per event (median)")
        seconds = fill(engine, args.rows)
        print(f"added {args.rows:,} events in {seconds:.0f} s")
        full = timed_events(service, registry, args.events, "full")
        with engine.connect() as conn:
            size = conn.execute(
                text("SELECT pg_size_pretty(pg_total_relation_size('gamify_event'))")
            ).scalar_one()
            plans = {
                name: [r[0] for r in conn.execute(text(f"EXPLAIN ANALYZE {sql}"))]
                for name, sql in LOOKUPS.items()
            }
        engine.dispose()
    print()
    print(f"single events through the service, {args.events:,} timed each time, 20 challenges")
    print(f"  empty table            {empty * 1000:8.2f} ms per event")
    print(f"  {args.rows:>12,} events {full * 1000:8.2f} ms per event   (table and indexes {size})")
    print(
        f"  ratio                  {full / empty:8.2f}   (goal: about 1; every lookup is indexed)"
    )
    for name, plan in plans.items():
        print(f"\n  plan of {name}:")
        for line in plan:
            print(f"    {line}")


if __name__ == "__main__":
    main()
