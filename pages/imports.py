"""Import contacts from CSV, Excel or vCard: preview, column mapping, duplicates, report, undo."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.import_export import tables
from crm_core.import_export.importer import list_imports, rows_from_file, run_import, undo_import
from crm_core.import_export.mapping import TARGETS as FIELD_TARGETS
from crm_core.import_export.mapping import suggest_mapping
from crm_core.sources import list_sources
from crm_core.tags import tag_names
from pages._auth import gate
from pages._ui import db, flash, md, me, settings, show_flash, user_errors

gate()  # nothing below runs for a visitor who is not signed in

# The column targets the column mapping understands, plus labelled multi-value variants.
TARGETS = {"": "— ignore —", **FIELD_TARGETS}
for _kind, _labels in (
    ("email", ("work", "private")),
    ("phone", ("work", "mobile", "private", "fax")),
):
    for _label in _labels:
        TARGETS[f"{_kind}:{_label}"] = f"{FIELD_TARGETS[_kind].split(' (')[0]} ({_label})"
ENCODINGS = ["utf-8-sig", "utf-8", "cp1252", "latin-1", "utf-16-le", "utf-16-be"]
DELIMITERS = {",": "comma ,", ";": "semicolon ;", "\t": "tab"}

st.title("Import contacts")
show_flash()
upload = st.file_uploader("CSV, Excel (xlsx) or vCard file", type=["csv", "txt", "xlsx", "vcf"],
                          key="im_file")  # fmt: skip

if upload is not None:
    data = upload.getvalue()
    kind = tables.detect_format(data, upload.name)
    mapping = None
    encoding = delimiter = None
    if kind != "vcard":
        with user_errors():
            table = tables.read_xlsx(data) if kind == "xlsx" else tables.read_csv(data)
        if kind == "csv":
            c1, c2 = st.columns(2)
            encoding = c1.selectbox(
                "Encoding", ENCODINGS,
                index=ENCODINGS.index(table.encoding) if table.encoding in ENCODINGS else 0,
                key=f"im_enc_{upload.file_id}",
            )  # fmt: skip
            delimiter = c2.selectbox(
                "Delimiter", list(DELIMITERS), format_func=DELIMITERS.get,
                index=list(DELIMITERS).index(table.delimiter) if table.delimiter in DELIMITERS else 0,
                key=f"im_delim_{upload.file_id}",
            )  # fmt: skip
            if (encoding, delimiter) != (table.encoding, table.delimiter):
                with user_errors():
                    table = tables.read_csv(data, encoding=encoding, delimiter=delimiter)
        st.caption(f"{len(table.rows):,} rows · {len(table.headers)} columns")
        st.dataframe(pd.DataFrame(table.rows[:5], columns=table.headers), hide_index=True)
        suggested = suggest_mapping(table.headers)
        with st.expander("Column mapping", expanded=True, icon=":material/table_chart:"):
            mapping = {}
            columns = st.columns(3)
            for i, header in enumerate(table.headers):
                default = suggested.get(i, "")
                options = list(TARGETS) + ([default] if default not in TARGETS else [])
                chosen = columns[i % 3].selectbox(
                    md(header) or f"column {i + 1}", options, index=options.index(default),
                    format_func=lambda t: TARGETS.get(t, t), key=f"im_map_{upload.file_id}_{i}",
                )  # fmt: skip
                if chosen:
                    mapping[i] = chosen
    c1, c2, c3 = st.columns(3)
    on_duplicate = c1.radio(
        "Same e-mail or phone as an existing contact", ["skip", "merge", "create"],
        format_func={"skip": "Skip the row", "merge": "Merge into it",
                     "create": "Create anyway"}.get, key="im_dup",
    )  # fmt: skip
    tags = c2.multiselect("Tag every imported contact", tag_names(db()), accept_new_options=True,
                          key="im_tags")  # fmt: skip
    source = c3.selectbox("Source", list_sources(db()), index=None, key="im_source")
    b1, b2 = st.columns(2)
    dry = b1.button("Check without importing", icon=":material/fact_check:")
    go = b2.button("Import", type="primary", icon=":material/upload:")
    if dry or go:
        with user_errors():
            _kind, _table, rows = rows_from_file(data, upload.name, mapping=mapping,
                                                 encoding=encoding, delimiter=delimiter)  # fmt: skip
            bar = st.progress(0.0, text="Importing …")
            report = run_import(
                db(), rows, me().id, on_duplicate=on_duplicate, file_name=upload.name,
                tags=tags, source=source, region=settings().phone_region, dry_run=dry,
                progress=lambda done, total: bar.progress(done / max(total, 1),
                                                         text=f"{done:,} of {total:,} rows"),
            )  # fmt: skip
            bar.empty()
            verb = "Would create" if dry else "Created"
            message = (f"{verb} {report.created:,}, merged {report.merged:,}, skipped "
                       f"{report.skipped:,}; {len(report.errors):,} rows with errors.")  # fmt: skip
            (st.info if dry else st.success)(message)
            if report.lines:
                st.dataframe(pd.DataFrame(report.lines, columns=["row", "outcome", "detail"]),
                             hide_index=True)  # fmt: skip

st.subheader("Recent imports")
for item in list_imports(db()):
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    state = f" · undone {item['undone_at']:%d.%m. %H:%M}" if item["undone_at"] else ""
    c1.markdown(
        f"#{item['id']} {md(item['file_name'] or '')} · {item['created_at']:%d.%m.%Y %H:%M} · "
        f"{item['created']} created, {item['merged']} merged, {item['skipped']} skipped, "
        f"{item['errors']} errors{state}"
    )
    if not item["undone_at"] and c2.button("Undo", key=f"im_undo_{item['id']}"):
        with user_errors():
            undone = undo_import(db(), item["id"], me().id)
            message = (f"Import #{item['id']} undone: {undone.removed} removed,"
                       f" {undone.restored} restored.")  # fmt: skip
            if undone.kept:
                shown = ", ".join(f"#{i} {md(n)}" for i, n in undone.kept[:20])
                message += (f" {len(undone.kept)} merged contacts were changed since the import"
                            f" and are left as they are: {shown}"
                            f"{' …' if len(undone.kept) > 20 else ''}.")  # fmt: skip
            if undone.removed_changed:
                message += (f" {len(undone.removed_changed)} removed contacts had been changed"
                            " since the import (they are in the trash).")  # fmt: skip
            flash(message, "warning" if undone.kept or undone.removed_changed else "success")
            st.rerun()
