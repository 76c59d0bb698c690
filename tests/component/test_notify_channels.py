"""The notifier against real local receivers: signed webhook, SMTP (aiosmtpd), chat; routing, dedup, retries
with backoff from the durable outbox, rate limits, escalation and acknowledgement."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from hcp.notify import Notifier, NotifySettings, Outbox, backoff_delay
from hcp.notify.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, build_channels
from hcp.records import Alert, AlertStatus, Severity
from tests.receivers import SmtpSink, WebhookSink

SECRET = "webhook-key"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def alert(status: AlertStatus = AlertStatus.FIRING, severity: Severity = Severity.CRITICAL, site: str = "west-1",
          device: str = "west-1-s21-0001", fired: int = 100) -> Alert:
    alert_id = f"asic_overheat|{site}|{device}@{fired}"
    return Alert(event_id=f"{alert_id}:{status}", event_time=datetime.fromtimestamp(fired, UTC), alert_id=alert_id,
                 rule="asic_overheat", severity=severity, status=status, site_id=site, device_id=device,
                 message=f"{device} chip at 101 °C", value=101.0, threshold=95.0)


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    sink = WebhookSink()
    yield sink
    sink.close()


@pytest.fixture
def chat() -> Iterator[WebhookSink]:
    sink = WebhookSink()
    yield sink
    sink.close()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.close()


def make_notifier(tmp_path, webhook, chat, smtp, clock, **overrides) -> Notifier:
    settings = NotifySettings(webhook_url=webhook.url, webhook_secret=SECRET, chat_webhook_url=chat.url,
                              smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_to=("ops@example.com",), **overrides)
    return Notifier(settings, Outbox(tmp_path / "outbox.sqlite"), build_channels(settings), clock=clock)


def test_a_critical_alert_reaches_every_channel_once_signed_and_its_resolution_follows(
    tmp_path, webhook, chat, smtp
) -> None:
    notifier = make_notifier(tmp_path, webhook, chat, smtp, Clock())
    assert notifier.accept(alert()) == 3
    assert notifier.accept(alert()) == 0  # redelivered from the topic: nothing new
    assert {a.outcome for a in notifier.deliver_due()} == {"delivered"}
    headers, body, parsed = webhook.received[0]
    signed = headers[TIMESTAMP_HEADER.lower()].encode() + b"." + body
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"
    assert parsed["kind"] == "firing" and parsed["alert"]["rule"] == "asic_overheat"
    assert "FIRING asic_overheat west-1" in chat.bodies()[0]["text"]
    assert smtp.messages[0]["Subject"] == "[HCP critical] FIRING asic_overheat west-1 west-1-s21-0001"
    notifier.accept(alert(AlertStatus.RESOLVED))
    notifier.deliver_due()
    assert [b["kind"] for b in webhook.bodies()] == ["firing", "resolved"]
    assert len(smtp.messages) == 2 and "RESOLVED" in smtp.messages[1]["Subject"]


def test_routing_by_severity_and_site(tmp_path, webhook, chat, smtp) -> None:
    notifier = make_notifier(tmp_path, webhook, chat, smtp, Clock(), site_routes={"north-1": {"warning": ["email"]}})
    assert notifier.accept(alert(severity=Severity.WARNING)) == 2  # webhook and chat
    assert notifier.accept(alert(severity=Severity.WARNING, site="north-1", device="n1")) == 1  # email only
    notifier.deliver_due()
    assert len(webhook.received) == 1 and len(chat.received) == 1 and len(smtp.messages) == 1


def test_a_down_webhook_loses_nothing_and_is_retried_with_backoff(tmp_path, webhook, chat, smtp) -> None:
    clock = Clock()
    notifier = make_notifier(tmp_path, webhook, chat, smtp, clock, routes={"critical": ["webhook"]})
    webhook.status = 500
    notifier.accept(alert())
    first = notifier.deliver_due()
    assert [(a.outcome, a.attempt) for a in first] == [("failed", 1)]
    assert notifier.deliver_due() == []  # not due before its backoff
    clock.now += backoff_delay(1, 1.0, 300.0)
    assert [a.outcome for a in notifier.deliver_due()] == ["failed"]
    webhook.status = 200
    clock.now += backoff_delay(2, 1.0, 300.0)
    assert [(a.outcome, a.attempt) for a in notifier.deliver_due()] == [("delivered", 3)]
    assert len(webhook.received) == 1
    outcomes = [r["outcome"] for r in reversed(notifier.outbox.attempt_rows())]
    assert outcomes == ["failed", "failed", "delivered"]
    assert len((tmp_path / "attempts.jsonl").read_text().splitlines()) == 3


def test_the_outbox_survives_a_restart(tmp_path, webhook, chat, smtp) -> None:
    clock = Clock()
    make_notifier(tmp_path, webhook, chat, smtp, clock, routes={"critical": ["webhook"]}).accept(alert())
    restarted = make_notifier(tmp_path, webhook, chat, smtp, clock, routes={"critical": ["webhook"]})
    assert [a.outcome for a in restarted.deliver_due()] == ["delivered"]


def test_a_flapping_alert_is_not_resent_within_the_dedup_window(tmp_path, webhook, chat, smtp) -> None:
    clock = Clock()
    notifier = make_notifier(tmp_path, webhook, chat, smtp, clock, routes={"critical": ["webhook"]})
    notifier.accept(alert(fired=100))
    notifier.accept(alert(AlertStatus.RESOLVED, fired=100))
    clock.now += 60
    assert notifier.accept(alert(fired=160)) == 0
    clock.now += 600
    assert notifier.accept(alert(fired=760)) == 1


def test_the_rate_limit_delays_but_does_not_drop(tmp_path, webhook, chat, smtp) -> None:
    clock = Clock()
    notifier = make_notifier(tmp_path, webhook, chat, smtp, clock, routes={"critical": ["webhook"]},
                             rate_limit_per_minute=2)
    for n in range(3):
        notifier.accept(alert(device=f"d{n}"))
    assert len(notifier.deliver_due()) == 2
    clock.now += 61
    assert len(notifier.deliver_due()) == 1
    assert len(webhook.received) == 3


def test_an_unacknowledged_alert_escalates_once_and_an_acknowledged_one_does_not(
    tmp_path, webhook, chat, smtp
) -> None:
    clock = Clock()
    notifier = make_notifier(tmp_path, webhook, chat, smtp, clock, routes={"critical": ["webhook"]},
                             escalate_after_s=600)
    notifier.accept(alert(device="a"))
    notifier.accept(alert(device="b"))
    assert notifier.outbox.ack("asic_overheat|west-1|b@100", "ops", clock.now)
    clock.now += 601
    assert notifier.escalate() == 1
    assert notifier.escalate() == 0
    notifier.deliver_due()
    escalations = [m for m in smtp.messages if "UNACKNOWLEDGED" in m["Subject"]]
    assert len(escalations) == 1 and "west-1 a" in escalations[0]["Subject"]
