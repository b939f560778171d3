"""The store's entry points the pages call (the clock, imports), so no page imports sla_store."""

from __future__ import annotations

from sla_store.db import current_time
from sla_store.importers import FORMATS, ImportRefused
from sla_store.importers.mapping import item_link_templates
from sla_store.ingest import ingest, mappings_dir, resolve_mapping


def item_links() -> dict[str, str]:
    """source -> url_template from the mappings in use (config/mappings), for links back to each item."""
    return item_link_templates(mappings_dir())


__all__ = ["FORMATS", "ImportRefused", "current_time", "ingest", "item_links", "mappings_dir", "resolve_mapping"]
