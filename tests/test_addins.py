"""The add-in packages as built: the Thunderbird .xpi is a valid zip whose manifest declares what
Thunderbird needs, and names only files it holds; the Outlook manifest is well-formed XML naming
the task pane the app serves; `crm addin` writes both, and refuses Outlook without HTTPS."""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from crm_core.addins import builder
from crm_core.i18n import LANGUAGES
from crm_core.validation import FieldError
from jobs.cli import main as crm
from tests.paths import ROOT

URL = "https://crm.firma.example:8501"
ADDINS = ROOT / "crm_core" / "addins"


def xpi(url: str | None = URL) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(builder.thunderbird_xpi(url)))


def test_the_xpi_is_a_zip_with_a_thunderbird_manifest():
    package = xpi()
    assert package.testzip() is None
    names = package.namelist()
    assert names[0] == "manifest.json"
    manifest = json.loads(package.read("manifest.json"))
    assert manifest["manifest_version"] == 3
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    gecko = manifest["browser_specific_settings"]["gecko"]
    assert "@" in gecko["id"] and int(gecko["strict_min_version"].split(".")[0]) >= 128
    assert {"messagesRead", "storage"} <= set(manifest["permissions"])
    assert "host_permissions" not in manifest  # the server's CORS lets the add-on in
    action = manifest["message_display_action"]
    for page in (action["default_popup"], manifest["options_ui"]["page"]):
        assert page in names
    for icons in (manifest["icons"], action["default_icon"]):
        assert all(path in names for path in icons.values())
    # No upgrade-insecure-requests (MV3's default): a server on the LAN may speak plain http.
    assert manifest["content_security_policy"]["extension_pages"].startswith("script-src 'self'")
    assert "upgrade-insecure" not in json.dumps(manifest)
    # Its __MSG_…__ names are in every language's messages, the default language among them.
    used = set(re.findall(r"__MSG_(\w+)__", json.dumps(manifest)))
    for code in LANGUAGES:
        messages = json.loads(package.read(f"_locales/{code}/messages.json"))
        assert used <= set(messages), code
    assert f"_locales/{manifest['default_locale']}/messages.json" in names


def test_the_pages_load_only_files_of_the_package():
    package = xpi()
    names = set(package.namelist())
    for page in ("popup.html", "options.html"):
        html = package.read(page).decode()
        loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert loaded and all(name in names for name in loaded), page
    assert b'"options.js"' in package.read("options.html")
    assert b'"popup.js"' in package.read("popup.html")


def test_the_address_words_and_build_of_the_package():
    assert json.loads(xpi().read("defaults.js").decode().split("=", 1)[1].rstrip(";\n")) == {
        "url": URL}  # fmt: skip
    assert b'{"url": ""}' in xpi(None).read("defaults.js")
    texts = json.loads(xpi().read("texts.js").decode().split("=", 1)[1].rstrip(";\n"))
    assert set(texts) == set(LANGUAGES)
    for code in LANGUAGES:
        assert set(texts[code]) == set(builder.TEXTS), code
    assert texts["de"]["create_contact"] == "Kontakt anlegen"
    assert texts["en"]["create_contact"] == "Create contact"
    assert builder.thunderbird_xpi(URL) == builder.thunderbird_xpi(URL)  # the same every time
    with pytest.raises(FieldError):
        builder.thunderbird_xpi("crm.firma.example")


def test_the_scripts_never_write_html():
    for script in ADDINS.rglob("*.js"):
        text = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{script.name}: {sink}"


NS = {"o": "http://schemas.microsoft.com/office/appforoffice/1.1",
      "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
      "v": "http://schemas.microsoft.com/office/mailappversionoverrides"}  # fmt: skip


