"""Generic event logs: one row per event (case id, activity or status, timestamp, team, process).

Internal-operations logs create their items (an item starts at its first event); a helpdesk's status-change
log (`event_kind: status`, `creates_items: false`) adds status events to tickets loaded from another file.
"""

from __future__ import annotations

from sla_store.importers.reading import read_columns, read_raw

FORMAT = "events"
read = read_raw
columns = read_columns
