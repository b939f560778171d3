"""What-if: judge the same history by a proposed policy, side by side with the committed one.

The committed results already hold each item's elapsed business time per metric. A proposed policy that
only changes budgets (`within`) or objectives re-judges every row with a join on (policy_version,
target_index) and a comparison - no business time is recomputed. Business time is recomputed (with
`sla_core.clocks.evaluate`, on just those items) only for rows whose calendar or metric definition changed,
and for items that newly match a target.

Everything here is pure: frames in, frames out; `now` is a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import polars as pl

from sla_core.budget import attainment_expr, budget_consumed_expr, error_budget
from sla_core.policy import DIMENSION_NAME, RESERVED_NAMES, Policy, PolicyHistory

KEYS = ["source", "item_id", "metric"]
ITEM_ATTRIBUTES = ["kind", "process", "channel", "team", "priority", "agent", "status", "created"]
JUDGEMENT = [
    "policy_version",
    "target_index",
    "calendar",
    "within_s",
    "objective",
    "start",
    "stop",
    "elapsed_s",
    "paused_s",
    "state",
    "met",
    "due_at",
    "remaining_s",
    "pct_used",
]
RESULT_COLUMNS = [*KEYS, *ITEM_ATTRIBUTES, *JUDGEMENT]
SLICE_COLUMNS = ("kind", "process", "channel", "team", "priority", "agent", "source", "calendar")

REUSE, RECOMPUTE, REMATCH, DROP = "reuse", "recompute", "rematch", "drop"


class SimulationInputError(ValueError):
    """The simulation needs raw items/events (or got a grouping it cannot slice by)."""


# --------------------------------------------------------------------------------------------- policies


def _history_policies(committed: PolicyHistory | Policy) -> dict[int, Policy]:
    if isinstance(committed, Policy):
        return {committed.version: committed}
    return {policy.version: policy for policy in committed}


def _metric_targets(policy: Policy, metric: str) -> list:
    return [target for target in policy.targets if target.metric == metric]


def _match_signature(policy: Policy, metric: str) -> tuple:
    """What decides which target an item gets for `metric`: the ordered match conditions."""
    return tuple(tuple(sorted(target.match.items())) for target in _metric_targets(policy, metric))


def _metric_definition(policy: Policy, metric: str) -> tuple | None:
    spec = policy.metrics.get(metric)
    if spec is None:
        return None
    return (spec.start, spec.stop, tuple(spec.pause_when_status))


def _calendar_definition(policy: Policy, name: str):
    return policy.calendars.get(name)


def same_matching(old: Policy, new: Policy, metric: str) -> bool:
    """True when every item gets the same-position target for `metric` under both policies."""
    return (
        _metric_definition(old, metric) is not None
        and _metric_definition(old, metric) == _metric_definition(new, metric)
        and _match_signature(old, metric) == _match_signature(new, metric)
    )


def same_clock(old: Policy, old_calendar: str, new: Policy, new_calendar: str, metric: str) -> bool:
    """True when stored elapsed time stays valid: same metric definition and the same calendar."""
    return (
        old_calendar == new_calendar
        and _metric_definition(old, metric) == _metric_definition(new, metric)
        and _calendar_definition(old, old_calendar) == _calendar_definition(new, new_calendar)
    )


def target_mapping(committed: PolicyHistory | Policy, proposed: Policy) -> pl.DataFrame:
    """For every (policy_version, target_index) of the committed history: what the proposed policy does.

    Columns: policy_version, target_index, action (reuse | recompute | rematch | drop), and the proposed
    target for reuse/recompute rows: new_target_index, new_calendar, new_within_s, new_objective.
    `rematch` means the metric's match conditions changed, so each row's target is looked up again.
    """
    rows = []
    for version, policy in _history_policies(committed).items():
        for target in policy.targets:
            row = {
                "policy_version": version,
                "target_index": target.index,
                "action": DROP,
                "new_target_index": None,
                "new_calendar": None,
                "new_within_s": None,
                "new_objective": None,
            }
            if target.metric in proposed.metrics:
                if same_matching(policy, proposed, target.metric):
                    position = _metric_targets(policy, target.metric).index(target)
                    new = _metric_targets(proposed, target.metric)[position]
                    reuse = same_clock(policy, target.calendar, proposed, new.calendar, target.metric)
                    row.update(
                        action=REUSE if reuse else RECOMPUTE,
                        new_target_index=new.index,
                        new_calendar=new.calendar,
                        new_within_s=float(new.within_s),
                        new_objective=float(proposed.objective_for(new)),
                    )
                else:
                    row["action"] = REMATCH
            rows.append(row)
    return pl.DataFrame(
        rows,
        schema={
            "policy_version": pl.Int32,
            "target_index": pl.Int32,
            "action": pl.String,
            "new_target_index": pl.Int32,
            "new_calendar": pl.String,
            "new_within_s": pl.Float64,
            "new_objective": pl.Float64,
        },
    )


def _proposed_target_table(proposed: Policy) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "new_target_index": [t.index for t in proposed.targets],
            "new_calendar": [t.calendar for t in proposed.targets],
            "new_within_s": [float(t.within_s) for t in proposed.targets],
            "new_objective": [float(proposed.objective_for(t)) for t in proposed.targets],
        },
        schema={
            "new_target_index": pl.Int32,
            "new_calendar": pl.String,
            "new_within_s": pl.Float64,
            "new_objective": pl.Float64,
        },
    )


def _open_metrics(committed: PolicyHistory | Policy, proposed: Policy, versions: Sequence[int]) -> list[str]:
    """Proposed metrics for which some item may newly match a target (its version matched differently)."""
    policies = _history_policies(committed)
    return [
        metric
        for metric in proposed.metrics
        if _metric_targets(proposed, metric)
        and any(not same_matching(policies[v], proposed, metric) for v in versions if v in policies)
    ]


def needs_raw_data(
    results: pl.DataFrame, committed: PolicyHistory | Policy, proposed: Policy
) -> bool:
    """Whether `simulate` needs the items and events behind `results` (a calendar, metric or match change).

    A change of budgets or objectives only needs the stored results.
    """
    versions = _history_policies(committed)
    present = results.select("policy_version").unique().to_series().drop_nulls().to_list()
    mapping = target_mapping(committed, proposed).filter(pl.col("policy_version").is_in(present))
    used = results.select("policy_version", "target_index").unique().join(
        mapping, on=["policy_version", "target_index"], how="inner"
    )
    if used.filter(pl.col("action").is_in([RECOMPUTE, REMATCH])).height:
        return True
    return bool(_open_metrics(committed, proposed, list(versions)))


# ---------------------------------------------------------------------------------------- re-judging


def _after_from_budget(frame: pl.DataFrame, pause_statuses: dict[str, list[str]]) -> pl.DataFrame:
    """Judge rows whose elapsed time is reused against their new budget (vectorized).

    Same rules as clocks.evaluate: over = elapsed > within; a stopped clock is achieved unless over; a
    running clock past its budget is breached. A running clock that was breached and is within the new
    budget is paused when the item's current status (its last status event) pauses the metric.
    """
    elapsed, within = pl.col("elapsed_s"), pl.col("within_s_after")
    stopped = pl.col("stop").is_not_null()
    over = elapsed > within
    judged = frame.with_columns(
        met_after=pl.when(stopped).then(~over).when(over).then(pl.lit(False)).otherwise(pl.lit(None)),
        state_after=pl.when(stopped & ~over)
        .then(pl.lit("achieved"))
        .when(over)
        .then(pl.lit("breached"))
        .when(pl.col("state") == "breached")
        .then(pl.lit(None, pl.String))  # running, no longer over: paused or active, settled below
        .otherwise(pl.col("state")),
        elapsed_s_after=elapsed,
        paused_s_after=pl.col("paused_s"),
        remaining_s_after=within - elapsed,
        pct_used_after=pl.when(within > 0).then(100.0 * elapsed / within).otherwise(
            pl.when(elapsed > 0).then(pl.lit(math.inf)).otherwise(pl.lit(0.0))
        ),
        start_after=pl.col("start"),
        stop_after=pl.col("stop"),
    )
    unsettled = judged["state_after"].is_null()
    if not unsettled.any():
        return judged
    rows = unsettled.arg_true()
    some = judged[rows].select("metric", "status")
    paused = pl.Series(
        [status in pause_statuses.get(metric, ()) for metric, status in some.iter_rows()], dtype=pl.Boolean
    )
    states = pl.select(pl.when(paused).then(pl.lit("paused")).otherwise(pl.lit("active"))).to_series()
    return judged.with_columns(judged["state_after"].scatter(rows, states))


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


def _normalized(results: pl.DataFrame) -> pl.DataFrame:
    """Instants as Datetime(us, UTC) (DuckDB may hand them over as Etc/UTC) and int32 version keys."""
    schema = results.schema
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
    """

    paired: pl.DataFrame
    reused_rows: int
    recomputed_rows: int
    new_rows: int
    dropped_rows: int


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
    """
    dimensions = _dimension_columns(results, committed, proposed)
    results = _normalized(results.select(*RESULT_COLUMNS, *dimensions))
    raw: list[pl.DataFrame] = [items, events] if items is not None and events is not None else []

    def raw_data(why: str, keys: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
        if not raw:
            if load_raw is None:
                raise SimulationInputError(f"the proposed policy changes {why}: items and events are needed")
            raw.extend(load_raw(keys))
        return raw[0], raw[1]

    frame = _joined_mapping(results, target_mapping(committed, proposed))
    codes = frame["_action"]
    if codes.min() == codes.max() == _CODES[REUSE]:
        reuse, dropped = frame, frame.clear()
        recompute_keys = frame.clear().select(KEYS)
    else:
        if (codes == _CODES[REMATCH]).any():
            frame = _rematch(frame, committed, proposed)
        action = pl.col("_action")
        reuse = frame.filter(action == _CODES[REUSE])
        dropped = frame.filter(action == _CODES[DROP])
        recompute_keys = frame.filter(action == _CODES[RECOMPUTE]).select(KEYS)

    pause_statuses = {name: list(metric.pause_when_status) for name, metric in proposed.metrics.items()}
    reuse = _after_from_budget(reuse, pause_statuses).with_columns(
        policy_version_after=pl.lit(proposed.version, pl.Int32)
    )
    if with_due_at:
        reuse = _due_at_after(reuse, proposed)
    else:
        reuse = reuse.with_columns(due_at_after=pl.lit(None, UTC_US))

    parts = [reuse]
    new_rows = 0
    if _open_metrics(committed, proposed, list(_history_policies(committed))):
        new_keys = _newly_matching(results, committed, proposed, raw_data("which items a metric judges")[0])
    else:
        new_keys = recompute_keys.clear()
    # new keys are by construction not in results, so the two sets are disjoint
    todo = pl.concat([recompute_keys, new_keys], how="vertical_relaxed")
    if todo.height:
        wanted = todo.select("source", "item_id").unique() if not new_keys.height else None
        items, events = raw_data("calendars or metric definitions", wanted)
        evaluated = _evaluate_keys(todo, items, events, proposed, now)
        if recompute_keys.height:
            parts.append(
                frame.filter(pl.col("_action") == _CODES[RECOMPUTE])
                .drop(*[c for c in AFTER if c in frame.columns])
                .join(_as_after(evaluated), on=KEYS, how="left")
            )
        if new_keys.height:
            fresh = evaluated.join(new_keys, on=KEYS, how="semi").select(
                *KEYS, *ITEM_ATTRIBUTES, *[name for name in dimensions if name in evaluated.columns],
                *[pl.col(c).alias(f"{c}_after") for c in JUDGEMENT]
            )
            new_rows = fresh.height
            parts.append(fresh)
    parts.append(dropped)
    parts = [part for part in parts if part.height] or [reuse]
    columns = [*RESULT_COLUMNS, *dimensions, *AFTER]
    if len(parts) == 1:
        paired = parts[0].select(columns)
    else:
        paired = pl.concat(
            [part.select([c for c in columns if c in part.columns]) for part in parts], how="diagonal_relaxed"
        ).select(columns)
    return Rejudged(
        paired=paired,
        reused_rows=reuse.height,
        recomputed_rows=recompute_keys.height,
        new_rows=new_rows,
        dropped_rows=dropped.height,
    )


_CODES = {REUSE: 0, RECOMPUTE: 1, REMATCH: 2, DROP: 3}


def _joined_mapping(results: pl.DataFrame, mapping: pl.DataFrame) -> pl.DataFrame:
    """results + the proposed target of each row, joined on one integer key (version, target index)."""
    key = pl.col("policy_version").cast(pl.Int64) * 1_000_000 + pl.col("target_index").cast(pl.Int64)
    lookup = mapping.select(
        key.alias("_key"),
        pl.col("action").replace_strict(_CODES, return_dtype=pl.Int8).alias("_action"),
        pl.col("new_target_index").alias("target_index_after"),
        pl.col("new_calendar").alias("calendar_after"),
        pl.col("new_within_s").alias("within_s_after"),
        pl.col("new_objective").alias("objective_after"),
    )
    joined = results.with_columns(key.alias("_key")).join(lookup, on="_key", how="left")
    return joined.drop("_key").with_columns(pl.col("_action").fill_null(_CODES[DROP]))


def _rematch(frame: pl.DataFrame, committed: PolicyHistory | Policy, proposed: Policy) -> pl.DataFrame:
    """Look up the proposed target of rows whose metric's match conditions changed."""
    rematching = pl.col("_action") == _CODES[REMATCH]
    parts = [frame.filter(~rematching)]
    table = _proposed_target_table(proposed).rename(
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
        parts.append(group.with_columns(action.replace_strict(_CODES, return_dtype=pl.Int8).alias("_action")))
    return pl.concat([part.select(frame.columns) for part in parts], how="vertical_relaxed")


def _match_targets(policy: Policy, frame: pl.DataFrame, metric: str) -> pl.Series:
    """Policy.match_targets, broadcast to the frame's height (a catch-all first target yields a scalar)."""
    index = policy.match_targets(frame, metric).cast(pl.Int32)
    if index.len() != frame.height:
        index = pl.select(pl.repeat(index[0], frame.height, dtype=pl.Int32)).to_series()
    return index


def _rematched_action(
    group: pl.DataFrame, committed: PolicyHistory | Policy, proposed: Policy, metric: str
) -> pl.Series:
    """drop (no proposed target), reuse (same clock: calendar and metric unchanged) or recompute."""
    policies = _history_policies(committed)
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
    committed: PolicyHistory | Policy,
    proposed: Policy,
    items: pl.DataFrame | None,
) -> pl.DataFrame:
    """(source, item_id, metric) the proposed policy judges that the committed history did not."""
    empty = pl.DataFrame(schema={"source": pl.String, "item_id": pl.String, "metric": pl.String})
    policies = _history_policies(committed)
    metrics = _open_metrics(committed, proposed, list(policies))
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
        judged = results.filter(pl.col("metric") == metric).select(KEYS)
        found.append(matched.join(judged, on=KEYS, how="anti"))
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
    evaluated = evaluate(some_items, some_events, as_policy_in_force_always(proposed), now, metrics=metrics)
    out = evaluated.join(keys, on=KEYS, how="semi")
    return out.with_columns(pl.col("policy_version").cast(pl.Int32), pl.col("target_index").cast(pl.Int32))


