"""Delivery channels: an HMAC-signed webhook, a Slack-compatible chat webhook and SMTP e-mail.

Each `send(notification)` delivers once or raises `DeliveryError`; retrying is the outbox's job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from hcp.notify.exceptions import DeliveryError
from hcp.notify.settings import NotifySettings

SIGNATURE_HEADER = "X-HCP-Signature"
TIMESTAMP_HEADER = "X-HCP-Timestamp"


@dataclass(frozen=True)
class Notification:
    """One message to one channel about one alert transition (`kind`: firing, resolved or escalation)."""

    notification_id: int
    channel: str
    kind: str
    alert: dict[str, object]

    @property
    def headline(self) -> str:
        a = self.alert
        where = " ".join(str(x) for x in (a.get("site_id"), a.get("device_id")) if x)
        label = {"firing": "FIRING", "resolved": "RESOLVED", "escalation": "UNACKNOWLEDGED"}[self.kind]
        return f"[HCP {a['severity']}] {label} {a['rule']} {where}".strip()

    @property
    def text(self) -> str:
        a = self.alert
        return f"{self.headline}\n{a['message']}\nalert {a['alert_id']} at {a['event_time']}"


class Channel(Protocol):
    name: str

    def send(self, notification: Notification) -> None: ...


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`: what a receiver recomputes to verify."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    # Only http(s) URLs reach here: NotifySettings validates the scheme.
    all_headers = {"Content-Type": "application/json"} | headers
    request = urllib.request.Request(url, data=body, method="POST", headers=all_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (URL from settings)
            if not 200 <= response.status < 300:
                raise DeliveryError(f"{url} answered {response.status}")
    except (urllib.error.URLError, OSError) as err:
        raise DeliveryError(f"{url}: {err}") from err


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str, timeout: float) -> None:
        self.url, self.secret, self.timeout = url, secret.encode(), timeout

    def send(self, notification: Notification) -> None:
        body = json.dumps(
            {"kind": notification.kind, "notification_id": notification.notification_id, "alert": notification.alert},
            sort_keys=True,
        ).encode()
        timestamp = str(int(time.time()))
        headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(self.secret, timestamp, body)}
        post_json(self.url, body, headers, self.timeout)


class ChatChannel:
    name = "chat"

    def __init__(self, url: str, timeout: float) -> None:
        self.url, self.timeout = url, timeout

    def send(self, notification: Notification) -> None:
        body = json.dumps({"text": notification.text}).encode()
        post_json(self.url, body, {}, self.timeout)


class EmailChannel:
    name = "email"

    def __init__(self, settings: NotifySettings) -> None:
        self.s = settings

    def send(self, notification: Notification) -> None:
        s = self.s
        message = EmailMessage()
        message["Subject"] = notification.headline
        message["From"] = s.smtp_from
        message["To"] = ", ".join(s.smtp_to)
        message["X-HCP-Alert-Id"] = str(notification.alert["alert_id"])
        message.set_content(notification.text)
        try:
            with smtplib.SMTP(str(s.smtp_host), s.smtp_port, timeout=s.timeout_s) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_username and s.smtp_password:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"smtp {s.smtp_host}:{s.smtp_port}: {err}") from err


def build_channels(settings: NotifySettings) -> dict[str, Channel]:
    """The configured channels by name."""
    channels: dict[str, Channel] = {}
    if settings.webhook_url and settings.webhook_secret:
        channels["webhook"] = WebhookChannel(
            settings.webhook_url, settings.webhook_secret.get_secret_value(), settings.timeout_s
        )
    if settings.chat_webhook_url:
        channels["chat"] = ChatChannel(settings.chat_webhook_url, settings.timeout_s)
    if settings.smtp_host:
        channels["email"] = EmailChannel(settings)
    return channels
