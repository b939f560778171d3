"""What-if: edit the committed targets, replay the history under them side by side, then commit a version."""

import polars as pl
import streamlit as st

from sla_app import access, data, policies
from sla_app import what_if as runner
from sla_app.filters import current_filters
from sla_app.navigation import ensure_app_frame
from sla_app.store import current_time
from sla_core.policy import PolicyError
from sla_ui import view
from sla_ui import what_if as ui
from sla_ui.view import metric_label

ensure_app_frame()
st.title("What-if")
st.caption(
    "Change targets or calendars, replay the same history (sidebar filters apply) under the proposal next to "
    "the committed policy, and commit it as a new dated version. Nothing changes until you commit."
)
if not data.require_database():
    st.stop()

try:
    history = policies.policy_history()
except PolicyError as error:
    st.error(f"The committed policy does not load: {error}", icon=":material/error:")
    st.stop()
committed = history.current

if flash := st.session_state.pop("whatif_flash", None):
    st.success(flash, icon=":material/check_circle:")
base = st.session_state.setdefault("whatif_base_version", committed.version)
if base != committed.version:
    st.warning(
        f"Version {committed.version} was committed since you started editing version {base}. "
        "Reload to edit the new version; committing this edit will be refused.",
        icon=":material/sync_problem:",
    )
    if st.button("Reload the committed policy", key="whatif_reload"):
        for key in ("whatif_base_version", "whatif_targets", "whatif_calendars", "whatif_sim"):
            st.session_state.pop(key, None)
        st.rerun()

# ------------------------------------------------------------------------------------------------ edit
st.subheader(f"Targets (committed version {committed.version}, effective {committed.effective_from:%d %b %Y})")
with st.expander("Calendars: switch to 24/7, change opening hours", icon=":material/calendar_month:"):
    calendars = st.data_editor(
        ui.calendars_frame(committed),
        key="whatif_calendars",
        num_rows="dynamic",
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn("calendar", required=True),
            "always_open": st.column_config.CheckboxColumn("24/7", help="Always open: the clock never stops"),
            "timezone": st.column_config.TextColumn("time zone", help="IANA name, e.g. Europe/Amsterdam"),
            "hours": st.column_config.TextColumn(
                "opening hours", width="large",
                help="days and intervals, groups separated by ';' - e.g. mon-fri 08:00-12:00 13:00-17:30; "
                     "sat 10:00-14:00",
            ),
            "holidays": st.column_config.TextColumn("holidays (kept as committed)", disabled=True),
        },
    )
calendar_names = [n for n in calendars["name"].to_list() if n] if isinstance(calendars, pl.DataFrame) else []
committed_targets = ui.targets_frame(committed)
targets = st.data_editor(
    committed_targets,
    key="whatif_targets",
    num_rows="dynamic",
    hide_index=True,
    height=ui.editor_height(committed_targets.height + 2),
    column_order=[c for c in ui.TARGET_COLUMNS if c != "origin"],
    column_config={
        "metric": st.column_config.SelectboxColumn("metric", options=list(committed.metrics), required=True),
        "channel": st.column_config.TextColumn("channel", help="comma-separated; empty matches any"),
        "priority": st.column_config.TextColumn("priority", help="comma-separated; empty matches any"),
        "team": st.column_config.TextColumn("team", help="comma-separated; empty matches any"),
        "process": st.column_config.TextColumn("process", help="comma-separated; empty matches any"),
        "other_match": st.column_config.TextColumn("other match", help="e.g. kind: ticket; agent: ana, bo"),
        "within": st.column_config.TextColumn("within", required=True, help="90s, 15m, 4h, 2d (business time)"),
        "calendar": st.column_config.SelectboxColumn("calendar", options=calendar_names, required=True),
        "objective": st.column_config.NumberColumn(
            "objective", min_value=0.5, max_value=1.0, step=0.005, format="percent",
            help=f"empty: the policy's objective ({committed.objective:.0%})",
        ),
    },
)
st.caption("First match wins per metric, top to bottom. Add or delete rows with the table's controls.")

controls = st.columns(3)
by = controls[0].selectbox("Compare per", ("team", "channel", "priority", "agent", "calendar"), key="whatif_by")
advice_objective = controls[1].number_input(
    "Objective for the advice", min_value=0.5, max_value=1.0, value=float(committed.objective), step=0.01,
    format="%.2f", key="whatif_objective",
)
simulate_clicked = controls[2].button("Simulate", type="primary", icon=":material/play_arrow:",
                                      key="whatif_simulate", width="stretch")

try:
    proposed = ui.proposed_policy(committed, targets, calendars)
except ui.EditError as error:
    proposed = None
    st.error(str(error), icon=":material/edit_off:")

filters = current_filters()
if simulate_clicked and proposed is not None:
    st.session_state["whatif_sim"] = {
        "fingerprint": proposed.fingerprint,
        "filters": filters,
        "by": by,
        "objective": advice_objective,
        "simulation": runner.run(history, proposed, filters, by, advice_objective),
    }

