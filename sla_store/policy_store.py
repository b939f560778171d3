"""Committed policy versions: commit a proposed policy as a new effective-dated version, list the history.

Layout of the config folder:
    config/sla.yaml            the version in force from its effective_from on (the newest)
    config/history/v<N>.yaml   every older version, as it was committed (author, reason, committed_at)

A commit names the version its edit started from; when someone else committed in between, the commit is
refused (the editor must look at the new version first). The check and the writes happen under an exclusive
file lock, every file is written to a temporary file and renamed into place, and the new file is validated
with the core's parser before anything is written.
"""

from __future__ import annotations

import difflib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path

import polars as pl
import yaml

from sla_core.policy import Policy, PolicyError, PolicyHistory
from sla_core.policy_yaml import parse_policy, policy_to_yaml, with_metadata
from sla_store.db import current_time, db_path, write_transaction
from sla_store.policy_files import config_dir, load_policy_file, load_policy_history


class CommitRefused(ValueError):
    """A commit that must not be written (stale base version, missing author or reason, bad date)."""


class StaleVersionError(CommitRefused):
    """The edit started from a version that is no longer the committed one."""


class NewerVersionError(CommitRefused):
    """The edit names a version newer than the committed one (its version number was changed by hand)."""


class BackdateRefused(CommitRefused):
    """An effective date in the past, without the right to backdate."""


@dataclass(frozen=True)
class CommitResult:
    version: int
    effective_from: date
    policy_path: Path
    archived_path: Path
    results_refreshed: bool
    policy: Policy = field(repr=False)  # the version written
    text: str = field(repr=False)  # its file, as written
    previous: Policy = field(repr=False)  # the version it follows
    history: PolicyHistory | None = field(repr=False)  # every version after the commit, when it was loaded

    @cached_property
    def diff(self) -> str:
        """Unified diff of the canonical YAML of the version before and the one written."""
        return unified_diff(policy_to_yaml(self.previous), self.text, f"version {self.previous.version}",
                            f"version {self.version}")


def policy_path(config: str | os.PathLike | None = None) -> Path:
    return config_dir(config) / "sla.yaml"


def history_dir(config: str | os.PathLike | None = None) -> Path:
    return config_dir(config) / "history"


def load_committed(config: str | os.PathLike | None = None) -> Policy:
    """The version in config/sla.yaml (the newest committed one)."""
    return load_policy_file(policy_path(config))


def unified_diff(old_text: str, new_text: str, old_name: str = "committed", new_name: str = "proposed") -> str:
    """A unified diff of two policy texts ('' when they are equal)."""
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True), new_text.splitlines(keepends=True), old_name, new_name
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def policy_diff(old: Policy, new: Policy, old_name: str | None = None, new_name: str | None = None) -> str:
    """Unified diff of the canonical YAML of two policies."""
    return unified_diff(
        policy_to_yaml(old),
        policy_to_yaml(new),
        old_name or f"version {old.version}",
        new_name or f"version {new.version}",
    )


def targets_diff(old: Policy, new: Policy) -> str:
    """Diff of what a reviewer cares about (calendars, metrics, targets, objective), without the metadata."""
    return unified_diff(_rules_yaml(old), _rules_yaml(new), f"version {old.version}", "proposed")


_METADATA = ("version", "effective_from", "author", "reason", "committed_at")


def _rules_yaml(policy: Policy) -> str:
    """The policy's rules as YAML: its validated mapping without the version metadata, dumped once."""
    rules = {key: value for key, value in policy.raw.items() if key not in _METADATA}
    return yaml.safe_dump(rules, sort_keys=False, allow_unicode=True)


def build_version(
    proposed: Policy,
    version: int,
    effective_from: date,
    author: str,
    reason: str,
    committed_at: datetime,
) -> tuple[Policy, str]:
    """The proposed rules (validated when they were parsed) stamped with version metadata; returns (policy,
    text): the text is dumped once and written as is, nothing is parsed again."""
    return with_metadata(proposed, version=version, effective_from=effective_from, author=author, reason=reason,
                         committed_at=committed_at)


