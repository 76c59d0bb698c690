"""Reading a confluent-kafka consumer without waiting for a full batch.

`Consumer.consume(num_messages, timeout)` returns only when `num_messages` have arrived or `timeout` has passed
(librdkafka's batch consume), so one message waits for the whole timeout: `consume(500, timeout=0.05)` adds 0 to
50 ms to every message a quiet topic delivers. A reader that times arrivals, or acts on them, uses
`ready_messages` instead: it waits for the first message only, then takes what is already fetched.
"""

from __future__ import annotations

from confluent_kafka import Consumer, Message


def ready_messages(consumer: Consumer, wait_s: float, limit: int = 500) -> list[Message]:
    """Wait up to `wait_s` for one message, then return it with those already fetched (at most `limit` in all).

    Error events are returned like messages (check `message.error()`); an empty list means nothing arrived.
    """
    first = consumer.poll(wait_s)
    if first is None:
        return []
    if limit <= 1:
        return [first]
    return [first, *consumer.consume(limit - 1, timeout=0)]
