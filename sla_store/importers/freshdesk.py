"""Freshdesk ticket CSV export (Ticket ID, Source, Group, Priority, Created time, Resolved time, ...)."""

from __future__ import annotations

from sla_store.importers.reading import read_columns, read_raw

FORMAT = "freshdesk"
read = read_raw
columns = read_columns
