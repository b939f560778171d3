"""ServiceNow incident exports, including the incident event log (one row per update of an incident).

With `rows: updates` each row becomes a status event at its update time and the incident itself takes the
values of its latest row; with `rows: items` a plain incident list is loaded.
"""

from __future__ import annotations

from sla_store.importers.reading import read_columns, read_raw

FORMAT = "servicenow"
read = read_raw
columns = read_columns
