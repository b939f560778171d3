"""The sidebar's choices, read from the database (empty when there is no database yet)."""

from __future__ import annotations

from sla_app import data
from sla_app.filters import FilterOptions


def sidebar_options() -> FilterOptions:
    if not data.database_ready():
        return FilterOptions()
    frame = data.filter_options()
    if frame.is_empty():
        return FilterOptions()
    row = frame.row(0, named=True)

    def values(name: str) -> tuple[str, ...]:
        return tuple(v for v in (row[name] or []) if v is not None)

    return FilterOptions(
        channels=values("channels"), teams=values("teams"), priorities=values("priorities"),
        metrics=values("metrics"), first_day=row["first_day"], last_day=row["last_day"],
        window_day=row.get("window_day"),
        dimensions=tuple((name, tuple(found)) for name, found in data.dimension_values().items()),
    )
