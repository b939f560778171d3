"""Metric clocks on hand-worked items. The office calendar is Mon-Fri 09:00-17:00 UTC; 23 Nov 2026 is a Monday."""

import dataclasses
from datetime import datetime, timedelta

import polars as pl
import pytest

from sla_core.clocks import RESULT_SCHEMA, evaluate
from sla_core.policy import PolicyHistory
from sla_core.policy_yaml import parse_policy
from tests.unit.clock_fixtures import at, event, events_frame, item, items_frame

HOUR = 3600.0
POLICY_TEXT = """\
version: 1
effective_from: 2026-01-01
objective: 0.95
calendars:
  office: {timezone: UTC, hours: {mon-fri: "09:00-17:00"}}
  always: 24/7
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: resolved, pause_when_status: [pending, on_hold]}
  lead_scoring: {start: "event:submitted", stop: "event:scored"}
targets:
  - {metric: first_response, match: {channel: chat}, within: 2m, calendar: always}
  - {metric: first_response, match: {priority: urgent}, within: 1h, calendar: office}
  - {metric: first_response, match: {kind: ticket}, within: 4h, calendar: office}
  - {metric: resolution, match: {kind: ticket}, within: 8h, calendar: office, objective: 0.9}
  - {metric: lead_scoring, match: {process: leads}, within: 60m, calendar: always}
"""
POLICY = parse_policy(POLICY_TEXT)
NO_EVENTS = events_frame()


def one(results: pl.DataFrame, metric: str, item_id: str = "1") -> dict:
    rows = results.filter((pl.col("metric") == metric) & (pl.col("item_id") == item_id)).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


CONTRACT_COLUMNS = [
    "source", "item_id", "metric", "instance", "kind", "process", "channel", "team", "priority", "agent", "status", "created",
    "policy_version", "target_index", "calendar", "within_s", "objective", "start", "stop", "elapsed_s",
    "paused_s", "state", "met", "due_at", "remaining_s", "pct_used",
]


def test_results_have_the_contract_columns_in_order():
    results = evaluate(items_frame(item("1", at(23, 10))), NO_EVENTS, POLICY, now=at(23, 11))
    assert results.columns == CONTRACT_COLUMNS
    assert dict(results.schema) == RESULT_SCHEMA


def test_an_answer_within_budget_is_achieved():
    items = items_frame(item("1", at(23, 10), first_response=at(23, 13)))
    row = one(evaluate(items, NO_EVENTS, POLICY, now=at(24, 12)), "first_response")
    assert (row["state"], row["met"], row["elapsed_s"], row["remaining_s"]) == ("achieved", True, 3 * HOUR, HOUR)
    assert (row["pct_used"], row["due_at"], row["stop"]) == (75.0, at(23, 14), at(23, 13))
    assert (row["target_index"], row["calendar"], row["within_s"], row["objective"]) == (2, "office", 4 * HOUR, 0.95)


def test_an_answer_exactly_at_the_budget_is_achieved():
    items = items_frame(item("1", at(23, 10), first_response=at(23, 14)))
    assert one(evaluate(items, NO_EVENTS, POLICY, now=at(24, 12)), "first_response")["state"] == "achieved"


def test_a_late_answer_is_breached():
    # Monday 16:00-17:00 and Tuesday 09:00-13:00: five business hours against a four-hour budget.
    late = items_frame(item("1", at(23, 16), first_response=at(24, 13)))
    row = one(evaluate(late, NO_EVENTS, POLICY, now=at(24, 18)), "first_response")
    assert (row["state"], row["met"], row["elapsed_s"], row["pct_used"]) == ("breached", False, 5 * HOUR, 125.0)
    assert row["due_at"] == at(24, 12)


def test_an_open_item_past_its_budget_is_already_breached():
    items = items_frame(item("1", at(23, 10)))
    row = one(evaluate(items, NO_EVENTS, POLICY, now=at(24, 10)), "first_response")
    # Monday 10:00-17:00 and Tuesday 09:00-10:00 of business time.
    assert (row["state"], row["met"], row["stop"], row["elapsed_s"]) == ("breached", False, None, 8 * HOUR)
    assert (row["remaining_s"], row["due_at"]) == (-4 * HOUR, at(23, 14))


def test_an_open_item_within_budget_is_active_and_undecided():
    items = items_frame(item("1", at(23, 10)))
    row = one(evaluate(items, NO_EVENTS, POLICY, now=at(23, 11)), "first_response")
    assert (row["state"], row["met"], row["elapsed_s"], row["remaining_s"], row["pct_used"]) == (
        "active", None, HOUR, 3 * HOUR, 25.0)


