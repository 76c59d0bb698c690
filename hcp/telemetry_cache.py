"""The columns of recently decoded telemetry messages, so that the agents of one worker decode each poll once.

The fleet, alerting and billing agents (and the landing agent, on a verdict-memo miss) of an ingest worker read
the same telemetry messages, a few hundred milliseconds apart. Decoding is a pure function of (topic, payload),
so the first agent's columns serve the others: the key is the topic and the payload's hash, and a hit is
returned only when the stored payload is the same bytes.

Three rules keep that true under load (docs/benchmarks.md, "The ingest hot path"):
- Readers: agents that take columns register per topic (`add_reader`). An entry is dropped as soon as every
  registered reader has taken it, so the cache holds the window between the first and the last agent, not the
  last `capacity_readings` readings. (A topic without registered readers keeps entries until the capacity
  pushes them out.) A decode for validation only (`reader=False`, the landing agent) takes nothing.
- One decode at a time per payload (`get_or_decode`): an agent that asks for a payload another thread is
  decoding waits for that result instead of decoding it too. Without this, agents working through the same
  backlog in parallel threads each decoded every message.
- Bounded by readings held, oldest first; an agent further behind than that decodes again, with the same result.

The columns are shared between agents: callers must not modify their arrays or lists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

DEFAULT_CAPACITY_READINGS = 400_000  # at most about 180 MB with the payloads; normally far less (readers drop)
_WAIT_FOR_OTHER_DECODE_S = 5.0


class ColumnsCache:
    """Decoded telemetry by (topic, payload), up to `capacity_readings` readings."""

    def __init__(self, capacity_readings: int = DEFAULT_CAPACITY_READINGS) -> None:
        self.capacity_readings = capacity_readings
        self.hits = self.misses = self.decodes = 0
        self._readings = 0
        # key -> [payload, columns, readers still to take it (None: unknown, kept until pushed out)]
        self._entries: dict[tuple[str, int], list[Any]] = {}
        self._readers: dict[str, set[str]] = {}
        self._decoding: dict[tuple[str, int], threading.Event] = {}
        self._lock = threading.Lock()

    def add_reader(self, topic: str, name: str) -> None:
        """Register an agent that takes the columns of every message of `topic` (idempotent by name)."""
        with self._lock:
            self._readers.setdefault(topic, set()).add(name)

    def recall(self, topic: str, payload: bytes | None, reader: bool = True) -> Any | None:
        """The columns stored for this exact payload on this topic, or None; a reader's take counts."""
        if payload is None:
            return None
        key = (topic, hash(payload))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not (entry[0] is payload or entry[0] == payload):
                self.misses += 1
                return None
            self.hits += 1
            if reader and entry[2] is not None:
                entry[2] -= 1
                if entry[2] <= 0:
                    del self._entries[key]
                    self._readings -= len(entry[1])
            return entry[1]

    def remember(self, topic: str, payload: bytes, columns: Any, reader: bool = True) -> None:
        """Store `columns` (anything with a length: its readings) for the payload, for the readers still to take
        it; drop the oldest beyond capacity."""
        size = len(columns)
        if size > self.capacity_readings:
            return
        with self._lock:
            readers = len(self._readers.get(topic, ()))
            remaining = readers - reader if readers else None
            if remaining is not None and remaining <= 0:
                return  # nobody else will ask
            key = (topic, hash(payload))
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._readings -= len(previous[1])
            self._entries[key] = [payload, columns, remaining]
            self._readings += size
            while self._readings > self.capacity_readings:
                oldest = next(iter(self._entries))
                self._readings -= len(self._entries.pop(oldest)[1])

    def get_or_decode(
        self, topic: str, payload: bytes, decode: Callable[[str, bytes], Any], reader: bool = True
    ) -> Any:
        """The payload's columns: recalled, awaited from the thread decoding them, or decoded here and stored.

        `decode` raising (an invalid message) stores nothing; a caller waiting for it then decodes (and raises).
        """
        key = (topic, hash(payload))
        while True:
            columns = self.recall(topic, payload, reader)
            if columns is not None:
                return columns
            with self._lock:
                pending = self._decoding.get(key)
                if pending is None:
                    pending = self._decoding[key] = threading.Event()
                    break
            pending.wait(_WAIT_FOR_OTHER_DECODE_S)
            with self._lock:
                if self._decoding.get(key) is pending:
                    continue  # still decoding after the wait: ask again
            columns = self.recall(topic, payload, reader)
            if columns is not None:
                return columns
            # The other decode failed or stored nothing for us: decode here (next loop turn takes the slot).
        try:
            self.decodes += 1
            columns = decode(topic, payload)
            self.remember(topic, payload, columns, reader)
            return columns
        finally:
            with self._lock:
                self._decoding.pop(key, None)
            pending.set()

    def __len__(self) -> int:
        return len(self._entries)


# One per process: the agents that share it run in the same worker process and read the same messages.
RECENT_COLUMNS = ColumnsCache()
