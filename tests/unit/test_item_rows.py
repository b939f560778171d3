"""Events find their item's row as an inner join on (source, item_id) would; status events sort by item, instant, code."""

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla_core import clock_inputs
from sla_core.clock_inputs import (
    UTC_US,
    _by_item_instant_code,
    _equal_hash_at,
    _grouped_in_order,
    with_item_rows,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOURCES = st.sampled_from(["zendesk", "ops", "Zendesk", "", None])
IDS = st.one_of(st.sampled_from(["1", "01", "2", "10", "a", "A", "", "INC0001"]), st.text(max_size=4), st.none())


def _items(keys):
    return pl.DataFrame({"source": [s for s, _ in keys], "item_id": [i for _, i in keys]},
                        schema={"source": pl.String, "item_id": pl.String}).with_row_index("_row")


def _events(keys):
    return pl.DataFrame(
        {"source": [s for s, _ in keys], "item_id": [i for _, i in keys], "occurred_at": list(range(len(keys))),
         "kind": "status", "value": "open"},
        schema={"source": pl.String, "item_id": pl.String, "occurred_at": pl.Int64, "kind": pl.String,
                "value": pl.String},
    ).with_columns(pl.col("occurred_at").cast(UTC_US))


def _joined(events, items):
    return events.join(items.select("source", "item_id", "_row"), on=["source", "item_id"], how="inner")


def _same_rows(got, expected):
    assert got.columns == expected.columns
    order = ["occurred_at", "_row"]
    assert got.sort(order).equals(expected.sort(order))


@SETTINGS
@given(st.lists(st.tuples(SOURCES, IDS), max_size=30, unique=True), st.lists(st.tuples(SOURCES, IDS), max_size=40))
def test_distinct_items_match_as_a_join(item_keys, event_keys):
    items, events = _items(item_keys), _events(event_keys)
    _same_rows(with_item_rows(events, items), _joined(events, items))


@SETTINGS
@given(st.lists(st.tuples(SOURCES, IDS), max_size=30), st.lists(st.tuples(SOURCES, IDS), max_size=40))
def test_items_given_twice_match_as_a_join(item_keys, event_keys):
    items, events = _items(item_keys), _events(event_keys)
    _same_rows(with_item_rows(events, items), _joined(events, items))


def test_an_event_of_another_source_or_id_finds_no_item():
    items = _items([("zendesk", "1"), ("ops", "2")])
    events = _events([("zendesk", "1"), ("ops", "1"), ("zendesk", "2"), ("zendesk", "3"), ("ops", "2")])
    got = with_item_rows(events, items).sort("occurred_at")
    assert got["_row"].to_list() == [0, 1]
    assert got["occurred_at"].dt.epoch("us").to_list() == [0, 4]


# Weaker hashes reach every path: a hash that ignores the source (the text decides), few distinct values in
# the high bits (the full hashes are sorted instead) or in all bits (the join decides).
WEAK_HASHES = [
    lambda: pl.col("item_id").hash(),
    lambda: (pl.col("source").hash() ^ pl.col("item_id").hash()) % 65_536,
    lambda: (pl.col("source").hash() ^ pl.col("item_id").hash()) % 3,
]


@SETTINGS
@given(st.lists(st.tuples(SOURCES, IDS), max_size=30, unique=True), st.lists(st.tuples(SOURCES, IDS), max_size=40),
       st.sampled_from(WEAK_HASHES))
def test_a_hash_match_is_confirmed_on_the_text(item_keys, event_keys, weak_hash):
    items, events = _items(item_keys), _events(event_keys)
    original = clock_inputs._key_hash
    clock_inputs._key_hash = weak_hash
    try:
        got = with_item_rows(events, items)
    finally:
        clock_inputs._key_hash = original
    _same_rows(got, _joined(events, items))


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(-(2**40), 2**40), st.integers(0, 3)), min_size=1, max_size=60),
       st.sampled_from([41, 2**40, 2**61]))
def test_status_events_sort_by_item_instant_and_code(events, item_count):
    """The packed two-pass order equals a lexicographic sort (and falls back to one where keys do not fit)."""
    item, at_us, codes = (np.asarray(column, dtype=np.int64) for column in zip(*events, strict=True))
    order = _by_item_instant_code(item, at_us, codes.astype(np.uint32), 4, item_count)
    expected = np.lexsort((codes, at_us, item))
    for values in (item, at_us, codes):
        assert np.array_equal(values[order], values[expected])


def test_items_sharing_the_high_bits_are_found_by_their_full_hash():
    high = 1 << 40
    items = np.asarray([high | 1, high | 2, 3 * high], dtype=np.uint64)  # the first two differ in low bits only
    events = np.asarray([high | 2, 3 * high, high | 3, high | 1], dtype=np.uint64)
    assert _equal_hash_at(items, events).tolist() == [1, 2, -1, 0]
    assert _equal_hash_at(items[[0, 0, 2]], events) is None  # an item hash given twice: the join decides


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6), st.integers(0, 2)), min_size=1, max_size=14),
       st.booleans())
def test_events_already_grouped_in_order_are_recognised(events, sort_first):
    """True exactly when each item's events lie together, ordered by instant and code."""
    if sort_first:
        events = sorted(events, key=lambda event: (event[0] * 7 % 6, event[1], event[2]))  # items in any order
    item, at_us, codes = (np.asarray(column, dtype=np.int64) for column in zip(*events, strict=True))
    runs = [key for index, key in enumerate(item.tolist()) if index == 0 or item[index - 1] != key]
    together = len(runs) == len(set(runs))
    in_order = all((a[1], a[2]) <= (b[1], b[2]) for a, b in zip(events, events[1:], strict=False) if a[0] == b[0])
    assert _grouped_in_order(item, at_us, codes.astype(np.uint32), 6) == (together and in_order)
