"""A seeded generator of realistic exports, and the sample database built from them.

Writes to data/samples/:
- zendesk_tickets.csv: a Zendesk-style ticket export (Id, Via, Group, Priority, Status, Created at, Solved at,
  First reply time in minutes, ...), timestamps in Amsterdam local time with their UTC offset;
- zendesk_ticket_events.csv: the tickets' status changes (new, open, pending / on-hold pauses, solved, closed);
- zendesk_ticket_replies.csv: the conversation on email, web and social tickets - each customer message
  (`customer_reply`) and the agent's answer (`agent_reply`), for the repeating next-reply clock;
- ops_events.csv: an internal-operations event log - leads submitted -> scored -> routed ("Growth Ops",
  process "leads"), a weekly report requested Monday 00:00 and delivered ("BI", process "reporting"),
  two scheduled report streams that deliver every week by Wednesday 17:00, one week missed, some late
  (process "scheduled_reports"), and marketing campaigns launched and then updated every few days, some
  gaps longer than a week (process "campaigns").

Arrivals follow business-hour curves (Europe/Amsterdam) with weekly seasonality, a backlog spike about six
weeks before `now` and slower handling during it; handling times are drawn in business time on the desks'
calendars, so breaches are occasional and spread over teams. Tickets still open at `now` sit at every stage of
their budget, so the live queue shows items on track, past 50% and 75%, and breached.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from sla_core.calendar import Calendar, HolidayRule, parse_weekly_hours

ZONE = "Europe/Amsterdam"
HISTORY_DAYS = 182
SAMPLE_CHUNK = 1_000_000  # tickets generated at once
US = 1_000_000

CHANNELS = ("email", "phone", "chat", "social", "web")
CHANNEL_SHARE = (0.34, 0.14, 0.20, 0.10, 0.22)
VIA = {"email": "Mail", "phone": "Phone call (incoming)", "chat": "Chat", "social": "Twitter",
       "web": "Web form"}
TEAMS = ("Billing", "Technical", "Accounts", "Onboarding")
TEAM_SHARE = (0.30, 0.32, 0.23, 0.15)
# Handling speed per team (1 = the norm): some teams are slower, so attainment differs between them.
TEAM_PACE = (0.85, 1.0, 1.1, 1.25)
PRIORITIES = ("urgent", "high", "normal", "low")
PRIORITY_SHARE = (0.05, 0.20, 0.55, 0.20)
AGENTS = {
    "Billing": ("Anouk de Vries", "Bram Jansen", "Chloe Bakker", "Daan Visser", "Eva Smit"),
    "Technical": ("Finn de Boer", "Gwen Mulder", "Hugo Peters", "Iris Hendriks", "Jasper Dekker", "Kim Bos"),
    "Accounts": ("Lars Vos", "Mila Meijer", "Noah de Graaf", "Olivia Kok"),
    "Onboarding": ("Pim van Dijk", "Quinty Brouwer", "Ruben de Wit"),
}
SUBJECTS = {
    "Billing": ("Invoice amount looks wrong", "Refund request", "Payment failed", "Change billing address",
                "VAT number missing on invoice", "Double charge on card"),
    "Technical": ("App crashes on login", "Sync stuck at 99%", "API returns 500", "Cannot reset password",
                  "Export times out", "Webhook not firing"),
    "Accounts": ("Add a new user", "Close my account", "Change account owner", "Two-factor lost phone",
                 "Merge two accounts"),
    "Onboarding": ("Help importing our data", "Schedule a training", "Trial extension", "Set up SSO",
                   "Which plan fits us?"),
}
# Median and spread (log-normal sigma) of business seconds to first reply and to resolution.
FIRST_REPLY = {"chat": (30, 0.6), "phone": (50, 0.6)}
FIRST_REPLY_BY_PRIORITY = {"urgent": (15 * 60, 0.8), "high": (60 * 60, 0.8), "normal": (150 * 60, 0.7),
                           "low": (150 * 60, 0.7)}
SOCIAL_FIRST_REPLY = {"urgent": (8 * 60, 0.8), "high": (8 * 60, 0.8), "normal": (30 * 60, 0.8),
                      "low": (30 * 60, 0.8)}
RESOLUTION = {"urgent": (2.5 * 3600, 0.7), "high": (7 * 3600, 0.75), "normal": (12 * 3600, 0.7),
              "low": (24 * 3600, 0.7)}
SPIKE_SLOWDOWN = 1.6


@dataclass
class SampleFiles:
    tickets: Path
    ticket_events: Path
    ops_events: Path
    replies: Path


def _desk_calendars() -> tuple[Calendar, Calendar]:
    """The support desk's and the phone/chat lines' opening hours (as in the shipped config/sla.yaml)."""
    holidays = HolidayRule(country="NL")
    desk = Calendar("desk", ZONE, parse_weekly_hours({"mon-fri": ["08:00-12:00", "13:00-17:30"],
                                                      "sat": ["10:00-14:00"]}), holidays)
    lines = Calendar("lines", ZONE, parse_weekly_hours({"mon-fri": ["08:00-20:00"], "sat": ["09:00-17:00"]}),
                     holidays)
    return desk, lines


def _utc(us: np.ndarray) -> pl.Series:
    return pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))


def _us(series: pl.Series) -> np.ndarray:
    return series.dt.replace_time_zone(None).cast(pl.Int64).to_numpy() if series.dtype.time_zone else \
        series.cast(pl.Int64).to_numpy()


def _whole_seconds(us: np.ndarray) -> np.ndarray:
    """Exports carry whole seconds."""
    return us - us % US


def _lognormal(rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return median * np.exp(rng.normal(0.0, 1.0, len(median)) * sigma)


def _arrivals(rng: np.random.Generator, count: int, now: datetime, spike_start: datetime,
              hour_weights: np.ndarray, weekend_share: float = 0.3) -> np.ndarray:
    """UTC microseconds of `count` arrivals over the last HISTORY_DAYS days, local business-hour curve."""
    local_now = now.astimezone(ZoneInfo(ZONE))
    first_day = local_now.date() - timedelta(days=HISTORY_DAYS - 1)
    days = np.array([first_day + timedelta(days=i) for i in range(HISTORY_DAYS)])
    weekday = np.array([day.weekday() for day in days])
    weight = np.array([1.25, 1.1, 1.0, 1.0, 0.9, weekend_share, weekend_share * 0.7])[weekday]
    weight = weight * np.linspace(0.9, 1.1, HISTORY_DAYS)  # a growing customer base
    spike_day = spike_start.astimezone(local_now.tzinfo).date()
    in_spike = np.array([(day - spike_day).days for day in days])
    weight = np.where((in_spike >= 0) & (in_spike < 7), weight * 2.2, weight)
    day_index = rng.choice(HISTORY_DAYS, size=count, p=weight / weight.sum())
    hour = rng.choice(24, size=count, p=hour_weights / hour_weights.sum())
    second = rng.integers(0, 3600, size=count)
    day_us = np.array([(datetime.combine(day, datetime.min.time()) - datetime(1970, 1, 1)).days
                       for day in days], dtype=np.int64) * 86_400 * US
    local_us = day_us[day_index] + hour * 3600 * US + second * US
    local = pl.Series(local_us, dtype=pl.Int64).cast(pl.Datetime("us"))
    aware = local.dt.replace_time_zone(ZONE, ambiguous="earliest", non_existent="null")
    # The hour skipped when clocks go forward: move those arrivals an hour later.
    shifted = (local + timedelta(hours=1)).dt.replace_time_zone(ZONE, ambiguous="earliest",
                                                               non_existent="null")
    instants = _us(aware.fill_null(shifted).dt.convert_time_zone("UTC"))
    now_us = int(now.timestamp() * US)
    # Today's arrivals after `now` have not happened: they came a week earlier instead.
    return np.where(instants > now_us, instants - 7 * 86_400 * US, instants)


def _hour_curve(business_peak: float, night: float) -> np.ndarray:
    hours = np.arange(24)
    curve = np.full(24, night)
    curve[(hours >= 7) & (hours < 20)] = 1.0
    curve[(hours >= 9) & (hours < 12)] = business_peak
    curve[(hours >= 13) & (hours < 16)] = business_peak * 0.9
    curve[(hours >= 20) & (hours < 23)] = 0.35
    return curve


def generate_tickets(count: int, seed: int | Sequence[int] = 42, now: datetime | None = None,
                     first_id: int = 100_001) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(tickets, status events) with canonical columns; times as UTC datetimes. Vectorized (1M in seconds).

    Tickets are numbered from `first_id`; `seed` is anything numpy's default_rng takes.
    Long: one vectorized column after another, each built from the ones before."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    now_us = int(now.timestamp() * US)
    rng = np.random.default_rng(seed)
    desk, lines = _desk_calendars()
    spike_start = now - timedelta(days=45)
    created_us = np.sort(_arrivals(rng, count, now, spike_start, _hour_curve(1.6, 0.08)))
    channel = rng.choice(len(CHANNELS), size=count, p=CHANNEL_SHARE)
    team = rng.choice(len(TEAMS), size=count, p=TEAM_SHARE)
    priority = rng.choice(len(PRIORITIES), size=count, p=PRIORITY_SHARE)
    spike_us = int(spike_start.timestamp() * US)
    in_spike = (created_us >= spike_us) & (created_us < spike_us + 10 * 86_400 * US)
    pace = np.asarray(TEAM_PACE)[team] * np.where(in_spike, SPIKE_SLOWDOWN, 1.0)

    channel_name = np.asarray(CHANNELS)[channel]
    priority_name = np.asarray(PRIORITIES)[priority]
    reply_median = np.empty(count)
    reply_sigma = np.empty(count)
    for index, name in enumerate(PRIORITIES):
        rows = priority == index
        reply_median[rows], reply_sigma[rows] = FIRST_REPLY_BY_PRIORITY[name]
        social = rows & (channel_name == "social")
        reply_median[social], reply_sigma[social] = SOCIAL_FIRST_REPLY[name]
    for name, (median, sigma) in FIRST_REPLY.items():
        reply_median[channel_name == name], reply_sigma[channel_name == name] = median, sigma
    reply_s = _lognormal(rng, reply_median * pace, reply_sigma)
    on_lines = np.isin(channel_name, ("chat", "phone"))
    created = _utc(created_us)
    reply_us = np.where(on_lines, _us(lines.due_at(created, pl.Series(reply_s))),
                        _us(desk.due_at(created, pl.Series(reply_s))))

    resolve_median = np.array([RESOLUTION[name][0] for name in priority_name])
    resolve_sigma = np.array([RESOLUTION[name][1] for name in priority_name])
    resolve_median = np.where((np.asarray(TEAMS)[team] == "Technical") & (priority_name == "normal"),
                              resolve_median * 1.5, resolve_median)
    resolve_s = np.maximum(_lognormal(rng, resolve_median * pace, resolve_sigma), reply_s + 60)
    # Waiting on the customer (pending) or on a third party (on-hold) pauses the resolution clock.
    pause_kind = np.where(rng.random(count) < 0.25, "pending", "")
    pause_kind = np.where((np.asarray(TEAMS)[team] == "Technical") & (rng.random(count) < 0.08), "on_hold",
                          pause_kind)
    pause_kind = np.where(channel_name == "chat", "", pause_kind)
    paused = pause_kind != ""
    before_pause_s = reply_s + (resolve_s - reply_s) * rng.uniform(0.2, 0.6, count)
    pause_start_us = _us(desk.due_at(created, pl.Series(before_pause_s)))
    pause_length_us = (_lognormal(rng, np.full(count, 20 * 3600.0), np.full(count, 1.0)) * US).astype(np.int64)
    pause_end_us = pause_start_us + pause_length_us
    after_pause = desk.due_at(_utc(pause_end_us), pl.Series(resolve_s - before_pause_s))
    resolved_us = np.where(paused, _us(after_pause), _us(desk.due_at(created, pl.Series(resolve_s))))
    reply_us, pause_start_us, pause_end_us, resolved_us = (
        _whole_seconds(us) for us in (reply_us, pause_start_us, pause_end_us, resolved_us))
    closed_us = resolved_us + 4 * 86_400 * US

    # A backlog of tickets nobody picked up after the reply: old, open and long past their budget.
    stale = (created_us < now_us - 8 * 86_400 * US) & (created_us > now_us - 30 * 86_400 * US) & \
        (rng.random(count) < 40 / max(count, 1))
    resolved_us = np.where(stale, now_us + 86_400 * US, resolved_us)
    paused = paused & ~stale

    def happened(us: np.ndarray) -> np.ndarray:
        return us <= now_us

    status = np.full(count, "closed", dtype=object)
    status[~happened(closed_us)] = "solved"
    open_now = ~happened(resolved_us)
    status[open_now] = "open"
    pending_now = open_now & paused & happened(pause_start_us) & ~happened(pause_end_us)
    status[pending_now] = pause_kind[pending_now]
    status[~happened(reply_us)] = "new"

    agent = np.array([AGENTS[TEAMS[t]][i % len(AGENTS[TEAMS[t]])]
                      for t, i in zip(team, rng.integers(0, 60, count), strict=True)], dtype=object)
    subject = np.array([SUBJECTS[TEAMS[t]][i % len(SUBJECTS[TEAMS[t]])]
                        for t, i in zip(team, rng.integers(0, 60, count), strict=True)], dtype=object)
    agent[~happened(reply_us)] = None
    item_id = np.arange(first_id, first_id + count).astype(str)

    def when(us: np.ndarray, mask: np.ndarray) -> pl.Series:
        return _utc(us).set(pl.Series(~mask), None) if (~mask).any() else _utc(us)

    tickets = pl.DataFrame({
        "item_id": item_id,
        "channel": channel_name,
        "team": np.asarray(TEAMS)[team],
        "priority": priority_name,
        "agent": pl.Series(agent, dtype=pl.String),
        "status": pl.Series(status, dtype=pl.String),
        "subject": pl.Series(subject, dtype=pl.String),
        "created": created,
        "first_response": when(reply_us, happened(reply_us)),
        "resolved": when(resolved_us, happened(resolved_us)),
        "closed": when(closed_us, happened(closed_us)),
        "updated": _utc(np.minimum(np.maximum.reduce([created_us, np.where(happened(reply_us), reply_us, 0),
                                                      np.where(happened(resolved_us), resolved_us, 0),
                                                      np.where(happened(closed_us), closed_us, 0)]), now_us)),
    })

    status_events = pl.concat([
        pl.DataFrame({"item_id": item_id, "at": created_us, "status": "new"}),
        pl.DataFrame({"item_id": item_id, "at": reply_us, "status": "open"}),
        pl.DataFrame({"item_id": item_id[paused], "at": pause_start_us[paused], "status": pause_kind[paused]}),
        pl.DataFrame({"item_id": item_id[paused], "at": pause_end_us[paused], "status": "open"}),
        pl.DataFrame({"item_id": item_id, "at": resolved_us, "status": "solved"}),
        pl.DataFrame({"item_id": item_id, "at": closed_us, "status": "closed"}),
    ])
    # A pause still running at resolution ends there (the customer replied and the agent solved it).
    status_events = (
        status_events.filter(pl.col("at") <= now_us)
        .with_columns(pl.col("at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        .sort(["item_id", "at"], maintain_order=True)
    )
    return tickets, status_events


REPLY_CHANNELS = ("email", "web", "social")
FOLLOW_UPS = 3  # at most this many customer messages after the first


def generate_replies(tickets: pl.DataFrame, seed: int | list[int] = 42, now: datetime | None = None) -> pl.DataFrame:
    """The conversation of email, web and social tickets: item_id, at (UTC), kind customer_reply | agent_reply.

    The first customer message is the ticket's creation and the first agent reply its first response; some
    customers write again (hours later, while the ticket is open) and get an answer in business time.
    Vectorized per round of messages, never per ticket.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    now_us = int(now.timestamp() * US)
    rng = np.random.default_rng([*(seed if isinstance(seed, list) else [seed]), 2])
    desk, _ = _desk_calendars()
    talk = tickets.filter(pl.col("channel").is_in(REPLY_CHANNELS) & pl.col("first_response").is_not_null())
    ids = talk["item_id"].to_numpy()
    created_us, answered_us = _us(talk["created"]), _us(talk["first_response"])
    end_us = np.where(talk["resolved"].is_null().to_numpy(), now_us,
                      _us(talk["resolved"].fill_null(talk["created"])))
    parts = [("customer_reply", ids, created_us), ("agent_reply", ids, answered_us)]
    alive = np.ones(len(ids), dtype=bool)
    last_us = answered_us
    for _ in range(FOLLOW_UPS):
        alive &= rng.random(len(ids)) < 0.45
        asked_us = _whole_seconds(last_us + (_lognormal(rng, np.full(len(ids), 5 * 3600.0),
                                                         np.full(len(ids), 0.8)) * US).astype(np.int64))
        alive &= asked_us < end_us
        if not alive.any():
            break
        reply_s = _lognormal(rng, np.full(int(alive.sum()), 75 * 60.0), np.full(int(alive.sum()), 0.9))
        reply_us = np.zeros(len(ids), dtype=np.int64)
        reply_us[alive] = _whole_seconds(_us(desk.due_at(_utc(asked_us[alive]), pl.Series(reply_s))))
        parts.append(("customer_reply", ids[alive], asked_us[alive]))
        answered = alive & (reply_us <= end_us)  # an answer after resolution never came
        parts.append(("agent_reply", ids[answered], reply_us[answered]))
        last_us = np.where(answered, reply_us, end_us)
        alive &= answered
    frame = pl.concat([pl.DataFrame({"item_id": pl.Series(rows, dtype=pl.String), "at": at, "kind": kind})
                       for kind, rows, at in parts])
    return (
        frame.filter(pl.col("at") <= now_us)
        .with_columns(pl.col("at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        .sort(["item_id", "at", "kind"], descending=[False, False, True])
    )


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


def generate_ops(seed: int = 42, now: datetime | None = None, leads: int = 2500) -> pl.DataFrame:
    """The internal-ops event log: case, activity, UTC time, team, process."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rng = np.random.default_rng(seed + 1)
    desk, _ = _desk_calendars()
    submitted_us = np.sort(_arrivals(rng, leads, now, now - timedelta(days=45), _hour_curve(1.4, 0.15),
                                     weekend_share=0.45))
    scored_us = submitted_us + (_lognormal(rng, np.full(leads, 15 * 60.0), np.full(leads, 0.9)) * US).astype(np.int64)
    routing_s = _lognormal(rng, np.full(leads, 30 * 60.0), np.full(leads, 0.9))
    scored_us = _whole_seconds(scored_us)
    routed_us = _whole_seconds(_us(desk.due_at(_utc(scored_us), pl.Series(routing_s))))
    lead_ids = np.array([f"LEAD-{i:05d}" for i in range(1, leads + 1)])
    lead_events = pl.concat([
        pl.DataFrame({"case": lead_ids, "activity": "submitted", "at": submitted_us}),
        pl.DataFrame({"case": lead_ids, "activity": "scored", "at": scored_us}),
        pl.DataFrame({"case": lead_ids, "activity": "routed", "at": routed_us}),
    ]).with_columns(team=pl.lit("Growth Ops"), process=pl.lit("leads"))

    # One weekly report per Monday 00:00 Amsterdam time; a few are delivered late.
    local_now = now.astimezone(ZoneInfo(ZONE))
    monday = (local_now - timedelta(days=local_now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    weeks = HISTORY_DAYS // 7
    requested = [monday - timedelta(weeks=w) for w in range(weeks)][::-1]
    requested_us = np.array([int(moment.timestamp() * US) for moment in requested], dtype=np.int64)
    delivery_h = rng.uniform(20, 52, weeks)
    late = rng.choice(weeks - 1, size=3, replace=False)
    delivery_h[late] = rng.uniform(76, 110, 3)
    delivered_us = _whole_seconds(requested_us + (delivery_h * 3600 * US).astype(np.int64))
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


def _local_text(column: str, fmt: str) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(ZONE).dt.strftime(fmt)


def write_samples(tickets: int = 20000, seed: int = 42, now: datetime | None = None,
                  samples_dir: Path = Path("data/samples")) -> SampleFiles:
    """Write the three sample exports and return their paths.

    Tickets are generated and written SAMPLE_CHUNK at a time (the first chunk is what a smaller sample of the
    same seed holds), so memory stays bounded for any count."""
    samples_dir.mkdir(parents=True, exist_ok=True)
    files = SampleFiles(samples_dir / "zendesk_tickets.csv", samples_dir / "zendesk_ticket_events.csv",
                        samples_dir / "ops_events.csv", samples_dir / "zendesk_ticket_replies.csv")
    with files.tickets.open("wb") as ticket_file, files.ticket_events.open("wb") as event_file, \
            files.replies.open("wb") as reply_file:
        for chunk, first in enumerate(range(0, tickets, SAMPLE_CHUNK)):
            count = min(SAMPLE_CHUNK, tickets - first)
            frame, status_events = generate_tickets(count, seed if chunk == 0 else [seed, chunk], now,
                                                    first_id=100_001 + first)
            write_ticket_csv(frame, ticket_file, header=chunk == 0)
            status_events.select(
                pl.col("item_id").alias("Ticket ID"),
                pl.col("status").replace({"on_hold": "on-hold"}).str.to_titlecase().alias("Status"),
                pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("Changed at"),
            ).write_csv(event_file, include_header=chunk == 0)
            generate_replies(frame, seed if chunk == 0 else [seed, chunk], now).select(
                pl.col("item_id").alias("Ticket ID"),
                pl.col("kind").alias("Event"),
                pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("At"),
            ).write_csv(reply_file, include_header=chunk == 0)
            del frame, status_events
    generate_ops(seed, now, leads=max(60, tickets // 8)).select(
        pl.col("case").alias("Case ID"),
        pl.col("activity").alias("Activity"),
        _local_text("at", "%Y-%m-%d %H:%M:%S").alias("Timestamp"),
        pl.col("team").alias("Team"),
        pl.col("process").alias("Process"),
    ).write_csv(files.ops_events)
    return files


def write_ticket_csv(frame: pl.DataFrame, path: Path | BinaryIO, header: bool = True) -> None:
    """The tickets as a Zendesk CSV export (local times with offsets, calendar minutes to first reply)."""
    stamp = "%Y-%m-%d %H:%M:%S %z"
    frame.select(
        pl.col("item_id").alias("Id"),
        pl.col("subject").alias("Subject"),
        pl.col("status").replace({"on_hold": "on-hold"}).str.to_titlecase().alias("Status"),
        pl.col("priority").str.to_titlecase().alias("Priority"),
        pl.col("channel").replace_strict(VIA, default=None).alias("Via"),
        pl.col("team").alias("Group"),
        pl.col("agent").alias("Assignee"),
        (pl.lit("customer") + pl.col("item_id").str.slice(-3)).alias("Requester"),
        _local_text("created", stamp).alias("Created at"),
        _local_text("updated", stamp).alias("Updated at"),
        _local_text("resolved", stamp).alias("Solved at"),
        ((pl.col("first_response") - pl.col("created")).dt.total_microseconds() / 60e6).round(2)
        .alias("First reply time in minutes"),
    ).write_csv(path, include_header=header)


def build_sample_db(db: str | os.PathLike | None = None, tickets: int = 20000, seed: int = 42,
                    now: datetime | None = None, samples_dir: Path = Path("data/samples"),
                    config: str | os.PathLike | None = None) -> dict:
    """Write the sample exports, load them into `db` (replacing its contents) and compute results."""
    from sla_store.compute import refresh_results
    from sla_store.db import current_time, write_transaction
    from sla_store.importers import load_mapping
    from sla_store.ingest import load_file, mappings_dir, policy_history_or_none

    now = (now or current_time()).astimezone(UTC).replace(microsecond=0)
    files = write_samples(tickets, seed, now, Path(samples_dir))
    folder = mappings_dir(config)
    history = policy_history_or_none(config)
    loads = [(files.tickets, "zendesk.yaml"), (files.ticket_events, "zendesk_status_events.yaml"),
             (files.replies, "zendesk_reply_events.yaml"), (files.ops_events, "events.yaml")]
    summary: dict = {"now": now.isoformat(), "imports": []}
    with write_transaction(db) as con:
        for table in ("results", "results_basis", "not_measured", "data_notes", "source_fields", "rejected_rows",
                      "events", "items", "imports"):
            con.execute(f"DELETE FROM {table}")
        # Same seed, same database: import ids restart too.
        con.execute("DROP SEQUENCE IF EXISTS import_seq")
        con.execute("CREATE SEQUENCE import_seq START 1")
        for path, mapping_file in loads:
            loaded = load_file(con, path, load_mapping(folder / mapping_file))
            summary["imports"].append(loaded.as_dict())
        summary["results"] = refresh_results(con, history, now) if history is not None else None
        summary["items"] = con.sql("SELECT count(*) FROM items").fetchall()[0][0]
        summary["events"] = con.sql("SELECT count(*) FROM events").fetchall()[0][0]
    return summary
