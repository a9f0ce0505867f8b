"""The mail add-ins, made for one server: the Thunderbird add-on (an .xpi), the Outlook add-in's
manifest, and the files the app serves for the Outlook task pane.

- ``common/``: the sender's card (card.js, card.css), shared by both add-ins;
- ``thunderbird/``: a MailExtension (Manifest V3, Thunderbird 128 ESR and later) with a button in
  the message view whose popup shows the card, and an options page for the address and token;
- ``outlook/``: the task pane (served by the app at ``/addins/outlook/taskpane.html``) and the
  manifest template (reading pane: new Outlook, Outlook on the web, classic Outlook on Windows);
- ``icons/``: the icon in the sizes both want.

Their words are the app's: ``TEXTS`` are marked for the gettext catalogs and handed to the add-ins
as ``texts.js`` (German and English), and to Thunderbird's ``_locales`` for its menus.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from importlib import resources
from string import Template
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from crm_core.i18n import LANGUAGES, N_, _, language
from crm_core.validation import FieldError

OUTLOOK_VERSION = "1.0.0.0"

# Every word the add-ins show, by key (card.js asks t(key, {placeholders})).
TEXTS: dict[str, str] = {
    "add_note": N_("Add a note"),
    "bad_token": N_(
        "leadradar refused the API token. Make a new one under My account › API tokens and "
        "enter it in the settings."
    ),
    "checking": N_("Checking the connection …"),
    "company": N_("Company"),
    "connected": N_("Saved. Connected as {name} ({scope})."),
    "create_contact": N_("Create contact"),
    "domain_of": N_("The domain belongs to {company}."),
    "failed": N_("leadradar could not do this: {message}"),
    "first_contact": N_("first contact {day}"),
    "leads": N_("Leads"),
    "lost": N_("lost"),
    "looking_up": N_("Looking up {email} …"),
    "name": N_("Name"),
    "no_sender": N_("This message has no sender address."),
    "none": N_("none"),
    "not_configured": N_("Enter leadradar's address and your API token in the settings first."),
    "not_saved": N_("Nothing was saved: check the address."),
    "note_placeholder": N_("What was it about?"),
    "note_saved": N_("Note saved."),
    "notes": N_("Latest notes"),
    "offers": N_("Offers sent"),
    "open": N_("Open in leadradar"),
    "owner": N_("owner {name}"),
    "read_only": N_("This API token may only read. Make one that may read and write."),
    "reminders": N_("Open reminders"),
    "save": N_("Save"),
    "save_note": N_("Save note"),
    "server_url": N_("leadradar's address"),
    "settings": N_("Settings"),
    "several": N_("{n} contacts have this address."),
    "state": N_("{status} ({phase})"),
    "throttled": N_("Too many failed attempts. Please wait {seconds} s and try again."),
    "token": N_("API token"),
    "token_help": N_("Make a token in leadradar under My account › API tokens."),
    "unknown": N_("{email} is not in leadradar yet."),
    "unreachable": N_("leadradar cannot be reached at {url}."),
    "won": N_("won"),
}
# The add-ins' names and descriptions in Thunderbird's and Outlook's own lists.
DESCRIPTION = N_("Shows who the sender is in leadradar: leads, offers, notes and reminders.")
BUTTON = N_("Sender in leadradar")


def _file(path: str) -> bytes:
    return resources.files(__package__).joinpath(path).read_bytes()


def texts(code: str) -> dict[str, str]:
    with language(code):
        return {key: _(text) for key, text in TEXTS.items()}


def texts_script() -> bytes:
    """``texts.js``: the add-ins' words in every language the app speaks."""
    table = {code: texts(code) for code in LANGUAGES}
    return ("window.LEADRADAR_TEXTS = " + json.dumps(table, ensure_ascii=False, indent=1)
            + ";\n").encode()  # fmt: skip


