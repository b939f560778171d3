"""What-if page views: the comparison, flips and advice tables and their headline figures.

The editor tables <-> policy codec lives in sla_core.policy_edit, the weekly chart in sla_ui.charts and the
runner in sla_app.what_if.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from sla_core.budget import attainment, budget_consumed, weighted_objective
from sla_core.durations import format_duration
from sla_core.policy import Policy
from sla_core.simulate import Simulation
from sla_ui import charts, view
from sla_ui.view import metric_label, plain


def target_label(policy: Policy, index: int | None) -> str:
    """'first_response · channel=email, priority=urgent' for a target index."""
    if index is None or index >= len(policy.targets):
        return "no target"
    target = policy.targets[index]
    match = ", ".join(f"{k}={'|'.join(v)}" for k, v in target.match.items()) or "all items"
    return f"#{index + 1} {target.metric} · {match}"


def duration_or_blank(seconds: float | None) -> str:
    return "" if seconds is None else format_duration(seconds)


MIN_ADVICE_ITEMS = 20  # advice from fewer decided items is marked as a small sample


def advice_view(advice: pl.DataFrame, proposed: Policy, min_items: int = MIN_ADVICE_ITEMS) -> pl.DataFrame:
    """The advice table with readable target names and durations; advice drawn from fewer than
    `min_items` decided items is marked as a small sample (one or two items say little)."""
    if advice.is_empty():
        return advice
    labels = {i: target_label(proposed, i) for i in advice["target"].drop_nulls().unique().to_list()}
    slice_columns = [c for c in advice.columns if c not in {
        "metric", "target", "decided", "objective", "current_within_s", "current_targets",
        "proposed_within_s", "advised_within_s"}]
    return advice.select(
        pl.col("target").replace_strict(labels, default="no target", return_dtype=pl.String).alias("target"),
        *slice_columns,
        "decided",
        pl.col("current_within_s").map_elements(duration_or_blank, return_dtype=pl.String).alias("committed"),
        pl.col("proposed_within_s").map_elements(duration_or_blank, return_dtype=pl.String).alias("proposed"),
        pl.col("advised_within_s").map_elements(duration_or_blank, return_dtype=pl.String).alias(
            "tightest that meets the objective"
        ),
        (pl.col("advised_within_s") <= pl.col("proposed_within_s")).alias("proposed would meet it"),
        pl.when(pl.col("decided") < min_items)
        .then(pl.format("⚠ small sample: {} items", pl.col("decided")))
        .otherwise(pl.lit("")).alias("sample"),
    ).sort(pl.col("decided") < min_items, maintain_order=True)


PERCENT_COLUMNS = {
    column: st.column_config.NumberColumn(column.replace("_", " "), format="percent")
    for column in ("committed", "proposed", "budget used, committed", "budget used, proposed")
} | {"change": st.column_config.NumberColumn("change (pp)", format="%+.1f")}


def slices_attainment(rows: pl.DataFrame, side: str) -> float | None:
    """Attainment of several compared slices together (budget.attainment of their summed counts)."""
    return attainment(int(rows[f"met_{side}"].sum()), int(rows[f"breached_{side}"].sum()))


def budget_used(rows: pl.DataFrame, side: str) -> float | None:
    """budget.budget_consumed of several compared slices together, their objective weighted by decided
    items; None when nothing is decided or the objective allows no breach."""
    decided = rows[f"met_{side}"] + rows[f"breached_{side}"]
    objective = weighted_objective(rows[f"objective_{side}"], decided)
    if objective is None or objective >= 1:
        return None
    return budget_consumed(int(rows[f"breached_{side}"].sum()), int(decided.sum()), objective)


def budget_text(rows: pl.DataFrame, side: str) -> str:
    used = budget_used(rows, side)
    return "–" if used is None else f"{used:.0%}"


def objective_of(table: pl.DataFrame) -> float | None:
    """The proposed objective of the compared slices (decided-weighted), for the chart's line."""
    return weighted_objective(table["objective_after"], table["met_after"] + table["breached_after"])


def comparison_view(table: pl.DataFrame, by: str, with_metric: bool = True) -> pl.DataFrame:
    return table.select(
        *(["metric"] if with_metric else []),
        pl.col(by).fill_null("(none)"),
        pl.col("items_before").alias("items"),
        pl.col("attainment_before").alias("committed"),
        pl.col("attainment_after").alias("proposed"),
        (100 * pl.col("delta")).alias("change"),
        pl.col("met_to_breached").alias("met → breached"),
        pl.col("breached_to_met").alias("breached → met"),
        pl.col("budget_consumed_before").alias("budget used, committed"),
        pl.col("budget_consumed_after").alias("budget used, proposed"),
    )


def flips_view(flips: pl.DataFrame) -> pl.DataFrame:
    readable = pl.col("within_s_before"), pl.col("elapsed_s_before"), pl.col("within_s_after"), pl.col(
        "elapsed_s_after"
    )
    names = ("committed budget", "elapsed (committed)", "proposed budget", "elapsed (proposed)")
    return flips.select(
        "flip",
        "item_id",
        "metric",
        "channel",
        "team",
        "priority",
        pl.col("created").dt.strftime("%Y-%m-%d %H:%M"),
        *[
            column.map_elements(duration_or_blank, return_dtype=pl.String).alias(name)
            for column, name in zip(readable, names, strict=True)
        ],
    )


