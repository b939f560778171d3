"""Business-time kernel and metric clocks: throughput and ratios.

    .venv/bin/python bench/bench_kernel.py            # 1,000,000 intervals and items
    .venv/bin/python bench/bench_kernel.py --quick    # 100,000

Times (medians of several runs, after one warm-up that builds the interval table):
- `Calendar.business_seconds` on N intervals (polars Series in and out) for the shipped support_hours
  calendar (Europe/Amsterdam, split shift, Saturday hours, NL holidays);
- a bare numpy lookup on the same prebuilt table (searchsorted + gather on int64 arrays, nothing else):
  the floor the kernel is compared with (aim: within ~2x);
- the slow day-by-day reference of the tests on a sample, extrapolated to N;
- `clocks.evaluate` on N synthetic tickets (two metrics, a third of them with a pending pause).
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

from sla_core.clocks import evaluate  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from figures import figure, record, timings  # noqa: E402

from sla_core.policy_yaml import parse_policy  # noqa: E402
from tests.unit.slow_reference import ReferenceCalendar  # noqa: E402

UTC_US = pl.Datetime("us", "UTC")
START = datetime(2026, 1, 5, tzinfo=UTC)
YEAR_US = 300 * 86_400 * 10**6
CHANNELS = ["email", "phone", "chat", "social", "web"]
TEAMS = ["Billing", "Technical", "Accounts", "Onboarding"]
PRIORITIES = ["urgent", "high", "normal", "low"]


CPU: dict[str, float] = {}  # median CPU seconds (user + system, all threads) of the last median_time per label


def median_time(function, runs: int, label: str = "") -> float:
    """Median wall seconds of `runs` runs; their median CPU seconds go to CPU[label]."""
    wall, cpu = timings(function, runs)
    CPU[label] = statistics.median(cpu)
    return statistics.median(wall)


def random_intervals(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    base = int(START.timestamp()) * 10**6
    start = base + rng.integers(0, YEAR_US, count)
    end = start + rng.integers(0, 10 * 86_400 * 10**6, count)
    return start, end


def bare_lookup(open_us: np.ndarray, length_us: np.ndarray, cum_us: np.ndarray, start: np.ndarray, end: np.ndarray):
    """B(e) - B(s) with B(t) = cum[j] + clip(t - open[j], 0, length[j]), j = searchsorted(open, t) - 1."""
    j = np.searchsorted(open_us, start, side="right") - 1
    k = np.searchsorted(open_us, end, side="right") - 1
    begin = cum_us[j] + np.clip(start - open_us[j], 0, length_us[j])
    finish = cum_us[k] + np.clip(end - open_us[k], 0, length_us[k])
    return (finish - begin) / 1e6


def synthetic_tickets(rng: np.random.Generator, count: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    base = int(START.timestamp()) * 10**6
    created = base + rng.integers(0, YEAR_US, count)
    first_response = created + rng.integers(0, 8 * 3600 * 10**6, count)
    resolved = created + rng.integers(0, 10 * 86_400 * 10**6, count)
    still_open = rng.random(count) < 0.05
    ids = pl.Series("item_id", np.arange(count)).cast(pl.String)
    items = pl.DataFrame({
        "source": "zendesk", "item_id": ids, "kind": "ticket", "process": "support",
        "channel": rng.choice(CHANNELS, count), "team": rng.choice(TEAMS, count),
        "priority": rng.choice(PRIORITIES, count, p=[0.05, 0.2, 0.6, 0.15]),
        "agent": rng.choice([f"agent{i:02d}" for i in range(40)], count), "status": "solved", "subject": "",
        "created": pl.Series(created).cast(UTC_US), "first_response": pl.Series(first_response).cast(UTC_US),
        "resolved": pl.Series(resolved).cast(UTC_US), "closed": pl.Series([None] * count, dtype=UTC_US),
    }).with_columns(pl.when(pl.Series(still_open)).then(None).otherwise(pl.col("resolved")).alias("resolved"))
    paused = rng.choice(count, count // 3, replace=False)
    pause_start = created[paused] + rng.integers(0, 3 * 86_400 * 10**6, len(paused))
    pause_end = pause_start + rng.integers(0, 2 * 86_400 * 10**6, len(paused))
    events = pl.concat([
        pl.DataFrame({"source": "zendesk", "item_id": ids.gather(paused), "occurred_at": pl.Series(at).cast(UTC_US),
                      "kind": "status", "value": value})
        for at, value in ((pause_start, "pending"), (pause_end, "open"))
    ])
    return items, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    count = 100_000 if args.quick else 1_000_000
    sample = 300 if args.quick else 1_000
    rng = np.random.default_rng(42)

    policy = parse_policy((ROOT / "config" / "sla.yaml").read_text(), source="config/sla.yaml")
    calendar = policy.calendars["support_hours"]
    start_us, end_us = random_intervals(rng, count)
    start, end = pl.Series("start", start_us).cast(UTC_US), pl.Series("end", end_us).cast(UTC_US)

    kernel_result = calendar.business_seconds(start, end)  # warm-up: builds the interval table
    kernel_s = median_time(lambda: calendar.business_seconds(start, end), args.runs)
    built = calendar._table  # the prebuilt interval table, for the bare floor
    table = (built.open, built.length, built.cum)
    bare_result = bare_lookup(*table, start_us, end_us)
    bare_s = median_time(lambda: bare_lookup(*table, start_us, end_us), args.runs)
    assert np.array_equal(kernel_result.to_numpy(), bare_result), "kernel and bare lookup disagree"

    holiday_dates = calendar.holidays.dates
    reference = ReferenceCalendar(calendar.timezone, calendar.weekly, holiday_dates, calendar.holidays.country)
    picks = rng.choice(count, sample, replace=False)
    began = time.perf_counter()
    reference_values = [reference.business_us(int(start_us[i]), int(end_us[i])) / 1e6 for i in picks]
    reference_s = (time.perf_counter() - began) / sample * count
    assert reference_values == kernel_result.gather(picks).to_list(), "kernel and reference disagree"

    print(f"business_seconds on {count:,} intervals ({calendar.name}: {calendar.timezone}, NL holidays), "
          f"median of {args.runs}:")
    print(f"  kernel (polars in/out)     {kernel_s * 1e3:9.1f} ms  {kernel_s / count * 1e9:8.1f} ns/row")
    print(f"  bare numpy table lookup    {bare_s * 1e3:9.1f} ms  {bare_s / count * 1e9:8.1f} ns/row")
    print(f"  slow reference (extrapol.) {reference_s * 1e3:9.1f} ms  {reference_s / count * 1e9:8.1f} ns/row "
          f"(measured on {sample:,} rows)")
    print(f"  kernel / bare numpy        {kernel_s / bare_s:9.2f}x   (aim: within ~2x)")
    print(f"  reference / kernel         {reference_s / kernel_s:9.0f}x")

    items, events = synthetic_tickets(rng, count)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    results = evaluate(items, events, policy, now)  # warm-up
    evaluate_runs = max(1, min(args.runs, 3))
    evaluate_s = median_time(lambda: evaluate(items, events, policy, now), evaluate_runs, "evaluate")
    print(f"evaluate() on {count:,} tickets x 2 metrics ({len(events):,} status events, "
          f"{results.height:,} result rows), median of {evaluate_runs}:")
    print(f"  evaluate                   {evaluate_s * 1e3:9.1f} ms  {evaluate_s / count * 1e9:8.1f} ns/item  "
          f"(CPU {CPU['evaluate'] * 1e3:.0f} ms)")
    # The same work the kernel alone would do: business_seconds over 2 x count intervals (two metrics).
    start2, end2 = pl.concat([start, start]), pl.concat([end, end])
    calendar.business_seconds(start2, end2)
    kernel2_s = median_time(lambda: calendar.business_seconds(start2, end2), args.runs, "kernel2")
    cpu_ratio = CPU["evaluate"] / CPU["kernel2"]
    print(f"  business_seconds, {2 * count:,} intervals {kernel2_s * 1e3:9.1f} ms  (CPU {CPU['kernel2'] * 1e3:.0f} ms)")
    print(f"  evaluate / business_seconds {evaluate_s / kernel2_s:8.2f}x wall, {cpu_ratio:.2f}x CPU   (aim: within 3x)")
    command = "python bench/bench_kernel.py" + (" --quick" if args.quick else "")
    record("bench_kernel", [
        figure(f"`business_seconds` on {count:,} intervals within ~2x of a bare numpy lookup",
               f"{kernel_s * 1e3:.0f} ms vs {bare_s * 1e3:.0f} ms", command, ratio=kernel_s / bare_s, limit=2),
        figure(f"`evaluate()` on {count:,} tickets x 2 metrics within 3x of `business_seconds` on the same "
               f"{2 * count:,} intervals", f"{evaluate_s * 1e3:.0f} ms vs {kernel2_s * 1e3:.0f} ms wall (CPU "
               f"{CPU['evaluate'] * 1e3:.0f} ms vs {CPU['kernel2'] * 1e3:.0f} ms, {cpu_ratio:.2f}x; median of "
               f"{evaluate_runs} and {args.runs})", command, ratio=evaluate_s / kernel2_s, limit=3),
        figure("the same in CPU seconds (user + system, all threads: less stretched by other work on a shared "
               "machine)", f"{CPU['evaluate'] * 1e3:.0f} ms vs {CPU['kernel2'] * 1e3:.0f} ms", command,
               ratio=cpu_ratio, limit=3),
    ])


if __name__ == "__main__":
    main()
