"""Seeded Zendesk-style tickets, their status changes and their conversations (see `sla_store.sample`).

Arrivals follow the desks' business-hour curve with a backlog spike about six weeks before `now` and slower
handling during it; handling times are drawn in business time on the desks' calendars.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from sla_store.sample_draws import (
    HISTORY_DAYS,
    US,
    arrivals,
    desk_calendars,
    hour_curve,
    lognormal,
    micros,
    utc,
    whole_seconds,
)

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


def generate_tickets(count: int, seed: int | Sequence[int] = 42, now: datetime | None = None,
                     first_id: int = 100_001, days: int = HISTORY_DAYS) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(tickets, status events) with canonical columns; times as UTC datetimes. Vectorized (1M in seconds).

    Tickets are numbered from `first_id`; `seed` is anything numpy's default_rng takes. The draws come in a
    fixed order from one generator, so a seed always gives the same tickets."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    now_us = int(now.timestamp() * US)
    rng = np.random.default_rng(seed)
    desk, lines = desk_calendars()
    spike_start = now - timedelta(days=45)
    created_us = np.sort(arrivals(rng, count, now, spike_start, hour_curve(1.6, 0.08), days=days))
    channel = rng.choice(len(CHANNELS), size=count, p=CHANNEL_SHARE)
    team = rng.choice(len(TEAMS), size=count, p=TEAM_SHARE)
    priority = rng.choice(len(PRIORITIES), size=count, p=PRIORITY_SHARE)
    spike_us = int(spike_start.timestamp() * US)
    in_spike = (created_us >= spike_us) & (created_us < spike_us + 10 * 86_400 * US)
    pace = np.asarray(TEAM_PACE)[team] * np.where(in_spike, SPIKE_SLOWDOWN, 1.0)
    channel_name = np.asarray(CHANNELS)[channel]
    reply_median, reply_sigma = _first_reply_spread(channel_name, priority)
    reply_s = lognormal(rng, reply_median * pace, reply_sigma)
    created = utc(created_us)
    reply_us = np.where(np.isin(channel_name, ("chat", "phone")), micros(lines.due_at(created, pl.Series(reply_s))),
                        micros(desk.due_at(created, pl.Series(reply_s))))
    clock = _resolution(rng, desk, created, reply_s, pace, np.asarray(PRIORITIES)[priority], team, channel_name)
    clock["reply"] = reply_us
    clock = {name: whole_seconds(us) if name in _WHOLE else us for name, us in clock.items()}
    clock["closed"] = clock["resolved"] + 4 * 86_400 * US
    # A backlog of tickets nobody picked up after the reply: old, open and long past their budget.
    stale = (created_us < now_us - 8 * 86_400 * US) & (created_us > now_us - 30 * 86_400 * US) & \
        (rng.random(count) < 40 / max(count, 1))
    clock["resolved"] = np.where(stale, now_us + 86_400 * US, clock["resolved"])
    clock["paused"] = clock["paused"] & ~stale
    happened = {name: clock[name] <= now_us for name in ("reply", "pause_start", "pause_end", "resolved", "closed")}
    agent, subject = _pick(rng, team, AGENTS), _pick(rng, team, SUBJECTS)
    agent[~happened["reply"]] = None
    item_id = np.arange(first_id, first_id + count).astype(str)

    def when(name: str) -> pl.Series:
        return utc(clock[name]).set(pl.Series(~happened[name]), None) if (~happened[name]).any() else utc(clock[name])

    tickets = pl.DataFrame({
        "item_id": item_id,
        "channel": channel_name,
        "team": np.asarray(TEAMS)[team],
        "priority": np.asarray(PRIORITIES)[priority],
        "agent": pl.Series(agent, dtype=pl.String),
        "status": pl.Series(_status_now(clock, happened), dtype=pl.String),
        "subject": pl.Series(subject, dtype=pl.String),
        "created": created,
        "first_response": when("reply"),
        "resolved": when("resolved"),
        "closed": when("closed"),
        "updated": utc(np.minimum(np.maximum.reduce(
            [created_us, *(np.where(happened[name], clock[name], 0) for name in ("reply", "resolved", "closed"))]),
            now_us)),
    })
    return tickets, _status_events(item_id, created_us, clock, now_us)


def _pick(rng: np.random.Generator, team: np.ndarray, choices: dict[str, tuple[str, ...]]) -> np.ndarray:
    """One of the team's choices (agents, subjects) per ticket."""
    return np.array([choices[TEAMS[t]][i % len(choices[TEAMS[t]])]
                     for t, i in zip(team, rng.integers(0, 60, len(team)), strict=True)], dtype=object)


_WHOLE = ("reply", "pause_start", "pause_end", "resolved")  # exports carry whole seconds


