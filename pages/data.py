"""Data: what is loaded, what was rejected and why, and uploading a new export."""

import io
import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from sla_app import access, data
from sla_app.navigation import ensure_app_frame
from sla_app.store import FORMATS, ImportRefused, ingest, mappings_dir, resolve_mapping
from sla_ui import view

PREVIEW_ROWS = 20
AUTO = "detect from the columns"

ensure_app_frame()
st.title("Data")
if last := st.session_state.pop("data_last_import", None):
    st.success(view.plain(last), icon=":material/check_circle:")

if data.database_ready():
    counts = data.table_counts()
    cols = st.columns(4)
    cols[0].metric("Items", f"{counts['items']:,}")
    cols[1].metric("Events", f"{counts['events']:,}")
    cols[2].metric("Results (item x metric)", f"{counts['results']:,}")
    computed = counts["computed_at"]
    cols[3].metric("Results computed", f"{computed:%Y-%m-%d}" if computed else view.NO_VALUE,
                   help=f"At {computed:%Y-%m-%d %H:%M} UTC" if computed else None)

    st.subheader("What the data can and cannot measure")
    notes = data.data_notes()
    if notes:
        view.data_notes(notes, key="data_notes")
    elif counts["items"]:
        st.success("Every source records what its metrics need, and every source has items a target matches.")

    st.subheader("Imports")
    imports = data.imports()
    if imports.is_empty():
        st.info("Nothing imported yet.")
    else:
        shown = imports.with_columns(name=pl.col("file").map_elements(lambda f: Path(f).name,
                                                                       return_dtype=pl.String))
        view.table(shown.select("import_id", "name", "format", "mapping", "rows_read", "rows_loaded",
                                "rows_rejected", "imported_at", "file", "sha256"),
                   "imports", key="data_imports",
                   caption="Every file loaded, newest first; re-importing the same rows never duplicates them.")

    st.subheader("Rejected rows")
    rejected = data.rejected_rows()
    if rejected.is_empty():
        st.success("No rejected rows.")
    else:
        view.table(rejected, "rejected rows", key="data_rejected",
                   caption="Rows left out of an import, with the reason; fix them in the export and re-import.")
else:
    data.require_database()

st.subheader("Upload an export")
if not (rights := access.current_rights()).can_commit:  # an import changes the figures as a commit does
    access.show_rights(rights)
    st.stop()
upload = st.file_uploader("Helpdesk export or event log", type=["csv", "json", "parquet"], key="data_upload")
choices = st.columns(2)
format_name = choices[0].selectbox("Format", (AUTO, *FORMATS), key="data_format")
mapping_files = sorted(p.name for p in mappings_dir().glob("*.yaml"))
mapping_name = choices[1].selectbox("Column mapping", ("format default", *mapping_files), key="data_mapping",
                                    help="Files in config/mappings/: how the export's columns map to items.")

def read_preview(name: str, raw: bytes) -> pl.DataFrame:
    if name.lower().endswith(".parquet"):
        return pl.read_parquet(io.BytesIO(raw)).head(PREVIEW_ROWS)
    if name.lower().endswith(".json"):
        return pl.read_json(io.BytesIO(raw)).head(PREVIEW_ROWS)
    return pl.read_csv(io.BytesIO(raw), n_rows=PREVIEW_ROWS, infer_schema=False)


def mapping_preview(mapping, preview: pl.DataFrame) -> pl.DataFrame:
    """How the file's columns will map: one row per field the mapping fills, with the export column and
    its first values."""
    rows = []
    for field, column in mapping.columns.items():
        values = preview[column].head(3).cast(pl.String).to_list() if column in preview.columns else []
        rows.append({"field": field, "from column": column,
                     "first values": ", ".join("" if v is None else v for v in values)
                     or ("(not in the file: optional)" if field in mapping.optional else "(missing)")})
    for field, value in mapping.constants.items():
        rows.append({"field": field, "from column": "(the same for every row)", "first values": value})
    return pl.DataFrame(rows, schema={"field": pl.String, "from column": pl.String, "first values": pl.String})


if upload is not None:
    raw = upload.getvalue()
    try:
        preview = read_preview(upload.name, raw)
    except Exception as error:  # the preview is best effort; the import itself reports real problems
        preview = None
        st.warning(view.plain(f"{upload.name}: no table preview ({str(error).splitlines()[0]})"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(upload.name).name
        path.write_bytes(raw)
        try:
            chosen = resolve_mapping(path, None if format_name == AUTO else format_name,
                                     None if mapping_name == "format default" else mappings_dir() / mapping_name)
        except ImportRefused as refused:
            chosen = None
            st.error(view.plain(view.in_page_terms(refused, path, upload.name)))
    if chosen is not None and preview is not None:
        st.caption(view.plain(
            f"How {upload.name} ({len(raw):,} bytes) will load: mapping {chosen.name or chosen.source} "
            f"({chosen.format}), source {chosen.source}, {chosen.kind} items, times in {chosen.timezone}"
            f" ({chosen.dates.replace('_', ' ')} dates)."))
        view.table(mapping_preview(chosen, preview), "column mapping", key="data_mapping_preview")
        with st.expander(f"The file's first {PREVIEW_ROWS} rows as they are"):
            st.dataframe(preview, hide_index=True)

    if st.button("Import", type="primary", key="data_import"):
        bar = st.progress(0.0, text="Starting import")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(upload.name).name
            path.write_bytes(raw)
            try:
                summary = ingest(
                    path, db=data.database_path(),
                    format_name=None if format_name == AUTO else format_name,
                    mapping=None if mapping_name == "format default" else mappings_dir() / mapping_name,
                    progress=lambda step, fraction: bar.progress(min(1.0, fraction), text=step.capitalize()),
                    file_label=upload.name,
                )
            except ImportRefused as refused:
                bar.empty()
                st.error(view.plain(view.in_page_terms(refused, path, upload.name)))
            except Exception as error:  # anything else still gets one line, and the database is unchanged
                bar.empty()
                st.error(view.plain(view.in_page_terms(
                    f"{upload.name}: import failed, nothing was changed: {str(error).splitlines()[0]}",
                    path, upload.name)))
            else:
                st.session_state["data_last_import"] = (
                    f"Imported {upload.name}: {summary.rows_read:,} rows read, {summary.rows_loaded:,} loaded, "
                    f"{summary.rows_rejected:,} rejected.")
        if "data_last_import" in st.session_state:
            st.rerun()
