"""What a policy file may say: its names, its value spellings (durations, deadlines, shares, schedules) and
the pydantic models that check its structure. `sla_core.policy_yaml` builds the Policy from them.

Each value parser raises ValueError with a message that shows the value and how to write it; the file's
line and key path are added by the caller (a PolicyError).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

from sla_core.calendar import DAY_NAMES, parse_clock_time

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
ALWAYS = "24/7"  # a calendar that is always open
SCHEDULE_PERIODS = ("day", "week", "month")
MAX_WITHIN, MAX_WITHIN_S = "365d", 365 * 86400.0
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_DURATION = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[smhd]\s*)+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_DEADLINE = re.compile(r"^\s*next\s+business\s+day\s+(\S+)\s*$", re.IGNORECASE)
_LONG_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# -- values ---------------------------------------------------------------------------------------------------


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


def parse_share(value: Any) -> float:
    """0.75 or '75%' -> 0.75 (not range-checked; see parse_objective)."""
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


def parse_objective(value: Any) -> float:
    """An objective: a share above 0 and below 1 (0.95 or "95%")."""
    share = parse_share(value)
    if not 0 < share < 1:
        raise ValueError(f"{value} must be above 0 and below 1 (e.g. 0.95 or 95%)")
    return share


def is_milestone(value: str) -> bool:
    """An item column (created, first_response, resolved, closed) or "event:<kind>" (any case)."""
    return value.lower() in ITEM_MILESTONES or (value.lower().startswith("event:") and len(value) > len("event:"))


def milestones(value: str | Sequence[str]) -> tuple[str, ...]:
    """A metric's start or stop as a tuple of milestones: one name, or a first-of list."""
    return (value,) if isinstance(value, str) else tuple(value)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# A list of names that may be written as one name.
Names = Annotated[list[str], BeforeValidator(_one_or_many)]


# -- structure (pydantic) -------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class EscalationSpec(_Model):
    notify: Names
    after: float = 0.75

    @field_validator("after", mode="before")
    @classmethod
    def _after_share(cls, value: Any) -> float:
        share = parse_share(value)
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
    pause_when_status: Names = []
    repeat: bool = False
    between: str | None = None
    schedule: ScheduleSpec | None = None

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
        return None if value is None else parse_objective(value)


class PolicySpec(_Model):
    version: int
    effective_from: date
    objective: Annotated[float, BeforeValidator(parse_objective)] = 0.95
    author: str | None = None
    reason: str | None = None
    committed_at: datetime | None = None
    dimensions: Names = []
    calendars: dict[str, Any]
    metrics: dict[str, MetricSpec]
    targets: list[TargetSpec]

    @field_validator("version")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be 1 or more")
        return value
