"""The versioned SLA policy: YAML text -> validated objects, with one-line errors naming line and key path.

    version: 1
    effective_from: 2026-01-01
    objective: 0.95
    dimensions: [impact, customer_tier]   # item attributes targets match on and pages slice by
    calendars:
      support_hours:
        timezone: Europe/Amsterdam
        hours: {mon-fri: ["08:00-12:00", "13:00-17:30"], sat: ["10:00-14:00"]}
        holidays: {country: NL, dates: [2026-12-24]}
      always: 24/7
    metrics:
      first_response: {start: created, stop: first_response}
      resolution: {start: created, stop: [resolved, closed], pause_when_status: [pending, "wait*"]}
    targets:            # ordered; first match wins per metric
      - {metric: first_response, match: {channel: chat}, within: 2m, calendar: always}
      - {metric: resolution, match: {impact: [High, Major]}, within: 8h, calendar: support_hours}
      - {metric: resolution, within: 3d, calendar: support_hours, objective: 0.9,
         escalation: {notify: ["#support-leads"], after: 75%}}

Structure is validated by pydantic models; the error's line comes from the YAML node tree (yaml.compose)
at the failing key path.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from sla_core.calendar import (
    DAY_NAMES,
    Calendar,
    HolidayRule,
    holiday_calendar,
    parse_clock_time,
    parse_days,
    parse_interval,
    parse_weekly_hours,
)
from sla_core.durations import format_duration  # noqa: F401  (re-exported: people read durations)

ITEM_MILESTONES = ("created", "first_response", "resolved", "closed")
MATCH_KEYS = ("channel", "priority", "team", "process", "agent", "kind", "source")
# A dimension is a lower-case identifier naming one of the items' attributes (a mapping's `attributes:`).
DIMENSION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Names the item, result and query columns already use: a dimension cannot take them.
RESERVED_NAMES = frozenset({
    *MATCH_KEYS, *ITEM_MILESTONES, "item_id", "status", "subject", "attributes", "import_id", "metric",
    "policy_version", "target_index", "calendar", "within_s", "objective", "start", "stop", "elapsed_s",
    "paused_s", "state", "met", "due_at", "remaining_s", "pct_used", "computed_at", "missing", "day", "week",
    "month", "total", "items", "decided", "breached", "active", "running", "not_measured", "attainment",
})
ALWAYS = "24/7"
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_DURATION = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[smhd]\s*)+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
SCHEDULE_PERIODS = ("day", "week", "month")
_DEADLINE = re.compile(r"^\s*next\s+business\s+day\s+(\S+)\s*$", re.IGNORECASE)
_TOP_KEYS = ("version", "effective_from", "objective", "author", "reason", "committed_at",
             "dimensions", "calendars", "metrics", "targets")


class PolicyError(ValueError):
    """A policy that cannot be used. str() is one line: "<source>:<line>: <key.path>: <message>"."""

    def __init__(self, source: str, line: int | None, path: str, message: str):
        self.source, self.line, self.path, self.message = source, line, path, message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")


# -- durations --------------------------------------------------------------------------------------------


def parse_duration(text: str | int | float) -> float:
    """'1h30m' -> 5400.0 seconds. Units s, m, h, d (1d = 24h of business time); parts may repeat."""
    if isinstance(text, bool) or not isinstance(text, str) or not _DURATION.match(text):
        raise ValueError(f'"{text}" is not a duration (use 90s, 15m, 4h, 2d)')
    return float(sum(float(amount) * _DURATION_UNITS[unit] for amount, unit in _DURATION_PART.findall(text)))


def parse_deadline(text: Any) -> int:
    """'next business day 17:00' -> 61200 (seconds after local midnight of the deadline's day)."""
    found = _DEADLINE.match(text) if isinstance(text, str) else None
    if not found:
        raise ValueError(f'"{text}" is not a deadline (use "next business day 17:00")')
    try:
        return parse_clock_time(found.group(1), allow_24=False)
    except ValueError as error:
        raise ValueError(f'"{text}": {error}, e.g. "next business day 17:00"') from None


def parse_schedule_due(every: str, due: Any) -> tuple[int, int]:
    """The due of a schedule -> (day, seconds after midnight): day "10:00"; week "wed 17:00"; month "5 17:00"."""
    examples = {"day": '"10:00"', "week": '"wed 17:00"', "month": '"5 17:00" (the 5th at 17:00)'}
    problem = f'"{due}" is not a {every}ly due time (use {examples[every]})'
    parts = str(due).split() if isinstance(due, str) else []
    if len(parts) != (1 if every == "day" else 2):
        raise ValueError(problem)
    day = 0
    if every == "week":
        name = parts[0].lower()
        if name not in DAY_NAMES and name not in _LONG_DAYS:
            raise ValueError(problem)
        day = DAY_NAMES.index(name[:3])
    elif every == "month":
        if not parts[0].isdigit() or not 1 <= int(parts[0]) <= 31:
            raise ValueError(f'"{due}": the day of the month must be 1-31 (use {examples[every]})')
        day = int(parts[0])
    try:
        seconds = parse_clock_time(parts[-1], allow_24=False)
    except ValueError as error:
        raise ValueError(f"{error}; use {examples[every]}") from None
    return day, seconds


_LONG_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _share(value: Any) -> float:
    """0.75 or '75%' -> 0.75."""
    if isinstance(value, bool):
        raise ValueError(f'"{value}" is not a share (use 0.95 or 95%)')
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            value = float(value.strip()[:-1]) / 100
        except ValueError:
            raise ValueError(f'"{value}" is not a share (use 0.95 or 95%)') from None
    if not isinstance(value, int | float):
        raise ValueError(f'"{value}" is not a share (use 0.95 or 95%)')
    return float(value)


# -- validation models (the file's structure) --------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class EscalationSpec(_Model):
    notify: list[str]
    after: float = 0.75

    @field_validator("notify", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("after", mode="before")
    @classmethod
    def _after_share(cls, value: Any) -> float:
        share = _share(value)
        if not 0 < share <= 1:
            raise ValueError(f"{value} must be between 0% and 100%")
        return share


class HolidaySpec(_Model):
    country: str | None = None
    subdivision: str | None = None
    dates: list[date] = []


class CalendarSpec(_Model):
    timezone: str
    hours: dict[str, list[str] | str]
    holidays: HolidaySpec | None = None


def is_milestone(value: str) -> bool:
    """An item column (created, first_response, resolved, closed) or "event:<kind>" (any case)."""
    return value.lower() in ITEM_MILESTONES or (value.lower().startswith("event:") and len(value) > len("event:"))


def milestones(value: str | Sequence[str]) -> tuple[str, ...]:
    """A metric's start or stop as a tuple of milestones: one name, or a first-of list."""
    return (value,) if isinstance(value, str) else tuple(value)


class ScheduleSpec(_Model):
    every: str
    due: str

    @field_validator("every")
    @classmethod
    def _period(cls, value: str) -> str:
        if value not in SCHEDULE_PERIODS:
            raise ValueError(f'"{value}" is not a period (use {", ".join(SCHEDULE_PERIODS)})')
        return value


class MetricSpec(_Model):
    start: str | list[str] | None = None
    stop: str | list[str] | None = None
    pause_when_status: list[str] = []
    repeat: bool = False
    between: str | None = None
    schedule: ScheduleSpec | None = None

    @field_validator("pause_when_status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("between")
    @classmethod
    def _event_kind(cls, value: str | None) -> str | None:
        if value is None or (value.lower().startswith("event:") and len(value) > len("event:")):
            return value
        raise ValueError(f'"{value}" is not an event kind (use event:<kind>, e.g. event:updated)')

    @field_validator("start", "stop")
    @classmethod
    def _milestone(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is None:
            return value
        if isinstance(value, list) and not value:
            raise ValueError("needs at least one milestone")
        for one in milestones(value):
            if not is_milestone(one):
                raise ValueError(f'"{one}" is not a milestone (use {", ".join(ITEM_MILESTONES)} or event:<kind>, '
                                 "or a list of them for whichever comes first)")
        return value


class TargetSpec(_Model):
    metric: str
    match: dict[str, list[str] | str] = {}
    within: str | None = None
    by: str | None = None
    calendar: str
    objective: float | None = None
    escalation: EscalationSpec | None = None

    @field_validator("within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> str | None:
        if value is None:
            return value
        seconds = parse_duration(value)
        if not seconds > 0:
            raise ValueError(f'"{value}" is no time at all: a target needs a budget above 0s')
        if seconds > MAX_WITHIN_S:
            raise ValueError(f'"{value}" is more than {MAX_WITHIN} (the longest target this dashboard judges)')
        return value

    @field_validator("by", mode="before")
    @classmethod
    def _deadline(cls, value: Any) -> str | None:
        if value is not None:
            parse_deadline(value)
        return value

    @field_validator("objective", mode="before")
    @classmethod
    def _objective(cls, value: Any) -> Any:
        return None if value is None else _objective_share(value)


MAX_WITHIN, MAX_WITHIN_S = "365d", 365 * 86400.0


def _objective_share(value: Any) -> float:
    share = _share(value)
    if not 0 < share < 1:
        raise ValueError(f"{value} must be above 0 and below 1 (e.g. 0.95 or 95%)")
    return share


class PolicySpec(_Model):
    version: int
    effective_from: date
    objective: float = 0.95
    author: str | None = None
    reason: str | None = None
    committed_at: datetime | None = None
    dimensions: list[str] = []
    calendars: dict[str, Any]
    metrics: dict[str, MetricSpec]
    targets: list[TargetSpec]

    @field_validator("dimensions", mode="before")
    @classmethod
    def _dimension_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("objective", mode="before")
    @classmethod
    def _objective(cls, value: Any) -> float:
        return _objective_share(value)

    @field_validator("version")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be 1 or more")
        return value


# -- domain objects -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A deadline every day, week or month: `due` parsed into the deadline's place in the period.

    every="day":   due_day = 0;  every="week": due_day = weekday (0 = Monday);
    every="month": due_day = day of the month (1-31; past the month's end means its last day).
    due_s: seconds after local midnight.
    """

    every: str
    due: str
    due_day: int
    due_s: int


@dataclass(frozen=True)
class Metric:
    """start / stop: an item column or "event:<kind>", or a tuple of them (whichever comes first).

    Milestone names are lower-case; event kinds and pause statuses may be glob patterns ("wait*").
    """

    name: str
    start: str | tuple[str, ...]
    stop: str | tuple[str, ...]
    pause_when_status: tuple[str, ...] = ()
    repeat: bool = False  # one clock per start event while none runs (next reply time)
    between: str | None = None  # "event:<kind>": the gaps from created through each event (start/stop unused)
    schedule: Schedule | None = None  # one instance per period, due at the schedule's deadline

    @property
    def kind(self) -> str:
        """"clock" (one per item), "repeat", "between" or "schedule"."""
        if self.schedule is not None:
            return "schedule"
        if self.between is not None:
            return "between"
        return "repeat" if self.repeat else "clock"

    @property
    def starts(self) -> tuple[str, ...]:
        return milestones(self.start)

    @property
    def stops(self) -> tuple[str, ...]:
        return milestones(self.stop)


@dataclass(frozen=True)
class Escalation:
    notify: tuple[str, ...]
    after: float  # share of the budget used, 0.75 for "75%"


@dataclass(frozen=True, eq=True)
class Target:
    index: int
    metric: str
    match: dict[str, tuple[str, ...]]
    within_s: float
    calendar: str
    objective: float | None = None
    escalation: Escalation | None = None
    # "next business day HH:MM": seconds after local midnight of the deadline (within_s is then 0)
    by_s: int | None = None

    def __hash__(self) -> int:  # `match` is a dict, so hash its items
        return hash((self.index, self.metric, tuple(sorted(self.match.items())), self.within_s, self.calendar,
                     self.objective, self.escalation, self.by_s))

    @property
    def by(self) -> str | None:
        """The deadline as written ("next business day 17:00"), None for a duration budget."""
        if self.by_s is None:
            return None
        return f"next business day {self.by_s // 3600:02d}:{self.by_s % 3600 // 60:02d}"

    def matches(self, attrs: Mapping) -> bool:
        """True when every match key's value is one of the listed values (case-insensitive)."""
        for key, allowed in self.match.items():
            value = attrs.get(key)
            if value is None or str(value).lower() not in {v.lower() for v in allowed}:
                return False
        return True

    def condition(self, columns: Sequence[str], spellings: Mapping[str, Sequence[str]] | None = None) -> pl.Expr:
        """The same test as `matches`, as a polars expression over an items frame.

        `spellings` (column -> its distinct values) lets the test compare the few distinct values
        case-insensitively instead of lower-casing every row.
        """
        expression = pl.lit(True)
        for key, allowed in self.match.items():
            if key not in columns:
                return pl.lit(False)
            lowered = {v.lower() for v in allowed}
            if spellings is not None and key in spellings:
                accepted = [value for value in spellings[key] if value is not None and value.lower() in lowered]
                test = pl.col(key).is_in(accepted)
            else:
                test = pl.col(key).cast(pl.String).str.to_lowercase().is_in(sorted(lowered))
            expression = expression & test.fill_null(False)
        return expression


@dataclass(frozen=True, eq=False)
class Policy:
    version: int
    effective_from: date
    objective: float
    calendars: dict[str, Calendar]
    metrics: dict[str, Metric]
    targets: tuple[Target, ...]
    author: str | None = None
    reason: str | None = None
    committed_at: datetime | None = None
    raw: dict = field(default_factory=dict, repr=False)
    fingerprint: str = ""
    dimensions: tuple[str, ...] = ()  # item attributes targets may match on and pages may slice by

    @property
    def match_keys(self) -> tuple[str, ...]:
        """Keys a target may match on: the built-in item fields and the declared dimensions."""
        return (*MATCH_KEYS, *self.dimensions)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def target_for(self, metric: str, attrs: Mapping) -> Target | None:
        """The first target of the metric whose match fits the item's attributes."""
        return next((t for t in self.targets if t.metric == metric and t.matches(attrs)), None)

    def match_targets(self, items: pl.DataFrame, metric: str) -> pl.Series:
        """Int32 target index per item row (first match wins), null where no target matches."""
        candidates = [t for t in self.targets if t.metric == metric]
        if not candidates:
            return pl.Series("target_index", [None] * items.height, dtype=pl.Int32)
        keys = {key for target in candidates for key in target.match if key in items.columns}
        spellings = {key: items.get_column(key).cast(pl.String).unique().to_list() for key in keys}
        chain = pl.when(candidates[0].condition(items.columns, spellings)).then(pl.lit(candidates[0].index, pl.Int32))
        for target in candidates[1:]:
            chain = chain.when(target.condition(items.columns, spellings)).then(pl.lit(target.index, pl.Int32))
        chosen = chain.otherwise(pl.lit(None, pl.Int32)).alias("target_index")
        # with_columns broadcasts a chain of literals only (targets without match keys) to every row.
        return items.with_columns(chosen).get_column("target_index")

    def objective_for(self, target: Target) -> float:
        return target.objective if target.objective is not None else self.objective


class PolicyHistory:
    """Every policy version, sorted by effective_from; history is judged by the version in force."""

    def __init__(self, policies: Sequence[Policy]):
        if not policies:
            raise ValueError("a policy history needs at least one version")
        self.versions: tuple[Policy, ...] = tuple(sorted(policies, key=lambda p: (p.effective_from, p.version)))
        self._by_version = {p.version: p for p in self.versions}

    @property
    def dimensions(self) -> tuple[str, ...]:
        """Every version's dimensions, in order of first declaration."""
        return tuple(dict.fromkeys(name for policy in self.versions for name in policy.dimensions))

    @property
    def current(self) -> Policy:
        """The latest version (the one effective last)."""
        return self.versions[-1]

    def __getitem__(self, version: int) -> Policy:
        return self._by_version[version]

    def __len__(self) -> int:
        return len(self.versions)

    def __iter__(self):
        return iter(self.versions)

    def in_force(self, day: date) -> Policy:
        """The version effective on that day; days before the first version use the first version."""
        chosen = self.versions[0]
        for policy in self.versions:
            if policy.effective_from <= day:
                chosen = policy
        return chosen

    def version_for(self, created: pl.Series) -> pl.Series:
        """Int32 version in force at each instant's UTC date (null where the instant is null)."""
        starts = pl.Series([p.effective_from for p in self.versions], dtype=pl.Date)
        numbers = pl.Series([p.version for p in self.versions], dtype=pl.Int32)
        if isinstance(created.dtype, pl.Datetime) and created.dtype.time_zone not in (None, "UTC"):
            created = created.dt.convert_time_zone("UTC")
        days = created.dt.date() if isinstance(created.dtype, pl.Datetime) else created.cast(pl.Date)
        position = (starts.search_sorted(days, side="right").cast(pl.Int64) - 1).clip(0, len(starts) - 1)
        out = numbers.gather(position.cast(pl.UInt32))
        return pl.select(pl.when(days.is_null()).then(None).otherwise(out).alias("policy_version")).to_series()


# -- YAML: loading with line numbers, dumping -------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without yes/no/on/off booleans: a country code NO stays the string "NO"."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """Dates such as 2026-13-01 stay text so validation reports them with their key path."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def _node_lines(node: yaml.Node | None, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Key path -> 1-based line of the value at that path (for mapping keys, the key's line)."""
    out = {} if out is None else out
    if node is None or len(path) > 32:  # YAML aliases can make a node contain itself
        return out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _node_lines(value_node, path + (key,), out)
            # A value on a later line than its key (a block under it) is where its problems are.
            if value_node.start_mark.line > key_node.start_mark.line and not isinstance(
                value_node, yaml.MappingNode | yaml.SequenceNode
            ):
                out[path + (key,)] = value_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _node_lines(child, path + (index,), out)
    return out


MAX_POLICY_CHARS = 1_000_000  # a real policy is a few kilobytes
MAX_POLICY_DEPTH = 12  # targets[0].escalation.notify[0] is 4 levels deep
MAX_POLICY_VALUES = 100_000  # values after expanding aliases
_FLOW_BRACKET = re.compile(r"[\[\]{}]")


def _deep_flow_at(text: str) -> int | None:
    """Offset of the first bracket nested deeper than MAX_POLICY_DEPTH (flow style: [..], {..}), else None."""
    depth = 0
    for found in _FLOW_BRACKET.finditer(text):
        if found.group() in "[{":
            depth += 1
            if depth > MAX_POLICY_DEPTH:
                return found.start()
        elif depth:
            depth -= 1
    return None


def _check_node_graph(root: yaml.Node | None, source: str) -> None:
    """Refuse duplicate keys, deep nesting, self-containing aliases and alias expansion beyond
    MAX_POLICY_VALUES, walking each distinct node once (an alias is a second reference to the same node)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def fail(node: yaml.Node, path: tuple, message: str) -> PolicyError:
        return PolicyError(source, node.start_mark.line + 1, _format_path(path), message)

    def visit(node: yaml.Node, path: tuple) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise fail(node, path, "an alias refers to a value that contains it")
        if len(path) > MAX_POLICY_DEPTH:
            raise fail(node, path, f"nested deeper than {MAX_POLICY_DEPTH} levels")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if name is not None and key_node.tag != "tag:yaml.org,2002:merge":
                    if name in seen:
                        raise fail(key_node, path + (name,),
                                   f"duplicate key (first on line {seen[name]}; only one may stay)")
                    seen[name] = key_node.start_mark.line + 1
                total += visit(value_node, path + ((name if name is not None else "?"),))
                if total > MAX_POLICY_VALUES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                total += visit(child, path + (index,))
                if total > MAX_POLICY_VALUES:
                    break
        open_nodes.discard(key)
        if total > MAX_POLICY_VALUES:
            raise fail(node, path, f"aliases expand to more than {MAX_POLICY_VALUES:,} values (a YAML alias "
                                   "bomb?); write the values out")
        sizes[key] = total
        return total

    if root is not None:
        visit(root, ())


def _format_path(path: Sequence) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


class _Errors:
    def __init__(self, source: str, lines: dict[tuple, int]):
        self.source, self.lines = source, lines

    def line(self, path: Sequence) -> int | None:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def error(self, path: Sequence, message: str) -> PolicyError:
        return PolicyError(self.source, self.line(path), _format_path(path), message)


def _pydantic_message(error: dict, allowed: Sequence[str] = ()) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return f"unknown key (expected one of: {', '.join(allowed)})" if allowed else "unknown key"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    if kind in ("int_parsing", "float_parsing", "date_from_datetime_parsing", "date_parsing", "datetime_parsing",
                "string_type", "dict_type", "list_type", "int_from_float", "float_type", "int_type",
                "model_type", "datetime_from_date_parsing", "date_type", "datetime_type", "bool_parsing", "bool_type"):
        value = error.get("input")
        shown = f'"{value}"' if not isinstance(value, dict | list) else type(value).__name__
        return f"{shown}: {message[0].lower()}{message[1:]}"
    return message


def _allowed_keys(model: type[BaseModel] | None) -> tuple[str, ...]:
    return tuple(model.model_fields) if model else ()


def _clean_loc(data: Any, loc: Sequence, missing: bool = False) -> tuple:
    """Pydantic's error location without its union-member tags (e.g. 'list[str]'): only real keys."""
    path: list = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif missing and isinstance(node, dict):
            path.append(part)  # the missing key itself
            break
        else:
            continue
        path.append(part)
    return tuple(path)


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


def load_checked_yaml(text: str, source: str, *, max_chars: int, holds: str) -> tuple[Any, Any]:
    """YAML text -> (data, root node). Raises PolicyError with one line "<source>:<line>: <message>".

    The file's shape is checked on the YAML node graph before any Python object is built: its size, nesting
    depth, duplicate keys, and how far aliases expand (a 10-line "billion laughs" file would otherwise take
    gigabytes and minutes). Policy and access files share it."""
    if len(text) > max_chars:
        raise PolicyError(source, None, "", f"{len(text):,} characters; {holds} holds at most {max_chars:,}")
    if (deep := _deep_flow_at(text)) is not None:
        # PyYAML's scanner slows down with every open bracket: refuse a deep file before scanning it.
        raise PolicyError(source, text.count("\n", 0, deep) + 1, "", f"nested deeper than {MAX_POLICY_DEPTH} levels")
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise PolicyError(source, line, "", f"not valid YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise PolicyError(source, None, "", f"not valid YAML: {error}") from None
    except RecursionError:
        raise PolicyError(source, None, "", f"nested deeper than {MAX_POLICY_DEPTH} levels") from None
    _check_node_graph(root, source)
    loader = _Loader("")
    try:
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise PolicyError(source, line, "", f"not valid YAML: {error.problem or error.context}") from None
    finally:
        loader.dispose()
    return data, root


def parse_policy(text: str, source: str = "sla.yaml") -> Policy:
    """YAML text -> Policy. Raises PolicyError with one line "<source>:<line>: <key.path>: <message>"."""
    data, root = load_checked_yaml(text, source, max_chars=MAX_POLICY_CHARS, holds="a policy file")
    errors = _Errors(source, _node_lines(root))
    if not isinstance(data, dict):
        raise errors.error((), "a policy is a mapping with version, effective_from, calendars, metrics, targets")
    try:
        spec = PolicySpec.model_validate(data)
    except ValidationError as failure:
        found = [(error, _clean_loc(data, error["loc"], error["type"] == "missing")) for error in failure.errors()]
        found.sort(key=lambda pair: errors.line(pair[1]) or 0)
        first, loc = found[0]
        model = _model_at(loc) if first["type"] == "extra_forbidden" else None
        raise errors.error(loc, _pydantic_message(first, _allowed_keys(model))) from None
    return _build_policy(spec, data, errors)


def _build_calendar(name: str, value: Any, errors: _Errors) -> Calendar:
    path = ("calendars", name)
    if not isinstance(value, dict):
        if not isinstance(value, str) or value.strip() != ALWAYS:
            raise errors.error(path, f'"{value}" is not a calendar (use 24/7 or a mapping with timezone and hours)')
        return Calendar.always_open(name)
    try:
        spec = CalendarSpec.model_validate(value)
    except ValidationError as failure:
        first = failure.errors()[0]
        loc = _clean_loc(value, first["loc"], first["type"] == "missing")
        allowed = _allowed_keys(CalendarSpec if len(loc) == 1 else HolidaySpec)
        raise errors.error(path + loc, _pydantic_message(first, allowed)) from None
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
    holiday_rule = None
    if spec.holidays is not None:
        country = spec.holidays.country.upper() if spec.holidays.country else None
        if country:
            try:
                holiday_calendar(country, spec.holidays.subdivision)
            except ValueError as error:
                key = "subdivision" if "subdivision" in str(error) else "country"
                raise errors.error(path + ("holidays", key), str(error)) from None
        elif spec.holidays.subdivision:
            raise errors.error(path + ("holidays", "subdivision"), "needs a country")
        holiday_rule = HolidayRule(country, spec.holidays.subdivision, tuple(sorted(set(spec.holidays.dates))))
    try:
        return Calendar(name, spec.timezone, weekly, holiday_rule)
    except ValueError as error:
        raise errors.error(path + ("timezone",), str(error)) from None


def _lowered(value: str | list[str]) -> str | tuple[str, ...]:
    return value.lower() if isinstance(value, str) else tuple(one.lower() for one in value)


def _build_dimensions(names: Sequence[str], errors: _Errors) -> tuple[str, ...]:
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


def _build_policy(spec: PolicySpec, data: dict, errors: _Errors) -> Policy:
    dimensions = _build_dimensions(spec.dimensions, errors)
    match_keys = (*MATCH_KEYS, *dimensions)
    calendars = {name: _build_calendar(name, value, errors) for name, value in spec.calendars.items()}
    metrics = {name: _build_metric(name, m, data["metrics"][name], errors) for name, m in spec.metrics.items()}
    targets = []
    for index, t in enumerate(spec.targets):
        path = ("targets", index)
        if t.metric not in metrics:
            raise errors.error(path + ("metric",), f'"{t.metric}" is not a metric (known: {", ".join(metrics)})')
        if t.calendar not in calendars:
            raise errors.error(
                path + ("calendar",), f'"{t.calendar}" is not a calendar (known: {", ".join(calendars)})'
            )
        match = {}
        for key, values in t.match.items():
            if key not in match_keys:
                hint = "" if dimensions else "; declare other attributes under dimensions:"
                raise errors.error(path + ("match", key),
                                   f"cannot match on {key} (use {', '.join(match_keys)}{hint})")
            match[key] = (values,) if isinstance(values, str) else tuple(values)
            if not match[key]:
                raise errors.error(path + ("match", key), "needs at least one value")
        escalation = Escalation(tuple(t.escalation.notify), t.escalation.after) if t.escalation else None
        scheduled = metrics[t.metric].schedule is not None
        if scheduled and t.within is not None:
            raise errors.error(path + ("within",), f"{t.metric} runs on a schedule: its due time is the budget "
                                                   "(leave out within)")
        if scheduled and t.by is not None:
            raise errors.error(path + ("by",), f"{t.metric} runs on a schedule: its due time is the budget "
                                               "(leave out by)")
        if t.within is not None and t.by is not None:
            raise errors.error(path + ("by",), "give within (a duration) or by (a deadline), not both")
        if not scheduled and t.within is None and t.by is None:
            raise errors.error(path + ("within",), "required key is missing")
        within_s = parse_duration(t.within) if t.within is not None else 0.0
        by_s = parse_deadline(t.by) if t.by is not None else None
        targets.append(
            Target(index, t.metric, match, within_s, t.calendar, t.objective, escalation, by_s)
        )
    raw = _canonical_raw(data)
    text = _dump(raw)
    committed_at = spec.committed_at
    if committed_at is not None and committed_at.tzinfo is None:
        committed_at = committed_at.replace(tzinfo=UTC)
    return Policy(
        version=spec.version,
        effective_from=spec.effective_from,
        objective=spec.objective,
        calendars=calendars,
        metrics=metrics,
        targets=tuple(targets),
        author=spec.author,
        reason=spec.reason,
        committed_at=committed_at,
        raw=raw,
        fingerprint=hashlib.sha256(text.encode()).hexdigest(),
        dimensions=dimensions,
    )


_NOT_WITH = {
    "between": "the gaps run from created through each event; leave out",
    "schedule": "a schedule's instances are its periods; leave out",
}


def _build_metric(name: str, m: MetricSpec, raw: dict, errors: _Errors) -> Metric:
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


def _canonical_raw(data: dict) -> dict:
    """The validated mapping with top-level keys in a fixed order (absent optional keys left out)."""
    return {key: copy.deepcopy(data[key]) for key in _TOP_KEYS if key in data}


class _Dumper(yaml.SafeDumper):
    """Quotes strings such as "NO" or "on" that a YAML 1.1 reader would take for booleans."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if value.lower() in ("yes", "no", "on", "off", "y", "n"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def _dump(raw: dict) -> str:
    return yaml.dump(raw, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None, width=110)


def policy_to_yaml(policy: Policy) -> str:
    """The policy as YAML text; parse_policy(policy_to_yaml(p)) == p."""
    return _dump(policy.raw)


def parse_policy_mapping(data: Mapping, source: str = "policy") -> Policy:
    """A policy from an edited mapping (e.g. a deep copy of Policy.raw); errors as parse_policy."""
    return parse_policy(_dump(dict(data)), source=source)


def as_history(policy: Policy | PolicyHistory) -> PolicyHistory:
    """The one adapter for callers that hold either: a single policy becomes a history of one version (it
    then judges every item, whatever its date); a history stays itself."""
    return policy if isinstance(policy, PolicyHistory) else PolicyHistory([policy])
