"""The waiting room: ten priority levels, FIFO within a level, grouped by demand so a blocked shape is skipped."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from hcp.routing.jobs import PRIORITY_LEVELS

DemandKey = tuple[str | None, int]
"""(GPU type or None for any, demand in milli-GPUs): jobs with the same key fit exactly where each other fit."""


@dataclass(frozen=True)
class _Entry:
    level: int
    key: DemandKey
    token: int


class JobQueue:
    """Queued job ids by level (9 first) and, within a level, by sequence number (lowest first).

    Jobs of one demand key share a heap: if the head of a group cannot start, none of the group can, so a
    scheduling pass costs one attempt per (level, key) rather than one per queued job.
    """

    def __init__(self) -> None:
        self._groups: list[dict[DemandKey, list[tuple[int, int, str]]]] = [{} for _ in range(PRIORITY_LEVELS)]
        self._entries: dict[str, _Entry] = {}
        self._tokens = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._entries

    def push(self, job_id: str, level: int, key: DemandKey, seq: int) -> None:
        """Queue `job_id` at `level`; `seq` orders it within the level (a requeued job keeps its first seq)."""
        self._tokens += 1
        self._entries[job_id] = _Entry(level, key, self._tokens)
        heapq.heappush(self._groups[level].setdefault(key, []), (seq, self._tokens, job_id))

    def remove(self, job_id: str) -> None:
        """Take `job_id` out of the queue (its heap entry goes stale and is dropped when reached)."""
        del self._entries[job_id]

    def levels(self) -> Iterator[int]:
        """Levels that may hold jobs, highest first."""
        return (level for level in range(PRIORITY_LEVELS - 1, -1, -1) if self._groups[level])

    def heads(self, level: int) -> list[tuple[int, DemandKey]]:
        """(seq, key) of the first job of each non-empty group at `level`, as a heap."""
        heads = []
        for key in list(self._groups[level]):
            head = self.head(level, key)
            if head is not None:
                heads.append((head[0], key))
        heapq.heapify(heads)
        return heads

    def members(self, level: int, key: DemandKey) -> list[tuple[int, str]]:
        """(seq, job_id) of every queued job of a group, in queue order."""
        group = self._groups[level].get(key, [])
        return sorted((seq, job_id) for seq, token, job_id in group if self._valid(job_id, token))

    def _valid(self, job_id: str, token: int) -> bool:
        entry = self._entries.get(job_id)
        return entry is not None and entry.token == token

    def head(self, level: int, key: DemandKey) -> tuple[int, str] | None:
        """(seq, job_id) of the first valid job of a group, or None (and the empty group is dropped)."""
        group = self._groups[level].get(key)
        while group:
            seq, token, job_id = group[0]
            entry = self._entries.get(job_id)
            if entry is not None and entry.token == token:
                return seq, job_id
            heapq.heappop(group)
        self._groups[level].pop(key, None)
        return None
