"""What a proposed policy changes, per committed (version, target): reuse the stored elapsed time, recompute
business time (a calendar or metric definition changed), re-match (the matching changed), or drop.

Shared vocabulary of the what-if modules (sla_core.rejudge, sla_core.simulate): the result columns, the
slice columns and the action codes.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from sla_core.clocks import COPIED_COLUMNS
from sla_core.policy import Policy, PolicyHistory
from sla_core.policy_spec import DIMENSION_NAME, RESERVED_NAMES

KEYS = ["source", "item_id", "metric", "instance"]  # a result row: item, metric and clock instance
ITEM_KEYS = ["source", "item_id", "metric"]
ITEM_ATTRIBUTES = list(COPIED_COLUMNS)  # the item columns a result row carries (sla_core.clocks)
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

# What a proposed policy does to each committed (version, target): the action, and its integer code
# for vectorized joins.
REUSE, RECOMPUTE, REMATCH, DROP = "reuse", "recompute", "rematch", "drop"
ACTION_CODES = {REUSE: 0, RECOMPUTE: 1, REMATCH: 2, DROP: 3}


class SimulationInputError(ValueError):
    """The simulation needs raw items/events (or got a grouping it cannot slice by)."""


def is_dimension(name: str) -> bool:
    return bool(DIMENSION_NAME.match(name)) and name not in RESERVED_NAMES


def dimension_columns(frame: pl.DataFrame, *policies: PolicyHistory) -> list[str]:
    """The policies' dimensions that the frame carries as columns (they travel with every row)."""
    names = dict.fromkeys(name for policy in policies for name in policy.dimensions)
    return [name for name in names if name in frame.columns]



# --------------------------------------------------------------------------------------------- policies


def history_policies(committed: PolicyHistory) -> dict[int, Policy]:
    return {policy.version: policy for policy in committed.versions}


def _metric_targets(policy: Policy, metric: str) -> list:
    return [target for target in policy.targets if target.metric == metric]


def _match_signature(policy: Policy, metric: str) -> tuple:
    """What decides which target an item gets for `metric`: the ordered match conditions."""
    return tuple(tuple(sorted(target.match.items())) for target in _metric_targets(policy, metric))


def _metric_definition(policy: Policy, metric: str) -> tuple | None:
    spec = policy.metrics.get(metric)
    if spec is None:
        return None
    return (spec.start, spec.stop, tuple(spec.pause_when_status), spec.repeat, spec.between, spec.schedule)


def _which_items(policy: Policy, metric: str) -> tuple | None:
    """The metric's definition as far as it decides which items it judges: a schedule's due time or period
    changes the instances, never the items."""
    definition = _metric_definition(policy, metric)
    return None if definition is None else (*definition[:-1], definition[-1] is not None)


def _has_deadline(policy: Policy, metric: str) -> bool:
    """A schedule or a `by` target: the budget of each row depends on its start, so it is recomputed."""
    spec = policy.metrics.get(metric)
    return spec is not None and (
        spec.schedule is not None or any(t.by_s is not None for t in _metric_targets(policy, metric))
    )


def _calendar_definition(policy: Policy, name: str):
    return policy.calendars.get(name)


def same_matching(old: Policy, new: Policy, metric: str) -> bool:
    """True when every item gets the same-position target for `metric` under both policies."""
    return (
        _which_items(old, metric) is not None
        and _which_items(old, metric) == _which_items(new, metric)
        and _match_signature(old, metric) == _match_signature(new, metric)
    )


def same_clock(old: Policy, old_calendar: str, new: Policy, new_calendar: str, metric: str) -> bool:
    """True when stored elapsed time stays valid: same metric definition and the same calendar."""
    return (
        old_calendar == new_calendar
        and not _has_deadline(old, metric)
        and not _has_deadline(new, metric)
        and _metric_definition(old, metric) == _metric_definition(new, metric)
        and _calendar_definition(old, old_calendar) == _calendar_definition(new, new_calendar)
    )


def target_mapping(committed: PolicyHistory, proposed: Policy) -> pl.DataFrame:
    """For every (policy_version, target_index) of the committed history: what the proposed policy does.

    Columns: policy_version, target_index, action (reuse | recompute | rematch | drop), and the proposed
    target for reuse/recompute rows: new_target_index, new_calendar, new_within_s, new_objective.
    `rematch` means the metric's match conditions changed, so each row's target is looked up again.
    """
    rows = []
    for version, policy in history_policies(committed).items():
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


