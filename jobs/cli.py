"""The ``crm`` command: run app and jobs, seed demo data, import, export, back up, manage users.

``crm run`` starts the Streamlit app as a child process and stops it on Ctrl-C or SIGTERM.

The command's own words (its help, its progress and summary lines) are English: it is the tool
of whoever runs the server, read next to English logs and used in scripts.  What crm_core says
through it (a refused password, an import row's error) and what it writes into the data (demo
data, notes an import adds) are in the app's language (``[app] language``), as in the app.
"""

from __future__ import annotations

import argparse
import codecs
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crm_core import audit
from crm_core.accounts import users
from crm_core.config import PROJECT_ROOT, Settings, load_settings
from crm_core.database import Database, get_database

DEMO_CONTACTS = 1000
DEMO_LEADS = 300
DEMO_REMINDERS = 60
DEMO_OPPORTUNITIES = 15


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand and option of ``crm`` (the README's command table lists each one)."""
    parser = argparse.ArgumentParser(prog="crm", description="leadradar CRM")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="start the app and the jobs process (demo data on first start)"
    )
    run.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for the LAN)")
    run.add_argument("--port", type=int, help="port (default 8501)")
    run.add_argument("--no-demo", action="store_true", help="start empty instead of with demo data")

    seed = sub.add_parser("seed", help="add realistic demo / benchmark data")
    seed.add_argument("--contacts", type=int, default=DEMO_CONTACTS)
    seed.add_argument("--leads", type=int, default=0, help="leads over 3 demo pipelines")
    seed.add_argument("--reminders", type=int, default=0, help="follow-up reminders")
    seed.add_argument("--opportunities", type=int, default=0, help="scheduled opportunities")
    seed.add_argument("--notes-per-contact", type=float, default=2.0)
    seed.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    seed.add_argument("--json", action="store_true", help="print a JSON summary")

    sub.add_parser("migrate", help="apply pending schema migrations (done at every start too)")

    jobs = sub.add_parser(
        "jobs", help="run the jobs process (digests, opportunities, geocoding, Mailchimp)"
    )
    jobs.add_argument("--once", action="store_true", help="run every job once and exit")

    mc = sub.add_parser("mailchimp", help="link pipelines to Mailchimp audiences and sync")
    mc_sub = mc.add_subparsers(dest="mailchimp_command", required=True)
    link = mc_sub.add_parser("link", help="link a pipeline to an audience")
    link.add_argument("--pipeline", required=True, help="pipeline name or id")
    link.add_argument("--list", required=True, dest="list_id", help="the audience (list) id")
    link.add_argument("--prefix", help="tag prefix (default: the pipeline's name)")
    link.add_argument("--status-if-new", default="subscribed")
    run_sync = mc_sub.add_parser("sync", help="send what changed now")
    run_sync.add_argument("--pipeline", help="pipeline name or id (default: all linked)")
    run_sync.add_argument("--json", action="store_true", help="print a JSON summary")

    imp = sub.add_parser("import", help="import contacts from CSV, Excel or vCard")
    imp.add_argument("file", nargs="?", help="the file to import")
    imp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    imp.add_argument("--on-duplicate", choices=["skip", "merge", "create"], default="skip")
    imp.add_argument("--tag", action="append", default=[], help="tag every imported contact")
    imp.add_argument("--source", help="the source of every imported contact")
    imp.add_argument(
        "--owner",
        help="who owns the imported contacts (username or name; default: [app] default_user)",
    )
    imp.add_argument(
        "--encoding",
        help="the file's text encoding, e.g. cp1250 (CSV; vCard: of"
        " the values that declare none); default: detected",
    )
    imp.add_argument("--json", action="store_true", help="print a JSON report")
    imp.add_argument("--undo", type=int, metavar="IMPORT_ID", help="undo a whole import")

    export = sub.add_parser("export", help="export contacts or leads as CSV, Excel or vCard")
    export.add_argument("what", choices=["contacts", "leads"])
    export.add_argument("--format", choices=["csv", "xlsx", "vcf"], default="csv")
    export.add_argument(
        "--dialect",
        choices=["excel-de", "comma"],
        help="CSV: excel-de (';', decimal comma, dd.mm.yyyy: what German Excel opens) or comma"
        " (',', decimal point, yyyy-mm-dd); default: by the app's language ([app] language)",
    )
    export.add_argument("-o", "--output", required=True, help="the file to write")
    export.add_argument("--tag", help="only contacts / leads of contacts with this tag")
    export.add_argument("--owner", help="only those owned by this user (username or name)")
    export.add_argument("--pipeline", help="leads: pipeline name or id")
    export.add_argument("--phase", help="leads (and contacts with an open lead): phase name")
    export.add_argument("--status", choices=["open", "won", "lost"], help="leads: status")
    export.add_argument("--vcard-version", choices=["3.0", "4.0"], default="3.0")

    backup = sub.add_parser("backup", help="a consistent copy of the database, also while in use")
    backup.add_argument("-o", "--output", required=True, help="the folder for the copy")
    restore = sub.add_parser("restore", help="restore a backup into a new database file")
    restore.add_argument("source", help="a backup file, or a folder (its newest backup is used)")
    restore.add_argument("--to", help="the new database file (default: next to CRM_DB)")

    user = sub.add_parser("user", help="accounts: add, set a password, disable, list")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="a new account (password from a prompt or stdin)")
    add.add_argument("name", help="the username to sign in with")
    add.add_argument("--role", choices=["admin", "member"], default="member")
    add.add_argument("--display-name", help="the name shown (default: the username)")
    add.add_argument("--email", help="where reminder digests go")
    passwd = user_sub.add_parser("passwd", help="set a new password (ends the user's sessions)")
    passwd.add_argument("name")
    disable = user_sub.add_parser("disable", help="deactivate: no more sign-ins")
    disable.add_argument("name")
    enable = user_sub.add_parser("enable", help="reactivate a deactivated account")
    enable.add_argument("name")
    unlock = user_sub.add_parser("unlock", help="lift the throttle after failed sign-ins")
    unlock.add_argument("name")
    user_sub.add_parser("list", help="every account with its role and state")

    addin = sub.add_parser("addin", help="build the Thunderbird add-on or the Outlook manifest")
    addin_sub = addin.add_subparsers(dest="addin_command", required=True)
    tb = addin_sub.add_parser("thunderbird", help="the Thunderbird add-on (.xpi)")
    tb.add_argument("-o", "--output", required=True, help="the file to write (leadradar.xpi)")
    tb.add_argument("--url", help="leadradar's address, filled into the add-on's options")
    ol = addin_sub.add_parser("outlook", help="the Outlook add-in's manifest for an admin")
    ol.add_argument("-o", "--output", required=True, help="the file to write (manifest.xml)")
    ol.add_argument("--url", required=True, help="leadradar's https:// address (Office needs it)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with audit.acting_as(audit.JOBS if args.command == "jobs" else audit.cli_actor()):
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "user":
        return user_command(args)
    if args.command == "run":
        return run_app(args.host, args.port, demo=not args.no_demo)
    if args.command == "seed":
        return seed_command(args)
    if args.command == "jobs":
        from crm_core.job_state import AnotherJobsProcess
        from jobs.runner import run_forever, run_once

        try:
            return run_once() if args.once else run_forever()
        except AnotherJobsProcess as exc:
            print(str(exc), file=sys.stderr)
            return 3
    if args.command == "import":
        return import_command(args)
    if args.command == "export":
        return export_command(args)
    if args.command == "backup":
        from crm_core.database import backup_name

        target = get_database().copy_file_to(Path(args.output) / backup_name("crm"))
        audit.record_now(get_database(), "backup", "database", label=target.name)
        print(f"backup written to {target}")
        return 0
    if args.command == "restore":
        return restore_command(args)
    if args.command == "mailchimp":
        return mailchimp_command(args)
    if args.command == "addin":
        return addin_command(args)
    if args.command == "migrate":
        from crm_core.database import migrate

        applied = migrate(get_database())
        print(f"applied migrations: {applied or 'none (up to date)'}")
        return 0
    return 2


def seed_command(args: argparse.Namespace) -> int:
    from jobs.demo_data import seed, seed_follow_ups, seed_leads

    counts = (("--contacts", args.contacts), ("--leads", args.leads),
              ("--reminders", args.reminders), ("--opportunities", args.opportunities))  # fmt: skip
    for name, value in counts:
        if not 0 <= value <= 5_000_000:
            print(f"{name} must be between 0 and 5 000 000", file=sys.stderr)
            return 2
    db = get_database()
    summary = seed(
        db, contacts=args.contacts, seed=args.seed, notes_per_contact=args.notes_per_contact
    )
    leads = seed_leads(db, leads=args.leads, seed=args.seed)
    reminders, opportunities = seed_follow_ups(
        db, reminders=args.reminders, opportunities=args.opportunities, seed=args.seed
    )
    added = {"leads": leads, "reminders": reminders, "opportunities": opportunities}
    if args.json:
        print(json.dumps({**summary.__dict__, **added}))
    else:
        print(
            f"added {summary.contacts} contacts, {summary.emails} e-mails, {summary.phones} phones,"
            f" {summary.notes} notes, {leads} leads, {reminders} reminders, {opportunities}"
            f" scheduled opportunities in {summary.seconds:.1f} s"
        )
    return 0


def import_command(args: argparse.Namespace) -> int:
    from crm_core.accounts.users import current_user
    from crm_core.custom_fields import list_fields
    from crm_core.import_export.importer import rows_from_file, run_import, undo_import
    from crm_core.import_export.tables import Limits

    db = get_database()
    actor = current_user(db).id
    if args.undo is not None:
        try:
            undone = undo_import(db, args.undo, actor)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print(f"undid import #{args.undo}: {undone.removed} contacts removed,"
              f" {undone.restored} restored")  # fmt: skip
        for contacts, what in ((undone.kept, "changed since the import, left as they are"),
                               (undone.removed_changed, "changed since the import, removed all"
                                " the same (in the trash)")):  # fmt: skip
            if contacts:
                print(f"{len(contacts)} {what}: " + ", ".join(f"#{i} {n}" for i, n in contacts))
        return 0
    if not args.file:
        print("name a file to import (or --undo IMPORT_ID)", file=sys.stderr)
        return 2
    owner = _user_named(db, args.owner) if args.owner else actor
    if owner is None:
        print(f"no active user {args.owner!r}", file=sys.stderr)
        return 2
    if args.encoding:
        try:
            codecs.lookup(args.encoding)
        except LookupError:
            print(f"unknown encoding {args.encoding!r} (e.g. utf-8, cp1252, cp1250)",
                  file=sys.stderr)  # fmt: skip
            return 2
    path = Path(args.file)
    try:
        Limits.current().check_size(path.stat().st_size)  # before reading it into memory
        data = path.read_bytes()
        kind, _table, rows = rows_from_file(data, path.name, encoding=args.encoding,
                                            fields=list_fields(db))  # fmt: skip
    except (OSError, ValueError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return 2
    settings = load_settings()
    report = run_import(db, rows, actor, on_duplicate=args.on_duplicate, file_name=path.name,
                        tags=args.tag, source=args.source, owner_id=owner,
                        region=settings.phone_region, dry_run=args.dry_run)  # fmt: skip
    if args.json:
        print(json.dumps({**report.as_json(), "format": kind, "dry_run": args.dry_run}, indent=2))
    else:
        what = "would import" if args.dry_run else f"import #{report.import_id}"
        print(f"{what}: {report.rows_read} read, {report.created} created, {report.merged} merged,"
              f" {report.skipped} skipped, {len(report.errors)} errors")  # fmt: skip
        for row, message in report.errors:
            print(f"  row {row}: {message}")
    return 0


def _user_named(db, name: str, *, active_only: bool = True) -> int | None:
    """The id of the user with this username or shown name (``--owner``), or None."""
    from crm_core.accounts.users import list_users

    return next((u.id for u in list_users(db, active_only=active_only)
                 if name in (u.username, u.display_name)), None)  # fmt: skip


def export_command(args: argparse.Namespace) -> int:
    from crm_core.contacts import ContactQuery
    from crm_core.import_export import exports
    from crm_core.pipelines import list_pipelines

    db = get_database()
    owner_id = None
    if args.owner:
        owner_id = _user_named(db, args.owner, active_only=False)  # a former owner's contacts
        if owner_id is None:
            print(f"no user {args.owner!r}", file=sys.stderr)
            return 2
    pipeline_id = _pipeline_id(args.pipeline) if args.pipeline else None
    phase_id = None
    if args.phase:
        phase_id = next((ph.id for p in list_pipelines(db) for ph in p.phases
                         if ph.name == args.phase and pipeline_id in (None, p.id)), None)  # fmt: skip
        if phase_id is None:
            print(f"no phase {args.phase!r}", file=sys.stderr)
            return 2
    if args.what == "contacts":
        query = ContactQuery(tags=[args.tag] if args.tag else [], owner_id=owner_id,
                             phase_id=phase_id)  # fmt: skip
        data = exports.export_contacts(db, query, args.format, dialect=args.dialect,
                                       vcard_version=args.vcard_version, sheet=args.what)  # fmt: skip
    else:
        if args.format == "vcf":
            print("leads export as csv or xlsx", file=sys.stderr)
            return 2
        data = exports.export_leads(db, args.format, dialect=args.dialect,
                                    pipeline_id=pipeline_id, phase_id=phase_id,
                                    status=args.status, owner_id=owner_id, tag=args.tag,
                                    sheet=args.what)  # fmt: skip
    Path(args.output).write_bytes(data)
    rows = exports.last_export_rows(db)
    print(f"exported {rows} {args.what} to {args.output}")
    return 0


def restore_command(args: argparse.Namespace) -> int:
    """Copy a backup to a new file and check that it opens; the running file is never touched."""
    import shutil

    from crm_core.app_settings import secrets_path
    from crm_core.database import Database, backup_name, migrate, private

    source = Path(args.source)
    if source.is_dir():
        found = sorted(source.glob("*.duckdb"), key=lambda p: p.stat().st_mtime)
        if not found:
            print(f"no backup (*.duckdb) in {source}", file=sys.stderr)
            return 2
        source = found[-1]
    if not source.is_file():
        print(f"no such backup: {source}", file=sys.stderr)
        return 2
    target = Path(args.to) if args.to else load_settings().db_path.parent / backup_name("restored")
    if target.exists():
        print(f"{target} exists already; choose another --to", file=sys.stderr)
        return 2
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    private(target)
    restored = Database(target, keep_warm_s=0)
    migrate(restored)  # an older backup is upgraded like any database at start-up
    contacts = restored.query("SELECT count(*) FROM contacts")[0][0]
    restored.release()
    print(f"restored {source} to {target} ({contacts} contacts); start with CRM_DB={target}")
    secrets = secrets_path(load_settings().db_path)
    if secrets.exists():  # backups hold no secrets (crm_core.app_settings)
        print(f"the secrets set in Settings are in no backup: copy {secrets} to"
              f" {secrets_path(target)} (or enter them again)")  # fmt: skip
    return 0


def _pipeline_id(name_or_id: str) -> int:
    from crm_core.pipelines import list_pipelines

    for pipeline in list_pipelines(get_database()):
        if name_or_id in (str(pipeline.id), pipeline.name):
            return pipeline.id
    raise SystemExit(f"no pipeline {name_or_id!r}")


def mailchimp_command(args: argparse.Namespace) -> int:
    from crm_core import mailchimp
    from crm_core.app_settings import current_settings
    from crm_core.validation import FieldError

    db = get_database()
    try:
        if args.mailchimp_command == "link":
            mailchimp.link_pipeline(
                db, _pipeline_id(args.pipeline), args.list_id,
                tag_prefix=args.prefix, status_if_new=args.status_if_new,
            )  # fmt: skip
            print(f"linked {args.pipeline} to audience {args.list_id}")
            return 0
        pipeline = _pipeline_id(args.pipeline) if args.pipeline else None
        results = mailchimp.sync(db, current_settings(db), pipeline_id=pipeline)
    except (FieldError, mailchimp.MailchimpNotConfigured) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2, default=str))
    else:
        for result in results:
            print(result.summary())
            for error in result.errors:
                print(f"  {error['email']}: {error['message']}")
    return 1 if any(r.errors for r in results) else 0


