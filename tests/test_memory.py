"""The pages most people open never load pandas, numpy or pyarrow: together 78 MB of the app
process's memory (``rss_total_mb`` in ``make bench``, #17).  The review's numbers are plain rows
(``crm_core.review``), the charts plain HTML (``pages._ui.bar_figure``), and the board is handed
to its component inside a list (``pages/_board.py`` says why).  Checked in a fresh process,
because this one has long loaded them for other tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

# The pages of the bench's browser run (bench/page_loads.py) and a lead's page.
PAGES = ["contacts", "contact", "board", "lead", "review", "wonlost", "reminders"]
HEAVY = ("pandas", "numpy", "pyarrow")

# Demo data first, in a process of its own (the seeding loads pandas).
SEED = """
from crm_core.database import get_database
from jobs.demo_data import seed, seed_follow_ups, seed_leads

db = get_database()
seed(db, contacts=30, seed=1)
seed_leads(db, leads=20, seed=1)
seed_follow_ups(db, reminders=10, opportunities=2, seed=1)
"""

SCRIPT = """
import json, sys
from streamlit.testing.v1 import AppTest
from tests.apptest import route_apptest_through_app_py
from crm_core.accounts.sessions import create_session_in
from crm_core.accounts.users import ensure_user
from crm_core.database import get_database

route_apptest_through_app_py()
db = get_database()
token = db.run(lambda cur: create_session_in(cur, ensure_user(cur, "team", role="admin").id))
contact = db.query("SELECT min(id) FROM contacts")[0][0]
lead = db.query("SELECT min(id) FROM leads")[0][0]
params = {"contact": {"id": str(contact)}, "lead": {"id": str(lead)}}
loaded = {}
for page in json.loads(sys.argv[2]):
    at = AppTest.from_file(sys.argv[1], default_timeout=60)
    at.session_state["auth_token"] = token
    at.switch_page(f"pages/{page}.py")
    for key, value in params.get(page, {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, (page, at.exception)
    loaded[page] = [m for m in json.loads(sys.argv[3]) if m in sys.modules]
print(json.dumps(loaded))
"""


def test_the_everyday_pages_do_not_load_pandas_numpy_or_pyarrow(tmp_path: Path):
    env = {**os.environ, "CRM_DB": str(tmp_path / "crm.duckdb"), "PYTHONPATH": str(ROOT),
           "CRM_CONFIG": str(tmp_path / "no-config.toml")}  # fmt: skip
    seeded = subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "app.py"), json.dumps(PAGES), json.dumps(HEAVY)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == {page: [] for page in PAGES}
