"""Re-judging stored results must agree with judging the raw items from scratch by the proposed policy."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import sla_core.rejudge as rejudge_module
from sla_core.clocks import evaluate
from sla_core.policy import PolicyHistory, as_history
from sla_core.policy_yaml import parse_policy, parse_policy_mapping
from sla_core.simulate import simulate
from sla_core.target_mapping import (
    ITEM_ATTRIBUTES,
    JUDGEMENT,
    KEYS,
    RESULT_COLUMNS,
    only_budgets,
    target_mapping,
)

POLICY_V1 = """\
version: 1
effective_from: 2026-01-01
objective: 0.95
calendars:
  office:
    timezone: Europe/Amsterdam
    hours: {mon-fri: ["08:00-12:00", "13:00-17:00"]}
  always: 24/7
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: resolved, pause_when_status: [pending]}
targets:
  - {metric: first_response, match: {channel: chat}, within: 15m, calendar: office}
  - {metric: first_response, match: {channel: email}, within: 4h, calendar: office}
  - {metric: resolution, match: {priority: urgent}, within: 8h, calendar: office}
  - {metric: resolution, match: {kind: ticket}, within: 3d, calendar: office, objective: 0.9}
"""
NOW = datetime(2026, 3, 20, 15, 45, tzinfo=UTC)
COMPARED = ["target_index", "calendar", "within_s", "objective", "state", "met", "start", "stop"]


def before_results(paired: pl.DataFrame) -> pl.DataFrame:
    """The committed judgement as a results frame (contract columns)."""
    return paired.filter(pl.col("policy_version").is_not_null()).select(RESULT_COLUMNS)


def after_results(paired: pl.DataFrame) -> pl.DataFrame:
    """The proposed judgement as a results frame (contract columns)."""
    after = paired.filter(pl.col("policy_version_after").is_not_null())
    return after.select(
        *KEYS, *ITEM_ATTRIBUTES, *[pl.col(f"{column}_after").alias(column) for column in JUDGEMENT]
    )


def raw_history(count: int = 1500, seed: int = 42) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    items, events = [], []
    for n in range(count):
        created = datetime(2026, 1, 5, 7, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 74 * 24 * 60))
        first = created + timedelta(minutes=rng.expovariate(1 / 90)) if rng.random() < 0.95 else None
        resolved = created + timedelta(hours=rng.expovariate(1 / 30)) if rng.random() < 0.85 else None
        item_id = f"T{n}"
        first = first if first is None or first <= NOW else None
        resolved = resolved if resolved is None or resolved <= NOW else None
        status = "solved" if resolved else "open"
        end = resolved or NOW
        if rng.random() < 0.3:
            pause_start = created + (end - created) * rng.uniform(0.1, 0.5)
            events.append(("zendesk", item_id, pause_start, "status", "pending"))
            if resolved is not None or rng.random() < 0.5:
                events.append(("zendesk", item_id, pause_start + (end - pause_start) * 0.5, "status", "open"))
            else:
                status = "pending"  # still waiting on the customer: the item's status is its last status
        items.append(
            {
                "source": "zendesk",
                "item_id": item_id,
                "kind": "ticket",
                "process": "support",
                "channel": rng.choice(("chat", "email", "phone", "web")),
                "team": rng.choice(("Billing", "Technical", "Accounts")),
                "priority": rng.choice(("urgent", "high", "normal", "normal", "low")),
                "agent": f"agent{rng.randrange(5)}",
                "status": status,
                "subject": "help",
                "created": created,
                "first_response": first,
                "resolved": resolved,
                "closed": None,
            }
        )
    item_frame = pl.DataFrame(
        items,
        schema_overrides={c: pl.Datetime("us", "UTC") for c in ("created", "first_response", "resolved", "closed")},
    )
    event_frame = pl.DataFrame(
        events,
        schema={
            "source": pl.String,
            "item_id": pl.String,
            "occurred_at": pl.Datetime("us", "UTC"),
            "kind": pl.String,
            "value": pl.String,
        },
        orient="row",
    )
    return item_frame, event_frame


@pytest.fixture(scope="module")
def history():
    return parse_policy(POLICY_V1)


@pytest.fixture(scope="module")
def raw():
    return raw_history()


@pytest.fixture(scope="module")
def small_raw():
    return raw_history(300, seed=11)


@pytest.fixture(scope="module")
def small_stored(history, small_raw):
    items, events = small_raw
    return evaluate(items, events, history, NOW)


@pytest.fixture(scope="module")
def stored(history, raw):
    items, events = raw
    return evaluate(items, events, history, NOW)


def _edit(policy, change):
    raw = {key: value for key, value in policy.raw.items()}
    raw["targets"] = [dict(target) for target in raw["targets"]]
    raw["calendars"] = dict(raw["calendars"])
    change(raw)
    return parse_policy_mapping(raw, "proposed")


def _switch_chat_to_always(raw):
    raw["targets"][0]["calendar"] = "always"


def _add_saturday_hours(raw):
    raw["calendars"]["office"] = {
        "timezone": "Europe/Amsterdam",
        "hours": {"mon-fri": ["08:00-12:00", "13:00-17:00"], "sat": ["10:00-14:00"]},
    }


def _tighten_email(raw):
    raw["targets"][1]["within"] = "2h"


def _add_phone_target(raw):
    raw["targets"].insert(1, {"metric": "first_response", "match": {"channel": "phone"}, "within": "5m",
                              "calendar": "always"})


def _drop_urgent_resolution(raw):
    del raw["targets"][2]


def _restrict_chat_to_billing(raw):
    raw["targets"][0]["match"] = {"channel": "chat", "team": "Billing"}


CHANGES = {
    "switch chat to 24/7": _switch_chat_to_always,
    "add Saturday hours": _add_saturday_hours,
    "tighten email": _tighten_email,
    "add a phone target": _add_phone_target,
    "drop the urgent resolution target": _drop_urgent_resolution,
    "restrict chat to Billing": _restrict_chat_to_billing,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_proposed_judgement_equals_evaluating_the_raw_items_by_the_proposed_policy(
    history, raw, stored, change
):
    items, events = raw
    proposed = _edit(history, CHANGES[change])
    simulation = simulate(stored, history, proposed, NOW, items=items, events=events, with_due_at=True)

    expected = evaluate(items, events, PolicyHistory([proposed]), NOW).sort("source", "item_id", "metric")
    got = after_results(simulation.paired).sort("source", "item_id", "metric")

    assert got.select("source", "item_id", "metric").equals(expected.select("source", "item_id", "metric"))
    assert got.select(COMPARED).equals(expected.select(COMPARED))
    for column in ("elapsed_s", "paused_s", "remaining_s"):
        assert (got[column] - expected[column]).abs().max() < 1e-6, column
    assert got["due_at"].equals(expected["due_at"])
    assert before_results(simulation.paired).sort("source", "item_id", "metric").equals(
        stored.sort("source", "item_id", "metric").select(got.columns)
    )


def test_only_a_calendar_change_recomputes_business_time_and_only_for_its_rows(history, raw, stored):
    items, events = raw
    proposed = _edit(history, _switch_chat_to_always)
    rejudged = simulate(stored, history, proposed, NOW, items=items, events=events).rejudged
    chat_rows = stored.filter(pl.col("target_index") == 0).height
    assert rejudged.recomputed_rows == chat_rows
    assert rejudged.reused_rows == stored.height - chat_rows
    assert rejudged.new_rows == 0


def test_a_new_target_for_unjudged_items_adds_rows_without_touching_the_others(history, raw, stored):
    items, events = raw
    proposed = _edit(history, _add_phone_target)
    rejudged = simulate(stored, history, proposed, NOW, items=items, events=events).rejudged
    phone_started = items.filter(pl.col("channel") == "phone").height  # created <= NOW for every item
    assert rejudged.new_rows == phone_started
    assert rejudged.recomputed_rows == 0
    assert rejudged.reused_rows == stored.height


def test_history_judged_by_two_versions_is_compared_row_by_row_with_the_version_that_judged_it(raw):
    items, events = raw
    v1 = parse_policy(POLICY_V1)
    v2 = _edit(v1, lambda r: r.update(version=2, effective_from="2026-02-16") or _tighten_email(r))
    committed = PolicyHistory([v1, v2])
    stored = evaluate(items, events, committed, NOW)
    assert set(stored["policy_version"].unique().to_list()) == {1, 2}
    proposed = _edit(v2, lambda r: r["targets"][1].update(within="3h"))

    paired = simulate(stored, committed, proposed, NOW).paired
    email = paired.filter((pl.col("metric") == "first_response") & (pl.col("channel") == "email"))
    assert set(email.filter(pl.col("policy_version") == 1)["within_s"].to_list()) == {4 * 3600.0}
    assert set(email.filter(pl.col("policy_version") == 2)["within_s"].to_list()) == {2 * 3600.0}
    assert set(email["within_s_after"].to_list()) == {3 * 3600.0}


def test_the_raw_data_loader_runs_only_for_changes_that_need_business_time_recomputed(history, raw, stored):
    calls = []

    def load_raw(keys):
        calls.append(keys)
        return raw

    simulate(stored, history, _edit(history, _tighten_email), NOW, load_raw=load_raw)
    assert calls == []
    paired = simulate(stored, history, _edit(history, _switch_chat_to_always), NOW, load_raw=load_raw).paired
    assert len(calls) == 1
    chat_items = stored.filter(pl.col("target_index") == 0).select("source", "item_id").unique()
    assert calls[0].sort("item_id").equals(chat_items.sort("item_id"))  # only the rows to recompute
    simulate(stored, history, _edit(history, _add_phone_target), NOW, load_raw=load_raw)
    assert calls[1] is None  # a new target may match any item
    assert paired.filter(pl.col("target_index") == 0)["calendar_after"].unique().to_list() == ["always"]


BUDGETS = ("1m", "15m", "2h", "4h", "8h", "1d", "3d")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    budgets=st.lists(st.sampled_from(BUDGETS), min_size=4, max_size=4),
    calendars=st.lists(st.sampled_from(("office", "always")), min_size=4, max_size=4),
    objective=st.sampled_from((0.8, 0.9, 0.95)),
)
def test_any_mix_of_budget_and_calendar_changes_equals_a_full_evaluation(
    history, small_raw, small_stored, budgets, calendars, objective
):
    items, events = small_raw

    def change(raw):
        raw["objective"] = objective
        for target, within, calendar in zip(raw["targets"], budgets, calendars, strict=True):
            target.update(within=within, calendar=calendar)

    proposed = _edit(history, change)
    got = after_results(
        simulate(small_stored, history, proposed, NOW, items=items, events=events, with_due_at=True).paired
    ).sort("source", "item_id", "metric")
    expected = evaluate(items, events, PolicyHistory([proposed]), NOW).sort("source", "item_id", "metric")
    assert got.select(*COMPARED, "due_at").equals(expected.select(*COMPARED, "due_at"))
    assert (got["elapsed_s"] - expected["elapsed_s"]).abs().max() < 1e-6


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    budgets=st.lists(st.sampled_from(BUDGETS), min_size=4, max_size=4),
    objective=st.sampled_from((0.8, 0.9, 0.95)),
    with_due_at=st.booleans(),
)
def test_budget_changes_judged_as_one_plan_equal_the_step_by_step_judgement(
    history, small_stored, monkeypatch, budgets, objective, with_due_at
):
    def change(raw):
        raw["objective"] = objective
        for target, within in zip(raw["targets"], budgets, strict=True):
            target["within"] = within

    proposed = _edit(history, change)
    planned = simulate(small_stored, history, proposed, NOW, with_due_at=with_due_at)
    with monkeypatch.context() as patched:
        patched.setattr(rejudge_module, "only_budgets", lambda *args: False)
        stepwise = simulate(small_stored, history, proposed, NOW, with_due_at=with_due_at)
    assert planned.rejudged.reused_rows == stepwise.rejudged.reused_rows == small_stored.height
    order = ["source", "item_id", "metric", "instance"]
    assert_frame_equal(planned.paired.sort(order), stepwise.paired.sort(order))
    assert_frame_equal(planned.comparison, stepwise.comparison)
    assert_frame_equal(planned.flips, stepwise.flips)


def test_the_comparison_counts_each_slice_as_a_row_by_row_tally(history, stored):
    proposed = _edit(history, _tighten_email)
    simulation = simulate(stored, history, proposed, NOW, by=["team"])
    comparison = {(row["metric"], row["team"]): row for row in simulation.comparison.iter_rows(named=True)}
    tally: dict = {}
    for row in simulation.paired.iter_rows(named=True):
        slot = tally.setdefault((row["metric"], row["team"]), dict.fromkeys(
            ("items_before", "items_after", "met_before", "breached_before", "met_after", "breached_after",
             "met_to_breached", "breached_to_met"), 0) | {"objectives_before": [], "objectives_after": []})
        before, after = row["met"], row["met_after"]
        slot["items_before"] += row["policy_version"] is not None
        slot["items_after"] += row["policy_version_after"] is not None
        slot["met_before"] += before is True
        slot["breached_before"] += before is False
        slot["met_after"] += after is True
        slot["breached_after"] += after is False
        slot["met_to_breached"] += before is True and after is False
        slot["breached_to_met"] += before is False and after is True
        if before is not None:
            slot["objectives_before"].append(row["objective"])
        if after is not None:
            slot["objectives_after"].append(row["objective_after"])
    assert set(comparison) == set(tally)
    for key, expected in tally.items():
        got = comparison[key]
        for name in ("items_before", "items_after", "met_before", "breached_before", "met_after", "breached_after",
                     "met_to_breached", "breached_to_met"):
            assert got[name] == expected[name], (key, name)
        assert got["objective_before"] == pytest.approx(sum(expected["objectives_before"])
                                                        / len(expected["objectives_before"]))
        assert got["objective_after"] == pytest.approx(sum(expected["objectives_after"])
                                                       / len(expected["objectives_after"]))


def test_only_rows_whose_target_is_reused_take_the_budget_only_plan(history, stored):
    proposed = _edit(history, lambda raw: raw["targets"][1].update(calendar="always"))  # email: recompute
    mapping = target_mapping(as_history(history), proposed)
    around_email = stored.filter(pl.col("target_index").is_in([0, 2]))  # targets on both sides of the changed one
    assert only_budgets(around_email, as_history(history), proposed, mapping)
    assert not only_budgets(stored, as_history(history), proposed, mapping)
    assert not only_budgets(around_email.with_columns(pl.lit(None, pl.Int32).alias("target_index")),
                            as_history(history), proposed, mapping)