def test_the_outlook_manifest_is_xml_naming_the_served_task_pane():
    root = ET.fromstring(builder.outlook_manifest(URL + "/"))
    assert root.tag == f"{{{NS['o']}}}OfficeApp"
    assert root.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "MailApp"
    pane = f"{URL}/addins/outlook/taskpane.html"
    assert root.find("o:FormSettings/o:Form/o:DesktopSettings/o:SourceLocation",
                     NS).get("DefaultValue") == pane  # fmt: skip
    urls = {u.get("id"): u.get("DefaultValue") for u in root.iter(f"{{{NS['bt']}}}Url")}
    assert urls == {"taskpaneUrl": pane}
    assert root.find("o:Permissions", NS).text == "ReadItem"
    assert root.find("o:Hosts/o:Host", NS).get("Name") == "Mailbox"
    rule = root.find("o:Rule/o:Rule", NS)
    assert (rule.get("ItemType"), rule.get("FormType")) == ("Message", "Read")
    surface = root.find(".//v:ExtensionPoint", NS)
    assert surface.get("{http://www.w3.org/2001/XMLSchema-instance}type") == (
        "MessageReadCommandSurface")  # fmt: skip
    images = [i.get("DefaultValue") for i in root.iter(f"{{{NS['bt']}}}Image")
              if i.get("DefaultValue")]  # fmt: skip
    assert len(images) == 3 and all(i.startswith(URL + "/addins/icons/") for i in images)
    served = {f"{URL}/addins/{path}" for path in builder.SERVED}
    assert pane in served and set(images) <= served
    description = root.find("o:Description", NS)
    assert description.get("DefaultValue").startswith("Zeigt, wer der Absender")
    assert description.find("o:Override", NS).get("Value").startswith("Shows who the sender")
    # The same server always gets the same add-in id (an update, not a second add-in).
    again = ET.fromstring(builder.outlook_manifest(URL))
    other = ET.fromstring(builder.outlook_manifest("https://crm.other.example"))
    assert root.find("o:Id", NS).text == again.find("o:Id", NS).text != other.find("o:Id", NS).text


@pytest.mark.parametrize("url", ["http://crm.firma.example:8501", "https://x.example/crm",
                                 "ftp://x.example", "https://", ""])  # fmt: skip
def test_the_outlook_manifest_needs_an_https_address_of_its_own(url):
    with pytest.raises(FieldError) as refused:
        builder.outlook_manifest(url)
    if url.startswith("http://"):
        assert "HTTPS" in str(refused.value)


def test_the_served_files_are_the_named_ones():
    for path in builder.SERVED:
        content, media_type = builder.served_file(path)
        assert content and media_type
    assert builder.served_file("texts.js")[1].startswith("text/javascript")
    for path in ("builder.py", "../app.py", "thunderbird/manifest.json", "outlook/manifest.xml",
                 "", "common"):  # fmt: skip
        assert builder.served_file(path) is None, path


def test_crm_addin_writes_both_and_refuses_outlook_without_https(tmp_path, capsys, db, english):
    assert crm(["addin", "thunderbird", "-o", str(tmp_path / "leadradar.xpi"), "--url", URL]) == 0
    assert zipfile.is_zipfile(tmp_path / "leadradar.xpi")
    assert crm(["addin", "outlook", "-o", str(tmp_path / "manifest.xml"), "--url", URL]) == 0
    ET.parse(tmp_path / "manifest.xml")
    assert crm(["addin", "outlook", "-o", str(tmp_path / "plain.xml"), "--url",
                "http://crm.firma.example"]) == 2  # fmt: skip
    assert "Outlook loads add-ins only over HTTPS" in capsys.readouterr().err
    assert not (tmp_path / "plain.xml").exists()


THUNDERBIRD = "/usr/bin/thunderbird"
PREFS = """
user_pref("extensions.autoDisableScopes", 0);
user_pref("xpinstall.signatures.required", false);
user_pref("mail.shell.checkDefaultClient", false);
user_pref("mail.provider.suppress_dialog_on_startup", true);
"""


@pytest.mark.browser
@pytest.mark.skipif(not Path(THUNDERBIRD).exists(), reason="Debian's thunderbird is not installed")
def test_thunderbird_itself_installs_and_enables_the_xpi(tmp_path):
    """The real thing (when installed: apt-get install thunderbird): a profile holding the .xpi
    starts with the add-on installed, enabled, as Manifest V3 with its permissions and German
    description; Thunderbird records what it made of the manifest in extensions.json."""
    profile = tmp_path / "profile"
    (profile / "extensions").mkdir(parents=True)
    (profile / "user.js").write_text(PREFS)
    manifest = json.loads(xpi().read("manifest.json"))
    addon_id = manifest["browser_specific_settings"]["gecko"]["id"]
    (profile / "extensions" / f"{addon_id}.xpi").write_bytes(builder.thunderbird_xpi(URL))
    process = subprocess.Popen([THUNDERBIRD, "--headless", "--no-remote", "--profile",
                                str(profile)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        found = None
        deadline = time.monotonic() + 90
        while found is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(1)
            try:
                known = json.loads((profile / "extensions.json").read_text())["addons"]
            except (OSError, ValueError, KeyError):
                continue
            found = next((a for a in known if a["id"] == addon_id), None)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
    assert found is not None, "Thunderbird did not install the add-on"
    assert (found["active"], found["appDisabled"], found["userDisabled"]) == (True, False, False)
    assert (found["manifestVersion"], found["version"]) == (3, manifest["version"])
    assert set(found["userPermissions"]["permissions"]) == {"messagesRead", "storage"}
    assert found["defaultLocale"]["description"].startswith("Zeigt, wer der Absender")
