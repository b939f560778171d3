"""The SLA dashboard: page frame, global sidebar filters, navigation. Run with `make run`."""

import streamlit as st

from sla_app.access import current_rights, render_account
from sla_app.filters import render_sidebar_filters
from sla_app.navigation import navigation
from sla_app.options import sidebar_options

st.set_page_config(page_title="SLA dashboard", page_icon=":material/timer:", layout="wide")
page = navigation()
render_sidebar_filters(sidebar_options())
render_account(current_rights())
page.run()
