"""Dimensions, first-of milestones, glob pauses, milestones from status events and not-measured sources.

The office calendar is Mon-Fri 09:00-17:00 UTC; 23 Nov 2026 is a Monday.
"""

import polars as pl
import pytest

from sla_core.attainment import attainment
from sla_core.clocks import evaluate, evaluate_coverage, unrecorded_milestones
from sla_core.policy import PolicyError
from sla_core.policy_yaml import parse_policy
from tests.unit.clock_fixtures import ITEM_SCHEMA, at, event, events_frame, item

HOUR = 3600.0
POLICY = parse_policy("""\
version: 1
effective_from: 2026-01-01
dimensions: [impact, customer_tier]
calendars:
  office: {timezone: UTC, hours: {mon-fri: "09:00-17:00"}}
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: [Resolved, closed], pause_when_status: ["Wait*", on_hold]}
  fix: {start: "event:Active", stop: ["event:resolved", "event:closed"], pause_when_status: ["wait*"]}
targets:
  - {metric: first_response, match: {kind: ticket}, within: 4h, calendar: office}
  - {metric: resolution, match: {impact: [High, Major]}, within: 2h, calendar: office}
  - {metric: resolution, within: 8h, calendar: office}
  - {metric: fix, match: {customer_tier: gold}, within: 1h, calendar: office}
  - {metric: fix, within: 4h, calendar: office}
""")


def frame(*rows: dict, dimensions=("impact", "customer_tier")) -> pl.DataFrame:
    schema = {**ITEM_SCHEMA, **{name: pl.String for name in dimensions}}
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)


def one(results: pl.DataFrame, metric: str, item_id: str = "1") -> dict:
    rows = results.filter((pl.col("metric") == metric) & (pl.col("item_id") == item_id)).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def test_a_target_matches_on_a_declared_dimension_without_regard_to_case():
    items = frame(item("1", at(23, 9), resolved=at(23, 12), impact="high"),
                  item("2", at(23, 9), resolved=at(23, 12), impact="Low"))
    results = evaluate(items, None, POLICY, now=at(25, 9))
    assert (one(results, "resolution", "1")["within_s"], one(results, "resolution", "2")["within_s"]) == (
        2 * HOUR, 8 * HOUR)
    assert (one(results, "resolution", "1")["met"], one(results, "resolution", "2")["met"]) == (False, True)


def test_dimensions_are_result_columns_and_attainment_slices_by_them():
    items = frame(item("1", at(23, 9), resolved=at(23, 10), impact="High", customer_tier="gold"),
                  item("2", at(23, 9), resolved=at(23, 13), impact="High", customer_tier="silver"),
                  item("3", at(23, 9), resolved=at(23, 10), impact="Low"))
    results = evaluate(items, None, POLICY, now=at(25, 9), metrics=["resolution"])
    assert results.columns[-2:] == ["impact", "customer_tier"]
    table = attainment(results, ["impact"]).select("impact", "met", "breached").to_dicts()
    assert table == [{"impact": "High", "met": 1, "breached": 1}, {"impact": "Low", "met": 1, "breached": 0}]


def test_items_without_the_dimension_columns_get_null_dimensions():
    items = pl.DataFrame([item("1", at(23, 9), resolved=at(23, 10))], schema=ITEM_SCHEMA)
    results = evaluate(items, None, POLICY, now=at(25, 9), metrics=["resolution"])
    assert one(results, "resolution")["impact"] is None and one(results, "resolution")["within_s"] == 8 * HOUR


def test_a_target_cannot_match_an_undeclared_attribute():
    with pytest.raises(PolicyError, match="cannot match on tier"):
        parse_policy("""\
version: 1
effective_from: 2026-01-01
calendars: {always: 24/7}
metrics: {resolution: {start: created, stop: resolved}}
targets: [{metric: resolution, match: {tier: gold}, within: 1h, calendar: always}]
""")


@pytest.mark.parametrize("name, message", [
    ("Impact", "is not a dimension name"), ("team", "is a built-in field"), ("month", "is a built-in field"),
])
def test_a_dimension_is_a_lower_case_name_apart_from_the_built_in_fields(name, message):
    with pytest.raises(PolicyError, match=f"dimensions\\[0\\]: .*{message}"):
        parse_policy(f"""\
version: 1
effective_from: 2026-01-01
dimensions: [{name}]
calendars: {{always: 24/7}}
metrics: {{resolution: {{start: created, stop: resolved}}}}
targets: [{{metric: resolution, within: 1h, calendar: always}}]
""")