def test_the_clock_does_not_run_outside_business_hours():
    items = items_frame(item("1", at(27, 16)))  # Friday 16:00
    row = one(evaluate(items, NO_EVENTS, POLICY, now=at(30, 9, 30)), "first_response")  # Monday 09:30
    assert (row["elapsed_s"], row["state"], row["due_at"]) == (1.5 * HOUR, "active", at(30, 12))


def test_pause_during_pending_does_not_count_towards_resolution():
    items = items_frame(item("1", at(23, 10), resolved=at(24, 12)))
    events = events_frame(event("1", at(23, 10), value="open"), event("1", at(23, 12), value="pending"),
                          event("1", at(24, 9), value="open"))
    row = one(evaluate(items, events, POLICY, now=at(25, 12)), "resolution")
    # 10h of business time from Monday 10:00 to Tuesday 12:00, 5h of it pending (Monday 12:00-17:00).
    assert (row["paused_s"], row["elapsed_s"], row["state"], row["met"]) == (5 * HOUR, 5 * HOUR, "achieved", True)
    unpaused = one(evaluate(items, NO_EVENTS, POLICY, now=at(25, 12)), "resolution")
    assert (unpaused["elapsed_s"], unpaused["state"]) == (10 * HOUR, "breached")


def test_a_running_clock_in_a_pause_status_is_paused():
    items = items_frame(item("1", at(23, 10), status="pending"))
    events = events_frame(event("1", at(23, 12), value="pending"))
    row = one(evaluate(items, events, POLICY, now=at(24, 10)), "resolution")
    assert (row["state"], row["met"], row["paused_s"], row["elapsed_s"]) == ("paused", None, 6 * HOUR, 2 * HOUR)
    # Due once 8h of unpaused business time have run, counting the 6h of pause so far: Tuesday 16:00.
    assert row["due_at"] == at(24, 16)


def test_pauses_are_clipped_to_the_clock_and_consecutive_pause_statuses_count_once():
    items = items_frame(item("1", at(23, 10), resolved=at(23, 16)))
    events = events_frame(
        event("1", at(23, 8), value="pending"),  # before the clock starts: counts from 10:00
        event("1", at(23, 11), value="on_hold"),  # still paused, a different status
        event("1", at(23, 12), value="open"),
        event("1", at(23, 15), value="on_hold"),  # runs past the stop at 16:00
    )
    row = one(evaluate(items, events, POLICY, now=at(24, 12)), "resolution")
    assert (row["paused_s"], row["elapsed_s"]) == (3 * HOUR, 3 * HOUR)


def test_status_changes_after_now_have_not_happened_yet():
    items = items_frame(item("1", at(23, 10)))
    events = events_frame(event("1", at(23, 12), value="pending"), event("1", at(23, 14), value="open"))
    row = one(evaluate(items, events, POLICY, now=at(23, 13)), "resolution")
    assert (row["state"], row["paused_s"], row["elapsed_s"]) == ("paused", HOUR, 2 * HOUR)


def test_a_stop_after_now_leaves_the_clock_running_and_a_start_after_now_gives_no_row():
    items = items_frame(item("1", at(23, 10), first_response=at(23, 12)), item("2", at(23, 12)))
    results = evaluate(items, NO_EVENTS, POLICY, now=at(23, 11))
    row = one(results, "first_response")
    assert (row["stop"], row["state"], row["elapsed_s"]) == (None, "active", HOUR)
    assert results.filter(pl.col("item_id") == "2").is_empty()


def test_first_matching_target_wins():
    items = items_frame(item("1", at(23, 10), channel="chat", priority="urgent", first_response=at(23, 10, 1)),
                        item("2", at(23, 10), channel="email", priority="urgent", first_response=at(23, 10, 1)))
    results = evaluate(items, NO_EVENTS, POLICY, now=at(23, 12), metrics=["first_response"])
    assert one(results, "first_response", "1")["target_index"] == 0
    assert one(results, "first_response", "2")["within_s"] == HOUR


def test_items_without_a_matching_target_get_no_row_for_that_metric():
    lead = item("L", at(23, 10), kind="ops", process="leads", channel=None)
    events = events_frame(event("L", at(23, 10), "submitted"), event("L", at(23, 10, 45), "scored"))
    results = evaluate(items_frame(lead), events, POLICY, now=at(23, 12))
    assert results["metric"].to_list() == ["lead_scoring"]


