"""The pure SLA domain: policies, business calendars, metric clocks, attainment, trends, simulation.

Never imports streamlit, duckdb or plotly; never reads the clock or files.
"""
