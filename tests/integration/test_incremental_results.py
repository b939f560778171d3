"""Writes re-judge only what they touch, and the stored results still equal a full rebuild row for row."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sla_core.clocks import RESULT_COLUMNS, evaluate
from sla_core.policy_yaml import parse_policy_mapping
from sla_store.compute import ITEM_FIELDS
from sla_store.db import connect_read_only
from sla_store.ingest import ingest
from sla_store.policy_files import load_policy_history
from sla_store.policy_store import commit_policy, load_committed
from sla_store.sample import write_ticket_csv
from sla_store.sample_tickets import generate_tickets

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
KEYS = ["source", "item_id", "metric", "instance"]


@pytest.fixture
def config(tmp_path):
    root = tmp_path / "config"
    shutil.copytree(REPO / "config" / "mappings", root / "mappings")
    shutil.copy(REPO / "config" / "sla.yaml", root / "sla.yaml")
    return root


def _batch(first_id: int, count: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`count` generated tickets numbered from `first_id` (the same numbers with another seed: changed tickets)."""
    tickets, events = generate_tickets(count, seed=seed, now=NOW)
    shift = first_id - 100_001
    renumber = (pl.col("item_id").cast(pl.Int64) + shift).cast(pl.String)
    return tickets.with_columns(renumber), events.with_columns(renumber)


def _write_events(events: pl.DataFrame, path: Path) -> Path:
    events.select(
        pl.col("item_id").alias("Ticket ID"),
        pl.col("status").replace({"on_hold": "on-hold"}).str.to_titlecase().alias("Status"),
        pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("Changed at"),
    ).write_csv(path)
    return path


def _import(tmp_path: Path, db: Path, config: Path, step: int, tickets=None, events=None) -> None:
    if tickets is not None:
        path = tmp_path / f"tickets_{step}.csv"
        write_ticket_csv(tickets, path)
        ingest(path, db=db, format_name="zendesk", config=config, now=NOW)
    if events is not None and events.height:
        ingest(_write_events(events, tmp_path / f"events_{step}.csv"), db=db,
               mapping=config / "mappings" / "zendesk_status_events.yaml", config=config, now=NOW)


