"""What-if: judge the same history by a proposed policy, side by side with the committed one.

The committed results already hold each item's elapsed business time per metric. A proposed policy that
only changes budgets (`within`) or objectives re-judges every row with a join on (policy_version,
target_index) and a comparison - no business time is recomputed. Business time is recomputed (with
`sla_core.clocks.evaluate`, on just those items) only for rows whose calendar or metric definition changed,
and for items that newly match a target.

Everything here is pure: frames in, frames out; `now` is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import polars as pl

from sla_core.budget import attainment_expr, budget_consumed_expr, error_budget
from sla_core.policy import Policy, PolicyHistory
from sla_core.rejudge import RawLoader, Rejudged, rejudge
from sla_core.target_mapping import (
    KEYS,
    SLICE_COLUMNS,
    SimulationInputError,
    is_dimension,
)

# ------------------------------------------------------------------------------------------- summaries


def _slice_keys(by: Sequence[str]) -> list[str]:
    """metric + `by`: built-in slice columns or policy dimensions (columns of the results)."""
    unknown = [column for column in by if column not in (*SLICE_COLUMNS, "metric") and not is_dimension(column)]
    if unknown:
        raise SimulationInputError(
            f"cannot slice by {unknown[0]!r} (use: {', '.join(('metric', *SLICE_COLUMNS))})"
        )
    return ["metric", *[column for column in by if column != "metric"]]


# The figures compare() reports per slice, in order, after the slice keys.
COMPARISON_FIGURES = (
    "items_before",
    "items_after",
    "attainment_before",
    "attainment_after",
    "delta",
    "met_before",
    "breached_before",
    "met_after",
    "breached_after",
    "met_to_breached",
    "breached_to_met",
    "objective_before",
    "objective_after",
    "error_budget_before",
    "error_budget_after",
    "budget_consumed_before",
    "budget_consumed_after",
)


_COUNTS = ("items_before", "met_before", "breached_before", "items_after", "met_after", "breached_after",
           "met_to_breached", "breached_to_met")


def compare(paired: pl.DataFrame | pl.LazyFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Per slice (metric + `by`): attainment, error budget and flips under both policies.

    attainment, error_budget and budget_consumed as in sla_core.budget, with the objective the mean over
    the slice's decided rows (so each item weighs in with its own target's objective).
    """
    keys = _slice_keys(by)
    met_b, met_a = pl.col("met"), pl.col("met_after")
    # One flag per row and figure, then plain sums and means per slice (polars' fast aggregations). Sums of
    # booleans skip nulls: met counts met items, ~met breached ones; an objective counts where decided.
    flags = paired.lazy().select(
        *keys,
        items_before=pl.col("policy_version").is_not_null(),
        met_before=met_b,
        breached_before=~met_b,
        items_after=pl.col("policy_version_after").is_not_null(),
        met_after=met_a,
        breached_after=~met_a,
        met_to_breached=met_b & ~met_a,
        breached_to_met=~met_b & met_a,
        objective_before=pl.when(met_b.is_not_null()).then(pl.col("objective")),
        objective_after=pl.when(met_a.is_not_null()).then(pl.col("objective_after")),
    )
    table = flags.group_by(keys).agg(pl.col(*_COUNTS).sum(), pl.col("objective_before", "objective_after").mean())
    return (
        table.with_columns(
            attainment_before=attainment_expr(pl.col("met_before"), pl.col("breached_before")),
            attainment_after=attainment_expr(pl.col("met_after"), pl.col("breached_after")),
            error_budget_before=error_budget(pl.col("objective_before")),
            error_budget_after=error_budget(pl.col("objective_after")),
        )
        .with_columns(
            delta=pl.col("attainment_after") - pl.col("attainment_before"),
            budget_consumed_before=budget_consumed_expr(
                pl.col("breached_before"), pl.col("met_before") + pl.col("breached_before"), pl.col("error_budget_before")),
            budget_consumed_after=budget_consumed_expr(
                pl.col("breached_after"), pl.col("met_after") + pl.col("breached_after"), pl.col("error_budget_after")),
        )
        .select(*keys, *COMPARISON_FIGURES)
        .sort(keys, nulls_last=True)
        .collect()
    )


FLIP_TO_BREACHED = "met → breached"
FLIP_TO_MET = "breached → met"


_FLIP_COLUMNS = (
    *KEYS, "channel", "team", "priority", "agent", "created", "met", "met_after", "calendar", "within_s",
    "elapsed_s", "calendar_after", "within_s_after", "elapsed_s_after",
)