def editor_height(rows: int, row_px: int = 35) -> int:
    """Pixels for a data editor that shows `rows` rows (plus its header) without scrolling."""
    return row_px * (rows + 1) + 3


def change(before: float | None, after: float | None, smallest: float = 0.0005) -> float | None:
    """after - before, or None when either is missing or the change rounds to nothing (no arrow shown)."""
    if before is None or after is None or abs(after - before) < smallest:
        return None
    return after - before


def history_caption(filters: Any, simulation: Simulation) -> str:
    """Which history was simulated and how much of it was re-judged from stored elapsed time."""
    metric = filters.metric.replace("_", " ") if filters.metric else "every metric"
    if filters.date_from and filters.date_to:
        days = f"created {filters.date_from:%d %b %Y} – {filters.date_to:%d %b %Y}"
    else:
        days = "created at any time"
    narrowed = [", ".join(v) for v in (filters.channels, filters.teams, filters.priorities) if v]
    rejudged = simulation.rejudged
    return (
        f"History: {metric}, items {days}" + (f" ({'; '.join(narrowed)})" if narrowed else "")
        + f" - {rejudged.reused_rows:,} results re-judged from stored elapsed time, "
        f"{rejudged.recomputed_rows + rejudged.new_rows:,} recomputed, {rejudged.dropped_rows:,} no longer judged."
    )


def show_headlines(table: pl.DataFrame, metrics: list[str]) -> None:
    """Per metric: attainment committed vs proposed, the flips and the error budget used."""
    for metric in metrics:
        rows = table.filter(pl.col("metric") == metric)
        before = slices_attainment(rows, "before")
        after = slices_attainment(rows, "after")
        st.markdown(f"#### {plain(metric_label(metric))}")
        cols = st.columns(5)
        cols[0].metric("Attainment, committed", view.pct(before))
        cols[1].metric("Attainment, proposed", view.pct(after),
                       delta=view.points(change(before, after)))
        cols[2].metric("Met → breached", f"{int(rows['met_to_breached'].sum()):,}")
        cols[3].metric("Breached → met", f"{int(rows['breached_to_met'].sum()):,}")
        used_before, used_after = budget_used(rows, "before"), budget_used(rows, "after")
        budget_change = change(used_before, used_after, 0.005)
        cols[4].metric("Error budget used", budget_text(rows, "after"),
                       delta=None if budget_change is None else f"{100 * budget_change:+.0f} pp vs committed",
                       delta_color="inverse",
                       help=f"Under the proposal; committed: {budget_text(rows, 'before')}. Budget = 1 - "
                            "objective; used = breach rate / budget (over 100% means the objective is missed).")


def show_simulation(last: dict[str, Any], proposed: Policy | None, committed: Policy, filters: Any) -> None:
    """The last simulation: headline figures, the per-slice comparison, weekly chart, flips and advice.
    `last` holds the simulation and the filters, slicing and objective it ran with; `filters` are the
    sidebar's now (a changed selection asks for a new run)."""
    simulation = last["simulation"]
    if proposed is None or last["fingerprint"] != proposed.fingerprint or last["filters"] != filters:
        st.info("The targets or filters changed since this simulation: press Simulate again.",
                icon=":material/refresh:")
    table = simulation.comparison
    metrics = table["metric"].unique(maintain_order=True).to_list()
    st.caption(plain(history_caption(last["filters"], simulation)))
    if table.is_empty():
        view.empty_state("No judged items match the sidebar filters.")
    show_headlines(table, metrics)

    st.subheader(plain(f"Per {last['by']}"))
    view.table(
        comparison_view(table, last["by"], with_metric=len(metrics) > 1),
        f"what-if per {last['by']}",
        key="whatif_comparison",
        column_config=PERCENT_COLUMNS,
        caption="attainment = met / (met + breached); budget used = breach rate / (1 - objective)",
    )
    weekly = simulation.weekly
    for metric in metrics:
        objective = objective_of(table.filter(pl.col("metric") == metric))
        st.plotly_chart(
            charts.what_if_weekly(weekly.filter(pl.col("metric") == metric), objective,
                                  f"{metric_label(metric)}: weekly attainment, committed vs proposed"),
            key=f"whatif_weekly_{metric}",
        )

    st.subheader("Items that flip")
    flips = simulation.flips
    if flips.is_empty():
        st.success("No item changes verdict under the proposal.", icon=":material/check:")
    else:
        view.table(flips_view(flips), "what-if flips", key="whatif_flips", height=320,
                   caption=f"{flips.height:,} items change verdict (elapsed and budgets in business time).")

    st.subheader(f"Advice: the tightest target that meets {last['objective']:.0%}")
    view.table(
        advice_view(simulation.advice, proposed or committed),
        "what-if advice",
        key="whatif_advice",
        caption="Over the filtered period: the budget at which the objective share of decided items was met. "
                f"Advice from fewer than {MIN_ADVICE_ITEMS} decided items is marked as a small sample and listed "
                "last: a handful of items cannot tell which target is right.",
    )
