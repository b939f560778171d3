"""The What-if editor tables <-> a policy: the committed policy as plain text cells, and the edited tables
back as a validated Policy.

Match values are comma-separated, durations as written in sla.yaml, hours as
"mon-fri 08:00-12:00 13:00-17:30; sat 10:00-14:00". Unchanged targets keep their committed spelling (and
fields the tables do not show, such as escalation contacts), so a diff shows just the edit. Errors name the
table row and column, from the PolicyError's key path.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import polars as pl

from sla_core.durations import format_duration
from sla_core.policy import Policy, PolicyError
from sla_core.policy_spec import ALWAYS, parse_duration, parse_share
from sla_core.policy_yaml import parse_policy_mapping

EDITED_MATCH_KEYS = ("channel", "priority", "team", "process")
TARGET_COLUMNS = ("metric", *EDITED_MATCH_KEYS, "other_match", "within", "calendar", "objective", "origin")
CALENDAR_COLUMNS = ("name", "always_open", "timezone", "hours", "holidays")
SCHEDULE_COLUMNS = ("metric", "every", "due")
_DEADLINE_TEXT = re.compile(r"^\s*next\s+business\s+day\b", re.IGNORECASE)


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
                # a duration, a deadline ("next business day 17:00"), or empty for a scheduled metric
                "within": _hours_text(target.get("within")) if "within" in target else str(target.get("by", "")),
                "calendar": target["calendar"],
                "objective": target.get("objective"),
                "origin": index,
            }
        )
    schema = {column: pl.String for column in TARGET_COLUMNS}
    schema.update(objective=pl.Float64, origin=pl.Int64)
    return pl.DataFrame(rows, schema=schema)


def schedules_frame(policy: Policy) -> pl.DataFrame:
    """One editable row per scheduled metric: metric, every (day | week | month), due ("wed 17:00")."""
    rows = [
        {"metric": name, "every": str(spec["schedule"].get("every", "")), "due": str(spec["schedule"].get("due", ""))}
        for name, spec in policy.raw.get("metrics", {}).items()
        if isinstance(spec, Mapping) and isinstance(spec.get("schedule"), Mapping)
    ]
    return pl.DataFrame(rows, schema={column: pl.String for column in SCHEDULE_COLUMNS})


def changed_schedules(committed: Policy, proposed: Policy) -> list[str]:
    """Scheduled metrics whose schedule (every, due) the proposal changes."""
    return [name for name, metric in proposed.metrics.items()
            if metric.schedule is not None and name in committed.metrics
            and committed.metrics[name].schedule != metric.schedule]


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


def proposed_raw(committed: Policy, targets: Any, calendars: Any, objective: float | None = None,
                 schedules: Any = None) -> dict:
    """The edited tables as a policy mapping (not yet validated)."""
    raw = copy.deepcopy(dict(committed.raw))
    for row in _records(schedules) if schedules is not None else []:
        spec = raw.get("metrics", {}).get(row.get("metric"))
        if isinstance(spec, dict) and isinstance(spec.get("schedule"), dict):
            spec["schedule"] = {"every": _text(row, "every"), "due": _text(row, "due")}
    scheduled = {name for name, spec in raw.get("metrics", {}).items()
                 if isinstance(spec, Mapping) and spec.get("schedule") is not None}
    raw["calendars"] = _edited_calendars(_records(calendars), raw.get("calendars", {}))
    raw["targets"] = _edited_targets(_records(targets), raw.get("targets", []), scheduled)
    if objective is not None:
        raw["objective"] = float(objective)
    return raw


def _text(row: Mapping[str, Any], column: str) -> str:
    """A cell as stripped text ("" when blank)."""
    return "" if _blank(row.get(column)) else str(row[column]).strip()


def _edited_calendars(rows: list[dict[str, Any]], committed: Mapping[str, Any]) -> dict[str, Any]:
    """The Calendars table as the policy's `calendars`; a row unchanged keeps its committed spelling."""
    new_calendars: dict[str, Any] = {}
    for number, row in enumerate(rows, start=1):
        where = f"Calendars row {number}"
        name = _text(row, "name")
        if not name:
            raise EditError(f"{where}, name: a calendar needs a name")
        if name in new_calendars:
            raise EditError(f"{where}, name: {name!r} is listed twice")
        if row.get("always_open"):
            new_calendars[name] = ALWAYS
            continue
        before = committed.get(name)
        if isinstance(before, Mapping) and _same_calendar_row(before, row):
            new_calendars[name] = copy.deepcopy(before)
            continue
        spec: dict[str, Any] = {
            "timezone": _text(row, "timezone"),
            "hours": parse_hours("" if _blank(row.get("hours")) else row["hours"], f"{where}, hours"),
        }
        if not spec["timezone"]:
            raise EditError(f"{where}, timezone: needed unless the calendar is 24/7 (e.g. Europe/Amsterdam)")
        if isinstance(before, Mapping) and before.get("holidays"):
            spec["holidays"] = copy.deepcopy(before["holidays"])  # holidays are kept as committed
        new_calendars[name] = spec
    return new_calendars


