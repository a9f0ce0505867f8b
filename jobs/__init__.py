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
from crm_core.i18n import N_, _
from crm_core.mailchimp import list_links, sync
from crm_core.opportunities import fire_due


@dataclass(frozen=True)
class Job:
    name: str
    what: str  # marked for the catalogs: the status page translates it
    every_s: Callable[[Settings], int]
    # Returns a one-line summary, in the jobs process's language (the app's): the status page
    # shows it as it was written.
    run: Callable[[Database, Settings], str]


JOBS: list[Job] = [
    Job(
        "upcoming_opportunities",
        N_("creates the leads scheduled for today, each exactly once"),
        lambda s: s.jobs_interval_s,
        lambda db, s: fire_due(db).summary(),
    ),
    Job(
        "reminder_digests",
        N_("after the digest time, e-mails each assignee one digest of due reminders per day"),
        lambda s: s.jobs_interval_s,
        lambda db, s: run_digests(db, s).summary(),
    ),
    Job(
        "geocode_contacts",
        N_("gives contacts whose address changed coordinates (online geocoder if configured)"),
        lambda s: max(60, s.jobs_interval_s),
        lambda db, s: geocode_summary(db, s),
    ),
    Job(
        "mailchimp_sync",
        N_("sends what changed in linked pipelines to their Mailchimp audiences"),
        lambda s: s.mailchimp_interval_s,
        lambda db, s: mailchimp_sync(db, s),
    ),
]


def geocode_summary(db: Database, settings: Settings) -> str:
    placed, missing = geocode_contacts(db, settings, online=bool(settings.nominatim_url),
                                       limit=2000)  # fmt: skip
    return _("{placed} placed, {missing} not found").format(placed=placed, missing=missing)


def mailchimp_sync(db: Database, settings: Settings) -> str:
    if not settings.mailchimp_api_key or not list_links(db):
        return _("not configured (no API key or no linked pipeline)")
    return "; ".join(result.summary() for result in sync(db, settings))
