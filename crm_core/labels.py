"""The words for what crm_core stores as codes: field names, statuses, kinds, channels, audit
actions and kinds of records.

The database and the audit log keep the codes (``last_name``, ``won``, ``call``), whatever
language anyone reads them in; the tables here mark their words with ``N_`` (they are built at
import, before anyone's language is known) and the ``*_label`` functions translate them where
they are shown, in the language of the context (``crm_core.i18n``).
"""

from __future__ import annotations

from datetime import date

from crm_core.formatting import shown
from crm_core.i18n import N_, _

# Field names: the keys of ``ValidationError`` and of the audit log's changes, named as the forms
# name the fields.
FIELDS = {
    "kind": N_("Kind"),
    "salutation": N_("Salutation"),
    "title": N_("Title"),
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "company": N_("Company"),
    "job_title": N_("Position"),
    "street": N_("Street"),
    "postal_code": N_("Postal code"),
    "city": N_("City"),
    "country": N_("Country"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "first_contact": N_("First contact"),
    "source": N_("Source"),
    "owner": N_("Owner"),
    "owner_id": N_("Owner"),
    "emails": N_("E-mail addresses"),
    "phones": N_("Phone numbers"),
    "websites": N_("Websites"),
    "tags": N_("Tags"),
    "value": N_("Value"),
    "currency": N_("Currency"),
    "expected_close": N_("Expected close"),
    "pipeline": N_("Pipeline"),
    "pipeline_id": N_("Pipeline"),
    "phase": N_("Phase"),
    "phase_id": N_("Phase"),
    "contact": N_("Contact"),
    "contact_id": N_("Contact"),
    "lead_id": N_("Lead"),
    "status": N_("Status"),
    "lost_reason": N_("Lost reason"),
    "why": N_("Why"),
    "fire_on": N_("Appears on the board on"),
    "scheduled_lead_id": N_("Upcoming opportunity"),
    "channel": N_("Channel"),
    "body": N_("Text"),
    "when": N_("When"),
    "due_date": N_("Due"),
    "note": N_("Note"),
    "assignee": N_("Assignee"),
    "done": N_("Done"),
    "name": N_("Name"),
    "phases": N_("Phases"),
    "probability": N_("Win probability"),
    "color": N_("Colour"),
    "position": N_("Place in the list"),
    "choices": N_("Choices"),
    "active": N_("Active"),
    "values": N_("Values"),
    "contacts": N_("Contacts"),
    "leads_moved_to": N_("Leads moved to"),
    "leads_moved": N_("Leads moved"),
    "display_name": N_("Name"),
    "username": N_("Username"),
    "email": N_("E-mail"),
    "role": N_("Role"),
    "home_address": N_("Home address"),
    "language": N_("Language"),
    "file": N_("File"),
    "rows": N_("Rows"),
    "created": N_("Created"),
    "merged": N_("Merged"),
    "skipped": N_("Skipped"),
    "errors": N_("Errors"),
    "warnings": N_("Warnings"),
    "on_duplicate": N_("Duplicates"),
    "import": N_("Import no."),
    "notes added": N_("Notes added"),
    "removed": N_("Removed"),
    "restored": N_("Restored"),
    "not restored, changed since": N_("Not restored (changed since)"),
    "removed, changed since": N_("Removed (changed since)"),
    "failed": N_("Broke off"),
    "format": N_("Format"),
    "sign-in throttle": N_("Sign-in throttle"),
    "sessions ended": N_("Sessions ended"),
    # The settings an admin makes in the app (crm_core.app_settings).
    "smtp_host": N_("Mail server"),
    "smtp_port": N_("Port"),
    "smtp_security": N_("Encryption"),
    "smtp_user": N_("User name at the mail server"),
    "smtp_password": N_("Mail server password"),
    "smtp_from": N_("Sender address"),
    "digest_time": N_("Time of the daily reminder e-mail"),
    "office_address": N_("Office address"),
    "nominatim_url": N_("Online geocoder"),
    "mailchimp_api_key": N_("Mailchimp API key"),
}
PLACE_IN = "place in "  # a card moved within its column: "place in <phase>" (crm_core.board)

STATUSES = {
    "open": N_("open"),
    "won": N_("won"),
    "lost": N_("lost"),
    "scheduled": N_("scheduled"),
    "fired": N_("on the board"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
}
CONTACT_KINDS = {"person": N_("Person"), "company": N_("Company")}
FIELD_KINDS = {
    "text": N_("Text"),
    "number": N_("Number"),
    "date": N_("Date"),
    "bool": N_("Yes / no"),
    "choice": N_("Choice"),
}
CHANNELS = {
    "call": N_("Call"),
    "email": N_("E-mail"),
    "visit": N_("Visit"),
    "meeting": N_("Meeting"),
    "catalog": N_("Catalog sent"),
    "offer": N_("Offer sent"),
    "other": N_("Other"),
}
ROLES = {"admin": N_("admin"), "member": N_("member")}
# Stored reasons of system changes (a phase deleted moved its leads: "why").
REASONS = {"phase deleted": N_("phase deleted")}
# Fields whose values are dates: the log keeps them as ISO text ("2026-12-04").
_DATE_FIELDS = {"due_date", "first_contact", "expected_close", "fire_on"}
# How the mail server is reached (crm_core.app_settings.SECURITY).
SMTP_SECURITY = {"none": N_("none (a relay on this machine or the company network)"),
                 "starttls": N_("STARTTLS (usually port 587)"),
                 "ssl": N_("SSL/TLS (usually port 465)")}  # fmt: skip
# What the log says of a secret (its value is never logged).
SECRET_STATES = {"set": N_("set (not shown)"), "removed": N_("removed")}
# The daily reminder e-mails (crm_core.digests): their states, and why one was kept in the outbox.
DIGEST_STATUSES = {"pending": N_("pending"), "kept": N_("kept in the outbox"), "sent": N_("sent")}
KEPT_BECAUSE = {"no_mail_server": N_("no mail server is configured yet"),
                "no_address": N_("no e-mail address")}  # fmt: skip
# Fields whose values are codes, with the words for them.
_VALUE_WORDS = {
    "status": STATUSES,
    "kind": {**CONTACT_KINDS, **FIELD_KINDS},
    "channel": CHANNELS,
    "role": ROLES,
    "why": REASONS,
    "smtp_security": SMTP_SECURITY,
    "smtp_password": SECRET_STATES,
    "mailchimp_api_key": SECRET_STATES,
}

# What the log stores as actions (``crm_core.audit.ACTIONS``) and kinds of records.
ACTIONS = {
    "create": N_("created"),
    "update": N_("changed"),
    "delete": N_("deleted"),
    "restore": N_("restored"),
    "move": N_("moved"),
    "won": N_("won"),
    "lost": N_("lost"),
    "reopen": N_("reopened"),
    "import": N_("imported"),
    "undo_import": N_("import undone"),
    "export": N_("exported"),
    "login": N_("signed in"),
    "login_failed": N_("sign-in failed"),
    "login_throttled": N_("sign-in blocked"),
    "logout": N_("signed out"),
    "password": N_("password changed"),
    "deactivate": N_("deactivated"),
    "reactivate": N_("reactivated"),
    "sync": N_("synchronised"),
    "backup": N_("backed up"),
    "restore_backup": N_("backup restored"),
}
RECORDS = {
    "contact": N_("contact"),
    "contacts": N_("contacts"),
    "lead": N_("lead"),
    "leads": N_("leads"),
    "scheduled_lead": N_("upcoming opportunity"),
    "note": N_("conversation note"),
    "reminder": N_("reminder"),
    "user": N_("user"),
    "session": N_("session"),
    "api_token": N_("API token"),
    "calendar_feed": N_("calendar address"),
    "import": N_("import"),
    "tag": N_("tag"),
    "source": N_("source"),
    "pipeline": N_("pipeline"),
    "phase": N_("phase"),
    "lost_reason": N_("lost reason"),
    "custom_field": N_("custom field"),
    "mailchimp": N_("Mailchimp"),
    "audit_log": N_("audit log"),
    "database": N_("database"),
    "settings": N_("settings"),
}


def field_label(key: str, custom_names: dict[int, str] | None = None) -> str:
    """A field as people read it: "last_name" -> "Nachname" / "Last name"; "custom_7" (a form's
    key) the custom field's own name when ``custom_names`` knows it, "custom: Branche" (the
    log's) "Branche"; a key nobody named with spaces for underscores."""
    if key in FIELDS:
        return _(FIELDS[key])
    if key.startswith("custom: "):
        return key.removeprefix("custom: ")
    number = key.removeprefix("custom_")
    if number != key and number.isdigit() and int(number) in (custom_names or {}):
        return (custom_names or {})[int(number)]
    if key.startswith(PLACE_IN):
        return _("place in {phase}").format(phase=key.removeprefix(PLACE_IN))
    return key.replace("_", " ")


def value_label(field: str, value: object) -> str:
    """A stored value of ``field`` as people read it: codes in words ("won" -> "gewonnen"),
    dates the reader's way, everything else as ``crm_core.formatting.shown`` writes it."""
    words = _VALUE_WORDS.get(field, {})
    if isinstance(value, str) and value in words:
        return _(words[value])
    if field in _DATE_FIELDS and isinstance(value, str):
        try:
            return shown(date.fromisoformat(value))
        except ValueError:
            pass  # not a date after all: shown as it is
    return shown(value)


def status_label(status: str) -> str:
    return _(STATUSES[status]) if status in STATUSES else status


def action_label(code: str) -> str:
    """An audit action as people read it ("update" -> "geändert")."""
    return _(ACTIONS[code]) if code in ACTIONS else code


def record_label(code: str) -> str:
    """A kind of record of the audit log as people read it ("scheduled_lead" -> "kommende
    Verkaufschance")."""
    return _(RECORDS[code]) if code in RECORDS else code
