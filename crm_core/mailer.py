"""Sending e-mail over SMTP with the standard library; settings from ``Settings``.

Errors are reported with the server's words but never with the password.
"""

from __future__ import annotations

import ipaddress
import smtplib
import socket
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from crm_core.config import Settings
from crm_core.i18n import _

TIMEOUT_S = 20


class MailError(RuntimeError):
    """The message was not accepted; the text is safe to show and log."""


def build_message(settings: Settings, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message.set_content(text)
    return message


def _loopback(settings: Settings) -> bool:
    """A mail relay on this machine: nothing travels over the network."""
    try:
        return ipaddress.ip_address(socket.gethostbyname(settings.smtp_host)).is_loopback
    except (OSError, ValueError):
        return False


def send(
    settings: Settings, message: EmailMessage, on_accepted: Callable[[], None] | None = None
) -> None:
    """Deliver one message; returns only when the server accepted it, else raises MailError.

    ``on_accepted`` runs the moment the server has said "250" to the message, before the
    polite QUIT: a caller that must remember what was sent (the digest journal) should not wait
    for another round trip, in which a kill would make it send the message again."""
    if not settings.smtp_host:
        raise MailError(_("no mail server is configured (Settings › E-mail, [smtp] host or "
                          "CRM_SMTP_HOST)"))  # fmt: skip
    if settings.smtp_security not in ("none", "starttls", "ssl"):
        raise MailError(_("unknown SMTP security “{security}”").format(
            security=settings.smtp_security))  # fmt: skip
    if settings.smtp_user and settings.smtp_security == "none" and not _loopback(settings):
        # smtplib would send the password in clear to whoever is on the way
        raise MailError(_("a password goes to the mail server only over an encrypted connection: "
                          "set [smtp] security to starttls or ssl"))  # fmt: skip
    try:
        if settings.smtp_security == "ssl":
            client = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S,
                context=ssl.create_default_context(),
            )  # fmt: skip
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                client.login(settings.smtp_user, settings.smtp_password or "")
            refused = client.send_message(message)
            if refused:
                raise MailError(_("recipients refused: {recipients}").format(
                    recipients=", ".join(refused)))  # fmt: skip
            if on_accepted is not None:
                on_accepted()
    except smtplib.SMTPResponseException as exc:
        detail = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else exc.smtp_error
        )
        raise MailError(f"SMTP {exc.smtp_code}: {detail}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(
            f"{type(exc).__name__}: {exc}".replace(settings.smtp_password or "\0", "***")
        ) from None


def send_test(settings: Settings, to: str) -> None:
    """A short e-mail to ``to`` (the admin trying the mail server's settings out), in the
    language in use; raises MailError with the reason when it was not accepted."""
    text = _(
        "This is a test e-mail from leadradar. It came through the mail server {server}, so the "
        "daily reminder e-mails will reach the team this way."
    ).format(server=f"{settings.smtp_host}:{settings.smtp_port}")
    send(settings, build_message(settings, to, _("leadradar: test e-mail"), text + "\n"))
