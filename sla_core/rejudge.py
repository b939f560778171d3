"""Re-judging stored results under a proposed policy: reuse stored elapsed time where only budgets or
objectives change, recompute business time (sla_core.clocks.evaluate) only for the rows that need it.

Everything here is pure: frames in, frames out; `now` is a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import polars as pl

from sla_core.policy import Policy, PolicyHistory, as_history
from sla_core.target_mapping import (
    ACTION_CODES,
    DROP,
    ITEM_ATTRIBUTES,
    ITEM_KEYS,
    JUDGEMENT,
    KEYS,
    RECOMPUTE,
    REMATCH,
    RESULT_COLUMNS,
    REUSE,
    SimulationInputError,
    dimension_columns,
    history_policies,
    only_budgets,
    open_metrics,
    proposed_target_table,
    same_clock,
    same_matching,
    target_mapping,
    with_mapping,
)

# ---------------------------------------------------------------------------------------- re-judging


def _after_from_budget(frame: pl.LazyFrame, pause_statuses: dict[str, list[str]]) -> pl.LazyFrame:
    """Judge rows whose elapsed time is reused against their new budget (vectorized, lazily: a caller that
    needs only some columns, such as the comparison, computes only those).

    Same rules as clocks.evaluate: over = elapsed > within; a stopped clock is achieved unless over; a
    running clock past its budget is breached. A running clock that was breached and is within the new
    budget is paused when the item's current status (its last status event) pauses the metric.
    """
    elapsed, within = pl.col("elapsed_s"), pl.col("within_s_after")
    stopped = pl.col("stop").is_not_null()
    over = elapsed > within
    settled = (
        pl.when(stopped & ~over)
        .then(pl.lit("achieved"))
        .when(over)
        .then(pl.lit("breached"))
        .when(pl.col("state") == "breached")
        .then(pl.lit(None, pl.String))  # running, no longer over: paused or active, settled below
        .otherwise(pl.col("state"))
    )
    return frame.with_columns(
        met_after=pl.when(stopped).then(~over).when(over).then(pl.lit(False)).otherwise(pl.lit(None)),
        state_after=pl.when(settled.is_null())
        .then(pl.when(_pauses(pause_statuses)).then(pl.lit("paused")).otherwise(pl.lit("active")))
        .otherwise(settled),
        elapsed_s_after=elapsed,
        paused_s_after=pl.col("paused_s"),
        remaining_s_after=within - elapsed,
        pct_used_after=pl.when(within > 0).then(100.0 * elapsed / within).otherwise(
            pl.when(elapsed > 0).then(pl.lit(math.inf)).otherwise(pl.lit(0.0))
        ),
        start_after=pl.col("start"),
        stop_after=pl.col("stop"),
    )


def _pauses(pause_statuses: dict[str, list[str]]) -> pl.Expr:
    """True where the row's status (as stored, exactly) is one of its metric's pause statuses."""
    chosen = [(pl.col("metric") == metric) & pl.col("status").is_in(statuses)
              for metric, statuses in pause_statuses.items() if statuses]
    return pl.any_horizontal(chosen).fill_null(False) if chosen else pl.lit(False)


def _due_at_after(frame: pl.DataFrame, proposed: Policy) -> pl.DataFrame:
    """Wall-clock due instants for rows whose budget changed (others keep theirs)."""
    changed = (pl.col("within_s_after") != pl.col("within_s")) | (
        pl.col("calendar_after") != pl.col("calendar")
    )
    parts = [frame.filter(~changed.fill_null(True) | pl.col("calendar_after").is_null())]
    moving = frame.filter(changed.fill_null(False) & pl.col("calendar_after").is_not_null())
    parts[0] = parts[0].with_columns(due_at_after=pl.col("due_at"))
    for (name,), group in moving.group_by(["calendar_after"]):
        calendar = proposed.calendars[name]
        due = calendar.due_at(group["start"], group["within_s_after"] + group["paused_s"].fill_null(0.0))
        parts.append(group.with_columns(due_at_after=due.cast(pl.Datetime("us", "UTC"))))
    return pl.concat(parts, how="vertical_relaxed")


AFTER = [
    "policy_version_after",
    "target_index_after",
    "calendar_after",
    "within_s_after",
    "objective_after",
    "start_after",
    "stop_after",
    "elapsed_s_after",
    "paused_s_after",
    "state_after",
    "met_after",
    "due_at_after",
    "remaining_s_after",
    "pct_used_after",
]


UTC_US = pl.Datetime("us", "UTC")
_INSTANTS = ("created", "start", "stop", "due_at")


def _normalized(results: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Instants as Datetime(us, UTC) (DuckDB may hand them over as Etc/UTC) and int32 version keys."""
    schema = results.collect_schema()
    fixes = [
        pl.col(column).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        if isinstance(schema[column], pl.Datetime) and schema[column].time_zone
        else pl.col(column).cast(UTC_US)
        for column in _INSTANTS
        if schema[column] != UTC_US
    ]
    fixes += [pl.col(column).cast(pl.Int32) for column in ("policy_version", "target_index")
              if schema[column] != pl.Int32]
    return results.with_columns(fixes) if fixes else results


