"""Jira Service Management issue CSV export (Issue key, Created, Resolved, Priority, Status, ...)."""

from __future__ import annotations

from sla_store.importers.reading import read_columns, read_raw

FORMAT = "jira"
read = read_raw
columns = read_columns
