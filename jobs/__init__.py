"""The jobs process: every scheduled job is declared in ``JOBS``; ``jobs.runner`` runs them.

Each job calls the same crm_core functions as the app, and never holds the database while it
talks to the network (see crm_core.digests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crm_core.config import Settings
from crm_core.database import Database
from crm_core.digests import run_digests
from crm_core.geo.geocoding import geocode_contacts
from crm_core.mailchimp import list_links, sync
from crm_core.opportunities import fire_due


@dataclass(frozen=True)
class Job:
    name: str
    what: str
    every_s: Callable[[Settings], int]
    run: Callable[[Database, Settings], str]  # returns a one-line summary


JOBS: list[Job] = [
    Job(
        "upcoming_opportunities",
        "creates the leads scheduled for today, each exactly once",
        lambda s: s.jobs_interval_s,
        lambda db, s: fire_due(db).summary(),
    ),
    Job(
        "reminder_digests",
        "after the digest time, e-mails each assignee one digest of due reminders per day",
        lambda s: s.jobs_interval_s,
        lambda db, s: run_digests(db, s).summary(),
    ),
    Job(
        "geocode_contacts",
        "gives contacts whose address changed coordinates (online geocoder if configured)",
        lambda s: max(60, s.jobs_interval_s),
        lambda db, s: "{} placed, {} not found".format(
            *geocode_contacts(db, s, online=bool(s.nominatim_url), limit=2000)
        ),
    ),
    Job(
        "mailchimp_sync",
        "sends what changed in linked pipelines to their Mailchimp audiences",
        lambda s: s.mailchimp_interval_s,
        lambda db, s: mailchimp_sync(db, s),
    ),
]


def mailchimp_sync(db: Database, settings: Settings) -> str:
    if not settings.mailchimp_api_key or not list_links(db):
        return "not configured (no API key or no linked pipeline)"
    return "; ".join(result.summary() for result in sync(db, settings))
