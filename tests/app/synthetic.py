"""A seeded, self-consistent database for the page tests and the page benchmark.

Every clock runs on a 24/7 calendar, so the stored results are plain wall-clock arithmetic the tests can
re-derive with SQL, and `sla_core.clocks.evaluate` under FIXTURE_POLICY reproduces them for open items.
Vectorized with numpy so the same builder makes 1,000,000 tickets in seconds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from sla_store import rollup
from sla_store.db import write_transaction

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
HISTORY_DAYS = 150

CHANNELS = ("email", "phone", "chat", "social", "web")
TEAMS = ("billing", "tech", "accounts", "onboarding")
PRIORITIES = ("urgent", "high", "normal", "low")

# Targets in seconds, mirrored by FIXTURE_POLICY below.
FIRST_RESPONSE_S = {"chat": 300.0, "phone": 600.0, "email": 3600.0, "social": 7200.0, "web": 14400.0}
RESOLUTION_S = {"urgent": 4 * 3600.0, "high": 8 * 3600.0, "normal": 24 * 3600.0, "low": 72 * 3600.0}
LEAD_SCORING_S = 3600.0
ROUTING_S = 1800.0
OBJECTIVE = 0.95
RESOLUTION_OBJECTIVE = 0.9

FIXTURE_POLICY = """\
version: 1
effective_from: 2026-01-01
objective: 0.95
calendars:
  always: 24/7
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: resolved, pause_when_status: [pending, on_hold]}
  lead_scoring: {start: "event:submitted", stop: "event:scored"}
  routing: {start: "event:scored", stop: "event:routed"}
targets:
  - {metric: first_response, match: {channel: chat}, within: 5m, calendar: always}
  - {metric: first_response, match: {channel: phone}, within: 10m, calendar: always}
  - {metric: first_response, match: {channel: email}, within: 1h, calendar: always}
  - {metric: first_response, match: {channel: social}, within: 2h, calendar: always}
  - {metric: first_response, match: {channel: web}, within: 4h, calendar: always}
  - {metric: resolution, match: {priority: urgent}, within: 4h, calendar: always, objective: 0.9}
  - {metric: resolution, match: {priority: high}, within: 8h, calendar: always, objective: 0.9}
  - {metric: resolution, match: {priority: normal}, within: 24h, calendar: always, objective: 0.9}
  - {metric: resolution, match: {priority: low}, within: 72h, calendar: always, objective: 0.9}
  - {metric: lead_scoring, match: {process: leads}, within: 60m, calendar: always}
  - {metric: routing, match: {process: leads}, within: 30m, calendar: always}
"""

US = 1_000_000


def write_fixture_config(directory: Path) -> Path:
    """config/sla.yaml for the synthetic database (the live queue re-evaluates open items with it)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sla.yaml").write_text(FIXTURE_POLICY, encoding="utf-8")
    return directory


def _utc(us: np.ndarray) -> pl.Series:
    return pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))


