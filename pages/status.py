"""Jobs status: is the jobs process alive, how did each job do, which digests are pending."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st

from crm_core.digests import deliveries
from crm_core.job_state import status
from jobs import JOBS
from pages._auth import gate
from pages._ui import db, md

gate(admin=True)  # nothing below runs for a visitor who is not a signed-in admin

st.title("Jobs status")
state = status(db())
if state.running():
    st.success(
        f"The jobs process is running (pid {state.pid} on {md(state.host)}, last heartbeat "
        f"{state.beat_at:%H:%M:%S})."
    )
elif state.pid and state.beat_at:
    st.error(
        f"The jobs process is not responding: last heartbeat {state.beat_at:%d.%m.%Y %H:%M}. "
        "Reminder e-mails and upcoming opportunities wait until it runs again (`crm jobs`)."
    )
else:
    st.warning(
        "The jobs process is not running: no reminder e-mails are sent and no upcoming "
        "opportunities are created. Start it with `crm run` or `crm jobs`."
    )

known = {job.name: job.what for job in JOBS}
rows = []
for job in state.jobs:
    rows.append({**job, "what": known.get(job["name"], "")})
for name, what in known.items():
    if name not in {r["name"] for r in rows}:
        rows.append({"name": name, "what": what, "outcome": "never ran"})
st.subheader("Jobs")
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
)

st.subheader("Reminder digests of the last 7 days")
recent = deliveries(db(), date.today() - timedelta(days=7))
pending = [d for d in recent if d["status"] != "sent"]
for d in pending:
    if d["last_error"]:
        retry = d["next_attempt_at"]
        when = f", next try {retry:%H:%M}" if isinstance(retry, datetime) else ""
        st.warning(
            f"Digest for {md(d['assignee'])} ({d['day']:%d.%m.}) not delivered yet after "
            f"{d['attempts']} attempt(s){when}: {md(d['last_error'])}"
        )
if recent:
    st.dataframe(pd.DataFrame(recent), hide_index=True)
else:
    st.caption("No digests yet.")
