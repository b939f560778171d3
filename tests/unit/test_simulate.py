"""What-if simulation: re-judging stored history by a proposed policy."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from sla_core.policy import as_history
from sla_core.policy_yaml import parse_policy, parse_policy_mapping
from sla_core.simulate import FLIP_TO_BREACHED, FLIP_TO_MET, advise, simulate
from sla_core.target_mapping import SimulationInputError, target_mapping

POLICY = """\
version: 1
effective_from: 2026-01-01
objective: 0.95
calendars:
  office:
    timezone: Europe/Amsterdam
    hours: {mon-fri: ["08:00-17:00"]}
  always: 24/7
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: resolved, pause_when_status: [pending]}
targets:
  - {metric: first_response, match: {channel: chat}, within: 10m, calendar: always}
  - {metric: first_response, match: {channel: email}, within: 4h, calendar: office}
  - {metric: resolution, within: 3d, calendar: office, objective: 0.9}
"""
NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)
TEAMS = ("Billing", "Technical", "Accounts")


def _edited(policy, **within_by_position):
    raw = dict(policy.raw)
    raw["targets"] = [dict(target) for target in raw["targets"]]
    for position, within in within_by_position.items():
        raw["targets"][int(position[1:])]["within"] = within
    return parse_policy_mapping(raw, "proposed")


def stored_results(policy, rows: int = 3000, seed: int = 42) -> pl.DataFrame:
    """A results frame as the store holds it: random elapsed business time, judged by `policy`."""
    rng = random.Random(seed)
    records = []
    for n in range(rows):
        channel = rng.choice(("chat", "email"))
        metric = rng.choice(("first_response", "resolution"))
        target = policy.target_for(metric, {"channel": channel})
        created = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 80 * 24 * 60))
        elapsed = rng.uniform(0, 2.5 * target.within_s)
        stopped = rng.random() < 0.85
        over = elapsed > target.within_s
        state = "achieved" if stopped and not over else "breached" if over else rng.choice(("active", "paused"))
        records.append(
            {
                "source": "zendesk",
                "item_id": str(n),
                "metric": metric,
                "kind": "ticket",
                "process": "support",
                "channel": channel,
                "team": rng.choice(TEAMS),
                "priority": rng.choice(("high", "normal")),
                "agent": f"agent{rng.randrange(6)}",
                "status": "solved" if stopped else "open",
                "created": created,
                "policy_version": policy.version,
                "target_index": target.index,
                "calendar": target.calendar,
                "within_s": target.within_s,
                "objective": policy.objective_for(target),
                "start": created,
                "stop": created + timedelta(seconds=elapsed) if stopped else None,
                "elapsed_s": elapsed,
                "paused_s": 0.0,
                "state": state,
                "met": (not over) if stopped else (False if over else None),
                "due_at": created + timedelta(seconds=target.within_s),
                "remaining_s": target.within_s - elapsed,
                "pct_used": 100 * elapsed / target.within_s,
            }
        )
    schema = {
        "policy_version": pl.Int32,
        "target_index": pl.Int32,
        "created": pl.Datetime("us", "UTC"),
        "start": pl.Datetime("us", "UTC"),
        "stop": pl.Datetime("us", "UTC"),
        "due_at": pl.Datetime("us", "UTC"),
        "met": pl.Boolean,
    }
    return pl.DataFrame(records, schema_overrides=schema, infer_schema_length=None)


@pytest.fixture(scope="module")
def committed():
    return parse_policy(POLICY)


@pytest.fixture(scope="module")
def results(committed):
    return stored_results(committed)


def _attainment_by_hand(rows, within_for) -> dict[tuple, float | None]:
    """met / (met + breached) per (metric, team), judging each row against within_for(row) by hand."""
    met: dict[tuple, int] = {}
    decided: dict[tuple, int] = {}
    for row in rows:
        key = (row["metric"], row["team"])
        within = within_for(row)
        if row["stop"] is not None:
            verdict = row["elapsed_s"] <= within
        elif row["elapsed_s"] > within:
            verdict = False
        else:
            continue
        decided[key] = decided.get(key, 0) + 1
        met[key] = met.get(key, 0) + int(verdict)
    return {key: met[key] / decided[key] for key in decided}


def test_a_tighter_target_lowers_attainment_by_exactly_the_items_computed_by_hand(committed, results):
    proposed = _edited(committed, t1="2h")  # email first response 4h -> 2h
    simulation = simulate(results, committed, proposed, NOW, by=["team"])

    rows = results.to_dicts()
    expected_flips = sorted(
        row["item_id"]
        for row in rows
        if row["metric"] == "first_response"
        and row["channel"] == "email"
        and row["stop"] is not None
        and 2 * 3600 < row["elapsed_s"] <= 4 * 3600
    )
    flipped = simulation.flips
    assert sorted(flipped.filter(pl.col("flip") == FLIP_TO_BREACHED)["item_id"].to_list()) == expected_flips
    assert flipped.filter(pl.col("flip") == FLIP_TO_MET).height == 0
    assert expected_flips, "the seeded data must contain items between the two budgets"

    def new_within(row):
        return 2 * 3600.0 if (row["metric"], row["channel"]) == ("first_response", "email") else row["within_s"]

    before = _attainment_by_hand(rows, lambda row: row["within_s"])
    after = _attainment_by_hand(rows, new_within)
    table = simulation.comparison
    assert table.height == len(before)
    for row in table.iter_rows(named=True):
        key = (row["metric"], row["team"])
        assert row["attainment_before"] == pytest.approx(before[key])
        assert row["attainment_after"] == pytest.approx(after[key])
        assert row["delta"] == pytest.approx(after[key] - before[key])
        if row["metric"] == "resolution":
            assert row["delta"] == 0 and row["met_to_breached"] == 0
        else:
            assert row["delta"] < 0
    assert table["met_to_breached"].sum() == len(expected_flips)


def test_a_looser_target_turns_breaches_into_met_items_including_running_ones(committed, results):
    proposed = _edited(committed, t2="5d")  # resolution 3d -> 5d
    simulation = simulate(results, committed, proposed, NOW)
    rows = [r for r in results.to_dicts() if r["metric"] == "resolution"]
    stopped_in_between = sorted(
        r["item_id"] for r in rows if r["stop"] is not None and 3 * 86400 < r["elapsed_s"] <= 5 * 86400
    )
    flipped = simulation.flips
    assert sorted(flipped.filter(pl.col("flip") == FLIP_TO_MET)["item_id"].to_list()) == stopped_in_between
    # a running item breached under 3d but within 5d is undecided again, not met
    reopened = [r["item_id"] for r in rows if r["stop"] is None and 3 * 86400 < r["elapsed_s"] <= 5 * 86400]
    paired = simulation.paired.filter(pl.col("item_id").is_in(reopened) & (pl.col("metric") == "resolution"))
    assert reopened and paired["met_after"].null_count() == len(reopened)
    assert set(paired["state_after"].to_list()) <= {"active", "paused"}


def test_a_budget_change_reuses_stored_elapsed_time_without_items_or_events(committed, results):
    proposed = _edited(committed, t0="5m", t2="2d")
    simulation = simulate(results, committed, proposed, NOW)
    rejudged = simulation.rejudged
    assert (rejudged.reused_rows, rejudged.recomputed_rows, rejudged.new_rows) == (results.height, 0, 0)
    paired = simulation.paired.sort("item_id", "metric")
    original = results.sort("item_id", "metric")
    assert paired["elapsed_s_after"].to_list() == original["elapsed_s"].to_list()
    email = paired.filter((pl.col("metric") == "first_response") & (pl.col("channel") == "email"))
    assert email["within_s_after"].unique().to_list() == [4 * 3600.0]
    chat = paired.filter((pl.col("metric") == "first_response") & (pl.col("channel") == "chat"))
    assert chat["within_s_after"].unique().to_list() == [300.0]


def test_changing_a_calendar_or_the_matching_needs_the_raw_items(committed, results):
    raw = dict(committed.raw)
    raw["targets"] = [dict(t) for t in raw["targets"]]
    raw["targets"][1]["calendar"] = "always"
    to_always = parse_policy_mapping(raw, "proposed")
    mapping = target_mapping(as_history(committed), to_always)
    assert mapping.filter(pl.col("target_index") == 1)["action"].to_list() == ["recompute"]
    assert set(mapping.filter(pl.col("target_index") != 1)["action"].to_list()) == {"reuse"}
    with pytest.raises(SimulationInputError, match="items and events are needed"):
        simulate(results, committed, to_always, NOW)


def test_the_comparison_shows_the_error_budget_under_both_objectives(committed, results):
    raw = dict(committed.raw)
    raw["objective"] = 0.8
    proposed = parse_policy_mapping(raw, "proposed")
    table = simulate(results, committed, proposed, NOW).comparison
    first = table.filter(pl.col("metric") == "first_response").row(0, named=True)
    assert first["error_budget_before"] == pytest.approx(0.05)
    assert first["error_budget_after"] == pytest.approx(0.2)
    breach_rate = first["breached_before"] / (first["met_before"] + first["breached_before"])
    assert first["budget_consumed_before"] == pytest.approx(breach_rate / 0.05)
    assert first["budget_consumed_after"] == pytest.approx(breach_rate / 0.2)
    resolution = table.filter(pl.col("metric") == "resolution").row(0, named=True)
    assert resolution["error_budget_before"] == pytest.approx(0.1)  # the target's own objective wins
    assert resolution["error_budget_after"] == pytest.approx(0.1)


@pytest.mark.parametrize("objective", [0.5, 0.9, 0.95, 1.0])
def test_the_advice_is_the_tightest_budget_that_meets_the_objective(committed, results, objective):
    simulation = simulate(results, committed, committed, NOW, by=["team"], advice_objective=objective)
    advice = simulation.advice
    decided = simulation.paired.filter(pl.col("met_after").is_not_null())
    assert advice.height == decided.select("target_index_after", "team").unique().height
    for row in advice.iter_rows(named=True):
        elapsed = sorted(
            decided.filter((pl.col("target_index_after") == row["target"]) & (pl.col("team") == row["team"]))[
                "elapsed_s_after"
            ].to_list()
        )
        advised = row["advised_within_s"]
        met_share = sum(e <= advised for e in elapsed) / len(elapsed)
        assert met_share >= objective
        tighter = [e for e in elapsed if e < advised]
        if tighter:
            assert sum(e <= tighter[-1] for e in elapsed) / len(elapsed) < objective
        assert row["decided"] == len(elapsed)
        assert row["current_targets"] == 1
        assert row["current_within_s"] == committed.targets[row["target"]].within_s


def test_the_advice_shows_the_committed_budget_next_to_the_advised_one(committed, results):
    advice = advise(simulate(results, committed, _edited(committed, t2="2d"), NOW).paired, 0.95, per_target=False)
    resolution = advice.filter(pl.col("metric") == "resolution").row(0, named=True)
    assert resolution["current_within_s"] == 3 * 86400
    assert resolution["proposed_within_s"] == 2 * 86400
    first = advice.filter(pl.col("metric") == "first_response").row(0, named=True)
    assert first["current_targets"] == 2  # chat 10m and email 4h share the metric slice


def test_weekly_series_count_the_same_decided_items_under_both_policies_when_nothing_changes(committed, results):
    weekly = simulate(results, committed, committed, NOW).weekly
    assert set(weekly["metric"].to_list()) == {"first_response", "resolution"}
    weekly = weekly.group_by("period", "policy").agg(pl.col("decided", "met").sum()).with_columns(
        attainment=pl.col("met") / pl.col("decided")
    ).sort("period", "policy")
    committed_side = weekly.filter(pl.col("policy") == "committed").drop("policy")
    proposed_side = weekly.filter(pl.col("policy") == "proposed").drop("policy")
    assert committed_side.equals(proposed_side)
    assert committed_side["decided"].sum() == results.filter(pl.col("met").is_not_null()).height
    first_week = results.filter(pl.col("met").is_not_null()).sort("created").row(0, named=True)["created"]
    monday = (first_week - timedelta(days=first_week.weekday())).date()
    assert committed_side["period"].min() == monday
    assert all(0 <= a <= 1 for a in committed_side["attainment"].to_list())
    assert not any(math.isnan(a) for a in committed_side["attainment"].to_list())


def test_slicing_by_an_unknown_column_is_refused_with_the_allowed_columns(committed, results):
    with pytest.raises(SimulationInputError, match="cannot slice by 'subject'"):
        simulate(results, committed, committed, NOW, by=["subject"])
