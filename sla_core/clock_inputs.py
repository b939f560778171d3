"""What metric clocks read, in the shape the vectorized judging wants: items and events with contract
columns and UTC microsecond instants, milestones as int64 arrays per item row, and every status event as
numpy arrays (StatusIntervals).

Instants are int64 microseconds since the epoch; NEVER (the largest int64) stands for "none" (null), so the
first of several milestones is a plain minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import NamedTuple

import numpy as np
import polars as pl

ITEM_COLUMNS = ("source", "item_id", "kind", "process", "channel", "team", "priority", "agent", "status",
                "subject", "created", "first_response", "resolved", "closed")
ITEM_TIMES = ("created", "first_response", "resolved", "closed")
UTC_US = pl.Datetime("us", "UTC")
NEVER = np.iinfo(np.int64).max
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def matches_any(value: str, patterns: Sequence[str]) -> bool:
    """Case-insensitive glob match ("wait*" matches "Wait - User")."""
    lowered = value.lower()
    return any(fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


def matching_values(values: Sequence[str | None], patterns: Sequence[str]) -> list[str]:
    """The values (as given) that match any of the glob patterns, case-insensitively."""
    return [value for value in values if value is not None and matches_any(value, patterns)]


def _as_utc(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        expr = expr.dt.replace_time_zone("UTC") if dtype.time_zone is None else expr.dt.convert_time_zone("UTC")
        return expr.dt.cast_time_unit("us")
    if dtype == pl.Null:
        return expr.cast(UTC_US)
    if dtype == pl.Date:
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    raise TypeError(f"expected datetimes, got {dtype}")


def normalize_items(items: pl.DataFrame, dimensions: Sequence[str] = ()) -> pl.DataFrame:
    """All contract columns present; timestamps as Datetime(us, UTC); text columns as strings.

    Dimension columns (the policy's declared attributes) go along as strings, null where absent.
    """
    wanted = (*ITEM_COLUMNS, *dimensions)
    missing = [pl.lit(None, pl.String).alias(c) for c in wanted if c not in items.columns and c not in ITEM_TIMES]
    missing += [pl.lit(None, UTC_US).alias(c) for c in ITEM_TIMES if c not in items.columns]
    if missing:
        items = items.with_columns(missing)
    # Only the contract's columns (and dimensions, whose names the policy keeps apart from helper names) go
    # on: extra columns (attributes, import ids) cannot clash with the helper columns added later.
    return items.select(
        _as_utc(pl.col(c), items.schema[c]).alias(c) if c in ITEM_TIMES else pl.col(c).cast(pl.String)
        for c in wanted
    )


def normalize_events(events: pl.DataFrame | None) -> pl.DataFrame:
    schema = {"source": pl.String, "item_id": pl.String, "occurred_at": UTC_US, "kind": pl.String, "value": pl.String}
    if events is None or events.is_empty():
        return pl.DataFrame(schema=schema)
    return events.select(
        pl.col("source").cast(pl.String),
        pl.col("item_id").cast(pl.String),
        _as_utc(pl.col("occurred_at"), events.schema["occurred_at"]).alias("occurred_at"),
        pl.col("kind").cast(pl.String),
        pl.col("value").cast(pl.String).fill_null(""),
    )


def _key_hash() -> pl.Expr:
    """A 64-bit hash of (source, item_id); equal keys hash alike, and a match is confirmed on the text."""
    return pl.col("source").hash() ^ pl.col("item_id").hash()


def with_item_rows(events: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """The events of these items, each with its item's row number `_row` (items carry `_row`, row i being
    `_row` i); events of other items are left out. The same rows as an inner join on (source, item_id).

    Events that follow one another with the same key form a run (an item's events often come together); each
    run's key is found by a sort-merge on a 64-bit hash and confirmed by comparing the text. Items whose keys
    hash alike (a key given twice, or two keys colliding) go through the join instead.
    """
    keys = items.select("source", "item_id", "_row")
    if events.is_empty() or items.is_empty():
        return events.join(keys, on=["source", "item_id"], how="inner")
    count = events.height
    source, item_id = events["source"], events["item_id"]
    starts_run = np.ones(count, dtype=bool)
    if count > 1:
        same_as_previous = (source.slice(1) == source.slice(0, count - 1)) & (
            item_id.slice(1) == item_id.slice(0, count - 1))
        starts_run[1:] = ~same_as_previous.fill_null(False).to_numpy()
    heads = None if starts_run.all() else np.flatnonzero(starts_run)
    key_hash = _key_hash()
    item_hash = items.select(key_hash).to_series().to_numpy()
    event_hash = events.select(key_hash).to_series().to_numpy()
    at = _equal_hash_at(item_hash, event_hash if heads is None else event_hash[heads])
    if at is None:
        return events.join(keys, on=["source", "item_id"], how="inner")
    # the text confirms each run's item
    candidate = pl.Series(np.maximum(at, 0))
    if heads is None:
        run_id, run_source = item_id, source
    else:
        run_mask = pl.Series(starts_run)
        run_id, run_source = item_id.filter(run_mask), source.filter(run_mask)
    confirmed = (keys["item_id"].gather(candidate) == run_id).fill_null(False).to_numpy()
    if keys["source"].null_count() == 0 and (keys["source"] == keys["source"][0]).all():  # one source
        confirmed &= (run_source == keys["source"][0]).fill_null(False).to_numpy()
    else:
        confirmed &= (keys["source"].gather(candidate) == run_source).fill_null(False).to_numpy()
    at[~confirmed] = -1
    if heads is not None:
        at = np.repeat(at, np.diff(heads, append=count))
    found = at >= 0
    rows = pl.Series("_row", np.maximum(at, 0).astype(np.uint32)).cast(keys.schema["_row"])
    events = events.with_columns(rows)
    return events if found.all() else events.filter(pl.Series(found))


def _equal_hash_at(item_hash: np.ndarray, event_hash: np.ndarray) -> np.ndarray | None:
    """Per event, the position of the item with the same hash (-1: none); None when item hashes repeat.

    Both sides are sorted by their hash's high bits with the position packed into the low bits (a plain sort
    of integers), and the sorted events are looked up in the sorted items. When two items share those high
    bits, the full hashes are sorted instead (an argsort).
    """
    bits = max(len(item_hash), len(event_hash)).bit_length()
    mask = np.uint64((1 << bits) - 1)
    item_key = (item_hash & ~mask) | np.arange(len(item_hash), dtype=np.uint64)
    item_key.sort()
    item_high = item_key & ~mask
    if (item_high[1:] == item_high[:-1]).any():
        order = np.argsort(item_hash)
        sorted_hash = item_hash[order]
        if (sorted_hash[1:] == sorted_hash[:-1]).any():
            return None
        by_hash = np.argsort(event_hash)  # searching in ascending order keeps the look-ups in cache
        at = np.empty(len(event_hash), dtype=np.int64)
        at[by_hash] = np.searchsorted(sorted_hash, event_hash[by_hash])
        np.minimum(at, len(sorted_hash) - 1, out=at)
        return np.where(sorted_hash[at] == event_hash, order[at], -1)
    event_key = (event_hash & ~mask) | np.arange(len(event_hash), dtype=np.uint64)
    event_key.sort()
    event_high = event_key & ~mask
    place = np.searchsorted(item_high, event_high)
    np.minimum(place, len(item_high) - 1, out=place)
    candidate = (item_key[place] & mask).astype(np.int64)
    at = np.empty(len(event_hash), dtype=np.int64)
    at[(event_key & mask).astype(np.int64)] = np.where(item_high[place] == event_high, candidate, -1)
    # the high bits matched one item: its full hash must match too
    return np.where((at >= 0) & (item_hash[np.maximum(at, 0)] == event_hash), at, -1)


def utc_now(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def epoch_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def instants(series: pl.Series) -> np.ndarray:
    """A Datetime(us, UTC) series as int64 microseconds, NEVER where null."""
    return series.to_physical().fill_null(NEVER).to_numpy()


def as_datetimes(name: str, values: np.ndarray) -> pl.Series:
    """int64 microseconds (NEVER = null) as a Datetime(us, UTC) series."""
    series = pl.Series(name, values, dtype=pl.Int64).cast(UTC_US)
    missing = np.flatnonzero(values == NEVER)
    return series.scatter(missing, None) if len(missing) else series


class EventNames(NamedTuple):
    """The distinct event kinds and status values of an events frame. Milestones and pauses are matched
    against these (a look-up per distinct name) instead of lower-casing every event."""

    kinds: list[str | None]
    status_kinds: list[str]  # the kinds that read "status" in any case
    status_values: list[str | None]  # the values of events whose kind is "status" as spelled
    any_status_values: list[str | None]  # the values of events of any kind in status_kinds

    @classmethod
    def of(cls, events: pl.DataFrame) -> EventNames:
        kinds = events.get_column("kind").unique().to_list()
        status_kinds = [name for name in kinds if name is not None and name.lower() == "status"]
        status_values = events.filter(pl.col("kind") == "status").get_column("value").unique().to_list()
        any_status_values = status_values if status_kinds in ([], ["status"]) else (
            events.filter(pl.col("kind").is_in(status_kinds)).get_column("value").unique().to_list())
        return cls(kinds, status_kinds, status_values, any_status_values)


def first_events(events: pl.DataFrame, kinds: Sequence[str], item_count: int,
                 names: EventNames | None = None) -> dict[str, np.ndarray]:
    """"event:<kind>" -> per item row, its first event of that kind or first status event with that value
    (case-insensitive; a kind may be a glob pattern), NEVER where it has none. Events carry `_row`;
    `names` are their EventNames when the caller has them."""
    if not kinds:
        return {}
    names = names or EventNames.of(events)
    status_kind = pl.col("kind").is_in(names.status_kinds)
    out = {}
    for kind in kinds:
        by_kind = matching_values(names.kinds, [kind])
        by_status = matching_values(names.status_values, [kind])
        chosen = pl.col("kind").is_in(by_kind) | (status_kind & pl.col("value").is_in(by_status))
        first = events.filter(chosen).group_by("_row").agg(pl.col("occurred_at").min())
        values = np.full(item_count, NEVER, dtype=np.int64)
        values[first["_row"].cast(pl.Int64).to_numpy()] = instants(first["occurred_at"])
        out[f"event:{kind}"] = values
    return out


def _grouped_in_order(item: np.ndarray, at_us: np.ndarray, codes: np.ndarray, item_count: int) -> bool:
    """Each item's events already lie together, in order of instant and code (as an event log lists them),
    which is all the next-event look-up needs."""
    same_item = item[1:] == item[:-1]
    later = at_us[1:] > at_us[:-1]
    later |= (at_us[1:] == at_us[:-1]) & (codes[1:] >= codes[:-1])
    if not (later | ~same_item).all():
        return False
    first_items = np.concatenate([item[:1], item[1:][~same_item]])
    return int(np.bincount(first_items, minlength=item_count).max()) <= 1


def _by_item_instant_code(item: np.ndarray, at_us: np.ndarray, codes: np.ndarray, code_count: int,
                          item_count: int) -> np.ndarray:
    """The order that sorts events by (item row, instant, code).

    Sorted by (instant, code) first, then by item row with the place in that order packed into the low bits
    of one integer, so the second pass is a plain sort of int64 values; np.lexsort where that does not fit.
    """
    low = int(at_us.min())
    index_bits = max(len(item) - 1, 1).bit_length()
    if (int(at_us.max()) - low + 1) * code_count >= 2**62 or item_count >= 2 ** (62 - index_bits):
        return np.lexsort((codes, at_us, item))
    by_time = np.argsort((at_us - low) * code_count + codes)
    packed = (item[by_time] << index_bits) | np.arange(len(item), dtype=np.int64)
    packed.sort()
    return by_time[packed & ((1 << index_bits) - 1)]


class StatusIntervals:
    """Every status event as numpy arrays: item row, instant, next status instant of the same item, and its
    value (lower-cased) as a code into `names`. Events carry `_row`."""

    NEVER = NEVER

    def __init__(self, events: pl.DataFrame, item_count: int, names: EventNames | None = None):
        status = events.filter(pl.col("kind") == "status")
        spelled = (names or EventNames.of(events)).status_values
        # Values are sorted as their codes are (code = place among the distinct lower-cased values), so
        # sorting by code orders same-instant events as sorting by their lower-cased text would.
        self.names = sorted({value.lower() for value in spelled})
        place = {name: code for code, name in enumerate(self.names)}
        # each value's place among the spellings (an Enum's physical code), then its lower-cased name's code
        by_spelling = np.asarray([place[value.lower()] for value in spelled], dtype=np.uint32)
        status = status.select(pl.col("_row").cast(pl.Int64), pl.col("occurred_at").to_physical(),
                               pl.col("value").cast(pl.Enum(spelled)).to_physical().alias("code"))
        item, at_us, codes = (status[name].to_numpy() for name in ("_row", "occurred_at", "code"))
        codes = by_spelling[codes]
        if len(item) and not _grouped_in_order(item, at_us, codes, item_count):
            order = _by_item_instant_code(item, at_us, codes, len(self.names), item_count)
            item, at_us, codes = item[order], at_us[order], codes[order]
        same_item = item[1:] == item[:-1]  # the next event in that order is the same item's next status
        self.codes, self.item, self.at_us = codes, item, at_us
        self.still_open = np.ones(len(item), dtype=bool)
        self.still_open[:-1] = ~same_item
        self.next_us = np.full(len(item), self.NEVER, dtype=np.int64)
        self.next_us[:-1][same_item] = at_us[1:][same_item]
        self.item_count = item_count
        self._masks: dict[tuple[str, ...], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.item)

    def in_status(self, patterns: tuple[str, ...]) -> np.ndarray:
        """Which status events match any of the (lower-case, glob) patterns."""
        if patterns not in self._masks:
            chosen = [code for code, name in enumerate(self.names) if matches_any(name, patterns)]
            self._masks[patterns] = np.isin(self.codes, np.asarray(chosen, dtype=self.codes.dtype))
        return self._masks[patterns]
