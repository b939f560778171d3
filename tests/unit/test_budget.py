"""The attainment and error-budget formulas, each on a table of values worked out by hand."""

from datetime import UTC, datetime

import polars as pl
import pytest

from sla_core import budget


@pytest.mark.parametrize(("met", "breached", "share"), [(95, 5, 0.95), (0, 3, 0.0), (4, 0, 1.0), (0, 0, None)])
def test_attainment_is_met_over_decided_and_none_when_nothing_is_decided(met, breached, share):
    assert budget.attainment(met, breached) == share
    frame = pl.DataFrame({"met": [met], "breached": [breached]})
    assert frame.select(budget.attainment_expr(pl.col("met"), pl.col("breached"))).item() == share


@pytest.mark.parametrize(("objective", "error_budget"), [(0.95, 0.05), (0.9, 0.1), (0.999, 0.001), (0.5, 0.5)])
def test_error_budget_is_one_minus_the_objective(objective, error_budget):
    assert budget.error_budget(objective) == pytest.approx(error_budget)


@pytest.mark.parametrize(
    ("breached", "decided", "objective", "rate", "consumed", "left"),
    [(5, 100, 0.95, 0.05, 1.0, 0.0), (2, 100, 0.95, 0.02, 0.4, 0.6), (10, 100, 0.95, 0.1, 2.0, -1.0),
     (0, 0, 0.95, 0.0, 0.0, 1.0), (3, 30, 0.9, 0.1, 1.0, 0.0), (72, 100, 0.95, 0.72, 14.4, -13.4)],
)
def test_budget_consumed_is_the_breach_rate_over_the_error_budget(breached, decided, objective, rate, consumed,
                                                                   left):
    assert budget.breach_rate(breached, decided) == pytest.approx(rate)
    assert budget.budget_consumed(breached, decided, objective) == pytest.approx(consumed)
    assert budget.budget_left(breached, decided, objective) == pytest.approx(left)


@pytest.mark.parametrize(
    ("breached", "decided", "error_budget", "consumed"),
    [(5, 100, 0.05, 1.0), (10, 100, 0.05, 2.0), (0, 0, 0.05, None), (3, 10, 0.0, None)],
)
def test_budget_consumed_on_columns_is_null_without_decisions_or_budget(breached, decided, error_budget, consumed):
    frame = pl.DataFrame({"b": [breached], "d": [decided], "e": [error_budget]})
    got = frame.select(budget.budget_consumed_expr(pl.col("b"), pl.col("d"), pl.col("e"))).item()
    assert got == (pytest.approx(consumed) if consumed is not None else None)


@pytest.mark.parametrize(("breached", "allowed", "expected"), [
    (0, 10.0, 0.0), (1, 1.0, 1.0), (72, 5.0, 14.4), (30, 5.0, 6.0), (3, 0.0, None),
])
def test_burn_rate_is_breaches_over_allowed_breaches(breached, allowed, expected):
    got = budget.burn_rate(breached, allowed)
    assert got == (pytest.approx(expected) if expected is not None else None)
    column = pl.DataFrame({"b": [breached], "a": [allowed]}).select(
        budget.burn_rate_expr(pl.col("b"), pl.col("a"))).item()
    assert column == (pytest.approx(expected) if expected is not None else None)


def test_allowed_breaches_sum_each_items_own_budget():
    objectives = pl.Series([0.95, 0.95, 0.9, 0.8])
    assert pl.select(budget.allowed_breaches(pl.lit(objectives))).item() == pytest.approx(0.05 + 0.05 + 0.1 + 0.2)


def test_one_objective_makes_burn_rate_and_budget_consumed_the_same_figure():
    allowed = pl.select(budget.allowed_breaches(pl.lit(pl.Series([0.95] * 100)))).item()
    assert budget.burn_rate(7, allowed) == pytest.approx(budget.budget_consumed(7, 100, 0.95))


@pytest.mark.parametrize(
    ("objectives", "decided", "expected"),
    [([0.95, 0.9], [100, 100], 0.925), ([0.95, 0.9], [300, 100], 0.9375), ([0.95, 0.8], [10, 0], 0.95),
     ([0.95], [0], None), ([None, 0.9], [10, 10], 0.45)],
)
def test_weighted_objective_weighs_each_slice_by_its_decided_items(objectives, decided, expected):
    got = budget.weighted_objective(pl.Series(objectives, dtype=pl.Float64), pl.Series(decided))
    assert got == (pytest.approx(expected) if expected is not None else None)


def _t(hour):
    return datetime(2026, 11, 2, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("met", "stop", "due_at", "decided"),
    [(True, _t(10), _t(12), _t(10)),     # met: when it stopped
     (False, _t(14), _t(12), _t(12)),    # breached: when its budget ran out
     (False, None, _t(12), _t(12)),      # still running, already breached
     (False, _t(14), None, _t(14)),      # no due instant known: its stop
     (None, None, _t(12), None)],        # undecided
)
def test_decided_at_is_the_stop_when_met_and_the_breach_instant_when_breached(met, stop, due_at, decided):
    ts = pl.Datetime("us", "UTC")
    frame = pl.DataFrame({"met": [met], "stop": [stop], "due_at": [due_at]},
                         schema={"met": pl.Boolean, "stop": ts, "due_at": ts})
    assert frame.select(budget.decided_at()).item() == decided
