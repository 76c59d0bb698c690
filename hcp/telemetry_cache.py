"""The columns of recently decoded telemetry messages, so that the agents of one worker decode each poll once.

The fleet, alerting and billing agents (and the landing agent, on a verdict-memo miss) of an ingest worker read
the same telemetry messages, a few hundred milliseconds apart. Decoding is a pure function of (topic, payload),
so the first agent's columns serve the others: the key is the topic and the payload's hash, and a hit is
returned only when the stored payload is the same bytes. Bounded by readings held (not messages), oldest first;
an agent further behind than that decodes again, with the same result.

The columns are shared between agents: callers must not modify their arrays or lists.
"""

from __future__ import annotations

import threading
from typing import Any

DEFAULT_CAPACITY_READINGS = 200_000  # about 30 MB of columns; about 400 polls of 500 readings


class ColumnsCache:
    """Decoded telemetry by (topic, payload), up to `capacity_readings` readings."""

    def __init__(self, capacity_readings: int = DEFAULT_CAPACITY_READINGS) -> None:
        self.capacity_readings = capacity_readings
        self.hits = self.misses = 0
        self._readings = 0
        self._entries: dict[tuple[str, int], tuple[bytes, Any]] = {}
        self._lock = threading.Lock()

    def recall(self, topic: str, payload: bytes | None) -> Any | None:
        """The columns stored for this exact payload on this topic, or None."""
        entry = self._entries.get((topic, hash(payload))) if payload is not None else None
        if entry is None or not (entry[0] is payload or entry[0] == payload):
            self.misses += 1
            return None
        self.hits += 1
        return entry[1]

    def remember(self, topic: str, payload: bytes, columns: Any) -> None:
        """Store `columns` (anything with a length: its readings) for the payload; drop the oldest beyond capacity."""
        size = len(columns)
        if size > self.capacity_readings:
            return
        with self._lock:
            key = (topic, hash(payload))
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._readings -= len(previous[1])
            self._entries[key] = (payload, columns)
            self._readings += size
            while self._readings > self.capacity_readings:
                oldest = next(iter(self._entries))
                self._readings -= len(self._entries.pop(oldest)[1])

    def __len__(self) -> int:
        return len(self._entries)


# One per process: the agents that share it run in the same worker process and read the same messages.
RECENT_COLUMNS = ColumnsCache()
