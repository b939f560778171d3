"""The attainment and error-budget definitions of sla_core.budget as DuckDB aggregates over `results`,
written once: every query that aggregates in the database uses these.

A results row is decided when `met` is not null (met or breached); running rows are counted, not judged.
"""

from __future__ import annotations

MET = "count(*) FILTER (WHERE met)"
BREACHED = "count(*) FILTER (WHERE NOT met)"
DECIDED = "count(*) FILTER (WHERE met IS NOT NULL)"
ACTIVE = "count(*) FILTER (WHERE state IN ('active', 'paused'))"

# budget.attainment: met / (met + breached), null when nothing is decided
ATTAINMENT = f"CAST({MET} AS DOUBLE) / nullif({DECIDED}, 0)"
# the mean objective of the decided rows (of all rows while none is decided)
OBJECTIVE = "coalesce(avg(objective) FILTER (WHERE met IS NOT NULL), avg(objective))"
OBJECTIVE_DECIDED_SUM = "coalesce(sum(objective) FILTER (WHERE met IS NOT NULL), 0)"
# budget.allowed_breaches: sum of (1 - objective) over decided rows
ALLOWED_BREACHES = "coalesce(sum(1 - objective) FILTER (WHERE met IS NOT NULL), 0)"
# budget.decided_at: stop when met; when breached, the instant the budget ran out (or the stop, if earlier)
DECIDED_AT = "CASE WHEN met THEN stop ELSE least(due_at, coalesce(stop, due_at)) END"

# The counts per slice that later sums are built from (the daily rollup, the report's daily table).
SLICE_COUNTS = (f"count(*) AS items, {MET} AS met, {BREACHED} AS breached, "
                f"{OBJECTIVE_DECIDED_SUM} AS objective_decided_sum, sum(objective) AS objective_sum, "
                "min(objective) AS objective_min, max(objective) AS objective_max")


def attainment_of_counts(met: str, breached: str) -> str:
    """budget.attainment over pre-counted columns (e.g. the daily rollup): sum(met) / sum(met + breached)."""
    return f"CAST(sum({met}) AS DOUBLE) / nullif(sum({met}) + sum({breached}), 0)"

# An open clock's item (alias i) is still work to do: a clock that never stopped on a solved or closed item keeps
# its verdict (breached once due), but the helpdesk stopped every clock when the item was solved, so the live
# queue does not list it.
STILL_OPEN = "i.resolved IS NULL AND i.closed IS NULL"