@contextmanager
def policy_lock(config: str | os.PathLike | None = None) -> Iterator[None]:
    """An exclusive lock on the config folder itself (held while checking the base version and writing).

    The folder, not sla.yaml, is locked because sla.yaml is replaced by rename; locking the folder leaves
    no lock file behind in a directory that is kept in version control.
    """
    root = config_dir(config)
    root.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def commit_policy(
    proposed: Policy,
    base_version: int,
    author: str,
    reason: str,
    effective_from: date | None = None,
    config: str | os.PathLike | None = None,
    db: str | os.PathLike | None = None,
    now: datetime | None = None,
    refresh: bool = True,
    allow_backdate: bool = False,
    history: PolicyHistory | None = None,
) -> CommitResult:
    """Commit `proposed` as version current + 1, effective from `effective_from` (default: today, UTC).

    Refused (CommitRefused / StaleVersionError, one-line message) when author or reason is blank, when
    `base_version` is not the committed version, when the effective date precedes the current version's,
    or when it lies before today (UTC) without `allow_backdate`: a past date re-judges verdicts already
    given, which only an admin (the page) or `--backdate` (the command line) may do.
    Afterwards the items the new version governs (created on or after its effective date) are judged again
    from raw data (when the database exists and `refresh` is true); older verdicts stay.

    Each file is parsed once: sla.yaml under the lock (is it still the base version?), the archived versions
    only when the results are refreshed and `history` (the caller's committed versions, e.g. the page's
    cached ones) does not hold that same sla.yaml. The new version is dumped once, as the text written.
    """
    author, reason = (author or "").strip(), (reason or "").strip()
    if not author:
        raise CommitRefused("an author is required to commit a policy version")
    if not reason:
        raise CommitRefused("a reason is required to commit a policy version")
    moment = (now or current_time()).replace(microsecond=0)
    effective = effective_from or moment.date()
    live = policy_path(config)
    with policy_lock(config):
        current_text = live.read_text(encoding="utf-8")
        current = parse_policy(current_text, str(live))
        _check_committable(current, live, base_version, effective, moment.date(), allow_backdate)
        new_policy, new_text = build_version(proposed, current.version + 1, effective, author, reason, moment)
        refreshing = refresh and db_path(db).exists()
        before = _history_with(current, history, config) if refreshing or history is not None else None
        archived = history_dir(config) / f"v{current.version}.yaml"
        if not archived.exists():
            atomic_write_text(archived, current_text)
        atomic_write_text(live, new_text)
        after = None if before is None else PolicyHistory(
            [*(policy for policy in before.versions if policy.version != new_policy.version), new_policy])
        refreshed = refreshing and refresh_results_now(config, db, moment, since=effective, history=after)
    return CommitResult(new_policy.version, effective, live, archived, refreshed, new_policy, new_text, current,
                        after)


def _check_committable(current: Policy, live: Path, base_version: int, effective: date, today: date,
                       allow_backdate: bool) -> None:
    """Refuse a commit (one-line message) whose edit started from another version than `current`, or whose
    effective date precedes the current version's, or lies before `today` without `allow_backdate`."""
    if base_version > current.version:
        raise NewerVersionError(
            f"version {base_version} is newer than the committed version {current.version} in {live}; "
            "keep the version number your edit started from"
        )
    if base_version != current.version:
        raise StaleVersionError(
            f"{live}: version {current.version} was committed"
            f"{_by(current)} after your edit started from version {base_version}; "
            "reload the committed policy and apply your change again"
        )
    if effective < current.effective_from:
        raise CommitRefused(
            f"effective_from {effective.isoformat()} is before the current version's "
            f"({current.effective_from.isoformat()}); a new version can only start on or after it"
        )
    if effective < today and not allow_backdate:
        raise BackdateRefused(
            f"effective_from {effective.isoformat()} is before today ({today.isoformat()}): a past "
            "date re-judges verdicts already given; only an admin may backdate a version"
        )


def _history_with(current: Policy, history: PolicyHistory | None,
                  config: str | os.PathLike | None) -> PolicyHistory:
    """The committed versions whose newest is `current` (sla.yaml as parsed under the lock): `history` when it
    holds that same version (archived versions never change), else read from the config folder."""
    if history is not None:
        newest = max(history.versions, key=lambda policy: policy.version)
        if newest.version == current.version and newest.raw == current.raw:
            return history
    return load_policy_history(config, current=current)


@dataclass(frozen=True)
class VerdictChanges:
    """Decided verdicts (met or breached) that a new version judges differently."""

    met_to_breached: int
    breached_to_met: int
    no_longer_decided: int

    @property
    def total(self) -> int:
        return self.met_to_breached + self.breached_to_met + self.no_longer_decided

    def __str__(self) -> str:
        return (f"{self.total:,} decided verdicts ({self.met_to_breached:,} met → breached, "
                f"{self.breached_to_met:,} breached → met, {self.no_longer_decided:,} no longer judged)")


