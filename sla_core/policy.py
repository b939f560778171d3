"""The versioned SLA policy as the kernel reads it: metrics, targets, calendars, and the history of versions.

`sla_core.policy_yaml.parse_policy` builds a Policy from sla.yaml text (and writes it back); what the file may
say is in `sla_core.policy_spec`, its safe YAML loading in `sla_core.checked_yaml`. A policy file looks like:

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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

import polars as pl

from sla_core.calendar import Calendar
from sla_core.policy_spec import MATCH_KEYS, milestones


class PolicyError(ValueError):
    """A policy (or access) file that cannot be used. str() is one line: "<source>:<line>: <key.path>: <message>"."""

    def __init__(self, source: str, line: int | None, path: str, message: str):
        self.source, self.line, self.path, self.message = source, line, path, message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")


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
    digest: str = field(default="", repr=False)  # the fingerprint, when whoever built the policy knows it
    dimensions: tuple[str, ...] = ()  # item attributes targets may match on and pages may slice by

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the policy's canonical YAML (`policy_yaml.policy_to_yaml`, rules and version metadata):
        equal policies have equal fingerprints. Stored results name it (`results_basis`), so its value stays
        that of the YAML text. Computed on first use, once, unless `digest` already holds it (a new version
        is fingerprinted from the text it is written as)."""
        if self.digest:
            return self.digest
        from sla_core.policy_yaml import fingerprint_of  # policy_yaml builds Policy objects: import on use

        return fingerprint_of(self.raw)

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
        if len(self.versions) == 1:
            only = pl.lit(self.versions[0].version, pl.Int32)
            return pl.select(pl.when(created.is_null()).then(None).otherwise(only).alias("policy_version")).to_series()
        starts = pl.Series([p.effective_from for p in self.versions], dtype=pl.Date)
        numbers = pl.Series([p.version for p in self.versions], dtype=pl.Int32)
        if isinstance(created.dtype, pl.Datetime) and created.dtype.time_zone not in (None, "UTC"):
            created = created.dt.convert_time_zone("UTC")
        days = created.dt.date() if isinstance(created.dtype, pl.Datetime) else created.cast(pl.Date)
        position = (starts.search_sorted(days, side="right").cast(pl.Int64) - 1).clip(0, len(starts) - 1)
        out = numbers.gather(position.cast(pl.UInt32))
        return pl.select(pl.when(days.is_null()).then(None).otherwise(out).alias("policy_version")).to_series()


def as_history(policy: Policy | PolicyHistory) -> PolicyHistory:
    """The one adapter for callers that hold either: a single policy becomes a history of one version (it
    then judges every item, whatever its date); a history stays itself."""
    return policy if isinstance(policy, PolicyHistory) else PolicyHistory([policy])
