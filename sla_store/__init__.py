"""The data shell: the DuckDB file, importers, read queries and the `sla` CLI."""