def test_a_first_of_stop_stops_at_whichever_milestone_comes_first():
    items = frame(item("1", at(23, 9), resolved=at(23, 15), closed=at(23, 11)),
                  item("2", at(23, 9), resolved=at(23, 10), closed=at(23, 16)),
                  item("3", at(23, 9), closed=at(23, 12)))
    results = evaluate(items, None, POLICY, now=at(25, 9), metrics=["resolution"])
    assert [one(results, "resolution", i)["stop"] for i in "123"] == [at(23, 11), at(23, 10), at(23, 12)]


def test_a_first_of_stop_ignores_milestones_after_now():
    items = frame(item("1", at(23, 9), resolved=at(23, 15), closed=at(23, 11)))
    row = one(evaluate(items, None, POLICY, now=at(23, 10), metrics=["resolution"]), "resolution")
    assert (row["stop"], row["state"]) == (None, "active")


def test_a_glob_pause_status_pauses_the_clock_whatever_the_case():
    items = frame(item("1", at(23, 9), resolved=at(23, 15)))
    events = events_frame(event("1", at(23, 10), value="Wait - User"), event("1", at(23, 12), value="active"),
                          event("1", at(23, 13), value="wait - vendor"), event("1", at(23, 14), value="active"))
    row = one(evaluate(items, events, POLICY, now=at(25, 9), metrics=["resolution"]), "resolution")
    assert (row["paused_s"], row["elapsed_s"]) == (3 * HOUR, 3 * HOUR)


def test_event_milestones_come_from_status_events_of_an_event_log():
    items = frame(item("1", at(23, 9), customer_tier="gold"))
    events = events_frame(event("1", at(23, 9), value="New"), event("1", at(23, 10), value="Active"),
                          event("1", at(23, 10, 30), value="Wait - Customer"), event("1", at(23, 11), value="Active"),
                          event("1", at(23, 11, 15), value="Resolved"), event("1", at(23, 12), value="Closed"))
    row = one(evaluate(items, events, POLICY, now=at(25, 9), metrics=["fix"]), "fix")
    assert (row["start"], row["stop"], row["paused_s"], row["elapsed_s"]) == (
        at(23, 10), at(23, 11, 15), 1800.0, 2700.0)
    assert (row["within_s"], row["met"]) == (HOUR, True)


def test_event_milestones_match_event_kinds_without_regard_to_case():
    items = frame(item("1", at(23, 9)))
    events = events_frame(event("1", at(23, 10), kind="ACTIVE"), event("1", at(23, 14), kind="Closed"))
    row = one(evaluate(items, events, POLICY, now=at(25, 9), metrics=["fix"]), "fix")
    assert (row["start"], row["stop"], row["met"]) == (at(23, 10), at(23, 14), True)


def test_a_source_that_never_records_a_stop_is_not_measured_rather_than_breached():
    items = pl.concat([
        frame(item("1", at(23, 9), first_response=at(23, 10))),
        frame(item("2", at(23, 9), source="nyc311"), item("3", at(23, 9), source="nyc311")),
    ])
    unrecorded = {"test": set(), "nyc311": {"first_response"}}
    results, not_measured = evaluate_coverage(items, None, POLICY, now=at(25, 9), metrics=["first_response"],
                                              unrecorded=unrecorded)
    assert results["item_id"].to_list() == ["1"]
    assert not_measured.select("source", "item_id", "metric", "missing").rows() == [
        ("nyc311", "2", "first_response", "first_response"), ("nyc311", "3", "first_response", "first_response")]
    # Without the shell's knowledge everything is measured, and the open items are breached.
    assert evaluate(items, None, POLICY, now=at(25, 9), metrics=["first_response"])["met"].to_list() == [
        True, False, False]


def test_a_first_of_stop_is_measurable_when_any_of_its_milestones_is_recorded():
    items = frame(item("1", at(23, 9), closed=at(23, 10)))
    results, not_measured = evaluate_coverage(items, None, POLICY, now=at(25, 9), metrics=["resolution"],
                                              unrecorded={"test": {"resolved"}})
    assert (results.height, not_measured.height) == (1, 0)
    results, not_measured = evaluate_coverage(items, None, POLICY, now=at(25, 9), metrics=["resolution"],
                                              unrecorded={"test": {"resolved", "closed"}})
    assert (results.height, not_measured["missing"].to_list()) == (0, ["resolved or closed"])


def test_unrecorded_milestones_reads_columns_and_event_names_with_globs():
    found = unrecorded_milestones(
        ["created", "first_response", "resolved", "event:wait*", "event:scored"],
        {"a": {"created", "resolved"}, "b": {"created"}},
        {"a": {"status", "Wait - User"}, "b": {"Scored"}},
    )
    assert found == {"a": {"first_response", "event:scored"}, "b": {"first_response", "resolved", "event:wait*"}}
