"""Attainment and error budgets: one home for each formula (Google SRE workbook definitions).

Every other module calls these. A figure that aggregates in DuckDB uses the same definitions, written once
in the store (sla_store.measures). Scalars take counts; the `_expr` twins compute the same thing on polars
columns. Terms:

- decided: items whose verdict is known (met or breached); running items are counted but not judged.
- objective: the share of decided items that should meet their target (e.g. 0.95).
"""

from __future__ import annotations

import polars as pl


def attainment(met: float, breached: float) -> float | None:
    """attainment = met / (met + breached); None when nothing is decided."""
    decided = met + breached
    return met / decided if decided else None


def attainment_expr(met: pl.Expr, breached: pl.Expr) -> pl.Expr:
    """`attainment` on columns: met / (met + breached), null when nothing is decided."""
    decided = met + breached
    return pl.when(decided > 0).then(met / decided).otherwise(pl.lit(None, pl.Float64))


def error_budget(objective: float | pl.Expr) -> float | pl.Expr:
    """error budget = 1 - objective (the share of decided items allowed to breach); also on a column."""
    return 1.0 - objective


def breach_rate(breached: float, decided: float) -> float:
    """breach rate = breached / decided (0 when nothing is decided)."""
    return breached / decided if decided else 0.0


def budget_consumed(breached: float, decided: float, objective: float) -> float:
    """budget consumed = (breached / decided) / (1 - objective): 1.0 spends the budget exactly, above 1 is
    overspent. Over a window this is the window's burn rate (1.0 = spending at exactly the allowed pace)."""
    return breach_rate(breached, decided) / error_budget(objective)


def budget_left(breached: float, decided: float, objective: float) -> float:
    """budget left = 1 - budget_consumed (negative once overspent)."""
    return 1.0 - budget_consumed(breached, decided, objective)


def budget_consumed_expr(breached: pl.Expr, decided: pl.Expr, error_budget: pl.Expr) -> pl.Expr:
    """`budget_consumed` on columns: (breached / decided) / error_budget, null when nothing is decided or
    the error budget is not positive (an objective of 100% allows no breach)."""
    return (
        pl.when((decided > 0) & (error_budget > 0))
        .then(breached / decided / error_budget)
        .otherwise(pl.lit(None, pl.Float64))
    )


def allowed_breaches(objectives: pl.Expr) -> pl.Expr:
    """Error budget in items, an aggregation over decided items: sum of (1 - objective_i).

    With one objective this is decided * (1 - objective); with mixed targets each item brings its own share
    of budget, so a slice mixing a 95% and a 90% target is judged fairly."""
    return (1.0 - objectives).sum()


def burn_rate(breached: float, allowed: float) -> float | None:
    """burn rate = breached / allowed breaches (= (breached / decided) / (1 - objective) with one objective).

    1.0 spends exactly the whole budget over the SLO window; 14.4 spends a 30-day budget in ~2 days.
    None when nothing was decided (no budget to burn)."""
    if allowed <= 0:
        return None
    return breached / allowed


def burn_rate_expr(breached: pl.Expr, allowed: pl.Expr) -> pl.Expr:
    """`burn_rate` on columns: breached / allowed, null when allowed is 0."""
    return pl.when(allowed > 0).then(breached / allowed).otherwise(None)


def weighted_objective(objectives: pl.Series, decided: pl.Series) -> float | None:
    """The objective of several slices together: sum(objective_i * decided_i) / sum(decided_i), the
    decided-item-weighted mean (each slice's objective is already the mean over its decided items; a
    missing objective counts as 0). None when nothing is decided."""
    total = decided.sum()
    if not total:
        return None
    return float((objectives.fill_null(0.0) * decided).sum() / total)


def decided_at() -> pl.Expr:
    """The instant an item's verdict became known: its stop when met; when breached, the instant its budget
    ran out (due_at, or its stop if that came first or no due instant is known); null while undecided."""
    return (
        pl.when(pl.col("met") == True)  # noqa: E712 - null must not count
        .then(pl.col("stop"))
        .when(pl.col("met") == False)  # noqa: E712
        .then(pl.min_horizontal("due_at", pl.coalesce("stop", "due_at")))
    )