def verdict_changes(paired: pl.DataFrame) -> VerdictChanges:
    """Count the decided rows of a simulation's paired frame whose verdict changes (met vs met_after)."""
    before, after = pl.col("met"), pl.col("met_after")
    counts = paired.filter(before.is_not_null()).select(
        met_to_breached=(before & (after == False)).sum(),  # noqa: E712
        breached_to_met=(~before & (after == True)).sum(),  # noqa: E712
        no_longer_decided=after.is_null().sum(),
    ).row(0)
    return VerdictChanges(*(int(value or 0) for value in counts))


def backdate_impact(
    proposed: Policy,
    since: date,
    config: str | os.PathLike | None = None,
    db: str | os.PathLike | None = None,
    history: PolicyHistory | None = None,
) -> VerdictChanges | None:
    """What committing `proposed` effective `since` does to the stored verdicts of items created since then
    (None without a database): the count a backdated commit shows before it writes. `history`: the committed
    versions (read from `config` when not given)."""
    from sla_store.db import connect_read_only
    from sla_store.queries import Selection
    from sla_store.simulation import run_simulation

    if not db_path(db).exists():
        return None
    history = history if history is not None else load_policy_history(config)
    con = connect_read_only(db)
    try:
        simulation = run_simulation(con.cursor(), history, proposed, Selection(date_from=since))
    finally:
        con.close()
    return verdict_changes(simulation.paired)


def _by(policy: Policy) -> str:
    parts = []
    if policy.author:
        parts.append(f" by {policy.author}")
    if policy.committed_at:
        parts.append(f" at {policy.committed_at:%Y-%m-%d %H:%M} UTC")
    return "".join(parts)


def refresh_results_now(config: str | os.PathLike | None, db: str | os.PathLike | None, now: datetime,
                        since: date | None = None, history: PolicyHistory | None = None) -> bool:
    """Bring the results up to the committed versions (`history`, read from `config` when not given): with
    `since` (the newest version's effective date) only the items created on or after it are judged again,
    else every item is."""
    from sla_store.compute import refresh_results, rejudge_since

    history = history if history is not None else load_policy_history(config)
    with write_transaction(db_path(db)) as con:
        if since is None:
            refresh_results(con, history, now)
        else:
            rejudge_since(con, history, now, since)
    return True


def version_history(config: str | os.PathLike | None = None) -> pl.DataFrame:
    """One row per committed version, newest first: version, effective_from, author, reason, committed_at,
    backdated (effective before the day it was committed), targets, fingerprint."""
    history = load_policy_history(config)
    rows = [
        {
            "version": policy.version,
            "effective_from": policy.effective_from,
            "author": policy.author,
            "reason": policy.reason,
            "committed_at": policy.committed_at,
            "backdated": policy.committed_at is not None
            and policy.effective_from < policy.committed_at.astimezone(UTC).date(),
            "targets": len(policy.targets),
            "fingerprint": policy.fingerprint[:12],
        }
        for policy in sorted(_versions(history), key=lambda p: p.version, reverse=True)
    ]
    schema = {
        "version": pl.Int64,
        "effective_from": pl.Date,
        "author": pl.String,
        "reason": pl.String,
        "committed_at": pl.Datetime("us", "UTC"),
        "backdated": pl.Boolean,
        "targets": pl.Int64,
        "fingerprint": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def _versions(history) -> list[Policy]:
    return list(history)


def versions_by_number(config: str | os.PathLike | None = None) -> dict[int, Policy]:
    return {policy.version: policy for policy in _versions(load_policy_history(config))}


def diff_between_versions(older: int, newer: int, config: str | os.PathLike | None = None) -> str:
    """Unified diff between two committed versions (canonical YAML)."""
    versions = versions_by_number(config)
    missing = [v for v in (older, newer) if v not in versions]
    if missing:
        raise KeyError(f"no committed version {missing[0]} in {config_dir(config)}")
    return policy_diff(versions[older], versions[newer])


__all__ = [
    "BackdateRefused",
    "VerdictChanges",
    "backdate_impact",
    "CommitRefused",
    "CommitResult",
    "NewerVersionError",
    "PolicyError",
    "StaleVersionError",
    "commit_policy",
    "diff_between_versions",
    "load_committed",
    "policy_diff",
    "targets_diff",
    "version_history",
]
