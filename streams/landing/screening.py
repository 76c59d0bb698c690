"""Screening valid-looking telemetry that cannot be true: a site the fleet lacks, a device clock a day off. Pure.

Validation (`triage`) checks each message against its record class alone. Screening adds what needs context:
- a telemetry poll keyed by a site that is not in the fleet (devices of an unknown site; a new device at a
  known site is discovery, not an error);
- a telemetry poll whose event time is more than `max_ahead` after, or more than `max_behind` before, the
  latest event time accepted from the same site and topic (a device or collector clock a day off). A clock that
  really moved (a site back after a long outage) is accepted from its `jump_after`-th consecutive poll ahead on,
  each later than the one before (copies of one wrong timestamp never count as a moved clock):
  the polls before that are dead-lettered and can be replayed (`hcp dead-letters replay`).
Screened messages move from the landed part of the triage to its rejections, so they are dead-lettered with the
reason, like invalid ones. The reference time starts at the first accepted poll of each site after a worker
starts: a wrong clock on the very first poll is taken as the reference (documented in docs/reliability.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hcp.exceptions import RecordError
from hcp.landing import LandedMessage
from hcp.topics import TELEMETRY_ASIC, TELEMETRY_GPU
from streams.landing.triage import RawMessage, Rejection, Triage, dead_letter_for

SCREENED_TOPICS = (TELEMETRY_ASIC, TELEMETRY_GPU)


class ImplausibleRecordError(RecordError):
    """A valid record that cannot be true in context (unknown site, clock far off)."""


@dataclass
class TelemetryScreen:
    """The sites the fleet knows and, per (topic, site), the latest event time accepted."""

    known_sites: frozenset[str]
    max_ahead: timedelta = timedelta(hours=6)
    max_behind: timedelta = timedelta(hours=24)
    jump_after: int = 3
    latest: dict[tuple[str, str], datetime] = field(default_factory=dict)
    ahead_streak: dict[tuple[str, str], tuple[int, datetime]] = field(default_factory=dict)

    def reason(self, message: LandedMessage) -> str | None:
        """Why this landed-to-be telemetry message is implausible, or None (and then it becomes the reference)."""
        site = message.key or ""
        if self.known_sites and site not in self.known_sites:
            return f"site {site!r} is not in the fleet (known: {', '.join(sorted(self.known_sites))})"
        if message.event_time is None:
            return None
        key = (message.topic, site)
        latest = self.latest.get(key)
        if latest is not None:
            if message.event_time > latest + self.max_ahead:
                # A clock that moved keeps ticking: only polls ahead *and* later than the previous one count.
                count, last = self.ahead_streak.get(key, (0, latest))
                count = count + 1 if message.event_time > last else count
                self.ahead_streak[key] = (count, max(last, message.event_time))
                if count < self.jump_after:
                    ahead = message.event_time - latest
                    return f"event_time {message.event_time.isoformat()} is {ahead} ahead of {site}"
            elif message.event_time < latest - self.max_behind:
                return f"event_time {message.event_time.isoformat()} is {latest - message.event_time} behind {site}"
        self.ahead_streak.pop(key, None)
        if latest is None or message.event_time > latest:
            self.latest[key] = message.event_time
        return None


def screen_triage(triage: Triage, screen: TelemetryScreen | None) -> Triage:
    """The triage with implausible telemetry moved from `landed` to `rejected` (unchanged without a screen)."""
    if screen is None:
        return triage
    landed: dict[tuple[str, int], list[LandedMessage]] = {}
    rejected = list(triage.rejected)
    for (topic, partition), messages in triage.landed.items():
        if topic not in SCREENED_TOPICS:
            landed[(topic, partition)] = messages
            continue
        kept = []
        for message in messages:
            why = screen.reason(message)
            if why is None:
                kept.append(message)
            else:
                raw = RawMessage(
                    topic, partition, message.offset, message.key.encode() if message.key is not None else None,
                    message.value, message.kafka_timestamp_ms, message.headers,
                )
                rejected.append(Rejection(raw, dead_letter_for(raw, ImplausibleRecordError(topic, why))))
        if kept:
            landed[(topic, partition)] = kept
    return Triage(landed=landed, rejected=rejected)
