"""sla.yaml text <-> Policy: parse_policy validates the file and builds the Policy, with one-line errors
naming the line and key path; policy_to_yaml writes it back (parse_policy(policy_to_yaml(p)) == p).

Structure is validated by the pydantic models of `sla_core.policy_spec`; the error's line comes from the
YAML node tree (`sla_core.checked_yaml.KeyLines`) at the failing key path.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from sla_core.calendar import (
    Calendar,
    HolidayRule,
    holiday_calendar,
    parse_days,
    parse_interval,
    parse_weekly_hours,
)
from sla_core.checked_yaml import (
    KeyLines,
    allowed_keys,
    clean_loc,
    dump_yaml,
    first_problem,
    load_checked_yaml,
)
from sla_core.checked_yaml import pydantic_message as message_of
from sla_core.policy import Escalation, Metric, Policy, Schedule, Target
from sla_core.policy_spec import (
    ALWAYS,
    DIMENSION_NAME,
    MATCH_KEYS,
    RESERVED_NAMES,
    CalendarSpec,
    EscalationSpec,
    HolidaySpec,
    MetricSpec,
    PolicySpec,
    ScheduleSpec,
    TargetSpec,
    parse_deadline,
    parse_duration,
    parse_schedule_due,
)

MAX_POLICY_CHARS = 1_000_000  # a real policy is a few kilobytes
_TOP_KEYS = ("version", "effective_from", "objective", "author", "reason", "committed_at",
             "dimensions", "calendars", "metrics", "targets")


def parse_policy(text: str, source: str = "sla.yaml") -> Policy:
    """YAML text -> Policy. Raises PolicyError with one line "<source>:<line>: <key.path>: <message>"."""
    data, root = load_checked_yaml(text, source, max_chars=MAX_POLICY_CHARS, holds="a policy file")
    errors = KeyLines(source, root)
    if not isinstance(data, dict):
        raise errors.error((), "a policy is a mapping with version, effective_from, calendars, metrics, targets")
    try:
        spec = PolicySpec.model_validate(data)
    except ValidationError as failure:
        first, loc = first_problem(failure, data, errors)
        model = _model_at(loc) if first["type"] == "extra_forbidden" else None
        raise errors.error(loc, message_of(first, allowed_keys(model))) from None
    return _build_policy(spec, data, errors)


def parse_policy_mapping(data: Mapping, source: str = "policy") -> Policy:
    """A policy from an edited mapping (e.g. a deep copy of Policy.raw); errors as parse_policy."""
    return parse_policy(dump_yaml(dict(data)), source=source)


def policy_to_yaml(policy: Policy) -> str:
    """The policy as YAML text; parse_policy(policy_to_yaml(p)) == p."""
    return dump_yaml(policy.raw)


def fingerprint_of(raw: Mapping) -> str:
    """A policy mapping's fingerprint: sha256 of its canonical YAML (what policy_to_yaml writes)."""
    return _digest(dump_yaml(dict(raw)))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def with_metadata(policy: Policy, *, version: int, effective_from: date, author: str, reason: str,
                  committed_at: datetime) -> tuple[Policy, str]:
    """The policy's rules as a new version: (the Policy, its canonical YAML). The rules were validated when
    `policy` was parsed and only the metadata is new, so nothing is parsed again: the text is written once
    and the fingerprint is that text's (parse_policy(text) == the Policy returned)."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version {version!r}: must be a whole number, 1 or more")
    if isinstance(effective_from, datetime) or not isinstance(effective_from, date):
        raise ValueError(f"effective_from {effective_from!r}: must be a day")
    if not isinstance(committed_at, datetime):
        raise ValueError(f"committed_at {committed_at!r}: must be an instant")
    committed_at = committed_at if committed_at.tzinfo is not None else committed_at.replace(tzinfo=UTC)
    stamped = {**copy.deepcopy(dict(policy.raw)), "version": version, "effective_from": effective_from,
               "author": str(author), "reason": str(reason), "committed_at": committed_at}
    raw = {key: stamped[key] for key in _TOP_KEYS if key in stamped}  # parse_policy's key order
    text = dump_yaml(raw)
    return replace(policy, version=version, effective_from=effective_from, author=raw["author"],
                   reason=raw["reason"], committed_at=committed_at, raw=raw, digest=_digest(text)), text


def _model_at(loc: Sequence) -> type[BaseModel] | None:
    """The validation model that owns the key at loc (for 'unknown key' hints)."""
    parent = tuple(loc[:-1])
    if not parent:
        return PolicySpec
    if parent[0] == "metrics" and len(parent) == 2:
        return MetricSpec
    if parent[0] == "metrics" and len(parent) == 3 and parent[2] == "schedule":
        return ScheduleSpec
    if parent[0] == "targets" and len(parent) == 2:
        return TargetSpec
    if parent[0] == "targets" and len(parent) == 3 and parent[2] == "escalation":
        return EscalationSpec
    return None


def _build_policy(spec: PolicySpec, data: dict, errors: KeyLines) -> Policy:
    dimensions = _build_dimensions(spec.dimensions, errors)
    calendars = {name: _build_calendar(name, value, errors) for name, value in spec.calendars.items()}
    metrics = {name: _build_metric(name, m, data["metrics"][name], errors) for name, m in spec.metrics.items()}
    targets = tuple(_build_target(index, t, metrics, calendars, dimensions, errors)
                    for index, t in enumerate(spec.targets))
    raw = {key: copy.deepcopy(data[key]) for key in _TOP_KEYS if key in data}  # top-level keys in a fixed order
    committed_at = spec.committed_at
    if committed_at is not None and committed_at.tzinfo is None:
        committed_at = committed_at.replace(tzinfo=UTC)
    return Policy(
        version=spec.version,
        effective_from=spec.effective_from,
        objective=spec.objective,
        calendars=calendars,
        metrics=metrics,
        targets=targets,
        author=spec.author,
        reason=spec.reason,
        committed_at=committed_at,
        raw=raw,
        dimensions=dimensions,
    )


def _build_dimensions(names: Sequence[str], errors: KeyLines) -> tuple[str, ...]:
    for index, name in enumerate(names):
        if not isinstance(name, str) or not DIMENSION_NAME.match(name):
            raise errors.error(("dimensions", index), f'"{name}" is not a dimension name (lower-case letters, digits '
                                                      "and _, as the mapping's attributes are named: impact, "
                                                      "customer_tier)")
        if name in RESERVED_NAMES:
            raise errors.error(("dimensions", index), f'"{name}" is a built-in field; match on it directly')
        if name in names[:index]:
            raise errors.error(("dimensions", index), f'"{name}" is listed twice')
    return tuple(names)


def _build_target(index: int, t: TargetSpec, metrics: Mapping[str, Metric], calendars: Mapping[str, Calendar],
                  dimensions: Sequence[str], errors: KeyLines) -> Target:
    """One target: its metric and calendar known, its match keys allowed, a budget of exactly one kind."""
    path = ("targets", index)
    match_keys = (*MATCH_KEYS, *dimensions)
    if t.metric not in metrics:
        raise errors.error(path + ("metric",), f'"{t.metric}" is not a metric (known: {", ".join(metrics)})')
    if t.calendar not in calendars:
        raise errors.error(path + ("calendar",), f'"{t.calendar}" is not a calendar (known: {", ".join(calendars)})')
    match = {}
    for key, values in t.match.items():
        if key not in match_keys:
            hint = "" if dimensions else "; declare other attributes under dimensions:"
            raise errors.error(path + ("match", key), f"cannot match on {key} (use {', '.join(match_keys)}{hint})")
        match[key] = (values,) if isinstance(values, str) else tuple(values)
        if not match[key]:
            raise errors.error(path + ("match", key), "needs at least one value")
    escalation = Escalation(tuple(t.escalation.notify), t.escalation.after) if t.escalation else None
    scheduled = metrics[t.metric].schedule is not None
    for key in ("within", "by"):
        if scheduled and getattr(t, key) is not None:
            raise errors.error(path + (key,), f"{t.metric} runs on a schedule: its due time is the budget "
                                              f"(leave out {key})")
    if t.within is not None and t.by is not None:
        raise errors.error(path + ("by",), "give within (a duration) or by (a deadline), not both")
    if not scheduled and t.within is None and t.by is None:
        raise errors.error(path + ("within",), "required key is missing")
    within_s = parse_duration(t.within) if t.within is not None else 0.0
    by_s = parse_deadline(t.by) if t.by is not None else None
    return Target(index, t.metric, match, within_s, t.calendar, t.objective, escalation, by_s)


def _build_calendar(name: str, value: Any, errors: KeyLines) -> Calendar:
    path = ("calendars", name)
    if not isinstance(value, dict):
        if not isinstance(value, str) or value.strip() != ALWAYS:
            raise errors.error(path, f'"{value}" is not a calendar (use 24/7 or a mapping with timezone and hours)')
        return Calendar.always_open(name)
    try:
        spec = CalendarSpec.model_validate(value)
    except ValidationError as failure:
        first = failure.errors()[0]
        loc = clean_loc(value, first["loc"], first["type"] == "missing")
        allowed = allowed_keys(CalendarSpec if len(loc) == 1 else HolidaySpec)
        raise errors.error(path + loc, message_of(first, allowed)) from None
    for key, intervals in spec.hours.items():
        try:
            parse_days(key)
        except ValueError as error:
            raise errors.error(path + ("hours", key), str(error)) from None
        for index, interval in enumerate([intervals] if isinstance(intervals, str) else intervals):
            try:
                parse_interval(interval)
            except ValueError as error:
                where = path + ("hours", key) + ((index,) if not isinstance(intervals, str) else ())
                raise errors.error(where, str(error)) from None
    try:
        weekly = parse_weekly_hours(spec.hours)
    except ValueError as error:
        raise errors.error(path + ("hours",), str(error)) from None
    holiday_rule = _build_holidays(spec.holidays, path, errors) if spec.holidays is not None else None
    try:
        return Calendar(name, spec.timezone, weekly, holiday_rule)
    except ValueError as error:
        raise errors.error(path + ("timezone",), str(error)) from None


def _build_holidays(spec: HolidaySpec, path: tuple, errors: KeyLines) -> HolidayRule:
    country = spec.country.upper() if spec.country else None
    if country:
        try:
            holiday_calendar(country, spec.subdivision)
        except ValueError as error:
            key = "subdivision" if "subdivision" in str(error) else "country"
            raise errors.error(path + ("holidays", key), str(error)) from None
    elif spec.subdivision:
        raise errors.error(path + ("holidays", "subdivision"), "needs a country")
    return HolidayRule(country, spec.subdivision, tuple(sorted(set(spec.dates))))


def _lowered(value: str | list[str]) -> str | tuple[str, ...]:
    return value.lower() if isinstance(value, str) else tuple(one.lower() for one in value)


_NOT_WITH = {
    "between": "the gaps run from created through each event; leave out",
    "schedule": "a schedule's instances are its periods; leave out",
}


def _build_metric(name: str, m: MetricSpec, raw: dict, errors: KeyLines) -> Metric:
    """The metric of one validated spec; each kind's keys checked with the key path of the first problem."""
    path = ("metrics", name)
    pauses = tuple(s.lower() for s in m.pause_when_status)
    if m.between is not None:
        for key in ("start", "stop", "repeat", "schedule", "pause_when_status"):
            if key in raw:
                raise errors.error(path + (key,), f"not used with between ({_NOT_WITH['between']} {key})")
        between = _lowered(m.between)
        return Metric(name, "created", between, (), between=between)
    if m.schedule is not None:
        for key in ("repeat", "pause_when_status"):
            if key in raw:
                raise errors.error(path + (key,), f"not used with schedule (schedules do not pause or repeat; "
                                                  f"leave out {key})")
        if m.stop is None:
            raise errors.error(path + ("stop",), "required key is missing (the event that meets a period)")
        try:
            day, seconds = parse_schedule_due(m.schedule.every, m.schedule.due)
        except ValueError as error:
            raise errors.error(path + ("schedule", "due"), str(error)) from None
        schedule = Schedule(m.schedule.every, m.schedule.due, day, seconds)
        return Metric(name, _lowered(m.start or "created"), _lowered(m.stop), (), schedule=schedule)
    for key in ("start", "stop"):
        if getattr(m, key) is None:
            raise errors.error(path + (key,), "required key is missing")
    return Metric(name, _lowered(m.start), _lowered(m.stop), pauses, repeat=m.repeat)
