"""The What-if runner: the stored history inside the sidebar filters, simulated under a proposed policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import streamlit as st

from sla_app import data
from sla_core.policy import Policy, PolicyHistory
from sla_core.simulate import Simulation
from sla_store.db import current_time
from sla_store.queries import Selection
from sla_store.simulation import computed_at, load_results, run_simulation


@st.cache_resource(ttl=600, max_entries=4, show_spinner=False)
def _stored_results(path: str, identity: Any, selection: Selection) -> tuple[pl.DataFrame, datetime]:
    """The stored results inside a selection and when they were computed, shared read-only by sessions
    (a resource, so a 1,000,000-row frame is not copied on every rerun)."""
    cursor = data.live_database(path).cursor()
    return load_results(cursor, selection), computed_at(cursor) or current_time()


def run(committed_history: PolicyHistory, proposed: Policy, filters: Selection, by: str,
        advice_objective: float) -> Simulation:
    """Simulate `proposed` on the stored history inside the sidebar filters."""
    path = str(data.database_path().resolve())
    results, moment = _stored_results(path, data.live_database(path).identity, filters)
    return run_simulation(data.cursor(), committed_history, proposed, filters, by=[by],
                          advice_objective=advice_objective, now=moment, results=results)


def forget_stored_results() -> None:
    """Drop cached result frames (after a commit rebuilt them)."""
    _stored_results.clear()
