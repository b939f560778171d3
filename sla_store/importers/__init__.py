"""One importer per export format; each reads a file into raw rows, the shared pipeline does the rest."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from sla_store.importers.errors import ImportRefused
from sla_store.importers.mapping import FORMATS, Mapping, load_mapping

__all__ = ["FORMATS", "ImportRefused", "Mapping", "importer_for", "load_mapping"]


def importer_for(format_name: str) -> ModuleType:
    """The module reading `format_name` exports (csv lives in generic_csv: `csv` is a stdlib name)."""
    if format_name not in FORMATS:
        raise ImportRefused(f"unknown format {format_name!r} (use {', '.join(FORMATS)})")
    module = "generic_csv" if format_name == "csv" else format_name
    return import_module(f"sla_store.importers.{module}")
