"""Import contacts from CSV, Excel or vCard: preview, column mapping, duplicates, owner, report,
undo.

A file is read once per upload: its table (a vCard: its detected encoding) stays in the session
until another file is chosen, so choosing a mapping does not read a 50 MB file again on every
rerun.  A file that cannot be read is a message saying why (anything unexpected only in the
server's log), never a traceback with server paths."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pandas as pd
import streamlit as st

from crm_core.custom_fields import list_fields
from crm_core.database import DatabaseBusy
from crm_core.i18n import N_, _, count, moment, ngettext
from crm_core.import_export import tables
from crm_core.import_export.importer import (
    list_imports,
    rows_from_file,
    rows_from_table,
    run_import,
    undo_import,
)
from crm_core.import_export.mapping import TARGETS as FIELD_TARGETS
from crm_core.import_export.mapping import custom_targets, suggest_mapping
from crm_core.sources import list_sources
from crm_core.tags import tag_names
from crm_core.validation import FieldError, ValidationError
from pages._auth import gate
from pages._ui import (
    choose,
    db,
    flash,
    md,
    me,
    owner_choices,
    settings,
    show_flash,
    user_errors,
)

gate()  # nothing below runs for a visitor who is not signed in
log = logging.getLogger("leadradar.imports")

# The column targets the column mapping understands (crm_core names them; translated where
# shown), plus labelled multi-value variants.
KINDS = {"email": N_("E-mail"), "phone": N_("Phone")}
LABELS = {"work": N_("work"), "private": N_("private"), "mobile": N_("mobile"), "fax": N_("fax")}
TARGETS = {"": _("— ignore —"), **{key: _(label) for key, label in FIELD_TARGETS.items()}}
for _kind, _labels in (
    ("email", ("work", "private")),
    ("phone", ("work", "mobile", "private", "fax")),
):
    for _label in _labels:
        TARGETS[f"{_kind}:{_label}"] = _("{field} ({label})").format(
            field=_(KINDS[_kind]), label=_(LABELS[_label])
        )
ENCODINGS = ["utf-8-sig", "utf-8", "cp1252", "cp1250", "latin-1", "iso-8859-2", "utf-16-le",
             "utf-16-be"]  # fmt: skip
DELIMITERS = {",": N_("comma ,"), ";": N_("semicolon ;"), "\t": N_("tab")}
DUPLICATES = {"skip": N_("Skip the row"), "merge": N_("Merge into it"),
              "create": N_("Create anyway")}  # fmt: skip
# A report line's outcome (crm_core's codes).
OUTCOMES = {"created": N_("created"), "merged": N_("merged"), "skipped": N_("skipped"),
            "error": N_("error"), "warning": N_("warning")}  # fmt: skip
PARSED = "im_parsed"  # session key: what was read of the current upload


@contextlib.contextmanager
def file_errors(name: str, *, importing: bool = False) -> Iterator[SimpleNamespace]:
    """Reading (or ``importing``) the file ``name``: what goes wrong is a message (``.failed``
    is then true), nothing is shown of the code.  The errors ``user_errors`` words are left to
    it."""
    outcome = SimpleNamespace(failed=False)
    try:
        yield outcome
    except (ValidationError, FieldError, DatabaseBusy):
        raise
    except tables.ImportFormatError as exc:  # our own words: the file, its limits
        st.error(_("This file cannot be imported: {reason}").format(reason=md(exc)))
        outcome.failed = True
    except Exception:
        log.exception("import page: the file %r could not be %s", name,
                      "imported" if importing else "read")  # fmt: skip
        if importing:  # the chunks before the error are committed (and can be undone)
            st.error(_("The import stopped on an unexpected error. Rows before it may have been "
                       "imported: see Recent imports below, where an import can be undone. (The "
                       "server's log has the details for an admin.)"))  # fmt: skip
        else:
            st.error(_("This file cannot be read: it is damaged or not a CSV, Excel or vCard "
                       "file this import knows. Nothing was imported. (The server's log has the "
                       "details for an admin.)"))  # fmt: skip
        outcome.failed = True


def parsed(upload, encoding: str | None = None, delimiter: str | None = None) -> dict:
    """What was read of this upload, read now only when it is new or read another way: its
    format, detected encoding and delimiter, and (CSV, Excel) the table as read."""
    state = st.session_state.get(PARSED)
    if state is None or state["file"] != upload.file_id:
        st.session_state.pop(PARSED, None)  # the previous file's table goes first
        data = upload.getvalue()
        state = {"file": upload.file_id, "name": upload.name,
                 "kind": tables.detect_format(data, upload.name)}  # fmt: skip
        if state["kind"] == "vcard":
            state["detected"] = (tables.detect_text(data)[0], None)
        else:
            table = tables.read_xlsx(data) if state["kind"] == "xlsx" else tables.read_csv(data)
            state["detected"] = state["read"] = (table.encoding, table.delimiter)
            state["table"] = table
        st.session_state[PARSED] = state
    wanted = (encoding, delimiter)
    if state["kind"] == "csv" and encoding and wanted != state["read"]:
        state["table"] = tables.read_csv(upload.getvalue(), encoding=encoding,
                                         delimiter=delimiter)  # fmt: skip
        state["read"] = wanted
    return state


def encoding_box(container, detected: str, key: str, help_text: str) -> str:
    options = ENCODINGS + ([detected] if detected not in ENCODINGS else [])
    return container.selectbox(_("Encoding"), options, index=options.index(detected), key=key,
                               help=help_text)  # fmt: skip


def upload_section(upload) -> None:
    with file_errors(upload.name) as reading:
        state = parsed(upload)
    if reading.failed:
        return
    kind, table = state["kind"], state.get("table")
    mapping = None
    encoding = delimiter = None
    if kind == "vcard":
        chosen = encoding_box(
            st, state["detected"][0], f"im_enc_{upload.file_id}",
            _("For the values that do not name their own: a Polish or Czech vCard without "
              "CHARSET is usually cp1250, a German one cp1252."),
        )  # fmt: skip
        encoding = None if chosen == state["detected"][0] else chosen  # detected: value by value
    else:
        if kind == "csv":
            c1, c2 = st.columns(2)
            encoding = encoding_box(
                c1, table.encoding, f"im_enc_{upload.file_id}",
                _("cp1252: German and Western European Windows files; cp1250: Polish, Czech "
                  "and other Central European ones."),
            )  # fmt: skip
            delimiter = c2.selectbox(
                _("Delimiter"), list(DELIMITERS), format_func=lambda d: _(DELIMITERS[d]),
                index=list(DELIMITERS).index(table.delimiter) if table.delimiter in DELIMITERS else 0,
                key=f"im_delim_{upload.file_id}",
            )  # fmt: skip
            with file_errors(upload.name) as reading:
                table = parsed(upload, encoding, delimiter)["table"]
            if reading.failed:
                return
        st.caption(
            " · ".join([
                ngettext("{n} row", "{n} rows", len(table.rows)).format(n=count(len(table.rows))),
                ngettext("{n} column", "{n} columns", len(table.headers)).format(
                    n=count(len(table.headers))),
            ])
        )  # fmt: skip
        st.dataframe(pd.DataFrame(table.rows[:5], columns=table.headers), hide_index=True)
        fields = list_fields(db())
        suggested = suggest_mapping(table.headers, fields)
        TARGETS.update({target: _("{name} (custom field)").format(name=name)
                        for target, name in custom_targets(fields).items()})  # fmt: skip
        with st.expander(_("Column mapping"), expanded=True, icon=":material/table_chart:"):
            mapping = {}
            columns = st.columns(3)
            for i, header in enumerate(table.headers):
                default = suggested.get(i, "")
                options = list(TARGETS) + ([default] if default not in TARGETS else [])
                chosen = columns[i % 3].selectbox(
                    md(header) or _("column {n}").format(n=i + 1), options,
                    index=options.index(default),
                    format_func=lambda t: TARGETS.get(t, t), key=f"im_map_{upload.file_id}_{i}",
                )  # fmt: skip
                if chosen:
                    mapping[i] = chosen
    c1, c2, c3, c4 = st.columns(4)
    on_duplicate = c1.radio(
        _("Same e-mail or phone as an existing contact"), list(DUPLICATES),
        format_func=lambda d: _(DUPLICATES[d]), key="im_dup",
    )  # fmt: skip
    known_tags, sources = tag_names(db()), list_sources(db())
    tags = c2.multiselect(_("Tag every imported contact"), known_tags, accept_new_options=True,
                          key="im_tags", placeholder=choose(known_tags, new=True))  # fmt: skip
    source = c3.selectbox(_("Source"), sources, index=None, key="im_source",
                          placeholder=choose(sources))  # fmt: skip
    user_ids, names = owner_choices(me().id)
    owner = c4.selectbox(_("Owner of the imported contacts"), user_ids,
                         index=user_ids.index(me().id) if me().id in user_ids else None,
                         format_func=lambda uid: names.get(uid, f"#{uid}"), key="im_owner",
                         placeholder=choose(user_ids))  # fmt: skip
    b1, b2 = st.columns(2)
    dry = b1.button(_("Check without importing"), icon=":material/fact_check:")
    go = b2.button(_("Import"), type="primary", icon=":material/upload:")
    if not (dry or go):
        return
    with file_errors(upload.name) as reading:
        if table is not None:
            rows = rows_from_table(table, mapping)
        else:
            rows = rows_from_file(upload.getvalue(), upload.name, encoding=encoding)[2]
    if reading.failed:
        return
    with user_errors(), file_errors(upload.name, importing=go):
        bar = st.progress(0.0, text=_("Importing …"))
        report = run_import(
            db(), rows, me().id, on_duplicate=on_duplicate, file_name=upload.name, tags=tags,
            source=source, owner_id=owner, region=settings().phone_region, dry_run=dry,
            progress=lambda done, total: bar.progress(
                done / max(total, 1),
                text=_("{done} of {total} rows").format(done=count(done), total=count(total)),
            ),
        )  # fmt: skip
        bar.empty()
        show_report(report, dry)


def show_report(report, dry: bool) -> None:
    counts = {"created": count(report.created), "merged": count(report.merged),
              "skipped": count(report.skipped), "errors": count(len(report.errors))}  # fmt: skip
    if dry:
        st.info(_("Would create {created}, merged {merged}, skipped {skipped}; "
                  "{errors} rows with errors.").format(**counts))  # fmt: skip
    else:
        st.success(_("Created {created}, merged {merged}, skipped {skipped}; "
                     "{errors} rows with errors.").format(**counts))  # fmt: skip
    if report.lines:
        lines = [(row, _(OUTCOMES[outcome]) if outcome in OUTCOMES else outcome, detail)
                 for row, outcome, detail in report.lines]  # fmt: skip
        st.dataframe(
            pd.DataFrame(lines, columns=["row", "outcome", "detail"]), hide_index=True,
            column_config={"row": _("Row"), "outcome": _("Outcome"),
                           "detail": _("Detail")},
        )  # fmt: skip


st.title(_("Import contacts"))
show_flash()
upload = st.file_uploader(_("CSV, Excel (xlsx) or vCard file"),
                          type=["csv", "txt", "xlsx", "vcf"], key="im_file")  # fmt: skip
if upload is None:
    st.session_state.pop(PARSED, None)  # no file, no table kept
else:
    upload_section(upload)

st.subheader(_("Recent imports"))
for item in list_imports(db()):
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    line = _("#{id} {file} · {when} · created: {created}, merged: {merged}, skipped: {skipped}, "
             "errors: {errors}").format(
        id=item["id"], file=md(item["file_name"] or ""), when=moment(item["created_at"]),
        created=count(item["created"]), merged=count(item["merged"]),
        skipped=count(item["skipped"]), errors=count(item["errors"]),
    )  # fmt: skip
    if item["undone_at"]:
        line += " · " + _("undone {when}").format(when=moment(item["undone_at"]))
    c1.markdown(line)
    if not item["undone_at"] and c2.button(_("Undo"), key=f"im_undo_{item['id']}"):
        with user_errors():
            undone = undo_import(db(), item["id"], me().id)
            message = _("Import #{id} undone: {removed} removed, {restored} restored.").format(
                id=item["id"], removed=count(undone.removed), restored=count(undone.restored)
            )
            if undone.kept:
                shown = ", ".join(f"#{i} {md(n)}" for i, n in undone.kept[:20])
                shown += " …" if len(undone.kept) > 20 else ""
                message += " " + ngettext(
                    "{n} merged contact was changed since the import and is left as it is: "
                    "{contacts}.",
                    "{n} merged contacts were changed since the import and are left as they are: "
                    "{contacts}.",
                    len(undone.kept),
                ).format(n=count(len(undone.kept)), contacts=shown)
            if undone.removed_changed:
                message += " " + ngettext(
                    "{n} removed contact had been changed since the import (it is in the trash).",
                    "{n} removed contacts had been changed since the import (they are in the "
                    "trash).",
                    len(undone.removed_changed),
                ).format(n=count(len(undone.removed_changed)))
            flash(message, "warning" if undone.kept or undone.removed_changed else "success")
            st.rerun()
