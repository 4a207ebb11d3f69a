"""Sending a digest: a Slack incoming webhook (Block Kit, as Slack documents its answers) and e-mail through SMTP
with STARTTLS and login. Each send is bounded in time and retried a few times; what still fails raises
``DeliveryError`` with a message a person can act on.

Slack's incoming webhooks answer ``200 ok``; ``400 invalid_blocks`` (and other 4xx: ``no_text``,
``invalid_payload``, ``channel_not_found``…) are not retried; ``429`` is retried after its ``Retry-After``; 5xx
and time-outs are retried with back-off.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, cast

import httpx

from engagement.deadline import DeadlineTransport
from engagement.errors import EngagementError
from engagement.fathom.ratelimit import parse_retry_after

__all__ = ["ATTEMPTS", "DeliveryError", "Mailer", "SlackSender"]

ATTEMPTS = 3
BACKOFF_S = 1.0
MAX_RETRY_AFTER_S = 60.0  # a longer Retry-After ends the attempt: the next scheduled try picks it up
TIMEOUT_S = 20.0


class DeliveryError(EngagementError):
    """A digest could not be delivered (after its retries)."""


class SlackSender:
    """Posts payloads to one incoming-webhook URL. ``transport`` and ``sleep`` are the tests' seams."""

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.url = url
        bounded = DeadlineTransport(transport or httpx.HTTPTransport(), total_s=timeout_s)  # all of it, not one read
        self._http = httpx.Client(transport=cast(httpx.BaseTransport, bounded), timeout=httpx.Timeout(timeout_s))
        self._sleep = sleep
        self.attempts = 0

    def close(self) -> None:
        self._http.close()

    def send(self, payload: dict[str, Any]) -> None:
        problem = ""
        for attempt in range(1, ATTEMPTS + 1):
            self.attempts += 1
            wait = BACKOFF_S * 2 ** (attempt - 1)
            try:
                response = self._http.post(self.url, json=payload)
            except httpx.TimeoutException:
                problem = "Slack did not answer in time"
            except httpx.TransportError as exc:
                problem = f"Slack could not be reached ({type(exc).__name__})"
            else:
                body = response.text.strip()[:200]
                if response.status_code == 200:
                    return
                if response.status_code == 429:
                    after = parse_retry_after(response.headers.get("Retry-After"))
                    problem = "Slack refused it as too many messages (429)"
                    if after is not None and after > MAX_RETRY_AFTER_S:
                        break
                    wait = after if after is not None else wait
                elif response.status_code < 500:
                    raise DeliveryError(
                        f"Slack refused the digest (HTTP {response.status_code}: {body or 'no reason given'}). "
                        "Check DIGEST_SLACK_URL (an incoming webhook of your Slack app)."
                    )
                else:
                    problem = f"Slack answered HTTP {response.status_code}"
            if attempt < ATTEMPTS:
                self._sleep(wait)
        raise DeliveryError(f"The digest did not reach Slack after {ATTEMPTS} attempts: {problem}. It is tried again.")


@dataclass(frozen=True)
class Mailer:
    """SMTP with STARTTLS and login (``SMTP_*`` settings).

    Attributes:
        host / port: the server (587, the submission port, by default).
        user / password: the login (none when ``user`` is empty).
        sender: the From address.
        tls_context: how the server's certificate is checked (default: the system's CAs; tests pass their own).
        timeout_s: each connection's time-out (connect and every reply).
    """

    host: str
    port: int
    user: str
    password: str
    sender: str
    tls_context: ssl.SSLContext | None = None
    timeout_s: float = TIMEOUT_S
    sleep: Callable[[float], None] = time.sleep

    def message(self, recipients: Sequence[str], subject: str, text: str, html: str) -> EmailMessage:
        """A multipart/alternative message: the text part first, the HTML part after."""
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = ", ".join(recipients)
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        return msg

    def send(self, recipients: Sequence[str], subject: str, text: str, html: str) -> None:
        if not self.host:
            raise DeliveryError("No SMTP server: set SMTP_HOST (and SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_FROM).")
        msg = self.message(recipients, subject, text, html)
        problem = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                    smtp.ehlo()
                    smtp.starttls(context=self.tls_context or ssl.create_default_context())
                    smtp.ehlo()
                    if self.user:
                        try:
                            smtp.login(self.user, self.password)
                        except smtplib.SMTPServerDisconnected:  # some servers hang up on a refused login
                            raise smtplib.SMTPAuthenticationError(535, b"closed after the login") from None
                    smtp.send_message(msg)
                return
            except smtplib.SMTPAuthenticationError:
                raise DeliveryError("The SMTP server refused the login. Check SMTP_USER and SMTP_PASSWORD.") from None
            except smtplib.SMTPNotSupportedError:
                raise DeliveryError(
                    f"The SMTP server {self.host}:{self.port} offers no STARTTLS; the digest is never sent in clear."
                ) from None
            except smtplib.SMTPRecipientsRefused as exc:
                raise DeliveryError(
                    f"The SMTP server refused the recipients {', '.join(sorted(exc.recipients))}. Check DIGEST_EMAILS."
                ) from None
            except ssl.SSLError as exc:
                raise DeliveryError(f"The SMTP server's TLS could not be verified ({exc.reason}).") from None
            except smtplib.SMTPResponseException as exc:
                problem = f"SMTP {exc.smtp_code}"
                if exc.smtp_code >= 500:
                    raise DeliveryError(f"The SMTP server refused the digest ({problem}).") from None
            except (OSError, smtplib.SMTPException) as exc:
                problem = f"{type(exc).__name__}"
            if attempt < ATTEMPTS:
                self.sleep(BACKOFF_S * 2 ** (attempt - 1))
        raise DeliveryError(
            f"The digest e-mail was not sent after {ATTEMPTS} attempts ({problem}); check SMTP_HOST and SMTP_PORT. "
            "It is tried again."
        )
