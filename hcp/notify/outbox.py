"""The notifier's durable state in one SQLite file: queued notifications, alerts with their acks, and every
delivery attempt with its outcome. A notification is stored before the alert's offset is committed and stays
queued until a channel accepts it, so a channel that is down loses nothing.

Each attempt is also appended to `attempts.jsonl` beside the database, for `read_json` in DuckDB.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from hcp.notify.channels import Notification
from hcp.notify.exceptions import NotifyError

SCHEMA = """
create table if not exists alerts (
    alert_id text primary key, dedup_key text not null, rule text not null, severity text not null,
    site_id text, status text not null, received_at real not null, resolved_at real,
    acked_at real, acked_by text, escalated integer not null default 0, payload text not null
);
create table if not exists notifications (
    id integer primary key, alert_id text not null, channel text not null, kind text not null,
    payload text not null, created_at real not null, status text not null default 'pending',
    attempts integer not null default 0, next_attempt_at real not null, delivered_at real,
    unique (alert_id, channel, kind)
);
create table if not exists attempts (
    id integer primary key, notification_id integer not null, alert_id text not null, channel text not null,
    kind text not null, attempt integer not null, at real not null, outcome text not null, error text,
    duration_ms real not null
);
create index if not exists notifications_due on notifications (status, next_attempt_at);
"""


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt and its outcome (`delivered` or `failed`)."""

    notification: Notification
    attempt: int
    at: float
    outcome: str
    error: str | None
    duration_ms: float


class Outbox:
    """Open (creating if needed) the outbox at `path`; several processes may share it (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.attempts_log = path.with_name("attempts.jsonl")
        try:
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("pragma journal_mode=wal")
            self.db.executescript(SCHEMA)
        except sqlite3.Error as err:
            raise NotifyError(f"cannot open the notification outbox {path}: {err}") from err
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    def alert(self, alert_id: str) -> sqlite3.Row | None:
        return self.db.execute("select * from alerts where alert_id = ?", (alert_id,)).fetchone()

    def last_fired(self, dedup_key: str, before_alert: str) -> float | None:
        row = self.db.execute(
            "select max(received_at) from alerts where dedup_key = ? and alert_id != ?", (dedup_key, before_alert)
        ).fetchone()
        return row[0]

    def record_alert(self, alert: dict[str, object], dedup_key: str, now: float) -> bool:
        """Store a firing or resolved transition; False when this transition was already stored (redelivery)."""
        row = self.alert(str(alert["alert_id"]))
        if alert["status"] == "firing":
            if row is not None:
                return False
            self.db.execute(
                "insert into alerts (alert_id, dedup_key, rule, severity, site_id, status, received_at, payload) "
                "values (?, ?, ?, ?, ?, 'firing', ?, ?)",
                (alert["alert_id"], dedup_key, alert["rule"], alert["severity"], alert.get("site_id"), now,
                 json.dumps(alert)),
            )
            return True
        if row is not None and row["status"] == "resolved":
            return False
        if row is None:  # resolved without its firing (the notifier started after it): keep it for the record
            self.db.execute(
                "insert into alerts (alert_id, dedup_key, rule, severity, site_id, status, received_at, resolved_at, "
                "payload) values (?, ?, ?, ?, ?, 'resolved', ?, ?, ?)",
                (alert["alert_id"], dedup_key, alert["rule"], alert["severity"], alert.get("site_id"), now, now,
                 json.dumps(alert)),
            )
            return True
        self.db.execute("update alerts set status = 'resolved', resolved_at = ? where alert_id = ?",
                        (now, alert["alert_id"]))
        return True

    def enqueue(self, alert: dict[str, object], channel: str, kind: str, now: float) -> bool:
        """Queue one notification; False if the same (alert, channel, kind) is already queued or sent."""
        cursor = self.db.execute(
            "insert or ignore into notifications (alert_id, channel, kind, payload, created_at, next_attempt_at) "
            "values (?, ?, ?, ?, ?, ?)",
            (alert["alert_id"], channel, kind, json.dumps(alert), now, now),
        )
        return cursor.rowcount == 1

    def channels_notified(self, alert_id: str, kind: str = "firing") -> list[str]:
        rows = self.db.execute("select channel from notifications where alert_id = ? and kind = ?", (alert_id, kind))
        return [r[0] for r in rows]

    def due(self, now: float, limit: int = 100) -> list[tuple[Notification, int]]:
        rows = self.db.execute(
            "select * from notifications where status = 'pending' and next_attempt_at <= ? order by id limit ?",
            (now, limit),
        ).fetchall()
        return [(Notification(r["id"], r["channel"], r["kind"], json.loads(r["payload"])), r["attempts"]) for r in rows]

    def delivered_since(self, channel: str, since: float) -> int:
        row = self.db.execute(
            "select count(*) from attempts where channel = ? and outcome = 'delivered' and at >= ?", (channel, since)
        ).fetchone()
        return int(row[0])

    def postpone(self, notification_id: int, until: float) -> None:
        self.db.execute("update notifications set next_attempt_at = ? where id = ?", (until, notification_id))

    def record_attempt(self, attempt: Attempt, next_attempt_at: float | None) -> None:
        """Store an attempt; a delivered one closes its notification, a failed one is retried at `next_attempt_at`."""
        n = attempt.notification
        self.db.execute("begin")
        self.db.execute(
            "insert into attempts (notification_id, alert_id, channel, kind, attempt, at, outcome, error, duration_ms) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (n.notification_id, n.alert["alert_id"], n.channel, n.kind, attempt.attempt, attempt.at, attempt.outcome,
             attempt.error, attempt.duration_ms),
        )
        if attempt.outcome == "delivered":
            self.db.execute("update notifications set status = 'delivered', attempts = ?, delivered_at = ? "
                            "where id = ?", (attempt.attempt, attempt.at, n.notification_id))
        else:
            self.db.execute("update notifications set attempts = ?, next_attempt_at = ? where id = ?",
                            (attempt.attempt, next_attempt_at, n.notification_id))
        self.db.execute("commit")
        with self.attempts_log.open("a") as out:
            out.write(json.dumps({
                "notification_id": n.notification_id, "alert_id": n.alert["alert_id"], "rule": n.alert["rule"],
                "channel": n.channel, "kind": n.kind, "attempt": attempt.attempt, "at": attempt.at,
                "outcome": attempt.outcome, "error": attempt.error, "duration_ms": attempt.duration_ms,
            }) + "\n")

    def ack(self, alert_id: str, by: str, now: float) -> bool:
        """Acknowledge an alert (stops its escalation); False when no such alert is known."""
        cursor = self.db.execute(
            "update alerts set acked_at = coalesce(acked_at, ?), acked_by = coalesce(acked_by, ?) where alert_id = ?",
            (now, by, alert_id),
        )
        return cursor.rowcount == 1

    def unacked_firing(self, received_before: float) -> list[sqlite3.Row]:
        return self.db.execute(
            "select * from alerts where status = 'firing' and acked_at is null and escalated = 0 and received_at <= ?",
            (received_before,),
        ).fetchall()

    def mark_escalated(self, alert_id: str) -> None:
        self.db.execute("update alerts set escalated = 1 where alert_id = ?", (alert_id,))

    def open_alerts(self) -> list[sqlite3.Row]:
        return self.db.execute("select * from alerts where status = 'firing' order by received_at").fetchall()

    def attempt_rows(self, limit: int = 50) -> list[sqlite3.Row]:
        return self.db.execute("select * from attempts order by id desc limit ?", (limit,)).fetchall()
