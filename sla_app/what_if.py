"""The What-if runner: the stored history inside the sidebar filters, simulated under a proposed policy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
import streamlit as st

from sla_app import access, data, policies
from sla_core import policy_edit as edit
from sla_core.access import Rights
from sla_core.policy import Policy, PolicyError, PolicyHistory
from sla_core.simulate import Simulation
from sla_store.db import current_time
from sla_store.queries import Selection
from sla_store.simulation import computed_at, load_results, run_simulation
from sla_ui.view import plain


@st.cache_resource(ttl=600, max_entries=4, show_spinner=False)
def _stored_results(path: str, identity: Any, selection: Selection) -> tuple[pl.DataFrame, datetime]:
    """The stored results inside a selection and when they were computed, shared read-only by sessions
    (a resource, so a 1,000,000-row frame is not copied on every rerun)."""
    cursor = data.live_database(path).cursor()
    return load_results(cursor, selection), computed_at(cursor) or current_time()


def run(committed_history: PolicyHistory, proposed: Policy, filters: Selection, by: str,
        advice_objective: float) -> Simulation:
    """Simulate `proposed` on the stored history inside the sidebar filters. The same run again on the same
    database file (its identity), versions and proposal is answered from the cache."""
    path = str(data.database_path().resolve())
    versions = tuple(policy.fingerprint for policy in committed_history)
    return _simulated(path, data.live_database(path).identity, versions, proposed.fingerprint, filters, by,
                      advice_objective, committed_history, proposed)


@st.cache_resource(ttl=600, max_entries=4, show_spinner=False)
def _simulated(path: str, identity: Any, versions: tuple[str, ...], proposal: str, filters: Selection, by: str,
               advice_objective: float, _history: PolicyHistory, _proposed: Policy) -> Simulation:
    """One simulation, keyed on what decides it: the database file, the versions' and the proposal's
    fingerprints, the selection, the slicing and the advice's objective."""
    results, moment = _stored_results(path, identity, filters)
    return run_simulation(data.cursor(), _history, _proposed, filters, by=[by],
                          advice_objective=advice_objective, now=moment, results=results)


def proposal(committed: Policy, targets: Any, calendars: Any, schedules: Any = None) -> Policy:
    """The edited tables as a validated Policy (EditError with a row/column message otherwise). Parsed once per
    distinct edit: a rerun without a new edit finds it in the cache, keyed on the edited mapping itself."""
    found = _validated(edit.proposed_raw(committed, targets, calendars, schedules=schedules), committed)
    if isinstance(found, edit.EditError):
        raise found
    return found


@st.cache_resource(max_entries=32, show_spinner=False)
def _validated(raw: dict, _committed: Policy) -> Policy | edit.EditError:
    """edit.validated, its error kept as the answer too (an invalid edit is not parsed again on every rerun).
    The key is the mapping alone: it carries the committed version's number and dates."""
    try:
        return edit.validated(_committed, raw)
    except edit.EditError as error:
        return error


@st.cache_resource(max_entries=32, show_spinner=False)
def _targets_diff(committed_fingerprint: str, proposed_fingerprint: str, _committed: Policy,
                  _proposed: Policy) -> str:
    return policies.targets_diff(_committed, _proposed)


def forget_stored_results() -> None:
    """Drop cached result frames and simulations (after a commit rebuilt them)."""
    _stored_results.clear()
    _simulated.clear()


def commit_section(committed: Policy, proposed: Policy | None, base: int) -> None:
    """The diff of the proposal against the committed policy and, for those allowed, the form that commits
    it as a new version (then results are rebuilt and the page starts over from the new version)."""
    st.subheader("Commit as a new version")
    rights = access.current_rights()
    access.show_rights(rights)
    if proposed is None:
        st.caption("Fix the table first.")
        return
    diff = "" if proposed is committed else _targets_diff(committed.fingerprint, proposed.fingerprint, committed,
                                                          proposed)
    if not diff:
        st.caption("The proposal equals the committed policy: nothing to commit.")
        return
    st.code(diff, language="diff")
    if not rights.can_commit:
        return
    with st.form("whatif_commit"):
        st.text_input("Author", value=rights.author, disabled=True,
                      help="The logged-in identity (or, without login, the account running this server)")
        reason = st.text_area("Reason", key="whatif_reason", height=80,
                              placeholder="Why this change (shown in the version history)")
        effective = st.date_input("Effective from", value=current_time().date(), key="whatif_effective",
                                  help=access.effective_help(rights))
        submitted = st.form_submit_button(f"Commit version {committed.version + 1}", type="primary",
                                          icon=":material/publish:", key="whatif_commit_button")
    if submitted and rights.can_backdate and committed.effective_from <= effective < current_time().date():
        # an admin's backdate re-judges verdicts already given: say how many, then commit on a second click
        with st.spinner("Counting the verdicts a backdate changes..."):
            impact = policies.backdate_impact(proposed, effective, db=data.database_path())
        st.session_state["whatif_backdate"] = {"fingerprint": proposed.fingerprint, "effective": effective,
                                               "reason": reason, "impact": impact}
        submitted = False
    if (pending := st.session_state.get("whatif_backdate")) and pending["fingerprint"] == proposed.fingerprint:
        st.warning(f"Backdating to {pending['effective']:%d %b %Y} re-judges the items created since then: "
                   f"{pending['impact'] or 'no stored verdicts'} change.", icon=":material/history:")
        if st.button(f"Commit version {committed.version + 1}, backdated to {pending['effective']:%d %b %Y}",
                     type="primary", key="whatif_backdate_confirm"):
            submitted, effective, reason = True, pending["effective"], pending["reason"]
    if submitted:
        st.session_state.pop("whatif_backdate", None)
        _commit(proposed, base, rights, reason, effective)


def _commit(proposed: Policy, base: int, rights: Rights, reason: str, effective: date) -> None:
    """Write the version and rebuild results, then start the page over from it (or say why it was refused)."""
    try:
        with st.spinner("Writing the version and rebuilding results..."):
            result = policies.commit_policy(proposed, base, rights.author, reason, effective,
                                            db=data.database_path(), allow_backdate=rights.can_backdate)
    except (policies.CommitRefused, PolicyError) as error:
        st.error(plain(error), icon=":material/block:")
        return
    st.cache_data.clear()
    forget_stored_results()
    for key in ("whatif_base_version", "whatif_targets", "whatif_calendars", "whatif_schedules", "whatif_sim",
                "whatif_reason"):
        st.session_state.pop(key, None)
    st.session_state["whatif_flash"] = (
        f"Committed version {result.version}, effective {result.effective_from:%d %b %Y}; version "
        f"{result.version - 1} is kept in history. "
        + ("Results were rebuilt." if result.results_refreshed else "")
    )
    st.rerun()
