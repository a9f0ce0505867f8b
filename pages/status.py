"""Jobs status: is the jobs process alive, how did each job do, which digests are pending."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st

from crm_core.digests import deliveries
from crm_core.i18n import N_, _, count, day, moment, ngettext
from crm_core.job_state import status
from crm_core.labels import DIGEST_STATUSES, KEPT_BECAUSE
from jobs import JOBS
from pages._auth import gate
from pages._ui import db, md

gate(admin=True)  # nothing below runs for a visitor who is not a signed-in admin

# What crm_core stores as codes, as people read them.
OUTCOMES = {"ok": N_("ok"), "error": N_("error"), "never": N_("never ran")}


def when(value: object) -> str:
    """A stored time as people read it (to the minute); "" for none."""
    return moment(value) if isinstance(value, datetime) else ""


st.title(_("Jobs status"))
state = status(db())
if state.running():
    st.success(
        _("The jobs process is running (pid {pid} on {host}, last heartbeat {when}).").format(
            pid=state.pid, host=md(state.host), when=moment(state.beat_at)
        )
    )
elif state.pid and state.beat_at:
    st.error(
        _(
            "The jobs process is not responding: last heartbeat {when}. Reminder e-mails and "
            "upcoming opportunities wait until it runs again (`crm jobs`)."
        ).format(when=moment(state.beat_at))  # fmt: skip
    )
else:
    st.warning(
        _("The jobs process is not running: no reminder e-mails are sent and no upcoming "
          "opportunities are created. Start it with `crm run` or `crm jobs`.")
    )  # fmt: skip

# The jobs package describes each job (translated where shown, like crm_core's labels).
known = {job.name: _(job.what) for job in JOBS}
rows = []
for job in state.jobs:
    outcome = job["outcome"]
    rows.append({
        **job,
        "outcome": _(OUTCOMES[outcome]) if outcome in OUTCOMES else outcome,
        "last_start": when(job["last_start"]),
        "last_end": when(job["last_end"]),
        "next_run": when(job["next_run"]),
        "what": known.get(job["name"], ""),
    })  # fmt: skip
for name, what in known.items():
    if name not in {r["name"] for r in rows}:
        rows.append({"name": name, "what": what, "outcome": _(OUTCOMES["never"])})
st.subheader(_("Jobs"))
st.dataframe(
    pd.DataFrame(rows),
    hide_index=True,
    column_order=[
        "name",
        "outcome",
        "summary",
        "error",
        "last_start",
        "last_end",
        "next_run",
        "what",
    ],  # fmt: skip
    column_config={
        "name": _("Job"),
        "outcome": _("Outcome"),
        "summary": _("Summary"),
        "error": _("Error"),
        "last_start": _("Last start"),
        "last_end": _("Last end"),
        "next_run": _("Next run"),
        "what": _("What it does"),
    },
)

st.subheader(_("Reminder digests of the last 7 days"))
recent = deliveries(db(), date.today() - timedelta(days=7))
kept = [d for d in recent if d["status"] == "kept" and d["day"] == date.today()]
for because in sorted({d["kept_because"] for d in kept if d["kept_because"] in KEPT_BECAUSE}):
    names = ", ".join(md(d["assignee"]) for d in kept if d["kept_because"] == because)
    st.info(_("Kept in the outbox today ({why}): {names}. Each of them reads theirs on the "
              "Reminders page.").format(why=_(KEPT_BECAUSE[because]), names=names))  # fmt: skip
pending = [d for d in recent if d["status"] == "pending"]
for d in pending:
    if d["last_error"]:
        retry = d["next_attempt_at"]
        attempts = ngettext("{n} attempt", "{n} attempts", d["attempts"]).format(
            n=count(d["attempts"])
        )
        if isinstance(retry, datetime):
            message = _("Digest for {name} ({day}) not delivered yet after {attempts}, next try "
                        "{when}: {error}")  # fmt: skip
        else:
            message = _("Digest for {name} ({day}) not delivered yet after {attempts}: {error}")
        st.warning(message.format(name=md(d["assignee"]), day=day(d["day"]), attempts=attempts,
                                  when=when(retry), error=md(d["last_error"])))  # fmt: skip
if recent:
    shown = [
        {**d, "day": day(d["day"]), "sent_at": when(d["sent_at"]),
         "next_attempt_at": when(d["next_attempt_at"]),
         "status": _(DIGEST_STATUSES[d["status"]]) if d["status"] in DIGEST_STATUSES
         else d["status"],
         "kept_because": _(KEPT_BECAUSE[d["kept_because"]])
         if d["kept_because"] in KEPT_BECAUSE else ""}
        for d in recent
    ]  # fmt: skip
    st.dataframe(
        pd.DataFrame(shown),
        hide_index=True,
        column_config={
            "day": _("Day"),
            "assignee": _("Assignee"),
            "status": _("Status"),
            "attempts": _("Attempts"),
            "reminders": _("Reminders"),
            "sent_at": _("Sent"),
            "last_error": _("Last error"),
            "next_attempt_at": _("Next try"),
            "kept_because": _("Kept because"),
        },
    )
else:
    st.caption(_("No digests yet."))
