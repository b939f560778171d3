"""What-if: edit the committed targets, replay the history under them side by side, then commit a version."""

import polars as pl
import streamlit as st

from sla_app import data, policies
from sla_app import what_if as runner
from sla_app.filters import current_filters, dimension_label
from sla_app.navigation import ensure_app_frame
from sla_core import policy_edit as edit
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
    st.error(view.plain(f"The committed policy does not load: {error}"), icon=":material/error:")
    st.stop()
committed = history.current

if flash := st.session_state.pop("whatif_flash", None):
    st.success(view.plain(flash), icon=":material/check_circle:")
base = st.session_state.setdefault("whatif_base_version", committed.version)
if base != committed.version:
    st.warning(
        f"Version {committed.version} was committed since you started editing version {base}. "
        "Reload to edit the new version; committing this edit will be refused.",
        icon=":material/sync_problem:",
    )
    if st.button("Reload the committed policy", key="whatif_reload"):
        for key in ("whatif_base_version", "whatif_targets", "whatif_calendars", "whatif_schedules", "whatif_sim"):
            st.session_state.pop(key, None)
        st.rerun()

# ------------------------------------------------------------------------------------------------ edit
st.subheader(f"Targets (committed version {committed.version}, effective {committed.effective_from:%d %b %Y})")
with st.expander("Calendars: switch to 24/7, change opening hours", icon=":material/calendar_month:"):
    calendars = st.data_editor(
        edit.calendars_frame(committed),
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
committed_schedules = edit.schedules_frame(committed)
schedules = None
if committed_schedules.height:
    with st.expander("Scheduled deadlines: change when each period is due", icon=":material/event_upcoming:"):
        schedules = st.data_editor(
            committed_schedules,
            key="whatif_schedules",
            hide_index=True,
            disabled=["metric"],
            column_config={
                "metric": st.column_config.TextColumn("metric"),
                "every": st.column_config.SelectboxColumn("every", options=["day", "week", "month"], required=True),
                "due": st.column_config.TextColumn(
                    "due", required=True,
                    help='local time in the target calendar\'s zone: day "10:00", week "wed 17:00", month "5 17:00"'),
            },
        )
calendar_names = [n for n in calendars["name"].to_list() if n] if isinstance(calendars, pl.DataFrame) else []
committed_targets = edit.targets_frame(committed)
targets = st.data_editor(
    committed_targets,
    key="whatif_targets",
    num_rows="dynamic",
    hide_index=True,
    height=ui.editor_height(committed_targets.height + 2),
    column_order=[c for c in edit.TARGET_COLUMNS if c != "origin"],
    column_config={
        "metric": st.column_config.SelectboxColumn("metric", options=list(committed.metrics), required=True),
        "channel": st.column_config.TextColumn("channel", help="comma-separated; empty matches any"),
        "priority": st.column_config.TextColumn("priority", help="comma-separated; empty matches any"),
        "team": st.column_config.TextColumn("team", help="comma-separated; empty matches any"),
        "process": st.column_config.TextColumn("process", help="comma-separated; empty matches any"),
        "other_match": st.column_config.TextColumn("other match", help="e.g. kind: ticket; agent: ana, bo"),
        "within": st.column_config.TextColumn(
            "within", help='90s, 15m, 4h, 2d (business time), or a deadline "next business day 17:00"; '
                           "empty for a scheduled metric (its due time is the budget)"),
        "calendar": st.column_config.SelectboxColumn("calendar", options=calendar_names, required=True),
        "objective": st.column_config.NumberColumn(
            "objective", min_value=0.5, max_value=1.0, step=0.005, format="percent",
            help=f"empty: the policy's objective ({committed.objective:.0%})",
        ),
    },
)
st.caption("First match wins per metric, top to bottom. Add or delete rows with the table's controls.")

controls = st.columns(3)
by = controls[0].selectbox("Compare per", ("team", "channel", "priority", "agent", "calendar", *data.dimension_values()),
                           key="whatif_by", format_func=dimension_label,
                           help="A built-in field, or one of the policy's dimensions (item attributes).")
advice_objective = controls[1].number_input(
    "Objective for the advice", min_value=0.5, max_value=1.0, value=float(committed.objective), step=0.01,
    format="%.2f", key="whatif_objective",
)
simulate_clicked = controls[2].button("Simulate", type="primary", icon=":material/play_arrow:",
                                      key="whatif_simulate", width="stretch")

try:
    proposed = runner.proposal(committed, targets, calendars, schedules)
except edit.EditError as error:
    proposed = None
    st.error(view.plain(error), icon=":material/edit_off:")

filters = current_filters()
moved = edit.changed_schedules(committed, proposed) if proposed is not None else []
if moved and filters.metric not in moved:
    # Scheduled deliverables are internal operations, not in the sidebar's metric list: simulate the one moved.
    filters = filters.with_metric(moved[0])
    st.info(f"Simulating {metric_label(moved[0])}: its schedule changed.", icon=":material/event_upcoming:")
if simulate_clicked and proposed is not None:
    st.session_state["whatif_sim"] = {
        "fingerprint": proposed.fingerprint,
        "filters": filters,
        "by": by,
        "objective": advice_objective,
        "simulation": runner.run(history, proposed, filters, by, advice_objective),
    }

if (last := st.session_state.get("whatif_sim")) is not None:
    ui.show_simulation(last, proposed, committed, filters)
runner.commit_section(committed, proposed, base)
