"""The committed policy versions for the pages: read once per change of the config folder, and committed.

Pages import these names from here (never from sla_store), so the store's policy API has one UI door.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

from sla_core.policy import Policy, PolicyError, PolicyHistory
from sla_store import policy_store
from sla_store.policy_files import config_dir, config_relative, load_policy_history
from sla_store.policy_store import CommitRefused, CommitResult, diff_between_versions, targets_diff

__all__ = [
    "CommitRefused",
    "backdate_impact",
    "commit_policy",
    "config_dir",
    "diff_between_versions",
    "policy_history",
    "targets_diff",
    "version_history",
]


def _config_identity(directory: Path) -> tuple:
    files = sorted([directory / "sla.yaml", *sorted((directory / "history").glob("*.yaml"))])
    return tuple((str(f), f.stat().st_mtime_ns) for f in files if f.exists())


# The history a commit from this process produced, under the config folder's identity right after it: the
# next read takes it instead of parsing every version again.
_COMMITTED_HERE: dict[tuple[str, tuple], PolicyHistory] = {}


@st.cache_resource(show_spinner=False, max_entries=4)
def _history(directory: str, identity: tuple) -> PolicyHistory:
    known = _COMMITTED_HERE.pop((directory, identity), None)
    return known if known is not None else load_policy_history(directory)


def _missing(directory: Path, error: FileNotFoundError) -> PolicyError:
    """A missing policy file as the pages show it: named from the config folder, never by its full path."""
    missing = Path(error.filename or directory / "sla.yaml")
    try:
        name = config_relative(directory, missing)
    except ValueError:
        name = missing.name
    return PolicyError(name, None, "", "no such file: commit a policy (What-if) or restore the file")


def policy_history() -> PolicyHistory:
    """The committed policy versions, reloaded when a file in config/ changes (raises PolicyError, one line
    without file paths beyond the config folder's own name, when the files are missing or do not load)."""
    directory = config_dir()
    try:
        return _history(str(directory), _config_identity(directory))
    except FileNotFoundError as error:
        raise _missing(directory, error) from None


def version_history(directory: Path | None = None) -> pl.DataFrame:
    """Every committed version, newest first (see sla_store.policy_store.version_history); PolicyError as
    policy_history() raises it."""
    directory = config_dir(directory)
    try:
        return policy_store.version_history(directory)
    except FileNotFoundError as error:
        raise _missing(directory, error) from None


def commit_policy(proposed: Policy, base_version: int, author: str, reason: str, effective_from: date, *,
                  db: Path, allow_backdate: bool = False) -> CommitResult:
    """sla_store.policy_store.commit_policy with the committed versions this page already holds (the results
    refresh judges with them, no file is parsed again); the history after the commit becomes the next read's."""
    directory = config_dir()
    result = policy_store.commit_policy(proposed, base_version, author, reason, effective_from, config=directory,
                                        db=db, allow_backdate=allow_backdate, history=policy_history())
    if result.history is not None:
        _COMMITTED_HERE.clear()
        _COMMITTED_HERE[(str(directory), _config_identity(directory))] = result.history
    return result


def backdate_impact(proposed: Policy, since: date, *, db: Path):
    """What a backdated commit of `proposed` changes (sla_store.policy_store.backdate_impact), judged with the
    committed versions this page already holds."""
    return policy_store.backdate_impact(proposed, since, config=config_dir(), db=db, history=policy_history())
