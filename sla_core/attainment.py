"""Attainment over any slice of results, and warning levels (the formulas live in sla_core.budget)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from sla_core.budget import attainment_expr

ATTAINMENT_COLUMNS = ("items", "met", "breached", "active", "attainment", "median_elapsed_s", "p90_elapsed_s")
WARNING_LEVELS = ("on track", "50%", "75%", "breached")


def attainment_aggregates() -> list[pl.Expr]:
    """The attainment columns as aggregations (usable in any group_by).

    items = rows; met = met is True; breached = met is False; active = state in (active, paused);
    attainment = met / (met + breached), null when nothing is decided;
    median / p90 elapsed over decided items (linear interpolation).
    """
    met = (pl.col("met") == True).sum().cast(pl.Int64)  # noqa: E712 - null must not count
    breached = (pl.col("met") == False).sum().cast(pl.Int64)  # noqa: E712
    decided_elapsed = pl.when(pl.col("met").is_not_null()).then(pl.col("elapsed_s"))  # nulls are skipped
    return [
        pl.len().cast(pl.Int64).alias("items"),
        met.alias("met"),
        breached.alias("breached"),
        pl.col("state").is_in(["active", "paused"]).sum().cast(pl.Int64).alias("active"),
        attainment_expr(met, breached).alias("attainment"),
        decided_elapsed.median().alias("median_elapsed_s"),
        decided_elapsed.quantile(0.9, interpolation="linear").alias("p90_elapsed_s"),
    ]


def attainment(results: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """*by, items, met, breached, active (active + paused), attainment, median_elapsed_s, p90_elapsed_s.

    attainment = met / (met + breached), null when nothing is decided. Sorted by the `by` columns.
    With no `by`, one row for all results.
    """
    by = list(by)
    if not by:
        return results.select(attainment_aggregates())
    return results.group_by(by).agg(attainment_aggregates()).sort(by, nulls_last=True)


def warning_level(pct_used: pl.Expr) -> pl.Expr:
    """'on track' below 50% of the budget, '50%' from 50, '75%' from 75, 'breached' past 100% (null stays null).

    Exactly 100% is still within budget, as in the state column (met when elapsed <= within).
    """
    return (
        pl.when(pct_used.is_null()).then(pl.lit(None, pl.String))
        .when(pct_used > 100).then(pl.lit("breached"))
        .when(pct_used >= 75).then(pl.lit("75%"))
        .when(pct_used >= 50).then(pl.lit("50%"))
        .otherwise(pl.lit("on track"))
    )