def _as_after(evaluated: pl.DataFrame) -> pl.DataFrame:
    rename = {column: f"{column}_after" for column in JUDGEMENT}
    return evaluated.select(*KEYS, *JUDGEMENT).rename(rename)


@dataclass(frozen=True)
class Rejudged:
    """Every item x metric judged by the committed or the proposed policy, one row each.

    `paired` has the result columns of the committed judgement (contract names; null for rows only the
    proposed policy judges) and the proposed judgement as `<column>_after` (null for rows it drops).
    It is computed from `plan` when first asked for; summaries that need a few of its columns read
    `lazy()` instead, so only those columns are computed.
    """

    plan: pl.LazyFrame
    reused_rows: int
    recomputed_rows: int
    new_rows: int
    dropped_rows: int

    @cached_property
    def paired(self) -> pl.DataFrame:
        return self.plan.collect()

    def lazy(self) -> pl.LazyFrame:
        """The paired frame as a plan (the computed frame once `paired` was asked for)."""
        computed = self.__dict__.get("paired")
        return computed.lazy() if computed is not None else self.plan


# Called with the (source, item_id) keys whose raw rows are needed, or None for every item in the history.
RawLoader = Callable[[pl.DataFrame | None], tuple[pl.DataFrame, pl.DataFrame]]