# --------------------------------------------------------------------------------------------- results
last = st.session_state.get("whatif_sim")
if last is not None:
    simulation = last["simulation"]
    if proposed is None or last["fingerprint"] != proposed.fingerprint or last["filters"] != filters:
        st.info("The targets or filters changed since this simulation: press Simulate again.",
                icon=":material/refresh:")
    table = simulation.comparison
    metrics = table["metric"].unique(maintain_order=True).to_list()
    st.caption(ui.history_caption(last["filters"], simulation))
    if table.is_empty():
        view.empty_state("No judged items match the sidebar filters.")
    for metric in metrics:
        rows = table.filter(pl.col("metric") == metric)
        before = ui.share(rows, "before")
        after = ui.share(rows, "after")
        st.markdown(f"#### {metric_label(metric)}")
        cols = st.columns(5)
        cols[0].metric("Attainment, committed", view.pct(before))
        cols[1].metric("Attainment, proposed", view.pct(after),
                       delta=view.points(ui.change(before, after)))
        cols[2].metric("Met → breached", f"{int(rows['met_to_breached'].sum()):,}")
        cols[3].metric("Breached → met", f"{int(rows['breached_to_met'].sum()):,}")
        used_before, used_after = ui.budget_used(rows, "before"), ui.budget_used(rows, "after")
        budget_change = ui.change(used_before, used_after, 0.005)
        cols[4].metric("Error budget used", ui.budget_text(rows, "after"),
                       delta=None if budget_change is None else f"{100 * budget_change:+.0f} pp vs committed",
                       delta_color="inverse",
                       help=f"Under the proposal; committed: {ui.budget_text(rows, 'before')}. Budget = 1 - "
                            "objective; used = breach rate / budget (over 100% means the objective is missed).")

    st.subheader(f"Per {last['by']}")
    view.table(
        ui.comparison_view(table, last["by"], with_metric=len(metrics) > 1),
        f"what-if per {last['by']}",
        key="whatif_comparison",
        column_config=ui.PERCENT_COLUMNS,
        caption="attainment = met / (met + breached); budget used = breach rate / (1 - objective)",
    )
    weekly = simulation.weekly
    for metric in metrics:
        objective = ui.objective_of(table.filter(pl.col("metric") == metric))
        st.plotly_chart(
            ui.weekly_chart(weekly.filter(pl.col("metric") == metric), objective,
                            f"{metric_label(metric)}: weekly attainment, committed vs proposed"),
            key=f"whatif_weekly_{metric}",
        )

    st.subheader("Items that flip")
    flips = simulation.flips
    if flips.is_empty():
        st.success("No item changes verdict under the proposal.", icon=":material/check:")
    else:
        view.table(ui.flips_view(flips), "what-if flips", key="whatif_flips", height=320,
                   caption=f"{flips.height:,} items change verdict (elapsed and budgets in business time).")

    st.subheader(f"Advice: the tightest target that meets {last['objective']:.0%}")
    view.table(
        ui.advice_view(simulation.advice, proposed or committed),
        "what-if advice",
        key="whatif_advice",
        caption="Over the filtered period: the budget at which the objective share of decided items was met.",
    )

# ---------------------------------------------------------------------------------------------- commit
st.subheader("Commit as a new version")
rights = access.current_rights()
access.show_rights(rights)
if proposed is None:
    st.caption("Fix the table first.")
    st.stop()
diff = policies.targets_diff(committed, proposed)
if not diff:
    st.caption("The proposal equals the committed policy: nothing to commit.")
    st.stop()
st.code(diff, language="diff")
if not rights.can_commit:
    st.stop()
with st.form("whatif_commit"):
    st.text_input("Author", value=rights.author, disabled=True,
                  help="The logged-in identity (or, without login, the account running this server)")
    reason = st.text_area("Reason", key="whatif_reason", height=80,
                          placeholder="Why this change (shown in the version history)")
    effective = st.date_input("Effective from", value=current_time().date(), key="whatif_effective",
                              help=access.effective_help(rights))
    submitted = st.form_submit_button(f"Commit version {committed.version + 1}", type="primary",
                                      icon=":material/publish:", key="whatif_commit_button")
if submitted:
    try:
        with st.spinner("Writing the version and rebuilding results..."):
            result = policies.commit_policy(proposed, base, rights.author, reason, effective,
                                            config=policies.config_dir(), db=data.database_path(),
                                            allow_backdate=rights.can_backdate)
    except (policies.CommitRefused, PolicyError) as error:
        st.error(str(error), icon=":material/block:")
    else:
        st.cache_data.clear()
        runner.forget_stored_results()
        for key in ("whatif_base_version", "whatif_targets", "whatif_calendars", "whatif_sim", "whatif_reason"):
            st.session_state.pop(key, None)
        st.session_state["whatif_flash"] = (
            f"Committed version {result.version}, effective {result.effective_from:%d %b %Y}; version "
            f"{result.version - 1} is kept in history. "
            + ("Results were rebuilt." if result.results_refreshed else "")
        )
        st.rerun()
