"""The Kafka producer contract, in one place (confluent-kafka, idempotent).

`poll(0)` after each send, a delivery callback that counts and logs failures, `BufferError` handled by polling
and retrying, and `close()` that flushes and raises if anything was not delivered.
"""

from __future__ import annotations

import logging
from types import TracebackType

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from hcp.exceptions import ProducerError
from hcp.records import Record
from hcp.settings import BrokerSettings

log = logging.getLogger(__name__)


class RecordProducer:
    """Sends records (or raw bytes) to topics; use as a context manager so it always flushes."""

    def __init__(self, broker: BrokerSettings, *, client_id: str = "hcp", linger_ms: int = 5) -> None:
        config = broker.librdkafka_config() | {
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": linger_ms,
            "compression.type": "lz4",
        }
        try:
            self._producer = Producer(config)
        except KafkaException as err:
            raise ProducerError(f"cannot create producer: {err}") from err
        self.sent = 0
        self.delivered = 0
        self.failed = 0

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failed += 1
            log.error("delivery to %s failed: %s", msg.topic(), err)
        else:
            self.delivered += 1

    def send(self, record: Record, key: str) -> None:
        """Send one validated record to its own topic."""
        self.send_raw(record.topic, key, record.to_json())

    def send_raw(
        self, topic: str, key: str | None, value: bytes | None, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        """Send bytes as they are (replays, dead letters, tests of malformed input)."""
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=self._on_delivery
                )
                break
            except BufferError:
                self._producer.poll(0.05)
        self.sent += 1
        self._producer.poll(0)

    def poll(self, timeout: float = 0) -> None:
        self._producer.poll(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Flush every pending message; raise `ProducerError` if some were not delivered."""
        remaining = self._producer.flush(timeout)
        if remaining:
            raise ProducerError(f"{remaining} message(s) still undelivered after {timeout:.0f} s")
        if self.failed:
            raise ProducerError(f"{self.failed} of {self.sent} message(s) failed delivery")

    def __enter__(self) -> RecordProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._producer.flush(5.0)