def _first_reply_spread(channel_name: np.ndarray, priority: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and log-normal sigma of business seconds to first reply: by priority (social answered sooner),
    and fixed for chat and phone."""
    reply_median = np.empty(len(priority))
    reply_sigma = np.empty(len(priority))
    for index, name in enumerate(PRIORITIES):
        rows = priority == index
        reply_median[rows], reply_sigma[rows] = FIRST_REPLY_BY_PRIORITY[name]
        social = rows & (channel_name == "social")
        reply_median[social], reply_sigma[social] = SOCIAL_FIRST_REPLY[name]
    for name, (median, sigma) in FIRST_REPLY.items():
        reply_median[channel_name == name], reply_sigma[channel_name == name] = median, sigma
    return reply_median, reply_sigma


def _resolution(rng: np.random.Generator, desk, created: pl.Series, reply_s: np.ndarray, pace: np.ndarray,
                priority_name: np.ndarray, team: np.ndarray, channel_name: np.ndarray) -> dict[str, np.ndarray]:
    """When each ticket is resolved, and its pause (pending: waiting on the customer; on-hold: on a third
    party), which moves the resolution later: UTC microseconds, `paused` and `pause_kind` per ticket."""
    count = len(reply_s)
    technical = np.asarray(TEAMS)[team] == "Technical"
    resolve_median = np.array([RESOLUTION[name][0] for name in priority_name])
    resolve_sigma = np.array([RESOLUTION[name][1] for name in priority_name])
    resolve_median = np.where(technical & (priority_name == "normal"), resolve_median * 1.5, resolve_median)
    resolve_s = np.maximum(lognormal(rng, resolve_median * pace, resolve_sigma), reply_s + 60)
    pause_kind = np.where(rng.random(count) < 0.25, "pending", "")
    pause_kind = np.where(technical & (rng.random(count) < 0.08), "on_hold", pause_kind)
    pause_kind = np.where(channel_name == "chat", "", pause_kind)
    paused = pause_kind != ""
    before_pause_s = reply_s + (resolve_s - reply_s) * rng.uniform(0.2, 0.6, count)
    pause_start_us = micros(desk.due_at(created, pl.Series(before_pause_s)))
    pause_length_us = (lognormal(rng, np.full(count, 20 * 3600.0), np.full(count, 1.0)) * US).astype(np.int64)
    pause_end_us = pause_start_us + pause_length_us
    after_pause = desk.due_at(utc(pause_end_us), pl.Series(resolve_s - before_pause_s))
    resolved_us = np.where(paused, micros(after_pause), micros(desk.due_at(created, pl.Series(resolve_s))))
    return {"pause_kind": pause_kind, "paused": paused, "pause_start": pause_start_us, "pause_end": pause_end_us,
            "resolved": resolved_us}


def _status_now(clock: dict[str, np.ndarray], happened: dict[str, np.ndarray]) -> np.ndarray:
    """Each ticket's status at `now`: new, open, pending / on_hold, solved or closed."""
    status = np.full(len(clock["resolved"]), "closed", dtype=object)
    status[~happened["closed"]] = "solved"
    open_now = ~happened["resolved"]
    status[open_now] = "open"
    pending_now = open_now & clock["paused"] & happened["pause_start"] & ~happened["pause_end"]
    status[pending_now] = clock["pause_kind"][pending_now]
    status[~happened["reply"]] = "new"
    return status


def _status_events(item_id: np.ndarray, created_us: np.ndarray, clock: dict[str, np.ndarray],
                   now_us: int) -> pl.DataFrame:
    """The status changes that happened by `now`: new, open, the pause and its end, solved, closed."""
    paused = clock["paused"]
    status_events = pl.concat([
        pl.DataFrame({"item_id": item_id, "at": created_us, "status": "new"}),
        pl.DataFrame({"item_id": item_id, "at": clock["reply"], "status": "open"}),
        pl.DataFrame({"item_id": item_id[paused], "at": clock["pause_start"][paused],
                      "status": clock["pause_kind"][paused]}),
        pl.DataFrame({"item_id": item_id[paused], "at": clock["pause_end"][paused], "status": "open"}),
        pl.DataFrame({"item_id": item_id, "at": clock["resolved"], "status": "solved"}),
        pl.DataFrame({"item_id": item_id, "at": clock["closed"], "status": "closed"}),
    ])
    # A pause still running at resolution ends there (the customer replied and the agent solved it).
    return (
        status_events.filter(pl.col("at") <= now_us)
        .with_columns(pl.col("at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        .sort(["item_id", "at"], maintain_order=True)
    )


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
    desk, _ = desk_calendars()
    talk = tickets.filter(pl.col("channel").is_in(REPLY_CHANNELS) & pl.col("first_response").is_not_null())
    ids = talk["item_id"].to_numpy()
    created_us, answered_us = micros(talk["created"]), micros(talk["first_response"])
    end_us = np.where(talk["resolved"].is_null().to_numpy(), now_us,
                      micros(talk["resolved"].fill_null(talk["created"])))
    parts = [("customer_reply", ids, created_us), ("agent_reply", ids, answered_us)]
    alive = np.ones(len(ids), dtype=bool)
    last_us = answered_us
    for _ in range(FOLLOW_UPS):
        alive &= rng.random(len(ids)) < 0.45
        asked_us = whole_seconds(last_us + (lognormal(rng, np.full(len(ids), 5 * 3600.0),
                                                         np.full(len(ids), 0.8)) * US).astype(np.int64))
        alive &= asked_us < end_us
        if not alive.any():
            break
        reply_s = lognormal(rng, np.full(int(alive.sum()), 75 * 60.0), np.full(int(alive.sum()), 0.9))
        reply_us = np.zeros(len(ids), dtype=np.int64)
        reply_us[alive] = whole_seconds(micros(desk.due_at(utc(asked_us[alive]), pl.Series(reply_s))))
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
