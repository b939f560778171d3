"""The SLA dashboard: page frame, global sidebar filters, navigation. Run with `make run`."""

from sla_app.navigation import run_app

run_app()
