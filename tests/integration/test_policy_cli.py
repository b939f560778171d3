"""`sla policy validate FILE` and `sla policy commit FILE --author --reason [--effective] [--backdate]`."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from sla_core.clocks import evaluate
from sla_core.policy_yaml import parse_policy, parse_policy_mapping, policy_to_yaml
from sla_store.cli import app
from sla_store.db import connect_read_only
from sla_store.policy_files import load_policy_history
from tests.call_counts import count_calls
from tests.integration.test_simulate_cli import build_database
from tests.unit.test_simulate_consistency import NOW, POLICY_V1, raw_history

TODAY = NOW.date()  # 2026-03-20


def _run(*args, env=None):
    return CliRunner().invoke(app, ["policy", *args], catch_exceptions=False,
                              env={"SLA_NOW": NOW.isoformat(), **(env or {})})


@pytest.fixture
def store(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "sla.yaml").write_text(POLICY_V1)
    db = tmp_path / "sla.duckdb"
    items, events = raw_history(900, seed=11)
    build_database(db, items, events, parse_policy(POLICY_V1), NOW)
    return tmp_path, config, db, items, events


def _proposal(root, within: str, version: int = 1):
    """POLICY_V1 with the catch-all resolution target changed, as someone would edit a copy of sla.yaml."""
    raw = dict(parse_policy(POLICY_V1).raw)
    raw["targets"] = [dict(t) for t in raw["targets"]]
    raw["targets"][3]["within"] = within
    raw["version"] = version
    path = root / "proposed.yaml"
    path.write_text(policy_to_yaml(parse_policy_mapping(raw)))
    return path


def _results(db) -> pl.DataFrame:
    con = connect_read_only(db)
    try:
        return con.sql("SELECT source, item_id, metric, instance, created, policy_version, met FROM results").pl()
    finally:
        con.close()


# ------------------------------------------------------------------------------------------- validate


def test_validate_exits_0_for_a_good_policy_and_2_with_the_one_line_error_for_a_bad_one(tmp_path):
    good = tmp_path / "sla.yaml"
    good.write_text(POLICY_V1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY_V1.replace("within: 4h", "within: 4x"))

    ok = _run("validate", str(good))
    assert ok.exit_code == 0, ok.output
    assert "ok (version 1" in ok.stdout

    failed = _run("validate", str(good), str(bad))
    assert failed.exit_code == 2
    assert failed.stderr.strip() == f'{bad}:14: targets[1].within: "4x" is not a duration (use 90s, 15m, 4h, 2d)'


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        (b"\xff\xfe v e r", "not UTF-8 text"),
        ("version: [1\n", "not valid YAML"),
        ("- a list\n", "a policy is a mapping"),
    ],
)
def test_validate_refuses_unreadable_files_in_one_line_without_a_traceback(tmp_path, content, expected):
    path = tmp_path / "policy.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    outcome = _run("validate", str(path))
    assert outcome.exit_code == 2
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(path)) and expected in lines[0]
    assert "Traceback" not in outcome.output


def test_validate_checks_access_files_with_the_access_rules(tmp_path):
    access = tmp_path / "access.yaml"
    access.write_text("users:\n  ana@example.com: admin\ngroups:\n  sla-leads: lead\n")
    assert _run("validate", str(access)).exit_code == 0
    access.write_text("users:\n  ana@example.com: admin\n  bo@example.com: boss\n")
    outcome = _run("validate", str(access))
    assert outcome.exit_code == 2
    assert outcome.stderr.strip() == (
        f'{access}:3: users.bo@example.com: "boss" is not a role (use viewer, lead or admin)'
    )


def test_the_shipped_config_validates():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "config"
    outcome = _run("validate", *(str(p) for p in sorted(root.glob("*.yaml"))))
    assert outcome.exit_code == 0, outcome.output


# --------------------------------------------------------------------------------------------- commit


def test_commit_writes_the_next_version_effective_today_and_rebuilds_results(store):
    root, config, db, _, _ = store
    outcome = _run("commit", str(_proposal(root, "2d")), "--author", "ana@example.com", "--reason", "two days",
                   "--config", str(config), "--db", str(db))

    assert outcome.exit_code == 0, outcome.output
    assert "Committed version 2, effective 2026-03-20" in outcome.stdout and "Results rebuilt." in outcome.stdout
    written = parse_policy((config / "sla.yaml").read_text())
    assert (written.version, written.effective_from, written.author) == (2, TODAY, "ana@example.com")
    assert (config / "history" / "v1.yaml").read_text() == POLICY_V1


def test_commit_from_a_stale_version_is_refused_like_on_the_page(store):
    root, config, db, _, _ = store
    first = _proposal(root, "2d")
    assert _run("commit", str(first), "--author", "bo", "--reason", "first", "--config", str(config),
                "--db", str(db)).exit_code == 0
    written = (config / "sla.yaml").read_text()

    stale = _proposal(root, "4d", version=1)  # edited from version 1, but version 2 is committed now
    outcome = _run("commit", str(stale), "--author", "ana", "--reason", "second", "--config", str(config),
                   "--db", str(db))
    assert outcome.exit_code == 2
    assert "version 2 was committed by bo" in outcome.stderr
    assert "after your edit started from version 1" in outcome.stderr
    assert (config / "sla.yaml").read_text() == written

    ahead = _proposal(root, "4d", version=7)
    outcome = _run("commit", str(ahead), "--author", "ana", "--reason", "r", "--config", str(config))
    assert outcome.exit_code == 2 and "newer than the committed version 2" in outcome.stderr


@pytest.mark.parametrize(("author", "reason"), [("", "why"), ("ana", "  ")])
def test_commit_needs_an_author_and_a_reason(store, author, reason):
    root, config, db, _, _ = store
    outcome = _run("commit", str(_proposal(root, "2d")), "--author", author, "--reason", reason,
                   "--config", str(config), "--db", str(db))
    assert outcome.exit_code == 2 and "is required" in outcome.stderr
    assert (config / "sla.yaml").read_text() == POLICY_V1


def test_a_past_effective_date_without_backdate_is_refused_and_nothing_is_written(store):
    root, config, db, _, _ = store
    before = _results(db)
    outcome = _run("commit", str(_proposal(root, "300d")), "--author", "ana", "--reason", "r",
                   "--effective", "2026-01-02", "--config", str(config), "--db", str(db))
    assert outcome.exit_code == 2
    assert outcome.stderr.strip() == (
        "--effective 2026-01-02 is in the past (today is 2026-03-20): verdicts already given would be judged "
        "again; add --backdate to do that on purpose"
    )
    assert (config / "sla.yaml").read_text() == POLICY_V1 and not (config / "history").exists()
    assert _results(db).equals(before)


def test_backdate_says_how_many_decided_verdicts_change_then_writes(store):
    root, config, db, items, events = store
    since = date(2026, 2, 2)
    proposal = _proposal(root, "4h")
    before = _results(db)

    # independent count: judge the raw items created since `since` from scratch by the proposal
    proposed = parse_policy(proposal.read_text())
    fresh = evaluate(items, events, proposed, NOW).select("source", "item_id", "metric", "instance",
                                                          pl.col("met").alias("new"))
    decided = before.filter(pl.col("met").is_not_null() & (pl.col("created").dt.date() >= since))
    joined = decided.join(fresh, on=["source", "item_id", "metric", "instance"], how="left")
    to_breached = joined.filter(pl.col("met") & (pl.col("new") == False)).height  # noqa: E712
    to_met = joined.filter(~pl.col("met") & (pl.col("new") == True)).height  # noqa: E712
    undecided = joined.filter(pl.col("new").is_null()).height
    assert to_breached > 0

    outcome = _run("commit", str(proposal), "--author", "ada", "--reason", "contract from 2 Feb",
                   "--effective", since.isoformat(), "--backdate", "--config", str(config), "--db", str(db))

    assert outcome.exit_code == 0, outcome.output
    first_line = outcome.stdout.splitlines()[0]
    total = to_breached + to_met + undecided
    assert first_line == (
        f"Backdating to 2026-02-02 changes {total:,} decided verdicts of items created since then "
        f"({to_breached:,} met → breached, {to_met:,} breached → met, {undecided:,} no longer judged)."
    )
    assert re.search(r"Committed version 2, effective 2026-02-02", outcome.stdout)
    after = _results(db)
    older = before.filter(pl.col("created").dt.date() < since).sort("source", "item_id", "metric", "instance")
    assert after.filter(pl.col("created").dt.date() < since).sort("source", "item_id", "metric", "instance").equals(older)
    assert set(after.filter(pl.col("created").dt.date() >= since)["policy_version"].unique()) == {2}
    changed = (
        before.join(after, on=["source", "item_id", "metric", "instance"], how="left", suffix="_after")
        .filter(pl.col("met").is_not_null() & pl.col("met").ne_missing(pl.col("met_after")))
    )
    assert changed.height == total  # the announced count is what the write did


def _counting(monkeypatch) -> dict[str, int]:
    """Count YAML parses (compose) and writes (dump), and policy files read, from here on."""
    import yaml

    from sla_store import policy_files

    return count_calls(monkeypatch, [*((yaml, name) for name in ("compose", "dump", "safe_load", "safe_dump")),
                                     (policy_files, "load_policy_file")])


def test_a_commit_parses_each_policy_file_once_and_writes_the_new_version_once(store, monkeypatch):
    root, config, db, _, _ = store
    assert _run("commit", str(_proposal(root, "2d")), "--author", "bo", "--reason", "first", "--config",
                str(config), "--db", str(db)).exit_code == 0
    proposal = _proposal(root, "4d", version=2)  # history/v1.yaml and sla.yaml (version 2) are committed
    calls = _counting(monkeypatch)

    outcome = _run("commit", str(proposal), "--author", "ana", "--reason", "second", "--config", str(config),
                   "--db", str(db))

    assert outcome.exit_code == 0, outcome.output
    assert "Committed version 3" in outcome.stdout and "Results rebuilt." in outcome.stdout
    # parsed once each: the proposal, sla.yaml (under the lock) and history/v1.yaml (for the results refresh);
    # written once: the new sla.yaml, plus the fingerprints of the two stored versions the results' basis names
    assert calls == {"load_policy_file": 2, "compose": 3, "dump": 1 + 2}
    assert [p.version for p in load_policy_history(config)] == [1, 2, 3]
    assert set(_results(db)["policy_version"].unique()) == {1, 3}  # NOW's items are judged by version 3


def test_a_commit_without_a_database_parses_the_proposal_and_sla_yaml_only(store, monkeypatch):
    root, config, _, _, _ = store
    proposal = _proposal(root, "2d")
    calls = _counting(monkeypatch)
    outcome = _run("commit", str(proposal), "--author", "ana", "--reason", "r", "--config", str(config),
                   "--db", str(root / "none.duckdb"))
    assert outcome.exit_code == 0, outcome.output
    assert calls == {"load_policy_file": 1, "compose": 2, "dump": 1}
    assert parse_policy((config / "sla.yaml").read_text()).version == 2


def test_a_bad_effective_day_is_one_line(store):
    root, config, _, _, _ = store
    outcome = _run("commit", str(_proposal(root, "2d")), "--author", "a", "--reason", "r", "--effective",
                   "2026-02-30", "--config", str(config))
    assert outcome.exit_code == 2 and outcome.stderr.strip().startswith("--effective '2026-02-30' is not a day")
