"""Committing proposed policies as effective-dated versions in a config folder."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sla_core.policy_yaml import parse_policy, parse_policy_mapping
from sla_store.db import connect_read_only
from sla_store.policy_files import load_policy_history
from sla_store.policy_store import (
    BackdateRefused,
    CommitRefused,
    StaleVersionError,
    commit_policy,
    diff_between_versions,
    load_committed,
    version_history,
)

POLICY_V1 = """\
version: 1
effective_from: 2026-01-01
objective: 0.95
calendars:
  support_hours:
    timezone: Europe/Amsterdam
    hours: {mon-fri: ["08:00-17:00"]}
  always: 24/7
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: resolved, pause_when_status: [pending]}
targets:
  - {metric: first_response, match: {channel: chat}, within: 2m, calendar: always}
  - {metric: first_response, within: 4h, calendar: support_hours}
  - {metric: resolution, within: 3d, calendar: support_hours, objective: 0.9}
"""

NOW = datetime(2026, 3, 10, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def config(tmp_path):
    root = tmp_path / "config"
    root.mkdir()
    (root / "sla.yaml").write_text(POLICY_V1)
    return root


def _with_within(policy, target_position: int, within: str):
    raw = dict(policy.raw)
    raw["targets"] = [dict(target) for target in raw["targets"]]
    raw["targets"][target_position]["within"] = within
    return parse_policy_mapping(raw, "edited")


def test_a_commit_writes_a_valid_new_version_and_keeps_the_old_one_in_history(config):
    committed = load_committed(config)
    proposed = _with_within(committed, 1, "2h")

    result = commit_policy(proposed, 1, "Ana", "Email backlog cleared", config=config, now=NOW)

    new = parse_policy((config / "sla.yaml").read_text(), "sla.yaml")
    assert (new.version, new.effective_from) == (2, date(2026, 3, 10))
    assert (new.author, new.reason) == ("Ana", "Email backlog cleared")
    assert new.committed_at == datetime(2026, 3, 10, 9, 30, 15, tzinfo=UTC)
    assert new.targets[1].within_s == 2 * 3600
    assert (config / "history" / "v1.yaml").read_text() == POLICY_V1
    assert result.version == 2 and result.archived_path == config / "history" / "v1.yaml"
    assert "+version: 2" in result.diff and "+author: Ana" in result.diff
    history = load_policy_history(config)
    assert [p.version for p in history] == [1, 2]
    assert history.in_force(date(2026, 3, 9)).version == 1
    assert history.in_force(date(2026, 3, 10)).version == 2
    assert sorted(p.name for p in config.iterdir()) == ["history", "sla.yaml"]  # no temp or lock files left
    assert sorted(p.name for p in (config / "history").iterdir()) == ["v1.yaml"]


@pytest.mark.parametrize("moment", [NOW, datetime(2026, 3, 10, 11, 5, tzinfo=timezone(timedelta(hours=2)))])
def test_the_written_version_is_the_policy_its_file_parses_to(config, moment):
    """The new version is stamped, not parsed again: its file must read back to the very same policy."""
    committed = load_committed(config)
    proposed = _with_within(committed, 2, "2d")
    result = commit_policy(proposed, 1, "NO", "yes: 'quoted' text\nand a second line", config=config, now=moment)

    text = (config / "sla.yaml").read_text()
    assert text == result.text
    written = parse_policy(text, "sla.yaml")
    assert written.fingerprint == result.policy.fingerprint == hashlib.sha256(text.encode()).hexdigest()
    assert written.raw == result.policy.raw and list(written.raw) == list(result.policy.raw)
    for name in ("version", "effective_from", "author", "reason", "committed_at", "objective", "targets",
                 "calendars", "metrics", "dimensions"):
        assert getattr(written, name) == getattr(result.policy, name), name
    assert written.committed_at.utcoffset() == moment.utcoffset()


def test_the_diff_shows_exactly_the_changed_budget(config):
    committed = load_committed(config)
    proposed = _with_within(committed, 2, "2d")
    result = commit_policy(proposed, 1, "Ana", "tighter resolution", config=config, now=NOW)
    removed = [line for line in result.diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in result.diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert any("3d" in line for line in removed) and any("2d" in line for line in added)
    assert not any("3d" in line for line in added)


def test_a_commit_based_on_a_stale_version_is_refused_with_a_clear_message(config):
    committed = load_committed(config)
    commit_policy(_with_within(committed, 1, "2h"), 1, "Ana", "first", config=config, now=NOW)
    before = (config / "sla.yaml").read_text()

    with pytest.raises(StaleVersionError) as refused:
        commit_policy(_with_within(committed, 1, "1h"), 1, "Bo", "second", config=config, now=NOW)

    message = str(refused.value)
    assert "version 2 was committed by Ana" in message
    assert "started from version 1" in message
    assert "\n" not in message
    assert (config / "sla.yaml").read_text() == before
    assert sorted(p.name for p in (config / "history").iterdir()) == ["v1.yaml"]


def test_two_concurrent_commits_from_the_same_base_version_let_exactly_one_through(config):
    committed = load_committed(config)
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def commit(author: str, within: str) -> None:
        start.wait()
        try:
            outcomes.append(
                commit_policy(_with_within(committed, 1, within), 1, author, "race", config=config, now=NOW)
            )
        except StaleVersionError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=commit, args=args) for args in (("Ana", "2h"), ("Bo", "1h"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    refused = [o for o in outcomes if isinstance(o, StaleVersionError)]
    written = [o for o in outcomes if not isinstance(o, StaleVersionError)]
    assert len(refused) == 1 and len(written) == 1
    assert load_committed(config).version == 2
    assert [p.version for p in load_policy_history(config)] == [1, 2]


@pytest.mark.parametrize(
    ("author", "reason", "expected"),
    [("", "why", "an author is required"), ("Ana", "  ", "a reason is required")],
)
def test_a_commit_without_author_or_reason_is_refused_and_writes_nothing(config, author, reason, expected):
    committed = load_committed(config)
    with pytest.raises(CommitRefused, match=expected):
        commit_policy(_with_within(committed, 1, "2h"), 1, author, reason, config=config, now=NOW)
    assert (config / "sla.yaml").read_text() == POLICY_V1
    assert not (config / "history").exists()


def test_an_effective_date_before_the_current_version_is_refused(config):
    committed = load_committed(config)
    with pytest.raises(CommitRefused, match="before the current version's"):
        commit_policy(
            _with_within(committed, 1, "2h"), 1, "Ana", "backdated", date(2025, 12, 1), config=config, now=NOW
        )
    assert (config / "sla.yaml").read_text() == POLICY_V1


def test_a_past_effective_date_is_refused_unless_backdating_is_allowed(config):
    committed = load_committed(config)
    proposed = _with_within(committed, 1, "2h")
    with pytest.raises(BackdateRefused, match="2026-03-09 is before today .2026-03-10.: a past date re-judges"):
        commit_policy(proposed, 1, "Lea", "backdated", date(2026, 3, 9), config=config, now=NOW)
    assert (config / "sla.yaml").read_text() == POLICY_V1

    commit_policy(proposed, 1, "Ada", "contract signed on the 9th", date(2026, 3, 9), config=config, now=NOW,
                  allow_backdate=True)
    same_day = load_committed(config)
    commit_policy(_with_within(same_day, 0, "5m"), 2, "Lea", "chat", date(2026, 3, 10), config=config, now=NOW)

    listing = version_history(config)
    assert listing.select("version", "backdated").rows() == [(3, False), (2, True), (1, False)]
    assert listing["reason"].to_list()[1] == "contract signed on the 9th"


def test_the_version_history_lists_every_version_with_its_author_and_a_diff_between_them(config):
    committed = load_committed(config)
    commit_policy(_with_within(committed, 1, "2h"), 1, "Ana", "first", date(2026, 4, 1), config=config, now=NOW)
    second = load_committed(config)
    commit_policy(
        _with_within(second, 0, "5m"), 2, "Bo", "chat is slower", date(2026, 4, 1), config=config, now=NOW
    )

    listing = version_history(config)

    assert listing["version"].to_list() == [3, 2, 1]
    assert listing["author"].to_list() == ["Bo", "Ana", None]
    assert listing["effective_from"].to_list() == [date(2026, 4, 1), date(2026, 4, 1), date(2026, 1, 1)]
    diff = diff_between_versions(2, 3, config)
    assert "within: 5m" in diff and "within: 2m" in diff and "reason: chat is slower" in diff


def test_after_a_commit_items_created_before_its_effective_date_keep_their_judgement(tmp_path):

    from sla_core.policy import PolicyHistory
    from tests.integration.test_simulate_cli import build_database
    from tests.unit.test_simulate_consistency import NOW as DATA_NOW
    from tests.unit.test_simulate_consistency import POLICY_V1 as CONSISTENCY_POLICY
    from tests.unit.test_simulate_consistency import raw_history

    config = tmp_path / "config"
    config.mkdir()
    (config / "sla.yaml").write_text(CONSISTENCY_POLICY)
    db = tmp_path / "sla.duckdb"
    items, events = raw_history(800, seed=7)
    build_database(db, items, events, parse_policy(CONSISTENCY_POLICY), DATA_NOW)
    columns = "source, item_id, metric, policy_version, within_s, elapsed_s, state, met"

    def judged(where: str):
        con = connect_read_only(db)
        try:
            return con.sql(f"SELECT {columns} FROM results WHERE {where} ORDER BY ALL").fetchall()
        finally:
            con.close()

    effective = date(2026, 3, 1)
    before_commit = judged("created < DATE '2026-03-01'")
    committed = load_committed(config)
    result = commit_policy(
        _with_within(committed, 3, "1d"), 1, "Ana", "faster resolution", effective,
        config=config, db=db, now=DATA_NOW, allow_backdate=True,
    )

    assert result.results_refreshed
    assert judged("created < DATE '2026-03-01'") == before_commit
    later = judged("created >= DATE '2026-03-01' AND metric = 'resolution' AND within_s > 30000")
    assert later and {row[3] for row in later} == {2} and {row[4] for row in later} == {86400.0}
    history = load_policy_history(config)
    assert isinstance(history, PolicyHistory) and history.in_force(effective).version == 2


def _commit_in_another_process(config: str, within: str, author: str, start, outcomes) -> None:
    from pathlib import Path

    committed = load_committed(Path(config))
    start.wait()
    try:
        result = commit_policy(_with_within(committed, 1, within), 1, author, "race", config=Path(config), now=NOW)
        outcomes.put(("written", result.version))
    except StaleVersionError as error:
        outcomes.put(("refused", str(error)))


def test_two_processes_committing_from_the_same_base_version_let_exactly_one_through(config):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    outcomes = context.Queue()
    workers = [
        context.Process(target=_commit_in_another_process, args=(str(config), within, author, start, outcomes))
        for within, author in (("2h", "Ana"), ("1h", "Bo"))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    results = sorted(outcomes.get(timeout=5) for _ in workers)

    assert [kind for kind, _ in results] == ["refused", "written"]
    assert "was committed by" in results[0][1] and "started from version 1" in results[0][1]
    assert load_committed(config).version == 2