def clean_base_url(url: str | None, *, https: bool = False) -> str:
    """``scheme://host[:port]`` of leadradar as the mail program reaches it."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FieldError(_("the address must look like https://crm.firma.local:8501"))
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise FieldError(_("the address is leadradar's own, without a path"))
    if https and parts.scheme != "https":
        raise FieldError(_(
            "Outlook loads add-ins only over HTTPS: serve leadradar with tls_cert and tls_key "
            "(or behind an HTTPS proxy) and give its https:// address"
        ))  # fmt: skip
    return f"{parts.scheme}://{parts.netloc}"


# -- Thunderbird -------------------------------------------------------------------------------

_THUNDERBIRD_FILES = ("manifest.json", "popup.html", "popup.js", "options.js")
_ICONS = ("icon-16.png", "icon-32.png", "icon-64.png", "icon-128.png")
_FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # the same sources make the same package


def thunderbird_xpi(url: str | None = None) -> bytes:
    """The Thunderbird add-on as an .xpi (a zip), with ``url`` as the address its options start
    with (None: the user enters it)."""
    base = clean_base_url(url) if url else ""
    files: dict[str, bytes] = {name: _file(f"thunderbird/{name}") for name in _THUNDERBIRD_FILES}
    # The options page is the popup's page with the options' script.
    files["options.html"] = files["popup.html"].replace(b'"popup.js"', b'"options.js"')
    files["card.js"] = _file("common/card.js")
    files["card.css"] = _file("common/card.css")
    files["texts.js"] = texts_script()
    files["defaults.js"] = ("window.LEADRADAR_DEFAULTS = " + json.dumps({"url": base})
                            + ";\n").encode()  # fmt: skip
    for name in _ICONS:
        files[f"icons/{name}"] = _file(f"icons/{name}")
    for code in LANGUAGES:
        with language(code):
            messages = {"extensionName": "leadradar", "extensionDescription": _(DESCRIPTION),
                        "buttonTitle": _(BUTTON)}  # fmt: skip
        files[f"_locales/{code}/messages.json"] = json.dumps(
            {key: {"message": text} for key, text in messages.items()}, ensure_ascii=False,
            indent=1,
        ).encode()  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name in sorted(files, key=lambda n: (n != "manifest.json", n)):
            entry = zipfile.ZipInfo(name, _FIXED_TIME)
            entry.external_attr = 0o644 << 16  # -rw-r--r--
            package.writestr(entry, files[name], zipfile.ZIP_DEFLATED)
    return out.getvalue()


# -- Outlook -----------------------------------------------------------------------------------


def outlook_manifest(url: str) -> str:
    """The Outlook add-in's manifest for leadradar at ``url`` (https only: Office loads add-ins
    only over HTTPS).  Its Id is derived from the address, so a manifest made again for the same
    server updates the add-in instead of adding a second one."""
    base = clean_base_url(url, https=True)
    words = {}
    for code in ("de", "en"):
        with language(code):
            words[f"description_{code}"] = _(DESCRIPTION)
            words[f"button_{code}"] = _(BUTTON)
    values = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, base)), "version": OUTLOOK_VERSION,
              "base": base, **words}  # fmt: skip
    quoted = {key: escape(value, {'"': "&quot;"}) for key, value in values.items()}
    return Template(_file("outlook/manifest.xml").decode()).substitute(quoted)


# -- served by the app -------------------------------------------------------------------------

_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png"}  # fmt: skip
SERVED = ("outlook/taskpane.html", "outlook/taskpane.js", "common/card.js", "common/card.css",
          *(f"icons/{name}" for name in (*_ICONS, "icon-80.png")))  # fmt: skip


def served_file(path: str) -> tuple[bytes, str] | None:
    """(content, media type) of what the app serves under ``/addins/<path>``; None for anything
    else (only the files named here: nothing is looked up by a path from a request)."""
    if path == "texts.js":
        return texts_script(), _TYPES[".js"]
    if path not in SERVED:
        return None
    return _file(path), _TYPES[path[path.rindex(".") :]]
