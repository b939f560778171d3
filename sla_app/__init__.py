"""The Streamlit shell: cached typed reads, sidebar filters, navigation, the What-if runner.

The only UI package that imports sla_store; the views it renders with live in sla_ui (no store imports).
"""
