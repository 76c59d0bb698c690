"""Landed dead letters: listing them with filters, and replaying them to their original topic exactly once.

A dead letter's value is the original payload byte for byte; its headers name the original topic, partition and
offset, the error class and message (`hcp.records.deadletters`). Replaying re-publishes the payload (and the
original key) to the original topic, with a header naming the dead letter it replays. Every replay is written
to a replay register (`<home>/deadletters/replayed.jsonl`) *before* it is sent, so a dead letter is never
replayed twice, even by a replay that crashed halfway: at most once, by design (see docs/reliability.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq

from hcp.codec import decode_record
from hcp.exceptions import HcpError, RecordError
from hcp.landing import iter_landing_files
from hcp.records import DeadLetter
from hcp.topics import DEAD_LETTERS, RECORD_TOPICS

HEADER_REPLAY_OF = "hcp.replay.of"
HEADER_TRUNCATED_FROM = "hcp.payload.truncated_from"
HEADER_SHA256 = "hcp.payload.sha256"
# A dead letter must fit in one produce request (1 MB by default on Kafka and in aiokafka): a larger payload keeps
# its first `DEAD_LETTER_KEPT_BYTES`, its size and its digest. It cannot be replayed (it was too large anyway).
DEAD_LETTER_MAX_VALUE = 900_000
DEAD_LETTER_KEPT_BYTES = 64 * 1024


def dead_letter_message(
    value: bytes | None, headers: list[tuple[str, bytes]]
) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """The value and headers to send to `deadletters` for a rejected payload, truncated if too large to send."""
    if value is None or len(value) <= DEAD_LETTER_MAX_VALUE:
        return value, headers
    digest = hashlib.sha256(value).hexdigest().encode()
    extra = [(HEADER_TRUNCATED_FROM, str(len(value)).encode()), (HEADER_SHA256, digest)]
    return value[:DEAD_LETTER_KEPT_BYTES], headers + extra


class DeadLetterError(HcpError):
    """A landed dead letter cannot be read or replayed; the message says which and why."""


@dataclass(frozen=True)
class LandedDeadLetter:
    """One landed dead letter: its stable id, the original key and payload, and why it was rejected."""

    letter_id: str
    key: str | None
    value: bytes | None
    origin: DeadLetter
    landed_at: datetime
    truncated_from: int | None = None  # original size, when only the first bytes were kept

    @property
    def size(self) -> int:
        return len(self.value or b"")


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters to select; every field left at None selects everything."""

    topic: str | None = None
    error_class: str | None = None
    contains: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, letter: LandedDeadLetter) -> bool:
        origin = letter.origin
        return (
            (self.topic is None or origin.original_topic == self.topic)
            and (self.error_class is None or origin.error_class == self.error_class)
            and (self.contains is None or self.contains.lower() in origin.error_message.lower())
            and (self.since is None or letter.landed_at >= self.since)
            and (self.until is None or letter.landed_at < self.until)
        )


def replay_register_path(home: Path) -> Path:
    """Where the replay register of a platform home lives."""
    return home / "deadletters" / "replayed.jsonl"


def letter_id(origin: DeadLetter, value: bytes | None) -> str:
    """Stable id of a dead letter: its origin and payload digest (the same rejection landed twice has one id)."""
    digest = hashlib.sha256(value or b"").hexdigest()[:16]
    return f"{origin.original_topic}:{origin.original_partition}:{origin.original_offset}:{digest}"


def read_dead_letters(landing_root: Path, where: DeadLetterFilter | None = None) -> list[LandedDeadLetter]:
    """Every landed dead letter matching `where`, oldest first, each id once."""
    where = where or DeadLetterFilter()
    seen: set[str] = set()
    letters = []
    for landing_file in iter_landing_files(landing_root, DEAD_LETTERS):
        try:
            rows = pq.read_table(landing_file.path, columns=["key", "value", "headers", "landed_at"]).to_pylist()
        except OSError as err:
            raise DeadLetterError(f"cannot read {landing_file.path}: {err}") from err
        for row in rows:
            try:
                origin = DeadLetter.from_headers(dict(row["headers"] or []))
            except (KeyError, ValueError) as err:
                raise DeadLetterError(f"{landing_file.path}: a dead letter lacks its origin headers ({err})") from err
            headers = dict(row["headers"] or [])
            truncated = int(headers[HEADER_TRUNCATED_FROM]) if HEADER_TRUNCATED_FROM in headers else None
            letter = LandedDeadLetter(letter_id(origin, row["value"]), row["key"], row["value"], origin,
                                      row["landed_at"], truncated)
            if letter.letter_id not in seen and where.matches(letter):
                seen.add(letter.letter_id)
                letters.append(letter)
    return letters


class ReplayRegister:
    """The dead letters already replayed, one JSON line each, appended and fsynced before the replay is sent."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def replayed(self) -> set[str]:
        if not self.path.exists():
            return set()
        with self.path.open(encoding="utf-8") as handle:
            return {json.loads(line)["letter_id"] for line in handle if line.strip()}

    def record(self, letters: Iterable[LandedDeadLetter], at: datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            for letter in letters:
                line = {"letter_id": letter.letter_id, "topic": letter.origin.original_topic, "at": at.isoformat()}
                handle.write(json.dumps(line) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay will do: letters to send, and those left out with the reason."""

    to_send: tuple[LandedDeadLetter, ...]
    already_replayed: tuple[LandedDeadLetter, ...]
    still_invalid: tuple[tuple[LandedDeadLetter, str], ...]


def plan_replay(letters: Iterable[LandedDeadLetter], replayed: set[str], *, force: bool = False) -> ReplayPlan:
    """Leave out letters replayed before and, unless `force`, those that still fail validation today."""
    to_send, again, invalid = [], [], []
    for letter in letters:
        if letter.letter_id in replayed:
            again.append(letter)
            continue
        topic = letter.origin.original_topic
        if letter.truncated_from is not None:
            invalid.append((letter, f"payload of {letter.truncated_from} bytes was kept truncated: cannot replay"))
            continue
        if topic not in RECORD_TOPICS:
            invalid.append((letter, f"unknown original topic {topic!r}"))
            continue
        if not force:
            try:
                decode_record(topic, letter.value)
            except RecordError as err:
                invalid.append((letter, err.reason))
                continue
        to_send.append(letter)
    return ReplayPlan(tuple(to_send), tuple(again), tuple(invalid))


Send = Callable[[str, str | None, bytes | None, list[tuple[str, bytes]]], None]


def replay_dead_letters(plan: ReplayPlan, register: ReplayRegister, send: Send, at: datetime) -> int:
    """Record the plan's letters as replayed, then send each to its original topic; return how many were sent.

    `send(topic, key, value, headers)` must raise if delivery fails; the letters stay recorded (never sent twice)
    and the error says which replay to check.
    """
    if not plan.to_send:
        return 0
    register.record(plan.to_send, at)
    for letter in plan.to_send:
        send(letter.origin.original_topic, letter.key, letter.value, [(HEADER_REPLAY_OF, letter.letter_id.encode())])
    return len(plan.to_send)