def _stored(db: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    con = connect_read_only(db)
    try:
        results = con.sql("SELECT * EXCLUDE (computed_at) FROM results").pl()
        items = con.sql(f"SELECT {ITEM_FIELDS} FROM items").pl()
        events = con.sql("SELECT source, item_id, occurred_at, kind, value FROM events").pl()
    finally:
        con.close()
    return results, items, events


def _assert_equals_full_rebuild(db: Path, config: Path) -> pl.DataFrame:
    stored, items, events = _stored(db)
    rebuilt = evaluate(items, events, load_policy_history(config), NOW)
    assert stored.height == rebuilt.height
    assert_frame_equal(stored.select(RESULT_COLUMNS).sort(KEYS), rebuilt.sort(KEYS), check_dtypes=False)
    return stored


def _tightened(config: Path, rng: random.Random):
    committed = load_committed(config)
    raw = dict(committed.raw)
    raw["targets"] = [dict(target) for target in raw["targets"]]
    position = rng.randrange(len(raw["targets"]))
    raw["targets"][position]["within"] = rng.choice(["5m", "30m", "2h", "9h", "30h"])
    return committed, parse_policy_mapping(raw, "edited")


def random_writes(tmp_path: Path, db: Path, config: Path, rng: random.Random, steps: int,
                  actions=("import", "import", "reimport", "events", "commit"), events_share: float | None = 0.7):
    """Seeded random writes, yielding after each: new tickets (with their events for `events_share` of the
    imports, always when None), re-imports of a third of an earlier batch with changes, event-only imports
    and tightened policy commits."""
    batches: list[tuple[int, int]] = []
    next_id, effective = 500_000, date(2026, 8, 1)
    for step in range(steps):
        action = "import" if not batches else rng.choice(actions)
        if action == "import":
            count = rng.randint(20, 120)
            tickets, events = _batch(next_id, count, seed=rng.randrange(10_000))
            with_events = events_share is None or rng.random() < events_share
            _import(tmp_path, db, config, step, tickets, events if with_events else None)
            batches.append((next_id, count))
            next_id += count
        elif action in ("reimport", "events"):
            first, count = rng.choice(batches)
            tickets, events = _batch(first, count, seed=rng.randrange(10_000))  # same tickets, changed
            keep = rng.sample(range(count), k=max(1, count // 3))
            tickets = tickets[keep]
            events = events.filter(pl.col("item_id").is_in(tickets["item_id"].implode()))
            _import(tmp_path, db, config, step, tickets if action == "reimport" else None, events)
        else:
            effective += timedelta(days=rng.randint(0, 40))
            committed, proposed = _tightened(config, rng)
            commit_policy(proposed, committed.version, "tester", "tighter target", effective_from=effective,
                          config=config, db=db, now=NOW, allow_backdate=True)
        yield step


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_imports_reimports_and_commits_equal_a_full_rebuild(tmp_path, config, seed):
    db = tmp_path / "sla.duckdb"
    for _ in random_writes(tmp_path, db, config, random.Random(seed), steps=7):
        if db.exists():
            _assert_equals_full_rebuild(db, config)


def test_an_import_rejudges_only_its_own_items_and_keeps_other_rows(tmp_path, config):
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 200, seed=5)
    _import(tmp_path, db, config, 0, tickets, events)
    before = connect_read_only(db).sql("SELECT * FROM results ORDER BY ALL").pl()
    later = NOW + timedelta(hours=3)
    more, more_events = _batch(600_000, 10, seed=6)
    write_ticket_csv(more, tmp_path / "more.csv")
    summary = ingest(tmp_path / "more.csv", db=db, format_name="zendesk", config=config, now=later)
    after = connect_read_only(db).sql("SELECT * FROM results").pl()
    judged = after.filter(pl.col("computed_at") == later)
    assert set(judged["item_id"]) == set(more["item_id"])
    assert summary.results == judged.height
    untouched = after.filter(pl.col("computed_at") != later).sort(pl.all())
    assert_frame_equal(untouched, before.sort(pl.all()))


def test_a_commit_rejudges_only_items_created_on_or_after_its_effective_date(tmp_path, config):
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 300, seed=7)
    _import(tmp_path, db, config, 0, tickets, events)
    effective = date(2026, 10, 1)
    later = NOW + timedelta(days=1)
    committed, proposed = _tightened(config, random.Random(3))
    commit_policy(proposed, committed.version, "tester", "tighter", effective_from=effective, config=config, db=db,
                  now=later, allow_backdate=True)
    after = connect_read_only(db).sql("SELECT item_id, created, computed_at, policy_version FROM results").pl()
    start = datetime(2026, 10, 1, tzinfo=UTC)
    rejudged = after.filter(pl.col("computed_at") == later)
    assert rejudged.height and (rejudged["created"] >= start).all()
    assert (after.filter(pl.col("created") >= start)["computed_at"] == later).all()
    assert (after.filter(pl.col("created") < start)["policy_version"] == 1).all()


def test_results_judged_by_another_policy_file_are_rebuilt_once(tmp_path, config):
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 50, seed=8)
    _import(tmp_path, db, config, 0, tickets, events)
    policy = config / "sla.yaml"
    policy.write_text(policy.read_text().replace("within: 8h, calendar: support_hours}   # catch-all",
                                                 "within: 1h, calendar: support_hours}   # catch-all"))
    more, _ = _batch(600_000, 5, seed=9)
    write_ticket_csv(more, tmp_path / "more.csv")
    ingest(tmp_path / "more.csv", db=db, format_name="zendesk", config=config, now=NOW)
    _assert_equals_full_rebuild(db, config)


def test_a_rebuild_in_many_small_partitions_equals_one_evaluation(tmp_path, config, monkeypatch):
    from sla_store import compute
    from sla_store.db import write_transaction

    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 120, seed=10)
    _import(tmp_path, db, config, 0, tickets, events)
    monkeypatch.setattr(compute, "PARTITION_ITEMS", 7)
    with write_transaction(db) as con:
        written = compute.refresh_results(con, load_policy_history(config), NOW)
    stored = _assert_equals_full_rebuild(db, config)
    assert written == stored.height
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".parts.tmp")]  # partition files gone


