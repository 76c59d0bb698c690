"""The platform supervisor: keeps the workers running and carries the platform through a broker restart.

Every check (`PlatformSupervisor.check`, about once a second from `run`):
- a worker that exited (a crash, or exit code 75 after its landing fence saw a restarted broker) is started again;
- a broker whose epoch topic is gone has restarted (`hcp.epochs`): the supervisor kills every worker first (so
  none lands or commits anything from the new broker under the old epoch), recreates the contract topics,
  starts a new epoch, records a critical `broker_restarted` alert on `alerts`, starts the workers again and,
  once they are running, records the alert as resolved with the recovery time.
Messages the old broker held but no worker had landed yet are gone with it (the embedded broker keeps nothing):
the alert says so. A real Kafka cluster keeps its topics, and this path never triggers there.
"""

from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka.admin import AdminClient

from hcp.broker import ensure_topics
from hcp.epochs import epoch_topic_exists, start_or_join_epoch
from hcp.exceptions import BrokerError, ProducerError
from hcp.processes import start_worker_process, stop_process
from hcp.producer import RecordProducer
from hcp.records import Alert, AlertStatus, Severity
from hcp.settings import BrokerSettings

log = logging.getLogger(__name__)

ALERT_RULE = "broker_restarted"
ALERT_KEY = "pipeline"


@dataclass(frozen=True)
class Recovery:
    """One broker restart the supervisor carried the platform through."""

    old_epoch: str
    new_epoch: str
    detected_at: datetime
    recovery_seconds: float  # from detection to workers started again in the new epoch


@dataclass
class PlatformSupervisor:
    """Starts one worker per role and watches them and the broker; see the module docstring."""

    broker: BrokerSettings
    env: dict[str, str]
    roles: tuple[str, ...]
    log_dir: Path
    loglevel: str = "warn"
    stop_timeout_s: float = 10.0
    epoch: str | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: int = 0
    recoveries: list[Recovery] = field(default_factory=list)

    def start(self) -> None:
        ensure_topics(self.broker)
        self.epoch = start_or_join_epoch(self.broker)
        for role in self.roles:
            self._start(role)

    def check(self) -> Recovery | None:
        """One round of watching: restart exited workers, or recover from a broker restart (returned)."""
        try:
            alive = epoch_topic_exists(AdminClient(self.broker.librdkafka_config()), timeout=2.0)
        except BrokerError:
            return None  # the broker is down or restarting: wait for it
        if not alive:
            return self._recover()
        for role, process in list(self.workers.items()):
            if process.poll() is not None:
                log.warning("worker %s exited with code %s: starting it again", role, process.returncode)
                self.restarts += 1
                self._start(role)
        return None

    def run(self, stop_after_s: float | None = None, interval_s: float = 1.0) -> None:
        """Check every `interval_s` until interrupted (or for `stop_after_s`), then stop the workers."""
        deadline = None if stop_after_s is None else time.monotonic() + stop_after_s
        try:
            while deadline is None or time.monotonic() < deadline:
                self.check()
                time.sleep(interval_s)
        finally:
            self.stop()

    def stop(self) -> None:
        for process in self.workers.values():
            stop_process(process, timeout=self.stop_timeout_s)

    def _start(self, role: str) -> None:
        self.workers[role] = start_worker_process(
            self.env, self.log_dir / f"worker-{role}.log", loglevel=self.loglevel, role=role
        )

    def _recover(self) -> Recovery:
        detected = time.monotonic()
        detected_at = datetime.now(UTC)
        old_epoch = self.epoch or "unknown"
        log.critical("the broker restarted (epoch %s gone): killing workers, recreating topics", old_epoch)
        # SIGKILL, not a graceful stop: nothing the old broker gave may be committed to the new one, and a kill
        # is safe by design (landing files are on disk before offsets are committed; tests/integration/faults).
        for process in self.workers.values():
            if process.poll() is None:
                process.kill()
            process.wait(self.stop_timeout_s)
        ensure_topics(self.broker)
        self.epoch = start_or_join_epoch(self.broker)
        self._alert(AlertStatus.FIRING, detected_at, old_epoch, None)
        for role in self.roles:
            self._start(role)
        recovery = Recovery(old_epoch, self.epoch, detected_at, time.monotonic() - detected)
        self._alert(AlertStatus.RESOLVED, datetime.now(UTC), old_epoch, recovery.recovery_seconds)
        self.recoveries.append(recovery)
        return recovery

    def _alert(self, status: AlertStatus, at: datetime, old_epoch: str, seconds: float | None) -> None:
        if status is AlertStatus.FIRING:
            message = (
                f"broker restarted: epoch {old_epoch} gone, topics recreated, new epoch {self.epoch}; messages the"
                " old broker held that had not landed are lost with it"
            )
        else:
            message = f"workers running again in epoch {self.epoch}, {seconds:.1f} s after the restart was detected"
        alert = Alert(
            event_id=f"alert:{ALERT_RULE}:{self.epoch}:{status.value}",
            event_time=at,
            alert_id=f"{ALERT_KEY}:{ALERT_RULE}",
            rule=ALERT_RULE,
            severity=Severity.CRITICAL,
            status=status,
            message=message,
            value=seconds,
        )
        try:
            with RecordProducer(self.broker, client_id="hcp-supervisor") as producer:
                producer.send(alert, ALERT_KEY)
        except ProducerError as err:  # the alert is also in the log; recovery must not stop here
            log.error("could not record the %s alert: %s", ALERT_RULE, err)
        log.critical("%s", message)