def proposed_target_table(proposed: Policy) -> pl.DataFrame:
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


def open_metrics(committed: PolicyHistory, proposed: Policy, versions: Sequence[int]) -> list[str]:
    """Proposed metrics for which some item may newly match a target (its version matched differently)."""
    policies = history_policies(committed)
    return [
        metric
        for metric in proposed.metrics
        if _metric_targets(proposed, metric)
        and any(not same_matching(policies[v], proposed, metric) for v in versions if v in policies)
    ]


def only_budgets(results: pl.DataFrame, committed: PolicyHistory, proposed: Policy, mapping: pl.DataFrame) -> bool:
    """True when every stored row keeps its elapsed time (its target is reused) and no item can newly match."""
    if results.is_empty() or open_metrics(committed, proposed, list(history_policies(committed))):
        return False
    version, target = pl.col("policy_version"), pl.col("target_index")
    low, high, first, last, nulls = results.select(
        version.min().alias("low"), version.max().alias("high"), target.min().alias("first"),
        target.max().alias("last"), (version.null_count() + target.null_count()).alias("nulls"),
    ).row(0)
    if nulls:
        return False  # a row without a target is dropped
    reused = set(mapping.filter(pl.col("action") == REUSE).select("policy_version", "target_index").iter_rows())
    if (high - low + 1) * (last - first + 1) <= 10_000 and all(
        (v, t) in reused for v in range(low, high + 1) for t in range(first, last + 1)
    ):
        return True  # every (version, target) the rows can hold is reused: no row-by-row look-up needed
    flags = mapping_lookup(mapping)["_action"] == ACTION_CODES[REUSE]
    return bool(results.select(flags.fill_null(False).all()).item())


# Proposed-target columns of the target mapping, by their name next to the results.
_LOOKUP = {"_action": "action", "target_index_after": "new_target_index", "calendar_after": "new_calendar",
           "within_s_after": "new_within_s", "objective_after": "new_objective"}
_DENSE_LIMIT = 1 << 20  # (version, target index) slots of a dense lookup table


def mapping_lookup(mapping: pl.DataFrame) -> dict[str, pl.Expr]:
    """Per result row, its (policy_version, target_index)'s entry in the target mapping (null where none).

    Looked up by position in a table with a slot per (version, target index) of the mapping's range, so a
    million rows cost one gather each; a range too wide for such a table uses a hash lookup instead.
    """
    table = mapping.select(
        pl.col("policy_version").cast(pl.Int64),
        pl.col("target_index").cast(pl.Int64),
        *[(pl.col(source).replace_strict(ACTION_CODES, return_dtype=pl.Int8) if name == "_action"
           else pl.col(source)).alias(name) for name, source in _LOOKUP.items()],
    )
    if table.is_empty():
        return {name: pl.lit(None, table.schema[name]) for name in _LOOKUP}
    version, target = pl.col("policy_version").cast(pl.Int64), pl.col("target_index").cast(pl.Int64)
    low, high = table["policy_version"].min(), table["policy_version"].max()
    span = max(table["target_index"].max() + 1, 1)
    slots = (high - low + 1) * span
    if table["target_index"].min() < 0 or slots > _DENSE_LIMIT:
        key = version * 1_000_000 + target
        keys = table.select(pl.col("policy_version") * 1_000_000 + pl.col("target_index")).to_series()
        return {name: key.replace_strict(keys, table[name], default=None, return_dtype=table.schema[name])
                for name in _LOOKUP}
    slot = (pl.col("policy_version") - low) * span + pl.col("target_index")
    dense = pl.DataFrame({"_slot": pl.arange(0, slots, eager=True)}).join(
        table.with_columns(slot.alias("_slot")), on="_slot", how="left").sort("_slot")
    inside = version.is_between(low, high) & target.is_between(0, span - 1)
    position = pl.when(inside).then((version - low) * span + target)
    return {name: pl.lit(dense[name]).gather(position) for name in _LOOKUP}


def with_mapping(results: pl.DataFrame | pl.LazyFrame, mapping: pl.DataFrame) -> pl.DataFrame | pl.LazyFrame:
    """results + the proposed target of each row (null where the mapping has none: the row is dropped)."""
    return results.with_columns(
        expression.alias(name) for name, expression in mapping_lookup(mapping).items()
    ).with_columns(pl.col("_action").fill_null(ACTION_CODES[DROP]))
