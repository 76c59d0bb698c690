"""Routing, dedup, rate limiting, retries with backoff, and escalation: alerts in, delivery attempts out.

No broker here: `hcp.notify.runner` feeds `accept` from the `alerts` topic and calls `deliver_due` and `escalate`
in its loop. Times are wall-clock seconds from `clock`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping

from hcp.notify.channels import Channel
from hcp.notify.exceptions import DeliveryError
from hcp.notify.outbox import Attempt, Outbox
from hcp.notify.settings import NotifySettings
from hcp.records import Alert, AlertStatus

log = logging.getLogger(__name__)


def backoff_delay(attempts: int, base_s: float, max_s: float) -> float:
    """Delay before the next attempt after `attempts` failures: base doubling per failure, capped."""
    return min(base_s * 2 ** max(attempts - 1, 0), max_s)


def dedup_key(alert_id: str) -> str:
    """The alert's rule|site|device key (its id without the `@<fired at>` suffix)."""
    return alert_id.rsplit("@", 1)[0]


class Notifier:
    """Turns alert transitions into queued notifications and delivers them through `channels`."""

    def __init__(
        self,
        settings: NotifySettings,
        outbox: Outbox,
        channels: Mapping[str, Channel],
        clock: Callable[[], float] = time.time,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> None:
        self.settings, self.outbox, self.channels, self.clock = settings, outbox, channels, clock
        self.on_attempt = on_attempt

    def accept(self, alert: Alert) -> int:
        """Store a transition and queue its notifications; return how many were queued.

        Firing: the channels routed for its severity and site, unless the same key fired within the dedup
        window (a flapping alert). Resolved: the channels that were sent its firing. A redelivered transition
        queues nothing.
        """
        now = self.clock()
        payload = alert.model_dump(mode="json")
        key = dedup_key(alert.alert_id)
        previous = self.outbox.last_fired(key, alert.alert_id)
        if not self.outbox.record_alert(payload, key, now):
            return 0
        if alert.status is AlertStatus.FIRING:
            if previous is not None and now - previous < self.settings.dedup_window_s:
                log.info("alert %s fired again within the dedup window: not re-sent", alert.alert_id)
                return 0
            channels: list[str] = list(self.settings.channels_for(alert.severity.value, alert.site_id))
            kind = "firing"
        else:
            channels, kind = self.outbox.channels_notified(alert.alert_id), "resolved"
        return sum(self.outbox.enqueue(payload, channel, kind, now) for channel in channels)

    def deliver_due(self) -> list[Attempt]:
        """Try every notification that is due, within each channel's rate limit; return the attempts made."""
        attempts: list[Attempt] = []
        for notification, tried in self.outbox.due(self.clock()):
            now = self.clock()
            channel = self.channels.get(notification.channel)
            if channel is None:
                # Configured away since it was queued: it waits (nothing is dropped) until the channel returns.
                self.outbox.postpone(notification.notification_id, now + self.settings.backoff_max_s)
                continue
            if self.outbox.delivered_since(notification.channel, now - 60.0) >= self.settings.rate_limit_per_minute:
                self.outbox.postpone(notification.notification_id, now + 5.0)
                continue
            started = time.monotonic()
            try:
                channel.send(notification)
                outcome, error = "delivered", None
            except DeliveryError as err:
                outcome, error = "failed", str(err)
                log.warning("delivery %d to %s failed: %s", notification.notification_id, notification.channel, err)
            attempt = Attempt(notification, tried + 1, now, outcome, error, (time.monotonic() - started) * 1000)
            retry_at = None if outcome == "delivered" else now + backoff_delay(
                tried + 1, self.settings.backoff_base_s, self.settings.backoff_max_s
            )
            self.outbox.record_attempt(attempt, retry_at)
            if self.on_attempt is not None:
                self.on_attempt(attempt)
            attempts.append(attempt)
        return attempts

    def escalate(self) -> int:
        """Queue an escalation for every alert firing unacknowledged for `escalate_after_s`; return how many."""
        now = self.clock()
        escalated = 0
        for row in self.outbox.unacked_firing(now - self.settings.escalate_after_s):
            payload = json.loads(row["payload"])
            for channel in self.settings.escalation_channels:
                if channel in self.settings.configured():
                    self.outbox.enqueue(payload, channel, "escalation", now)
            self.outbox.mark_escalated(row["alert_id"])
            escalated += 1
        return escalated
