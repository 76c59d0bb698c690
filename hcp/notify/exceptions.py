"""Errors of the notifier."""

from hcp.exceptions import HcpError


class NotifyError(HcpError):
    """The notifier is misconfigured or its outbox cannot be used."""


class DeliveryError(NotifyError):
    """One delivery attempt to one channel failed; the notification stays queued and is retried."""