def test_event_milestones_use_the_first_event_of_their_kind():
    lead = item("L", at(23, 9), kind="ops", process="leads", channel=None)
    events = events_frame(event("L", at(23, 10), "submitted"), event("L", at(23, 10, 45), "scored"),
                          event("L", at(23, 12), "scored"), event("L", at(23, 11), "submitted"))
    row = one(evaluate(items_frame(lead), events, POLICY, now=at(23, 12)), "lead_scoring", "L")
    assert (row["start"], row["stop"], row["elapsed_s"], row["state"]) == (at(23, 10), at(23, 10, 45), 2700.0, "achieved")


def test_an_item_without_its_start_event_gets_no_row():
    lead = item("L", at(23, 9), kind="ops", process="leads", channel=None)
    events = events_frame(event("L", at(23, 10, 45), "scored"))
    assert evaluate(items_frame(lead), events, POLICY, now=at(23, 12)).is_empty()


def test_history_is_judged_by_the_version_in_force_when_the_item_was_created():
    stricter = parse_policy(POLICY_TEXT.replace("version: 1", "version: 2")
                            .replace("2026-01-01", "2026-11-24").replace("within: 4h", "within: 1h"))
    history = PolicyHistory([POLICY, stricter])
    items = items_frame(item("old", at(23, 10), first_response=at(23, 12)),
                        item("new", at(24, 10), first_response=at(24, 12)))
    results = evaluate(items, NO_EVENTS, history, now=at(25, 12), metrics=["first_response"])
    old, new = one(results, "first_response", "old"), one(results, "first_response", "new")
    assert (old["policy_version"], old["within_s"], old["state"]) == (1, 4 * HOUR, "achieved")
    assert (new["policy_version"], new["within_s"], new["state"]) == (2, HOUR, "breached")


def test_the_metrics_argument_limits_the_output():
    items = items_frame(item("1", at(23, 10)))
    assert evaluate(items, NO_EVENTS, POLICY, now=at(23, 12), metrics=["resolution"])["metric"].to_list() == ["resolution"]


def test_target_objective_overrides_the_policy_objective():
    items = items_frame(item("1", at(23, 10)))
    results = evaluate(items, NO_EVENTS, POLICY, now=at(23, 12))
    assert one(results, "resolution")["objective"] == 0.9 and one(results, "first_response")["objective"] == 0.95


def test_timestamps_in_other_zones_and_units_and_a_naive_now_are_accepted():
    items = items_frame(item("1", at(23, 10), first_response=at(23, 13)))
    local = items.with_columns(pl.col("created", "first_response").dt.convert_time_zone("Europe/Amsterdam")
                               .dt.cast_time_unit("ns"))
    row = one(evaluate(local, None, POLICY, now=datetime(2026, 11, 24, 12)), "first_response")
    assert (row["elapsed_s"], row["created"]) == (3 * HOUR, at(23, 10))


def test_no_items_give_an_empty_frame_with_the_contract_schema():
    results = evaluate(items_frame(), NO_EVENTS, POLICY, now=at(23, 12))
    assert results.is_empty() and dict(results.schema) == RESULT_SCHEMA


@pytest.mark.parametrize("minutes_late", [0, 1, 59, 61])
def test_zero_budget_targets_are_due_at_the_start(minutes_late):
    # A policy file refuses `within: 0s`; the kernel still handles a zero budget (e.g. a simulated proposal).
    two_minutes = parse_policy(POLICY_TEXT)
    zero = dataclasses.replace(two_minutes, targets=tuple(
        dataclasses.replace(t, within_s=0.0) if t.within_s == 120 else t for t in two_minutes.targets))
    items = items_frame(item("1", at(28, 3), channel="chat", first_response=at(28, 3) + timedelta(minutes=minutes_late)))
    row = one(evaluate(items, NO_EVENTS, zero, now=at(28, 5)), "first_response")
    assert row["due_at"] == at(28, 3)
    assert row["state"] == ("achieved" if minutes_late == 0 else "breached")


def test_extra_item_columns_are_ignored_even_when_named_like_results():
    items = items_frame(item("1", at(23, 10), first_response=at(23, 13))).with_columns(
        pl.lit(99).alias("target_index"), pl.lit("x").alias("attributes"), pl.lit(7).alias("_row"))
    row = one(evaluate(items, NO_EVENTS, POLICY, now=at(24, 12)), "first_response")
    assert (row["target_index"], row["elapsed_s"]) == (2, 3 * HOUR)
