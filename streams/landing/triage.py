"""Sorting a batch of consumed messages into what lands and what goes to the dead letters. Pure: no faust.

Record topics are validated as their record class says (`hcp.telemetry_columns.decode_event_header`: the
columnar fast path for telemetry, `hcp.codec.decode_record` for the rest, the same verdict and reason): a
valid message lands with its event id and time; an invalid one is rejected (the caller sends it to
`deadletters`) and does not land in its own topic. The dead-letter topic itself lands as it is, headers
included, without an event id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hcp.exceptions import RecordError
from hcp.landing import LandedMessage, LandingWriter
from hcp.records import DeadLetter
from hcp.telemetry_columns import RECENT_VERDICTS, VerdictWait, decode_event_header
from hcp.topics import RECORD_TOPICS

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class RawMessage:
    """A consumed Kafka message, bytes as they came."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None
    headers: Headers = ()


@dataclass(frozen=True)
class Rejection:
    """A message that failed validation, and the dead letter that says why and where it came from."""

    message: RawMessage
    dead_letter: DeadLetter


@dataclass
class Triage:
    """A batch sorted: messages to land per (topic, partition), and rejections to dead-letter."""

    landed: dict[tuple[str, int], list[LandedMessage]] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def landed_count(self) -> int:
        return sum(len(messages) for messages in self.landed.values())


def normalize_headers(headers: Mapping[str, object] | Iterable[tuple[str, object]] | None) -> Headers:
    """Kafka headers as a tuple of (name, bytes), whatever shape the client handed them over in."""
    if not headers:
        return ()
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(name), value if isinstance(value, bytes) else str(value).encode()) for name, value in pairs)


def decode_key(key: bytes | None) -> str | None:
    return None if key is None else key.decode("utf-8", errors="replace")


def triage_messages(messages: Iterable[RawMessage], verdict_wait: VerdictWait | None = None) -> Triage:
    """Validate each message against its topic's record class and sort the batch.

    With `verdict_wait`, a telemetry message's verdict is awaited from the fleet agent of the same worker (which
    validates every poll as it decodes it) rather than decoded a second time here (`VerdictWait`).
    """
    landed: dict[tuple[str, int], list[LandedMessage]] = defaultdict(list)
    rejected: list[Rejection] = []
    for message in messages:
        event_id = event_time = None
        if message.topic in RECORD_TOPICS:
            try:
                origin = (message.partition, message.offset)
                event_id, event_time = decode_event_header(
                    message.topic, message.value, origin, RECENT_VERDICTS, verdict_wait
                )
            except RecordError as err:
                rejected.append(Rejection(message, dead_letter_for(message, err)))
                continue
        landed[(message.topic, message.partition)].append(
            LandedMessage(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                key=decode_key(message.key),
                kafka_timestamp_ms=message.timestamp_ms,
                event_id=event_id,
                event_time=event_time,
                value=message.value,
                headers=message.headers,
            )
        )
    return Triage(landed=dict(landed), rejected=rejected)


def dead_letter_for(message: RawMessage, err: RecordError) -> DeadLetter:
    return DeadLetter(
        original_topic=message.topic,
        original_partition=message.partition,
        original_offset=message.offset,
        error_class=type(err).__name__,
        error_message=str(err),
    )


def drop_landed_rejections(triage: Triage, writer: LandingWriter) -> list[Rejection]:
    """Rejections not inside a landed file's offset range: a redelivered batch is not dead-lettered twice.

    (A file's name spans the rejections beside its messages; a batch of a partition with rejections only writes no
    file, so its redelivery after a crash sends their dead letters again: at least once, never lost.)
    """
    return [
        rejection
        for rejection in triage.rejected
        if not writer.is_landed(rejection.message.topic, rejection.message.partition, rejection.message.offset)
    ]


def write_landed(
    writer: LandingWriter,
    landed: Mapping[tuple[str, int], Sequence[LandedMessage]],
    rejected: Sequence[Rejection] = (),
) -> list[Path]:
    """Write each partition's messages as landing files (offsets already landed are skipped); the files' names
    span the batch's rejections beside them, so that a redelivered batch is not dead-lettered twice."""
    rejected_offsets: dict[tuple[str, int], list[int]] = {}
    for rejection in rejected:
        message = rejection.message
        rejected_offsets.setdefault((message.topic, message.partition), []).append(message.offset)
    paths = []
    for (topic, partition), messages in sorted(landed.items()):
        paths += writer.write(topic, partition, messages, rejected_offsets.get((topic, partition), ()))
    return paths
