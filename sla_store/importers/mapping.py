"""Import mappings: which export column feeds which canonical field, and how to read its values.

A mapping is a small YAML file in config/mappings/ (one per export format or data source); the README's
"Import mappings" section documents every key with examples. In short:

```yaml
format: servicenow            # the importer that reads the file
source: servicenow            # items.source for everything it loads
rows: updates                 # items (one row per item) | updates (one row per item update) | events
timezone: Europe/London       # zone of timestamps that carry no offset
dates: day_first              # iso | day_first | month_first: how numeric dates are read
columns: {item_id: number, created: opened_at, ...}
values: {priority: {"1 - Critical": urgent}}   # export value -> canonical value (case-insensitive)
attributes: [impact, "Customer Tier"]          # kept per item as impact, customer_tier (policy dimensions)
event_kind: status            # event logs: each activity is a status (pauses) and a milestone (event:<name>)
milestones: {resolved: [resolved, closed]}     # event logs: the item column set by the first such activity
```
"""

from __future__ import annotations

import re
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
ITEM_TIME_FIELDS = ("created", "first_response", "resolved", "closed")


def attribute_name(column: str) -> str:
    """An export column's attribute name: lower-case words joined by _ ("Customer Tier" -> customer_tier)."""
    name = re.sub(r"[^0-9a-z]+", "_", column.strip().lower()).strip("_")
    return name if name and not name[0].isdigit() else f"a_{name}"


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
    # Export columns kept per item under their attribute_name (a list), or name -> column (a mapping).
    attributes: list[str] | dict[str, str] = []
    # Event logs: item time field -> activities (globs, any case) whose first event sets it.
    milestones: dict[str, list[str] | str] = {}
    # For update logs without a reply column: the first status change to one of these marks the first response.
    first_response_statuses: list[str] = []
    event_kind: str | None = None
    creates_items: bool = True
    # A link back to each item in the source system: "{item_id}" is replaced by the item's id (URL-quoted).
    url_template: str | None = Field(default=None, pattern=r"^https?://[^\s]*\{item_id\}[^\s]*$")
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

    @field_validator("attributes")
    @classmethod
    def _attribute_names(cls, attributes: list[str] | dict[str, str]) -> list[str] | dict[str, str]:
        names = list(attributes) if isinstance(attributes, dict) else [attribute_name(c) for c in attributes]
        for name in names:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
                raise ValueError(f"attribute name {name!r}: use lower-case letters, digits and _")
        doubled = sorted({name for name in names if names.count(name) > 1})
        if doubled:
            raise ValueError(f"attribute name(s) {doubled} given twice")
        return attributes

    @field_validator("milestones")
    @classmethod
    def _milestone_fields(cls, milestones: dict[str, list[str] | str]) -> dict[str, list[str]]:
        unknown = sorted(set(milestones) - set(ITEM_TIME_FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; use {list(ITEM_TIME_FIELDS)}")
        return {field: [names] if isinstance(names, str) else list(names) for field, names in milestones.items()}

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
        if self.milestones and self.rows != "events":
            raise ValueError("milestones: only event logs (rows: events) take their milestones from activities")
        return self

    def attribute_columns(self) -> dict[str, str]:
        """Attribute name -> export column."""
        if isinstance(self.attributes, dict):
            return dict(self.attributes)
        return {attribute_name(column): column for column in self.attributes}

    def recorded_fields(self) -> list[str]:
        """The item time fields this mapping can fill (for "not measured: no column" notes)."""
        fields = [f for f in ITEM_TIME_FIELDS if f in self.columns or f in self.minutes_after_created]
        fields += [f for f in self.milestones if f not in fields]
        if self.first_response_statuses and "first_response" not in fields:
            fields.append("first_response")
        if self.rows == "events" and "created" not in fields:
            fields.append("created")  # an event-log item starts at its first event
        return fields

    def required_columns(self) -> list[str]:
        """Export columns that must be present for a file to be this kind of export."""
        wanted = [col for field, col in self.columns.items() if field not in self.optional]
        wanted += [col for field, col in self.minutes_after_created.items() if field not in self.optional]
        return list(dict.fromkeys(wanted))

    def naive_formats(self) -> list[str]:
        by_order = {"iso": (), "day_first": DAY_FIRST_FORMATS, "month_first": MONTH_FIRST_FORMATS}
        return list(dict.fromkeys([*self.timestamp_formats, *by_order[self.dates], *ISO_FORMATS]))


def item_link_templates(folder: str | Path) -> dict[str, str]:
    """source -> url_template of the mapping files in `folder` that give one (an unreadable file is skipped:
    links are a convenience, the import reports bad files)."""
    templates: dict[str, str] = {}
    for file in sorted(Path(folder).glob("*.yaml")):
        try:
            mapping = load_mapping(file)
        except Exception:  # noqa: BLE001 - see the docstring
            continue
        if mapping.url_template:
            templates.setdefault(mapping.source, mapping.url_template)
    return templates


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
