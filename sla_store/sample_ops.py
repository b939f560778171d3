"""A seeded internal-operations event log (see `sla_store.sample`): leads, weekly reports, scheduled report
streams and marketing campaigns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from sla_store import sample_draws as draw
from sla_store.sample_draws import HISTORY_DAYS, US, ZONE

# id, team, the week missed (weeks before the current one), delivery window (hours after Monday 00:00 local)
SCHEDULED_STREAMS = (("KPI-WEEKLY", "BI", 5, (24 + 9, 48 + 15)), ("FINANCE-WEEKLY", "Finance", 11, (48 + 11, 48 + 16.5)))
CAMPAIGNS = 14


def _scheduled_reports(rng: np.random.Generator, now: datetime) -> pl.DataFrame:
    """Weekly report streams due Wednesday 17:00 (Amsterdam): delivered inside each stream's window, a few
    late (Wednesday evening to Thursday noon), and one week missed per stream."""
    zone = ZoneInfo(ZONE)
    local_now = now.astimezone(zone)
    monday = (local_now - timedelta(days=local_now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    weeks = 20
    rows = []
    for stream, team, missed, (earliest, latest) in SCHEDULED_STREAMS:
        opened = (monday - timedelta(weeks=weeks)).replace(hour=9).astimezone(UTC)
        rows.append((stream, "opened", opened, team))
        offsets_h = rng.uniform(earliest, latest, weeks + 1)
        late = rng.choice(np.arange(1, weeks - 1), size=2, replace=False)
        offsets_h[late] = rng.uniform(48 + 18, 72 + 12, 2)  # Wednesday evening .. Thursday noon
        for week in range(weeks + 1):
            if week == weeks - missed:
                continue
            # Local wall-clock arithmetic (DST-correct): Monday 00:00 + offset hours in Amsterdam time.
            start = (monday - timedelta(weeks=weeks - week)).replace(tzinfo=None)
            local = (start + timedelta(hours=float(offsets_h[week]))).replace(second=0, microsecond=0)
            rows.append((stream, "delivered", local.replace(tzinfo=zone).astimezone(UTC), team))
    return pl.DataFrame(rows, schema={"case": pl.String, "activity": pl.String, "at": pl.Datetime("us", "UTC"),
                                      "team": pl.String}, orient="row").with_columns(
        process=pl.lit("scheduled_reports"))


def _campaigns(rng: np.random.Generator, now: datetime) -> pl.DataFrame:
    """Campaigns launched over the last months, then updated every few days; some go quiet for over a week."""
    now_us = int(now.timestamp() * US)
    launched_us = now_us - (rng.uniform(20, 150, CAMPAIGNS) * 86_400 * US).astype(np.int64)
    rows = []
    for index in range(CAMPAIGNS):
        case = f"CMP-{index + 1:03d}"
        at_us = int(launched_us[index])
        rows.append((case, "launched", at_us))
        quiet = rng.random() < 0.4  # a campaign that sometimes goes quiet
        while True:
            gap_days = rng.lognormal(np.log(9.0 if quiet else 3.5), 0.45)
            at_us += int(gap_days * 86_400 * US)
            if at_us > now_us:
                break
            rows.append((case, "updated", at_us))
    return pl.DataFrame(rows, schema={"case": pl.String, "activity": pl.String, "at": pl.Int64},
                        orient="row").with_columns(
        pl.col("at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"), team=pl.lit("Marketing"),
        process=pl.lit("campaigns"))


def generate_ops(seed: int = 42, now: datetime | None = None, leads: int = 2500,
                 days: int = HISTORY_DAYS) -> pl.DataFrame:
    """The internal-ops event log of the last `days` days: case, activity, UTC time, team, process."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rng = np.random.default_rng(seed + 1)
    desk, _ = draw.desk_calendars()
    submitted_us = np.sort(draw.arrivals(rng, leads, now, now - timedelta(days=45), draw.hour_curve(1.4, 0.15),
                                     weekend_share=0.45, days=days))
    scored_us = submitted_us + (draw.lognormal(rng, np.full(leads, 15 * 60.0), np.full(leads, 0.9)) * US).astype(np.int64)
    routing_s = draw.lognormal(rng, np.full(leads, 30 * 60.0), np.full(leads, 0.9))
    scored_us = draw.whole_seconds(scored_us)
    routed_us = draw.whole_seconds(draw.micros(desk.due_at(draw.utc(scored_us), pl.Series(routing_s))))
    lead_ids = np.array([f"LEAD-{i:05d}" for i in range(1, leads + 1)])
    lead_events = pl.concat([
        pl.DataFrame({"case": lead_ids, "activity": "submitted", "at": submitted_us}),
        pl.DataFrame({"case": lead_ids, "activity": "scored", "at": scored_us}),
        pl.DataFrame({"case": lead_ids, "activity": "routed", "at": routed_us}),
    ]).with_columns(team=pl.lit("Growth Ops"), process=pl.lit("leads"))

    # One weekly report per Monday 00:00 Amsterdam time; a few are delivered late.
    local_now = now.astimezone(ZoneInfo(ZONE))
    monday = (local_now - timedelta(days=local_now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    weeks = days // 7
    requested = [monday - timedelta(weeks=w) for w in range(weeks)][::-1]
    requested_us = np.array([int(moment.timestamp() * US) for moment in requested], dtype=np.int64)
    delivery_h = rng.uniform(20, 52, weeks)
    late = rng.choice(weeks - 1, size=3, replace=False)
    delivery_h[late] = rng.uniform(76, 110, 3)
    delivered_us = draw.whole_seconds(requested_us + (delivery_h * 3600 * US).astype(np.int64))
    report_ids = np.array([f"RPT-{moment:%G-W%V}" for moment in requested])
    report_events = pl.concat([
        pl.DataFrame({"case": report_ids, "activity": "requested", "at": requested_us}),
        pl.DataFrame({"case": report_ids, "activity": "delivered", "at": delivered_us}),
    ]).with_columns(team=pl.lit("BI"), process=pl.lit("reporting"))
    timed = pl.concat([lead_events, report_events]).with_columns(
        pl.col("at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    extra = [_scheduled_reports(rng, now), _campaigns(rng, now)]
    return (
        pl.concat([timed, *[frame.select(timed.columns) for frame in extra]])
        .filter(pl.col("at") <= now)
        .sort(["at", "case"])
    )