def _edited_targets(rows: list[dict[str, Any]], committed: list[Any], scheduled: set[str]) -> list[dict[str, Any]]:
    """The Targets table as the policy's `targets`, in row order; a row's `origin` names the committed target
    whose spelling (and fields the table does not show) it keeps where unchanged."""
    new_targets = []
    for number, row in enumerate(rows, start=1):
        where = f"Targets row {number}"
        metric = _text(row, "metric")
        for column in ("metric", "within", "calendar"):
            if column == "within" and metric in scheduled:
                continue  # a scheduled metric's due time is its budget
            if _blank(row.get(column)):
                raise EditError(f"{where}, {column}: required")
        match = {key: _split_values(row[key]) for key in EDITED_MATCH_KEYS if not _blank(row.get(key))}
        match.update(_parse_other_match(row.get("other_match"), f"{where}, other_match"))
        edited: dict[str, Any] = {"metric": metric}
        if match:
            edited["match"] = {k: (v[0] if len(v) == 1 else v) for k, v in match.items()}
        budget = _text(row, "within")
        if budget:
            edited["by" if _DEADLINE_TEXT.match(budget) else "within"] = budget
        edited["calendar"] = _text(row, "calendar")
        if not _blank(row.get("objective")):
            edited["objective"] = float(row["objective"])
        origin = row.get("origin")
        if not _blank(origin) and 0 <= int(origin) < len(committed):
            edited = _keep_unchanged(committed[int(origin)], edited)
        new_targets.append(edited)
    if not new_targets:
        raise EditError("Targets: a policy needs at least one target")
    return new_targets


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
    if "within" in edited:
        target.pop("by", None)
        if not _same_duration(original.get("within"), edited["within"]):
            target["within"] = edited["within"]
    else:
        target.pop("within", None)
        if "by" in edited:
            target["by"] = edited["by"]
        else:
            target.pop("by", None)
    target["calendar"] = edited["calendar"]
    before, after = original.get("objective"), edited.get("objective")
    if after is None:
        target.pop("objective", None)
    elif before is None or abs(parse_share(before) - after) > 1e-12:
        target["objective"] = after
    return target


_TARGET_PATH = re.compile(r"targets\[(\d+)\]\.?(.*)$")
_CALENDAR_PATH = re.compile(r"calendars\.([^.\[]+)\.?(.*)$")
_SCHEDULE_PATH = re.compile(r"metrics\.([^.\[]+)\.schedule\.?(.*)$")


def friendly_error(error: PolicyError) -> str:
    """A PolicyError about the proposed mapping, told in the tables' terms from its key path:
    targets[3].within -> 'Targets row 4, within: ...'; calendars.support.hours -> 'Calendar support, hours: ...'."""
    path = error.path or ""
    found = _TARGET_PATH.match(path)
    if found:
        return f"Targets row {int(found.group(1)) + 1}, {found.group(2) or 'row'}: {error.message}"
    found = _SCHEDULE_PATH.match(path)
    if found:
        return f"Schedule of {found.group(1)}, {found.group(2) or 'schedule'}: {error.message}"
    found = _CALENDAR_PATH.match(path)
    if found:
        return f"Calendar {found.group(1)}, {found.group(2) or 'definition'}: {error.message}"
    return f"{path}: {error.message}" if path else error.message


def proposed_policy(committed: Policy, targets: Any, calendars: Any, objective: float | None = None,
                    schedules: Any = None) -> Policy:
    """The edited tables as a validated Policy; raises EditError with a row/column message."""
    return validated(committed, proposed_raw(committed, targets, calendars, objective, schedules))


def validated(committed: Policy, raw: Mapping[str, Any]) -> Policy:
    """A proposal mapping (proposed_raw) as a Policy: `committed` itself when nothing was changed, else
    parsed once; raises EditError with a row/column message."""
    if raw == committed.raw:
        return committed
    try:
        return parse_policy_mapping(raw, "proposed")
    except PolicyError as error:
        raise EditError(friendly_error(error)) from None


def _hours_text(within) -> str:
    """A budget as the editor shows it: in hours and minutes ('48h', not '2d' - a business day is not 24
    hours); text that is not a duration is shown as written."""
    if within is None:
        return ""
    try:
        seconds = parse_duration(str(within))
    except ValueError:
        return str(within)
    text = format_duration(seconds)
    return text if parse_duration(text) == seconds else str(within)  # never round a budget away
