"""Import mappings: which export column feeds which canonical field, and how to read its values.

A mapping is a small YAML file in config/mappings/ (one per export format or data source):

```yaml
format: servicenow            # the importer that reads the file
source: servicenow            # items.source for everything it loads
rows: updates                 # items (one row per item) | updates (one row per item update) | events
timezone: Europe/London       # zone of timestamps that carry no offset
dates: day_first              # iso | day_first | month_first: how numeric dates are read
columns: {item_id: number, created: opened_at, ...}
values: {priority: {"1 - Critical": urgent}}   # export value -> canonical value (case-insensitive)
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sla_store.importers.errors import ImportRefused

FORMATS = ("zendesk", "freshdesk", "jira", "servicenow", "csv", "events")

TIME_FIELDS = ("created", "first_response", "resolved", "closed", "updated", "at")
TEXT_FIELDS = ("item_id", "channel", "team", "priority", "agent", "status", "subject", "process", "activity")
# Values of these fields are canonical lower-case words (after the mapping's value table).
LOWERED_FIELDS = ("channel", "priority", "status", "activity")

ISO_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
)
DAY_FIRST_FORMATS = (
    "%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %I:%M %p", "%d/%m/%Y %I:%M:%S %p", "%d/%b/%y %I:%M %p",
    "%d/%m/%Y", "%d-%m-%Y",
)
MONTH_FIRST_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m-%d-%Y %H:%M",
    "%m-%d-%Y %H:%M:%S", "%m/%d/%Y",
)
OFFSET_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M %z",
)


class Mapping(BaseModel):
    """A validated column map for one export."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["zendesk", "freshdesk", "jira", "servicenow", "csv", "events"]
    source: str = Field(min_length=1)
    kind: Literal["ticket", "ops"] = "ticket"
    rows: Literal["items", "updates", "events"] = "items"
    timezone: str = "UTC"
    dates: Literal["iso", "day_first", "month_first"] = "iso"
    timestamp_formats: list[str] = []
    encoding: Literal["utf-8", "utf-16", "latin-1"] = "utf-8"   # of CSV files (Excel often writes latin-1)
    missing: list[str] = ["?", "NULL", "null", "N/A"]
    columns: dict[str, str]
    optional: list[str] = []
    minutes_after_created: dict[str, str] = {}
    constants: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    attributes: list[str] = []
    # For update logs without a reply column: the first status change to one of these marks the first response.
    first_response_statuses: list[str] = []
    event_kind: str | None = None
    creates_items: bool = True
    name: str = ""

    @model_validator(mode="before")
    @classmethod
    def _rows_by_format(cls, data):
        """Event logs hold one row per event; other exports one row per item unless they say otherwise."""
        if isinstance(data, dict) and "rows" not in data and data.get("format") == "events":
            return {**data, "rows": "events"}
        return data

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(columns) - set(TIME_FIELDS) - set(TEXT_FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; use {sorted(TIME_FIELDS + TEXT_FIELDS)}")
        return columns

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {zone!r}") from exc
        return zone

    @model_validator(mode="after")
    def _required_fields(self) -> Mapping:
        needed = ["item_id"] + (["at"] if self.rows == "events" else ["created"])
        if self.rows == "updates":
            needed += ["updated", "status"]
        if self.rows == "events" and "activity" not in self.columns:
            needed.append("activity")
        missing = [field for field in needed if field not in self.columns]
        if missing:
            raise ValueError(f"columns must name {missing} for rows: {self.rows}")
        for field in self.minutes_after_created:
            if field not in TIME_FIELDS:
                raise ValueError(f"minutes_after_created.{field}: not a time field")
        return self

    def required_columns(self) -> list[str]:
        """Export columns that must be present for a file to be this kind of export."""
        wanted = [col for field, col in self.columns.items() if field not in self.optional]
        wanted += [col for field, col in self.minutes_after_created.items() if field not in self.optional]
        return list(dict.fromkeys(wanted))

    def naive_formats(self) -> list[str]:
        by_order = {"iso": (), "day_first": DAY_FIRST_FORMATS, "month_first": MONTH_FIRST_FORMATS}
        return list(dict.fromkeys([*self.timestamp_formats, *by_order[self.dates], *ISO_FORMATS]))


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file; errors are one line naming the file and the key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ImportRefused(f"{path}: mapping file not found") from exc
    except yaml.YAMLError as exc:
        raise ImportRefused(f"{path}: not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict):
        raise ImportRefused(f"{path}: a mapping file is a YAML mapping with format, source and columns")
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise ImportRefused(f"{path}: {where}: {first['msg']}") from exc
    return mapping.model_copy(update={"name": mapping.name or path.stem})
