"""What-if page helpers: the editable targets/calendars tables <-> a proposed Policy, and the views.

The editors show the committed policy as plain text cells (match values comma-separated, durations as
written in sla.yaml, hours as "mon-fri 08:00-12:00 13:00-17:30; sat 10:00-14:00"). `proposed_policy`
turns the edited tables back into a policy mapping and validates it with the core's parser; errors name
the table row and column.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from sla_core.budget import attainment, budget_consumed, weighted_objective
from sla_core.policy import (
    ALWAYS,
    Policy,
    PolicyError,
    format_duration,
    parse_duration,
    parse_policy_mapping,
)
from sla_core.simulate import Simulation

EDITED_MATCH_KEYS = ("channel", "priority", "team", "process")
TARGET_COLUMNS = ("metric", *EDITED_MATCH_KEYS, "other_match", "within", "calendar", "objective", "origin")
CALENDAR_COLUMNS = ("name", "always_open", "timezone", "hours", "holidays")


class EditError(ValueError):
    """An edited table that does not make a valid policy (message names the row and column)."""


# ----------------------------------------------------------------------------------------- to tables


def _values_text(values: Any) -> str:
    if values is None:
        return ""
    if isinstance(values, str):
        return values
    return ", ".join(str(v) for v in values)


def targets_frame(policy: Policy) -> pl.DataFrame:
    """One editable row per target, in match order. `origin` is the committed target's index."""
    rows = []
    for index, target in enumerate(policy.raw.get("targets", [])):
        match = target.get("match") or {}
        other = {k: v for k, v in match.items() if k not in EDITED_MATCH_KEYS}
        rows.append(
            {
                "metric": target["metric"],
                **{key: _values_text(match.get(key)) for key in EDITED_MATCH_KEYS},
                "other_match": "; ".join(f"{k}: {_values_text(v)}" for k, v in other.items()),
                "within": str(target["within"]),
                "calendar": target["calendar"],
                "objective": target.get("objective"),
                "origin": index,
            }
        )
    schema = {column: pl.String for column in TARGET_COLUMNS}
    schema.update(objective=pl.Float64, origin=pl.Int64)
    return pl.DataFrame(rows, schema=schema)


def hours_text(hours: Mapping[str, Any]) -> str:
    """{"mon-fri": ["08:00-12:00", "13:00-17:30"], "sat": ["10:00-14:00"]} -> the one-line text form."""
    parts = []
    for days, intervals in hours.items():
        listed = [intervals] if isinstance(intervals, str) else list(intervals)
        parts.append(" ".join([str(days), *listed]))
    return "; ".join(parts)


def _holidays_text(holidays: Mapping[str, Any] | None) -> str:
    if not holidays:
        return ""
    parts = []
    if holidays.get("country"):
        parts.append(str(holidays["country"]) + (f"-{holidays['subdivision']}" if holidays.get("subdivision") else ""))
    if holidays.get("dates"):
        parts.append(", ".join(str(d) for d in holidays["dates"]))
    return " + ".join(parts)


def calendars_frame(policy: Policy) -> pl.DataFrame:
    rows = []
    for name, spec in policy.raw.get("calendars", {}).items():
        always = isinstance(spec, str)
        rows.append(
            {
                "name": name,
                "always_open": always,
                "timezone": "UTC" if always else spec.get("timezone", ""),
                "hours": "" if always else hours_text(spec.get("hours", {})),
                "holidays": "" if always else _holidays_text(spec.get("holidays")),
            }
        )
    schema = {column: pl.String for column in CALENDAR_COLUMNS}
    schema["always_open"] = pl.Boolean
    return pl.DataFrame(rows, schema=schema)


# --------------------------------------------------------------------------------------- from tables


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def _split_values(text: Any) -> list[str]:
    return [part.strip() for part in str(text).split(",") if part.strip()]


def parse_hours(text: str, where: str) -> dict[str, list[str]]:
    """ "mon-fri 08:00-12:00 13:00-17:30; sat 10:00-14:00" -> {"mon-fri": [...], "sat": [...]}."""
    hours: dict[str, list[str]] = {}
    for part in str(text).split(";"):
        tokens = [t for t in re.split(r"[\s,]+", part.strip()) if t]
        if not tokens:
            continue
        if len(tokens) < 2:
            raise EditError(f"{where}: {part.strip()!r} needs days and at least one interval (mon-fri 08:00-17:00)")
        hours[tokens[0]] = tokens[1:]
    if not hours:
        raise EditError(f"{where}: no opening hours (e.g. mon-fri 08:00-17:00; sat 10:00-14:00), or tick 24/7")
    return hours


