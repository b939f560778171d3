"""Repeating clocks against the plain clock on the same items and events.

    .venv/bin/python bench/bench_repeat.py            # 1,000,000 items, 5,000,000 events
    .venv/bin/python bench/bench_repeat.py --quick    # 100,000 items, 500,000 events

Each item has a conversation: customer messages (`customer_reply`) and agent answers (`agent_reply`),
about five events per item, plus status events (a pending pause on a fifth of the items). Two policies
judge the same frames on the support_hours calendar (Europe/Amsterdam, split shift, NL holidays):
- plain: {start: "event:customer_reply", stop: "event:agent_reply", pause_when_status: [pending]}
  (one clock per item, first message to first answer);
- repeat: the same with `repeat: true` (one clock per message that finds none running).
Printed: median wall and CPU seconds of `clocks.evaluate` for each (after a warm-up), result rows, and
the ratios repeat / plain (target: within 3x); recorded in bench/out/ for bench/results.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from figures import figure, record  # noqa: E402

from sla_core.clocks import evaluate  # noqa: E402
from sla_core.policy_yaml import parse_policy  # noqa: E402

UTC_US = pl.Datetime("us", "UTC")
START_US = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp()) * 10**6
SPAN_US = 300 * 86_400 * 10**6
HOUR_US = 3600 * 10**6

POLICY = """\
version: 1
effective_from: 2026-01-01
calendars:
  support_hours:
    timezone: Europe/Amsterdam
    hours: {{mon-fri: ["08:00-12:00", "13:00-17:30"], sat: ["10:00-14:00"]}}
    holidays: {{country: NL}}
metrics:
  next_reply: {{start: "event:customer_reply", stop: "event:agent_reply", pause_when_status: [pending]{repeat}}}
targets:
  - {{metric: next_reply, within: 4h, calendar: support_hours}}
"""


def synthetic(items: int, seed: int = 42) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Items and about five events per item (messages, answers, status changes), vectorized."""
    rng = np.random.default_rng(seed)
    ids = pl.Series("item_id", np.arange(items)).cast(pl.String)
    created = START_US + rng.integers(0, SPAN_US, items)
    frame = pl.DataFrame({"source": "bench", "item_id": ids, "kind": "ticket", "process": "support",
                          "channel": "email", "team": "Billing", "priority": "normal", "agent": None,
                          "status": "open", "subject": None,
                          "created": pl.Series(created).cast(UTC_US)})
    # Two rounds of message -> answer, a third unanswered message on some items, and an extra message
    # while a clock runs on others: four or five conversation events per item on average.
    rounds = []
    moment = created.copy()
    for round_index in range(2):
        rounds.append(("customer_reply", np.arange(items), moment.copy()))
        if round_index == 0:
            extra = rng.random(items) < 0.6  # a second message before the answer starts nothing
            rounds.append(("customer_reply", np.flatnonzero(extra), moment[extra] + HOUR_US // 4))
        moment = moment + rng.integers(HOUR_US // 6, 8 * HOUR_US, items)
        rounds.append(("agent_reply", np.arange(items), moment.copy()))
        moment = moment + rng.integers(HOUR_US, 30 * HOUR_US, items)
    pending = np.flatnonzero(rng.random(items) < 0.2)
    pause_at = created[pending] + HOUR_US // 2
    parts = [pl.DataFrame({"row": rows, "occurred_at": at, "kind": kind, "value": ""})
             for kind, rows, at in rounds]
    parts.append(pl.DataFrame({"row": pending, "occurred_at": pause_at, "kind": "status", "value": "pending"}))
    parts.append(pl.DataFrame({"row": pending, "occurred_at": pause_at + 2 * HOUR_US, "kind": "status",
                               "value": "open"}))
    events = pl.concat(parts, how="vertical_relaxed")
    events = events.select(
        pl.lit("bench").alias("source"), pl.col("row").cast(pl.String).alias("item_id"),
        pl.col("occurred_at").cast(UTC_US), "kind", "value")
    return frame, events


def median_time(function, runs: int) -> tuple[float, float, object]:
    """(median wall seconds, median CPU seconds of the process - every thread -, the last result)."""
    walls, cpus, out = [], [], None
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        out = function()
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - began_cpu)
    return statistics.median(walls), statistics.median(cpus), out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 items instead of 1,000,000")
    parser.add_argument("--items", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    count = args.items or (100_000 if args.quick else 1_000_000)
    items, events = synthetic(count)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    plain = parse_policy(POLICY.format(repeat=""))
    repeat = parse_policy(POLICY.format(repeat=", repeat: true"))
    evaluate(items.head(1000), events.head(5000), plain, now)  # warm-up: builds the calendar's table
    evaluate(items.head(1000), events.head(5000), repeat, now)
    plain_s, plain_cpu, plain_out = median_time(lambda: evaluate(items, events, plain, now), args.runs)
    repeat_s, repeat_cpu, repeat_out = median_time(lambda: evaluate(items, events, repeat, now), args.runs)
    print(f"items {count:,}, events {events.height:,} (median of {args.runs} runs; shared machine: ratios, "
          "not absolute times, are the figure)")
    for name, wall, cpu, out in (("plain clock ", plain_s, plain_cpu, plain_out),
                                 ("repeat clock", repeat_s, repeat_cpu, repeat_out)):
        print(f"{name}: {wall:7.2f} s wall  {cpu:7.2f} s CPU  {out.height:>10,} rows  "
              f"{wall / count * 1e6:6.2f} us/item")
    ratio, cpu_ratio = repeat_s / plain_s, repeat_cpu / plain_cpu
    print(f"ratio repeat / plain: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU (target: within 3x) -> "
          f"{'ok' if max(ratio, cpu_ratio) <= 3 else 'OVER'}")
    command = ".venv/bin/python bench/bench_repeat.py" + (" --quick" if args.quick else "")
    record("bench_repeat", [
        figure(f"repeat clock within 3x of the plain clock ({count:,} items, {events.height:,} events), wall",
               f"{repeat_s:.2f} s vs {plain_s:.2f} s", command, ratio, 3.0),
        figure("the same, CPU seconds of the process", f"{repeat_cpu:.2f} s vs {plain_cpu:.2f} s", command,
               cpu_ratio, 3.0),
    ], note=f"{repeat_out.height:,} repeat clocks vs {plain_out.height:,} plain clocks.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
