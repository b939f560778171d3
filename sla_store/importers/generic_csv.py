"""Any CSV or Parquet table described by a mapping file (e.g. config/mappings/nyc311.yaml)."""

from __future__ import annotations

from sla_store.importers.reading import read_columns, read_raw

FORMAT = "csv"
read = read_raw
columns = read_columns
