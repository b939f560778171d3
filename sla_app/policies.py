"""The committed policy versions for the pages: read once per change of the config folder, and committed.

Pages import these names from here (never from sla_store), so the store's policy API has one UI door.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from sla_core.policy import PolicyHistory
from sla_store.policy_files import config_dir, load_policy_history
from sla_store.policy_store import (
    CommitRefused,
    backdate_impact,
    commit_policy,
    diff_between_versions,
    targets_diff,
    version_history,
)

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


@st.cache_resource(show_spinner=False, max_entries=4)
def _history(directory: str, identity: tuple) -> PolicyHistory:
    return load_policy_history(directory)


def policy_history() -> PolicyHistory:
    """The committed policy versions, reloaded when a file in config/ changes (raises PolicyError when the
    files do not load)."""
    directory = config_dir()
    return _history(str(directory), _config_identity(directory))