def _tickets(rng: np.random.Generator, n: int, now_us: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    # More recent days carry more tickets, so the open backlog sits near "now".
    age_s = rng.uniform(0, HISTORY_DAYS * 86400.0, n)
    created = now_us - (age_s * US).astype(np.int64)
    channel = rng.choice(len(CHANNELS), n, p=[0.35, 0.15, 0.25, 0.1, 0.15])
    team = rng.choice(len(TEAMS), n, p=[0.3, 0.35, 0.2, 0.15])
    priority = rng.choice(len(PRIORITIES), n, p=[0.05, 0.2, 0.6, 0.15])
    agent = rng.integers(1, 25, n)

    fr_target = np.array([FIRST_RESPONSE_S[c] for c in CHANNELS])[channel]
    # Teams differ in speed so the heatmap and worst slices have something to show.
    team_speed = np.array([0.55, 0.75, 0.45, 1.0])[team]
    fr_delay = rng.exponential(fr_target * team_speed * 0.45)
    res_target = np.array([RESOLUTION_S[p] for p in PRIORITIES])[priority]
    res_delay = fr_delay + rng.exponential(res_target * team_speed * 0.5)

    first_response = created + (fr_delay * US).astype(np.int64)
    resolved = created + (res_delay * US).astype(np.int64)
    fr_open = first_response > now_us
    # A backlog: part of the last three days' tickets is still unresolved, some of it near breach.
    res_open = (resolved > now_us) | ((age_s < 3 * 86400.0) & (rng.random(n) < 0.4))
    # Open tickets waiting on the customer are paused since a status change to pending.
    pending = res_open & ~fr_open & (rng.random(n) < 0.3)
    pending_at = np.where(pending, np.minimum(first_response + (60 * US), now_us), 0)

    status = np.where(res_open, np.where(pending, "pending", "open"), "solved")
    item_ids = np.char.add("T", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    items = pl.DataFrame({
        "source": "synthetic",
        "item_id": item_ids,
        "kind": "ticket",
        "process": "support",
        "channel": np.array(CHANNELS)[channel],
        "team": np.array(TEAMS)[team],
        "priority": np.array(PRIORITIES)[priority],
        "agent": np.char.add("agent_", np.char.zfill(agent.astype(str), 2)),
        "status": status,
        "subject": np.char.add("Request ", item_ids),
    }).with_columns(
        created=_utc(created),
        first_response=_utc(first_response).set(pl.Series(fr_open), None),
        resolved=_utc(resolved).set(pl.Series(res_open), None),
    ).with_columns(closed=pl.col("resolved"))
    events = pl.DataFrame({
        "source": "synthetic",
        "item_id": item_ids[pending],
        "kind": "status",
        "value": "pending",
    }).with_columns(occurred_at=_utc(pending_at[pending]))
    return items, events.select("source", "item_id", "occurred_at", "kind", "value")


def _ops(rng: np.random.Generator, n: int, now_us: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    age_s = rng.uniform(0, HISTORY_DAYS * 86400.0, n)
    submitted = now_us - (age_s * US).astype(np.int64)
    scored = submitted + (rng.exponential(LEAD_SCORING_S * 0.4, n) * US).astype(np.int64)
    routed = scored + (rng.exponential(ROUTING_S * 0.5, n) * US).astype(np.int64)
    item_ids = np.char.add("L", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    items = pl.DataFrame({
        "source": "ops",
        "item_id": item_ids,
        "kind": "ops",
        "process": "leads",
        "channel": None,
        "team": "sales-ops",
        "priority": None,
        "agent": None,
        "status": np.where(routed > now_us, "open", "closed"),
        "subject": np.char.add("Lead ", item_ids),
    }, schema_overrides={"channel": pl.String, "priority": pl.String, "agent": pl.String}).with_columns(
        created=_utc(submitted), first_response=pl.lit(None, pl.Datetime("us", "UTC")),
        resolved=pl.lit(None, pl.Datetime("us", "UTC")), closed=pl.lit(None, pl.Datetime("us", "UTC")),
    )
    steps = []
    for kind, moments in (("submitted", submitted), ("scored", scored), ("routed", routed)):
        keep = moments <= now_us
        steps.append(pl.DataFrame({"source": "ops", "item_id": item_ids[keep], "kind": kind, "value": ""})
                     .with_columns(occurred_at=_utc(moments[keep])))
    events = pl.concat(steps).select("source", "item_id", "occurred_at", "kind", "value")
    return items, events


def _clock(items: pl.DataFrame, metric: str, start: pl.Expr, stop: pl.Expr, within: pl.Expr,
           objective: float, target_index: pl.Expr, now: dt.datetime,
           paused_since: pl.Expr | None = None) -> pl.DataFrame:
    """One metric's results rows on the 24/7 calendar (elapsed = wall-clock seconds minus pauses)."""
    now_lit = pl.lit(now).cast(pl.Datetime("us", "UTC"))
    frame = items.with_columns(
        metric=pl.lit(metric), start=start, stop=stop, within_s=within, target_index=target_index,
        paused_since=paused_since if paused_since is not None else pl.lit(None, pl.Datetime("us", "UTC")),
    ).filter(pl.col("start").is_not_null() & (pl.col("start") <= now_lit))
    running = pl.col("stop").is_null()
    end = pl.when(running).then(now_lit).otherwise(pl.col("stop"))
    frame = frame.with_columns(
        paused_s=pl.when(running & pl.col("paused_since").is_not_null())
        .then((now_lit - pl.col("paused_since")).dt.total_microseconds() / US).otherwise(0.0),
        wall_s=(end - pl.col("start")).dt.total_microseconds() / US,
    ).with_columns(elapsed_s=pl.col("wall_s") - pl.col("paused_s"))
    over = pl.col("elapsed_s") > pl.col("within_s")
    frame = frame.with_columns(
        state=pl.when(over).then(pl.lit("breached"))
        .when(~running).then(pl.lit("achieved"))
        .when(pl.col("paused_since").is_not_null()).then(pl.lit("paused"))
        .otherwise(pl.lit("active")),
        met=pl.when(over).then(False).when(~running).then(True).otherwise(None),
        due_at=pl.col("start") + pl.duration(microseconds=((pl.col("within_s") + pl.col("paused_s")) * US)
                                             .cast(pl.Int64)),
        remaining_s=pl.col("within_s") - pl.col("elapsed_s"),
        pct_used=100.0 * pl.col("elapsed_s") / pl.col("within_s"),
        objective=pl.lit(objective), policy_version=pl.lit(1, pl.Int32), calendar=pl.lit("always"),
        computed_at=now_lit,
    )
    return frame.select(
        "source", "item_id", "metric", pl.lit(1, pl.Int32).alias("instance"), "kind", "process", "channel", "team", "priority", "agent", "status",
        "created", "policy_version", pl.col("target_index").cast(pl.Int32), "calendar", "within_s",
        "objective", "start", "stop", "elapsed_s", "paused_s", "state", "met", "due_at", "remaining_s",
        "pct_used", "computed_at",
    )


def _results(tickets: pl.DataFrame, ticket_events: pl.DataFrame, ops: pl.DataFrame,
             ops_events: pl.DataFrame, now: dt.datetime) -> pl.DataFrame:
    fr_index = {c: i for i, c in enumerate(CHANNELS)}
    res_index = {p: 5 + i for i, p in enumerate(PRIORITIES)}
    paused = ticket_events.filter(pl.col("value") == "pending").select(
        "source", "item_id", paused_since=pl.col("occurred_at"))
    tickets = tickets.join(paused, on=["source", "item_id"], how="left")
    first_response = _clock(
        tickets, "first_response", pl.col("created"), pl.col("first_response"),
        pl.col("channel").replace_strict(FIRST_RESPONSE_S, return_dtype=pl.Float64), OBJECTIVE,
        pl.col("channel").replace_strict(fr_index, return_dtype=pl.Int32), now)
    resolution = _clock(
        tickets, "resolution", pl.col("created"), pl.col("resolved"),
        pl.col("priority").replace_strict(RESOLUTION_S, return_dtype=pl.Float64), RESOLUTION_OBJECTIVE,
        pl.col("priority").replace_strict(res_index, return_dtype=pl.Int32), now,
        paused_since=pl.col("paused_since"))
    steps = ops_events.pivot(on="kind", index=["source", "item_id"], values="occurred_at")
    for step in ("submitted", "scored", "routed"):
        if step not in steps.columns:
            steps = steps.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias(step))
    ops = ops.join(steps, on=["source", "item_id"], how="left")
    scoring = _clock(ops, "lead_scoring", pl.col("submitted"), pl.col("scored"), pl.lit(LEAD_SCORING_S),
                     OBJECTIVE, pl.lit(9), now)
    routing = _clock(ops, "routing", pl.col("scored"), pl.col("routed"), pl.lit(ROUTING_S), OBJECTIVE,
                     pl.lit(10), now)
    return pl.concat([first_response, resolution, scoring, routing])


def build_synthetic_db(path: Path, tickets: int = 3000, seed: int = 42, now: dt.datetime = NOW,
                       ops_share: float = 0.05) -> Path:
    """Write a fresh database at `path` with `tickets` tickets, ops items, imports and rejected rows."""
    rng = np.random.default_rng(seed)
    now_us = int(now.timestamp() * US)
    ticket_items, ticket_events = _tickets(rng, tickets, now_us)
    ops_items, ops_events = _ops(rng, max(1, int(tickets * ops_share)), now_us)
    result_frame = _results(ticket_items, ticket_events, ops_items, ops_events, now)
    item_frame = pl.concat([ticket_items, ops_items.select(ticket_items.columns)])
    event_frame = pl.concat([ticket_events, ops_events])
    path = Path(path)
    if path.exists():
        path.unlink()
    with write_transaction(path) as con:
        tickets_import, events_import = (con.sql("SELECT nextval('import_seq')").fetchall()[0][0]
                                         for _ in range(2))
        con.execute("""INSERT INTO imports VALUES
            (?, 'tickets.csv', 'f00d', 'csv', NULL, ?, ?, 2, ?),
            (?, 'leads-events.csv', 'beef', 'events', NULL, ?, ?, 0, ?)""",
                    [tickets_import, len(ticket_items) + 2, len(ticket_items), now,
                     events_import, len(ops_events), len(ops_events), now])
        con.execute("""INSERT INTO rejected_rows VALUES
            (?, 17, 'T17,email,,2026-13-45', 'created: "2026-13-45" is not a date'),
            (?, 42, 'T42,chat,high,', 'item_id: missing')""", [tickets_import, tickets_import])
        con.register("item_frame", item_frame)
        con.register("event_frame", event_frame)
        con.register("result_frame", result_frame)
        con.execute("INSERT INTO items BY NAME SELECT *, ? AS import_id FROM item_frame", [tickets_import])
        con.execute("INSERT INTO events BY NAME SELECT *, ? AS import_id FROM event_frame", [events_import])
        con.execute("INSERT INTO results BY NAME SELECT * FROM result_frame")
        rollup.rebuild(con)  # what the store keeps beside the results, as every write leaves it
    return path