def _parse_other_match(text: Any, where: str) -> dict[str, list[str]]:
    match: dict[str, list[str]] = {}
    for part in str(text or "").split(";"):
        if not part.strip():
            continue
        key, sep, values = part.partition(":")
        if not sep or not values.strip():
            raise EditError(f"{where}: {part.strip()!r} is not 'key: value, value' (e.g. kind: ticket)")
        match[key.strip()] = _split_values(values)
    return match


def _records(frame: Any) -> list[dict[str, Any]]:
    if isinstance(frame, pl.DataFrame):
        return frame.to_dicts()
    return pl.from_pandas(frame).to_dicts() if hasattr(frame, "to_dict") else list(frame)


def _same_calendar_row(spec: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    return (
        str(spec.get("timezone", "")) == str(row.get("timezone") or "").strip()
        and hours_text(spec.get("hours", {})) == " ".join(str(row.get("hours") or "").split())
    )


def proposed_raw(committed: Policy, targets: Any, calendars: Any, objective: float | None = None) -> dict:
    """The edited tables as a policy mapping (not yet validated)."""
    raw = copy.deepcopy(dict(committed.raw))
    committed_targets = raw.get("targets", [])
    committed_calendars = raw.get("calendars", {})
    new_calendars: dict[str, Any] = {}
    for number, row in enumerate(_records(calendars), start=1):
        where = f"Calendars row {number}"
        name = "" if _blank(row.get("name")) else str(row["name"]).strip()
        if not name:
            raise EditError(f"{where}, name: a calendar needs a name")
        if name in new_calendars:
            raise EditError(f"{where}, name: {name!r} is listed twice")
        if row.get("always_open"):
            new_calendars[name] = ALWAYS
            continue
        before = committed_calendars.get(name)
        if isinstance(before, Mapping) and _same_calendar_row(before, row):
            new_calendars[name] = copy.deepcopy(before)
            continue
        spec: dict[str, Any] = {
            "timezone": "" if _blank(row.get("timezone")) else str(row["timezone"]).strip(),
            "hours": parse_hours("" if _blank(row.get("hours")) else row["hours"], f"{where}, hours"),
        }
        if not spec["timezone"]:
            raise EditError(f"{where}, timezone: needed unless the calendar is 24/7 (e.g. Europe/Amsterdam)")
        if isinstance(before, Mapping) and before.get("holidays"):
            spec["holidays"] = copy.deepcopy(before["holidays"])  # holidays are kept as committed
        new_calendars[name] = spec
    new_targets = []
    for number, row in enumerate(_records(targets), start=1):
        where = f"Targets row {number}"
        for column in ("metric", "within", "calendar"):
            if _blank(row.get(column)):
                raise EditError(f"{where}, {column}: required")
        match = {key: _split_values(row[key]) for key in EDITED_MATCH_KEYS if not _blank(row.get(key))}
        match.update(_parse_other_match(row.get("other_match"), f"{where}, other_match"))
        edited: dict[str, Any] = {"metric": str(row["metric"]).strip()}
        if match:
            edited["match"] = {k: (v[0] if len(v) == 1 else v) for k, v in match.items()}
        edited["within"] = str(row["within"]).strip()
        edited["calendar"] = str(row["calendar"]).strip()
        if not _blank(row.get("objective")):
            edited["objective"] = float(row["objective"])
        origin = row.get("origin")
        if not _blank(origin) and 0 <= int(origin) < len(committed_targets):
            edited = _keep_unchanged(committed_targets[int(origin)], edited)
        new_targets.append(edited)
    if not new_targets:
        raise EditError("Targets: a policy needs at least one target")
    raw["calendars"] = new_calendars
    raw["targets"] = new_targets
    if objective is not None:
        raw["objective"] = float(objective)
    return raw


def _match_key(match: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    return {k: tuple(sorted([v] if isinstance(v, str) else [str(x) for x in v])) for k, v in (match or {}).items()}


def _same_duration(a: Any, b: Any) -> bool:
    try:
        return parse_duration(a) == parse_duration(b)
    except (ValueError, PolicyError):
        return str(a) == str(b)


def _keep_unchanged(original: Mapping[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """The committed target with only the edited fields replaced, so the diff shows just the edit
    (escalation contacts and the committed spelling of unchanged fields stay)."""
    if original.get("metric") != edited["metric"]:
        return edited
    target = copy.deepcopy(dict(original))
    if _match_key(original.get("match")) != _match_key(edited.get("match")):
        if edited.get("match"):
            target["match"] = edited["match"]
        else:
            target.pop("match", None)
    if not _same_duration(original.get("within"), edited["within"]):
        target["within"] = edited["within"]
    target["calendar"] = edited["calendar"]
    before, after = original.get("objective"), edited.get("objective")
    if after is None:
        target.pop("objective", None)
    elif before is None or abs(_share(before) - after) > 1e-12:
        target["objective"] = after
    return target


def _share(value: Any) -> float:
    text = str(value).strip()
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


_TARGET_PATH = re.compile(r"targets\[(\d+)\]\.?([\w.\[\]]*): (.*)$")
_CALENDAR_PATH = re.compile(r"calendars\.([\w-]+)\.?([\w.\[\]-]*): (.*)$")


def friendly_error(error: PolicyError) -> str:
    """'proposed:14: targets[3].within: "2x" is not a duration' -> 'Targets row 4, within: "2x" is not ...'."""
    text = str(error)
    found = _TARGET_PATH.search(text)
    if found:
        row, column, message = int(found.group(1)) + 1, found.group(2) or "row", found.group(3)
        return f"Targets row {row}, {column}: {message}"
    found = _CALENDAR_PATH.search(text)
    if found:
        return f"Calendar {found.group(1)}, {found.group(2) or 'definition'}: {found.group(3)}"
    return text.split(": ", 1)[1] if text.startswith("proposed:") else text


def proposed_policy(committed: Policy, targets: Any, calendars: Any, objective: float | None = None) -> Policy:
    """The edited tables as a validated Policy; raises EditError with a row/column message."""
    raw = proposed_raw(committed, targets, calendars, objective)
    try:
        return parse_policy_mapping(raw, "proposed")
    except PolicyError as error:
        raise EditError(friendly_error(error)) from None


# ---------------------------------------------------------------------------------------------- views


def target_label(policy: Policy, index: int | None) -> str:
    """'first_response · channel=email, priority=urgent' for a target index."""
    if index is None or index >= len(policy.targets):
        return "no target"
    target = policy.targets[index]
    match = ", ".join(f"{k}={'|'.join(v)}" for k, v in target.match.items()) or "all items"
    return f"#{index + 1} {target.metric} · {match}"


def duration_or_blank(seconds: float | None) -> str:
    return "" if seconds is None else format_duration(seconds)


def advice_view(advice: pl.DataFrame, proposed: Policy) -> pl.DataFrame:
    """The advice table with readable target names and durations."""
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
    )


def weekly_chart(weekly: pl.DataFrame, objective: float | None, title: str) -> go.Figure:
    """Weekly attainment under the committed and the proposed policy, with the objective drawn."""
    figure = go.Figure()
    styles = {"committed": {"color": "#636efa", "dash": "solid"}, "proposed": {"color": "#ef553b", "dash": "dash"}}
    summed = (
        weekly.group_by("period", "policy")
        .agg(pl.col("decided").sum(), pl.col("met").sum())
        .with_columns(attainment=pl.col("met") / pl.col("decided"))
        .sort("period")
    )
    for policy, style in styles.items():
        side = summed.filter(pl.col("policy") == policy)
        figure.add_trace(
            go.Scatter(
                x=side["period"].to_list(),
                y=side["attainment"].to_list(),
                mode="lines+markers",
                name=f"{policy} policy",
                line=style,
                customdata=side["decided"].to_list(),
                hovertemplate="week of %{x|%d %b %Y}<br>%{y:.1%} of %{customdata} decided items<extra>"
                + policy
                + "</extra>",
            )
        )
    if objective is not None:
        figure.add_hline(
            y=objective,
            line={"color": "#2ca02c", "dash": "dot"},
            annotation_text=f"objective {objective:.0%}",
            annotation_position="bottom right",
        )
    figure.update_layout(
        title=title,
        xaxis_title="week (items by created date, UTC)",
        yaxis_title="attainment (share of decided items met)",
        yaxis_tickformat=".0%",
        legend={"orientation": "h", "y": -0.25},
        height=380,
        margin={"t": 60, "b": 40},
    )
    return figure


PERCENT_COLUMNS = {
    column: st.column_config.NumberColumn(column.replace("_", " "), format="percent")
    for column in ("committed", "proposed", "budget used, committed", "budget used, proposed")
} | {"change": st.column_config.NumberColumn("change (pp)", format="%+.1f")}


def share(rows: pl.DataFrame, side: str) -> float | None:
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
