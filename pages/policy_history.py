"""Policy history: every committed version with its author, reason and dates, and what changed between them."""

import polars as pl
import streamlit as st

from sla_app.navigation import ensure_app_frame
from sla_app.policies import config_dir, diff_between_versions, version_history
from sla_core.policy import PolicyError
from sla_ui import view

ensure_app_frame()
st.title("Policy history")
st.caption(
    "Each item is judged by the version in force on the day it was created (UTC); a new version never "
    "rewrites the verdicts of items created before its effective date."
)
try:
    versions = version_history(config_dir())
except PolicyError as error:
    st.error(view.plain(f"The policy files do not load: {error}"), icon=":material/error:")
    st.stop()

view.table(
    versions.select(
        "version",
        "effective_from",
        pl.col("author").fill_null(view.NO_VALUE),
        pl.col("reason").fill_null(view.NO_VALUE),
        pl.col("committed_at").dt.strftime("%d %b %Y, %H:%M").fill_null(view.NO_VALUE),
        "backdated",
        "targets",
    ),
    "policy versions",
    key="history_versions",
    column_config={
        "effective_from": st.column_config.DateColumn("effective from", format="D MMM YYYY"),
        "committed_at": st.column_config.TextColumn("committed at (UTC)"),
        "backdated": st.column_config.CheckboxColumn(
            "backdated", help="Effective before the day it was committed: it re-judged older verdicts (admins only)"),
    },
    caption=f"{versions.height} version(s) in {config_dir()}/sla.yaml and {config_dir()}/history/.",
)

numbers = versions["version"].to_list()
if len(numbers) < 2:
    st.info("Only one version so far: commit a change on the What-if page to start the history.",
            icon=":material/history:")
    st.stop()
newer = st.selectbox(
    "Changes made by version",
    numbers[:-1],
    format_func=lambda v: f"version {v} (from version {numbers[numbers.index(v) + 1]})",
    key="history_version",
)
older = numbers[numbers.index(newer) + 1]
st.subheader(f"Version {older} → version {newer}")
st.code(diff_between_versions(older, newer, config_dir()), language="diff")