def rejudge(
    results: pl.DataFrame,
    committed: PolicyHistory | Policy,
    proposed: Policy,
    now: datetime,
    items: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    with_due_at: bool = True,
    load_raw: RawLoader | None = None,
) -> Rejudged:
    """Judge the history in `results` (committed judgement) by `proposed` as well.

    The raw rows behind `results` are needed only for calendar, metric or matching changes: pass them as
    `items`/`events`, or pass `load_raw` (called at most once, only when they are needed, with just the
    keys of the rows to recompute when no item can newly match a target).
    `now` should be the instant the results were computed, so reused and recomputed rows agree.
    A single committed Policy is read as a history of one version (the only adapter; the helpers below
    take a PolicyHistory).
    Long: the steps (reuse, recompute, re-match, newly matching) share the raw-data loader and the partial
    frames they add to `paired`.
    """
    committed = as_history(committed)
    if "instance" not in results.columns:  # results of plain clocks only: every row is instance 1
        results = results.with_columns(pl.lit(1, pl.Int32).alias("instance"))
    dimensions = dimension_columns(results, committed, proposed)
    results = results.select(*RESULT_COLUMNS, *dimensions)
    columns = [*RESULT_COLUMNS, *dimensions, *AFTER]
    mapping = target_mapping(committed, proposed)
    pause_statuses = {name: list(metric.pause_when_status) for name, metric in proposed.metrics.items()}
    if only_budgets(results, committed, proposed, mapping):
        # Every row keeps its elapsed time: one plan over the stored rows, nothing computed before it is read.
        reuse = _after_from_budget(with_mapping(_normalized(results.lazy()), mapping), pause_statuses)
        reuse = reuse.with_columns(policy_version_after=pl.lit(proposed.version, pl.Int32))
        if with_due_at:
            reuse = _due_at_after(reuse.collect(), proposed).lazy()
        else:
            reuse = reuse.with_columns(due_at_after=pl.lit(None, UTC_US))
        return Rejudged(reuse.select(columns), reused_rows=results.height, recomputed_rows=0, new_rows=0,
                        dropped_rows=0)
    results = _normalized(results)
    raw: list[pl.DataFrame] = [items, events] if items is not None and events is not None else []

    def raw_data(why: str, keys: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
        if not raw:
            if load_raw is None:
                raise SimulationInputError(f"the proposed policy changes {why}: items and events are needed")
            raw.extend(load_raw(keys))
        return raw[0], raw[1]

    frame = with_mapping(results, mapping)
    codes = frame["_action"]
    if codes.min() == codes.max() == ACTION_CODES[REUSE]:
        reuse, dropped = frame, frame.clear()
        recompute_keys = frame.clear().select(KEYS)
    else:
        if (codes == ACTION_CODES[REMATCH]).any():
            frame = _rematch(frame, committed, proposed)
        action = pl.col("_action")
        reuse = frame.filter(action == ACTION_CODES[REUSE])
        dropped = frame.filter(action == ACTION_CODES[DROP])
        recompute_keys = frame.filter(action == ACTION_CODES[RECOMPUTE]).select(KEYS)

    reuse = _after_from_budget(reuse.lazy(), pause_statuses).collect().with_columns(
        policy_version_after=pl.lit(proposed.version, pl.Int32)
    )
    if with_due_at:
        reuse = _due_at_after(reuse, proposed)
    else:
        reuse = reuse.with_columns(due_at_after=pl.lit(None, UTC_US))

    parts = [reuse]
    new_rows = 0
    if open_metrics(committed, proposed, list(history_policies(committed))):
        new_keys = _newly_matching(results, committed, proposed, raw_data("which items a metric judges")[0])
    else:
        new_keys = recompute_keys.clear().select(ITEM_KEYS)
    # new keys are by construction not in results, so the two sets are disjoint
    todo = pl.concat([recompute_keys.select(ITEM_KEYS), new_keys], how="vertical_relaxed")
    if todo.height:
        wanted = todo.select("source", "item_id").unique() if not new_keys.height else None
        items, events = raw_data("calendars or metric definitions", wanted)
        evaluated = _evaluate_keys(todo, items, events, proposed, now)
        if recompute_keys.height:
            parts.append(
                frame.filter(pl.col("_action") == ACTION_CODES[RECOMPUTE])
                .drop(*[c for c in AFTER if c in frame.columns])
                .join(_as_after(evaluated), on=KEYS, how="left")
            )
            # A changed schedule can add instances (more periods): new rows of the same items, inside the span
            # the stored rows cover (the caller's date selection).
            low, high = results["created"].min(), results["created"].max()
            redone = recompute_keys.select(ITEM_KEYS).unique()
            extra = evaluated.join(redone, on=ITEM_KEYS, how="semi").join(
                results.select(KEYS), on=KEYS, how="anti").filter(pl.col("created").is_between(low, high))
            new_keys = pl.concat([new_keys, extra.select(ITEM_KEYS).unique()], how="vertical_relaxed")
            evaluated = pl.concat([evaluated.join(redone, on=ITEM_KEYS, how="anti"), extra], how="vertical_relaxed")
        if new_keys.height:
            fresh = evaluated.join(new_keys.unique(), on=ITEM_KEYS, how="semi").select(
                *KEYS, *ITEM_ATTRIBUTES, *[name for name in dimensions if name in evaluated.columns],
                *[pl.col(c).alias(f"{c}_after") for c in JUDGEMENT]
            )
            new_rows = fresh.height
            parts.append(fresh)
    parts.append(dropped)
    parts = [part for part in parts if part.height] or [reuse]
    if len(parts) == 1:
        paired = parts[0].select(columns)
    else:
        paired = pl.concat(
            [part.select([c for c in columns if c in part.columns]) for part in parts], how="diagonal_relaxed"
        ).select(columns)
    return Rejudged(
        paired.lazy(),
        reused_rows=reuse.height,
        recomputed_rows=recompute_keys.height,
        new_rows=new_rows,
        dropped_rows=dropped.height,
    )


def _rematch(frame: pl.DataFrame, committed: PolicyHistory, proposed: Policy) -> pl.DataFrame:
    """Look up the proposed target of rows whose metric's match conditions changed."""
    rematching = pl.col("_action") == ACTION_CODES[REMATCH]
    parts = [frame.filter(~rematching)]
    table = proposed_target_table(proposed).rename(
        {
            "new_target_index": "target_index_after",
            "new_calendar": "calendar_after",
            "new_within_s": "within_s_after",
            "new_objective": "objective_after",
        }
    )
    lookup_columns = ["target_index_after", "calendar_after", "within_s_after", "objective_after"]
    rematch = frame.filter(rematching).drop(lookup_columns)
    for (metric,), group in rematch.group_by(["metric"]):
        group = group.with_columns(_match_targets(proposed, group, metric).alias("target_index_after"))
        group = group.join(table, on="target_index_after", how="left", maintain_order="left")
        action = _rematched_action(group, committed, proposed, metric)
        parts.append(group.with_columns(action.replace_strict(ACTION_CODES, return_dtype=pl.Int8).alias("_action")))
    return pl.concat([part.select(frame.columns) for part in parts], how="vertical_relaxed")


def _match_targets(policy: Policy, frame: pl.DataFrame, metric: str) -> pl.Series:
    """Policy.match_targets, broadcast to the frame's height (a catch-all first target yields a scalar)."""
    index = policy.match_targets(frame, metric).cast(pl.Int32)
    if index.len() != frame.height:
        index = pl.select(pl.repeat(index[0], frame.height, dtype=pl.Int32)).to_series()
    return index


def _rematched_action(
    group: pl.DataFrame, committed: PolicyHistory, proposed: Policy, metric: str
) -> pl.Series:
    """drop (no proposed target), reuse (same clock: calendar and metric unchanged) or recompute."""
    policies = history_policies(committed)
    combos = group.select("policy_version", "calendar", "calendar_after").unique().drop_nulls()
    reusable = combos.with_columns(
        _reuse=pl.Series(
            [
                version in policies and same_clock(policies[version], old, proposed, new, metric)
                for version, old, new in combos.iter_rows()
            ],
            dtype=pl.Boolean,
        )
    )
    flagged = group.select("policy_version", "calendar", "calendar_after", "target_index_after").join(
        reusable, on=["policy_version", "calendar", "calendar_after"], how="left", maintain_order="left"
    )
    return flagged.select(
        pl.when(pl.col("target_index_after").is_null())
        .then(pl.lit(DROP))
        .when(pl.col("_reuse").fill_null(False))
        .then(pl.lit(REUSE))
        .otherwise(pl.lit(RECOMPUTE))
        .alias("action")
    ).to_series()


def _newly_matching(
    results: pl.DataFrame,
    committed: PolicyHistory,
    proposed: Policy,
    items: pl.DataFrame | None,
) -> pl.DataFrame:
    """(source, item_id, metric) the proposed policy judges that the committed history did not."""
    empty = pl.DataFrame(schema={"source": pl.String, "item_id": pl.String, "metric": pl.String})
    policies = history_policies(committed)
    metrics = open_metrics(committed, proposed, list(policies))
    if not metrics:
        return empty
    if items is None:
        raise SimulationInputError(
            "the proposed policy changes which items a metric judges: items and events are needed"
        )
    if isinstance(committed, Policy):
        in_force = pl.Series("policy_version", [committed.version] * items.height, pl.Int32)
    else:
        in_force = committed.version_for(items["created"]).cast(pl.Int32).alias("policy_version")
    items = items.with_columns(in_force)
    found = [empty]
    for metric in metrics:
        differing = [v for v, p in policies.items() if not same_matching(p, proposed, metric)]
        candidates = items.filter(pl.col("policy_version").is_in(differing))
        if not candidates.height:
            continue
        index = _match_targets(proposed, candidates, metric)
        matched = candidates.filter(index.is_not_null()).select("source", "item_id")
        matched = matched.with_columns(metric=pl.lit(metric))
        judged = results.filter(pl.col("metric") == metric).select(ITEM_KEYS)
        found.append(matched.join(judged, on=ITEM_KEYS, how="anti"))
    return pl.concat(found, how="vertical_relaxed")


def _evaluate_keys(
    keys: pl.DataFrame, items: pl.DataFrame, events: pl.DataFrame, proposed: Policy, now: datetime
) -> pl.DataFrame:
    """Business time for just these item x metric rows, by the proposed policy."""
    from sla_core.clocks import evaluate

    wanted = keys.select("source", "item_id").unique()
    some_items = items.join(wanted, on=["source", "item_id"], how="semi")
    some_events = events.join(wanted, on=["source", "item_id"], how="semi")
    metrics = keys["metric"].unique().to_list()
    evaluated = evaluate(some_items, some_events, as_history(proposed), now, metrics=metrics)
    out = evaluated.join(keys.select(ITEM_KEYS).unique(), on=ITEM_KEYS, how="semi")
    return out.with_columns(pl.col("policy_version").cast(pl.Int32), pl.col("target_index").cast(pl.Int32))