def as_policy_in_force_always(policy: Policy) -> PolicyHistory:
    """A history in which `policy` judges every item (days before a first version use the first one)."""
    return PolicyHistory([policy])


# ------------------------------------------------------------------------------------------- summaries


def _is_dimension(name: str) -> bool:
    return bool(DIMENSION_NAME.match(name)) and name not in RESERVED_NAMES


def _dimension_columns(frame: pl.DataFrame, *policies: PolicyHistory | Policy) -> list[str]:
    """The policies' dimensions that the frame carries as columns (they travel with every row)."""
    names = dict.fromkeys(name for policy in policies for name in policy.dimensions)
    return [name for name in names if name in frame.columns]


def _slice_keys(by: Sequence[str]) -> list[str]:
    """metric + `by`: built-in slice columns or policy dimensions (columns of the results)."""
    unknown = [column for column in by if column not in (*SLICE_COLUMNS, "metric") and not _is_dimension(column)]
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


def compare(paired: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Per slice (metric + `by`): attainment, error budget and flips under both policies.

    attainment, error_budget and budget_consumed as in sla_core.budget, with the objective the mean over
    the slice's decided rows (so each item weighs in with its own target's objective).
    """
    keys = _slice_keys(by)
    met_b, met_a = pl.col("met"), pl.col("met_after")
    # sums of booleans skip nulls: met.sum() counts met items, (~met).sum() breached ones
    table = paired.group_by(keys).agg(
        items_before=pl.col("policy_version").count(),
        met_before=met_b.sum(),
        breached_before=(~met_b).sum(),
        items_after=pl.col("policy_version_after").count(),
        met_after=met_a.sum(),
        breached_after=(~met_a).sum(),
        met_to_breached=(met_b & ~met_a).sum(),
        breached_to_met=(~met_b & met_a).sum(),
        objective_before=pl.when(met_b.is_not_null()).then(pl.col("objective")).mean(),
        objective_after=pl.when(met_a.is_not_null()).then(pl.col("objective_after")).mean(),
    )
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
    )


FLIP_TO_BREACHED = "met → breached"
FLIP_TO_MET = "breached → met"


_FLIP_COLUMNS = (
    *KEYS, "channel", "team", "priority", "agent", "created", "met", "met_after", "calendar", "within_s",
    "elapsed_s", "calendar_after", "within_s_after", "elapsed_s_after",
)


def flips(paired: pl.DataFrame) -> pl.DataFrame:
    """Items whose verdict changes: met -> breached and breached -> met, with both budgets and elapsed."""
    met_b, met_a = pl.col("met"), pl.col("met_after")
    changed = paired.select(*_FLIP_COLUMNS).filter(
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
    ).sort("flip", "metric", "created")


def before_results(paired: pl.DataFrame) -> pl.DataFrame:
    """The committed judgement as a results frame (contract columns)."""
    return paired.filter(pl.col("policy_version").is_not_null()).select(RESULT_COLUMNS)


def after_results(paired: pl.DataFrame) -> pl.DataFrame:
    """The proposed judgement as a results frame (contract columns)."""
    after = paired.filter(pl.col("policy_version_after").is_not_null())
    return after.select(
        *KEYS, *ITEM_ATTRIBUTES, *[pl.col(f"{column}_after").alias(column) for column in JUDGEMENT]
    )


def weekly(paired: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Weekly attainment under both policies: period (Monday of the item's created week, UTC), policy
    ("committed" | "proposed"), *by, decided, met, attainment = met / decided."""
    keys = list(by)
    days = pl.col("created").dt.epoch("d")
    # 1970-01-01 was a Thursday: (days + 3) % 7 is the weekday with Monday = 0
    period = (days - (days + 3) % 7).cast(pl.Int32).cast(pl.Date).alias("period")
    counts = paired.select("created", "met", "met_after", *keys).group_by(period, *keys).agg(
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
    return table.sort("period", "policy", *keys)


def advise(
    paired: pl.DataFrame, objective: float, by: Sequence[str] = (), per_target: bool = True
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

    @cached_property
    def comparison(self) -> pl.DataFrame:
        return compare(self.paired, self.by)

    @cached_property
    def flips(self) -> pl.DataFrame:
        return flips(self.paired)

    @cached_property
    def weekly(self) -> pl.DataFrame:
        return weekly(self.paired, ["metric"])

    @cached_property
    def advice(self) -> pl.DataFrame:
        return advise(self.paired, self.advice_objective, self.by)


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