def flips(paired: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Items whose verdict changes: met -> breached and breached -> met, with both budgets and elapsed."""
    met_b, met_a = pl.col("met"), pl.col("met_after")
    changed = paired.lazy().select(*_FLIP_COLUMNS).filter(
        ((met_b == True) & (met_a == False)) | ((met_b == False) & (met_a == True))  # noqa: E712
    )
    return changed.select(
        pl.when(pl.col("met")).then(pl.lit(FLIP_TO_BREACHED)).otherwise(pl.lit(FLIP_TO_MET)).alias("flip"),
        *KEYS,
        "channel",
        "team",
        "priority",
        "agent",
        "created",
        pl.col("calendar").alias("calendar_before"),
        pl.col("within_s").alias("within_s_before"),
        pl.col("elapsed_s").alias("elapsed_s_before"),
        "calendar_after",
        "within_s_after",
        "elapsed_s_after",
    ).sort("flip", "metric", "created").collect()


def weekly(paired: pl.DataFrame | pl.LazyFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Weekly attainment under both policies: period (Monday of the item's created week, UTC), policy
    ("committed" | "proposed"), *by, decided, met, attainment = met / decided."""
    keys = list(by)
    days = pl.col("created").dt.epoch("d")
    # 1970-01-01 was a Thursday: (days + 3) % 7 is the weekday with Monday = 0
    period = (days - (days + 3) % 7).cast(pl.Int32).cast(pl.Date).alias("period")
    counts = paired.lazy().select("created", "met", "met_after", *keys).group_by(period, *keys).agg(
        decided_committed=pl.col("met").is_not_null().sum(),
        met_committed=pl.col("met").sum(),
        decided_proposed=pl.col("met_after").is_not_null().sum(),
        met_proposed=pl.col("met_after").sum(),
    )
    sides = [
        counts.select(
            "period",
            pl.lit(label).alias("policy"),
            *keys,
            pl.col(f"decided_{label}").alias("decided"),
            pl.col(f"met_{label}").alias("met"),
        ).filter(pl.col("decided") > 0)
        for label in ("committed", "proposed")
    ]
    table = pl.concat(sides, how="vertical_relaxed").with_columns(attainment=pl.col("met") / pl.col("decided"))
    return table.sort("period", "policy", *keys).collect()


def advise(
    paired: pl.DataFrame | pl.LazyFrame, objective: float, by: Sequence[str] = (), per_target: bool = True
) -> pl.DataFrame:
    """Per slice (metric + `by`, and the proposed target unless `per_target` is false): the tightest
    budget that would have met `objective` over the period.

    advised_within_s = the k-th smallest elapsed_s among decided items, k = ceil(objective * decided):
    with that budget exactly k or more items meet it. Uses the proposed judgement's elapsed time (which
    equals the committed one unless a calendar changed), next to the committed and proposed budgets.
    """
    if not 0 < objective <= 1:
        raise SimulationInputError(f"objective {objective} must be in (0, 1]")
    keys = _slice_keys(by)
    paired = paired.lazy()
    if per_target:
        paired = paired.with_columns(target=pl.col("target_index_after"))
        keys = [keys[0], "target", *keys[1:]]
    # narrow first: filtering the wide paired frame would copy every column
    paired = paired.select(*keys, "met_after", "elapsed_s_after", "within_s", "within_s_after")
    decided = paired.filter(pl.col("met_after").is_not_null())
    # a tiny epsilon keeps 0.95 * 20 (= 19.000000000000004 in floating point) at 19
    needed = ((pl.len() * objective) - 1e-9).ceil().cast(pl.Int64).clip(1)
    advice = decided.group_by(keys).agg(
        decided=pl.len(),
        advised_within_s=pl.col("elapsed_s_after").sort().get(needed - 1),
    )
    budgets = paired.group_by(keys).agg(
        current_within_s=pl.col("within_s").drop_nulls().mode().sort().first(),
        current_targets=pl.col("within_s").drop_nulls().n_unique(),
        proposed_within_s=pl.col("within_s_after").drop_nulls().mode().sort().first(),
    )
    return (
        advice.join(budgets, on=keys, how="left", nulls_equal=True)
        .with_columns(objective=pl.lit(objective))
        .select(
            *keys,
            "decided",
            "objective",
            "current_within_s",
            "current_targets",
            "proposed_within_s",
            "advised_within_s",
        )
        .sort(keys, nulls_last=True)
        .collect()
    )


@dataclass
class Simulation:
    """A what-if run: the paired judgement and the views the page and the CLI show."""

    rejudged: Rejudged
    by: tuple[str, ...] = ()
    advice_objective: float = 0.95

    @property
    def paired(self) -> pl.DataFrame:
        return self.rejudged.paired

    # Each summary reads only the columns it needs from the re-judging plan.
    @cached_property
    def comparison(self) -> pl.DataFrame:
        return compare(self.rejudged.lazy(), self.by)

    @cached_property
    def flips(self) -> pl.DataFrame:
        return flips(self.rejudged.lazy())

    @cached_property
    def weekly(self) -> pl.DataFrame:
        return weekly(self.rejudged.lazy(), ["metric"])

    @cached_property
    def advice(self) -> pl.DataFrame:
        return advise(self.rejudged.lazy(), self.advice_objective, self.by)


def simulate(
    results: pl.DataFrame,
    committed: PolicyHistory | Policy,
    proposed: Policy,
    now: datetime,
    by: Sequence[str] = (),
    items: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    advice_objective: float = 0.95,
    with_due_at: bool = False,
    load_raw: RawLoader | None = None,
) -> Simulation:
    """Judge the history behind `results` by `proposed`; summaries are computed when first asked for.

    `by` may name policy dimensions the results carry as columns."""
    _slice_keys(by)
    missing = [name for name in by if name not in (*SLICE_COLUMNS, "metric") and name not in results.columns]
    if missing:
        raise SimulationInputError(f"cannot slice by {missing[0]!r}: the results have no such column "
                                   "(declare it under the policy's dimensions)")
    rejudged = rejudge(
        results, committed, proposed, now, items, events, with_due_at=with_due_at, load_raw=load_raw
    )
    return Simulation(rejudged, tuple(by), advice_objective)
