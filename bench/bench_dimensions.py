"""Attainment by a policy dimension (an item attribute) against attainment by team, on 1,000,000 items.

    python bench/bench_dimensions.py            # 1,000,000 items (2,000,000 results)
    python bench/bench_dimensions.py --quick    # 100,000 items

Items are generated straight into the items table (attributes as JSON: impact, customer_tier) and judged by a
policy declaring `dimensions: [impact, customer_tier]`, so the results table carries them as real columns.
Timed, best of the repeats (the machine is shared): the pages' attainment query (with percentiles) and
`sla attainment`'s counts query, grouped by team and by customer_tier; for contrast, the same grouping read
per row from the items' JSON. Aim: by a dimension within 2x of by team.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from sla_core.policy_yaml import parse_policy  # noqa: E402
from sla_store import queries  # noqa: E402
from sla_store.compute import refresh_results  # noqa: E402
from sla_store.db import write_transaction  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OUT = ROOT / "bench" / "out"
POLICY = parse_policy("""\
version: 1
effective_from: 2026-01-01
dimensions: [impact, customer_tier]
calendars:
  office: {timezone: Europe/Amsterdam, hours: {mon-fri: ["08:00-12:00", "13:00-17:30"]}}
  always: 24/7
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: [resolved, closed], pause_when_status: ["wait*"]}
targets:
  - {metric: first_response, match: {customer_tier: gold}, within: 30m, calendar: always}
  - {metric: first_response, within: 4h, calendar: office}
  - {metric: resolution, match: {impact: High}, within: 8h, calendar: always}
  - {metric: resolution, within: 3d, calendar: office}
""", source="bench")

GENERATE = """
INSERT INTO items
SELECT 'bench', 'B' || i, 'ticket', 'support',
       ['email', 'phone', 'chat', 'web', 'social'][1 + i % 5],
       'Team ' || (1 + (i * 7) % 12),
       ['urgent', 'high', 'normal', 'low'][1 + (i * 3) % 4],
       'agent ' || (i % 400), 'solved', NULL,
       created,
       created + to_seconds(CAST(60 + hash(i) % 20000 AS BIGINT)),
       CASE WHEN i % 10 = 0 THEN NULL ELSE created + to_seconds(CAST(3600 + hash(i + 1) % 400000 AS BIGINT)) END,
       NULL,
       json_object('impact', ['High', 'Medium', 'Low'][1 + (i * 11) % 3],
                   'customer_tier', ['gold', 'silver', 'bronze', 'none'][1 + (i * 13) % 4]),
       1
FROM (SELECT i, TIMESTAMPTZ '2026-05-20 00:00:00+00' + to_seconds(CAST(hash(i + 2) % 15552000 AS BIGINT))
             AS created
      FROM range(?) t(i))
"""


def database(items: int) -> Path:
    path = OUT / f"dimensions-{items}.duckdb"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with write_transaction(path) as con:
            con.execute(GENERATE, [items])
            con.execute("INSERT INTO source_fields VALUES ('bench', 'created'), ('bench', 'first_response'), "
                        "('bench', 'resolved')")
            results = refresh_results(con, POLICY, NOW)
        print(f"  built {path.name}: {items:,} items, {results:,} results in {time.perf_counter() - started:.1f} s",
              flush=True)
    return path


def best_of(con: duckdb.DuckDBPyConnection, sql: str, params: list, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        con.sql(sql, params=params).fetchall()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 items instead of 1,000,000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    items = 100_000 if args.quick else 1_000_000
    db = database(items)
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    selection = queries.Selection(metric="resolution")
    cases = {
        "pages: attainment + percentiles by team": queries.attainment_sql(
            selection, ("team",), percentiles=True, with_total=True),
        "pages: attainment + percentiles by customer_tier": queries.attainment_sql(
            selection, ("customer_tier",), percentiles=True, with_total=True),
        "pages: attainment by team, filtered to one team": queries.attainment_sql(
            queries.Selection(metric="resolution", teams=("Team 3",)), ("team",)),
        "pages: attainment by customer_tier, filtered to impact High": queries.attainment_sql(
            queries.Selection(metric="resolution", attributes=(("impact", ("High",)),)), ("customer_tier",)),
        "cli: counts by metric, team": queries.counts_sql(("metric", "team")),
        "cli: counts by metric, customer_tier": queries.counts_sql(("metric", "customer_tier"),
                                                                   dimensions=("impact", "customer_tier")),
        "contrast: customer_tier read per row from the items' JSON": (
            "SELECT i.attributes->>'customer_tier' AS tier, count(*), count(*) FILTER (WHERE r.met) "
            "FROM results r JOIN items i ON i.source = r.source AND i.item_id = r.item_id "
            "WHERE r.metric = 'resolution' GROUP BY 1", []),
    }
    timings = {}
    print(f"{items:,} items, {con.sql('SELECT count(*) FROM results').fetchall()[0][0]:,} results; "
          f"best of {args.repeats} (shared machine)")
    for name, (sql, params) in cases.items():
        timings[name] = best_of(con, sql, params, args.repeats)
        print(f"  {name:<62} {timings[name] * 1000:8.1f} ms", flush=True)
    names = list(cases)
    for team, dim in ((names[0], names[1]), (names[2], names[3]), (names[4], names[5])):
        print(f"  ratio {dim.split(': ')[1]} / {team.split(': ')[1]}: {timings[dim] / timings[team]:.2f}x")
    print(f"  ratio JSON per row / column: {timings[names[6]] / timings[names[1]]:.2f}x")
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