def test_a_rebuild_in_partitions_reads_each_partitions_rows_once_from_its_own_files(tmp_path, config, monkeypatch):
    from sla_store import compute
    from sla_store.db import write_transaction

    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 60, seed=12)
    _import(tmp_path, db, config, 0, tickets, events)
    monkeypatch.setattr(compute, "PARTITION_ITEMS", 10)
    seen = {"items": [], "events": []}
    real = compute._partitions

    def spying(*args, **kwargs):
        manager = real(*args, **kwargs)

        class Spy:
            def __enter__(self):
                read = manager.__enter__()
                folders = [path for path in tmp_path.iterdir() if path.name.endswith(".parts.tmp")]
                assert len(folders) == 1 and (folders[0] / "events").is_dir()  # written once, beside the copy

                def frames(part):
                    items, events = read(part)
                    seen["items"].append(items["item_id"].to_list())
                    seen["events"].append(events["item_id"].unique().to_list())
                    return items, events
                return frames

            def __exit__(self, *exc):
                return manager.__exit__(*exc)
        return Spy()

    monkeypatch.setattr(compute, "_partitions", spying)
    with write_transaction(db) as con:
        compute.refresh_results(con, load_policy_history(config), NOW)
    item_ids = [item for part in seen["items"] for item in part]
    assert len(seen["items"]) == 6 and sorted(item_ids) == sorted(set(item_ids)) and len(item_ids) == 60
    for items, events in zip(seen["items"], seen["events"], strict=True):
        assert set(events) <= set(items)  # an item's events travel in its partition
    _assert_equals_full_rebuild(db, config)


def test_a_rebuild_that_fails_after_committing_some_partitions_leaves_the_database_as_it_was(tmp_path, config,
                                                                                              monkeypatch):
    import sla_core.clocks
    from sla_store import compute
    from sla_store.db import write_transaction

    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 120, seed=11)
    _import(tmp_path, db, config, 0, tickets, events)
    before = db.read_bytes()
    monkeypatch.setattr(compute, "PARTITION_ITEMS", 7)
    calls = {"n": 0}
    real = sla_core.clocks.evaluate_coverage

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("worker died half-way")
        return real(*args, **kwargs)

    monkeypatch.setattr(sla_core.clocks, "evaluate_coverage", failing)
    with pytest.raises(RuntimeError, match="half-way"), write_transaction(db) as con:
        compute.refresh_results(con, load_policy_history(config), NOW + timedelta(hours=1))
    assert calls["n"] >= 6
    assert db.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_later_import_adds_the_periods_a_schedule_stream_has_entered_since(tmp_path, config):
    # A weekly report stream delivers in its first week and then goes silent: no export ever has a row for
    # the missed weeks, so only the passing of time can create them. An unrelated import three weeks later
    # must bring the stream's results to what a full rebuild at that moment gives.
    db = tmp_path / "sla.duckdb"
    first_now = datetime(2026, 10, 8, 12, 0, tzinfo=UTC)
    later_now = first_now + timedelta(weeks=3)
    stream = tmp_path / "ops.csv"
    stream.write_text("Case ID,Activity,Timestamp,Team,Process\n"
                      "RPT-1,opened,2026-10-05 09:00,BI,scheduled_reports\n"
                      "RPT-1,delivered,2026-10-07 10:00,BI,scheduled_reports\n")
    for step, (first_id, now) in enumerate([(100_001, first_now), (200_001, later_now)]):
        tickets, _ = _batch(first_id, 50, seed=3 + step)
        write_ticket_csv(tickets, path := tmp_path / f"tickets_{step}.csv")
        ingest(path, db=db, format_name="zendesk", config=config, now=now)
        if step == 0:
            ingest(stream, db=db, mapping=config / "mappings" / "events.yaml", config=config, now=first_now)

    stored, items, events = _stored(db)
    stream_rows = stored.filter(pl.col("item_id") == "RPT-1", pl.col("metric") == "weekly_report")
    rebuilt = evaluate(items.filter(pl.col("item_id") == "RPT-1"), events.filter(pl.col("item_id") == "RPT-1"),
                       load_policy_history(config), later_now).filter(pl.col("metric") == "weekly_report")
    assert rebuilt.height == 4  # the weeks of 5, 12, 19 and 26 October
    assert_frame_equal(stream_rows.select(RESULT_COLUMNS).sort(KEYS), rebuilt.sort(KEYS), check_dtypes=False)