def addin_command(args: argparse.Namespace) -> int:
    from crm_core.addins.builder import outlook_manifest, thunderbird_xpi
    from crm_core.validation import FieldError

    try:
        if args.addin_command == "thunderbird":
            content = thunderbird_xpi(args.url)
        else:
            content = outlook_manifest(args.url).encode()
    except FieldError as exc:
        print(f"nothing written: {exc}", file=sys.stderr)
        return 2
    Path(args.output).write_bytes(content)
    print(f"wrote {args.output} ({len(content):,} bytes)")
    return 0


def read_new_password(prompt: str = "Password") -> str:
    """From a prompt (asked twice) on a terminal, else the first line of stdin (for scripts)."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def user_command(args: argparse.Namespace) -> int:
    from crm_core.accounts import passwords, throttling, users
    from crm_core.validation import FieldError

    db = get_database()
    try:
        if args.user_command == "list":
            for account in users.list_accounts(db):
                u = account.user
                state = ("active" if u.active else "deactivated") + (
                    "" if account.can_sign_in else ", no password"
                )
                print(f"{u.username:<24} {u.role:<7} {state:<24} {u.display_name}")
            return 0
        if args.user_command == "add":
            password = read_new_password()
            created = users.create_account(db, args.name, display_name=args.display_name,
                                           email=args.email, role=args.role,
                                           password=password)  # fmt: skip
            print(f"added {created.username} ({created.role})")
            return 0
        user = users.find_user(db, args.name)
        if args.user_command == "passwd":
            passwords.set_password(db, user.id, read_new_password("New password"))
            print(f"new password set for {user.username}; their open sessions ended")
        elif args.user_command == "disable":
            users.deactivate_user(db, user.id)
            print(f"{user.username} is deactivated")
        elif args.user_command == "enable":
            users.reactivate_user(db, user.id)
            print(f"{user.username} is active again")
        elif args.user_command == "unlock":
            throttling.unlock(db, user.id, user.username)
            print(f"{user.username} can try to sign in again")
        return 0
    except (FieldError, ValueError) as exc:
        print(f"nothing changed: {exc}", file=sys.stderr)
        return 2


def seed_demo(db: Database) -> tuple[int, int]:
    """The demo data of a first start (``crm run`` on a new file): contacts, leads, reminders,
    upcoming opportunities; the numbers of contacts and leads."""
    from jobs.demo_data import seed, seed_follow_ups, seed_leads

    summary = seed(db, contacts=DEMO_CONTACTS, seed=1)
    leads = seed_leads(db, leads=DEMO_LEADS, seed=1)
    seed_follow_ups(db, reminders=DEMO_REMINDERS, opportunities=DEMO_OPPORTUNITIES, seed=1)
    return summary.contacts, leads


def prepare_database(settings: Settings, *, demo: bool) -> None:
    """What every `crm run` does before it serves: the file created and migrated, demo data in a
    new one (with ``demo``), the first admin (tests start "a fresh database as `make run`
    creates it" here)."""
    is_new = not settings.db_path.exists()
    db = get_database(settings)  # creates and migrates the file
    if is_new and demo:
        contacts, leads = seed_demo(db)
        print(f"created {settings.db_path}: {contacts} demo contacts, {leads} leads")
    users.announce_first_admin(db)
    db.release()  # the app process opens the file itself, per unit of work


def run_app(host: str | None, port: int | None, *, demo: bool) -> int:
    settings = load_settings()
    prepare_database(settings, demo=demo)

    tls = [settings.tls_cert, settings.tls_key]
    if any(tls) and not (all(tls) and all(Path(str(p)).is_file() for p in tls)):
        print("TLS needs both tls_cert and tls_key, as readable files", file=sys.stderr)
        return 2
    children = [
        _start_streamlit(host or settings.host, port or settings.port, tls),
        subprocess.Popen([sys.executable, "-m", "jobs.cli", "jobs"], cwd=PROJECT_ROOT),
    ]
    return _supervise(children)


def _start_streamlit(host: str, port: int, tls: list[str | None]) -> subprocess.Popen:
    """Serve app.py; with a certificate and key Streamlit itself speaks HTTPS."""
    tls_options = []
    if all(tls):
        tls_options = ["--server.sslCertFile", str(tls[0]), "--server.sslKeyFile", str(tls[1])]
    scheme = "https" if tls_options else "http"
    command = [
        sys.executable, str(PROJECT_ROOT / "app.py"),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        *tls_options,
    ]  # fmt: skip
    print(f"leadradar app on {scheme}://{host}:{port}  (Ctrl-C stops)")
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=os.environ.copy())


def _supervise(children: list[subprocess.Popen]) -> int:
    """Wait until a child exits or we are told to stop; then stop every child cleanly."""
    stopping = False

    def stop(signum, frame):  # noqa: ARG001 - signal handler signature
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        while not stopping:
            exited = [c for c in children if c.poll() is not None]
            if exited:
                code = exited[0].returncode or 0
                break
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
