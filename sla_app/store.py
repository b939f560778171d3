"""The store's entry points the pages call (the clock, imports), so no page imports sla_store."""

from __future__ import annotations

from sla_store.db import current_time
from sla_store.importers import FORMATS, ImportRefused
from sla_store.ingest import ingest, mappings_dir

__all__ = ["FORMATS", "ImportRefused", "current_time", "ingest", "mappings_dir"]
