"""Notifications: alert transitions routed by severity and site to an HMAC-signed webhook, SMTP e-mail and a
Slack-compatible chat webhook, deduplicated, rate-limited, retried from a durable outbox and escalated when
nobody acknowledges them. `hcp notify` runs it; `hcp alerts ack` acknowledges."""

from hcp.notify.channels import Notification, sign
from hcp.notify.notifier import Notifier, backoff_delay
from hcp.notify.outbox import Outbox
from hcp.notify.settings import NotifySettings

__all__ = ["Notification", "Notifier", "NotifySettings", "Outbox", "backoff_delay", "sign"]
