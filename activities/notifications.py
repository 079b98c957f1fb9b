"""Delivery of the notifications outbox to the zone's messaging gateway (SMS, WeChat Work, mail).

The lifecycle writes warnings, escalations, joint meetings and the like to the ``notifications``
table; this sender posts each unsent one as JSON to ``DAIBAN_NOTIFY_WEBHOOK`` and marks it sent.
Several workers may run it: rows are claimed with ``FOR UPDATE SKIP LOCKED``. The receiver gets an
``Idempotency-Key`` (the notification id), since a crash between the POST and the commit sends the
same notification again.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from activities.http import post_json

log = structlog.get_logger(__name__)


class NotificationSender:
    """Posts unsent notifications to one webhook; ``run_once`` drains, ``run_forever`` tails."""

    def __init__(self, pool: asyncpg.Pool, url: str, *, batch_size: int = 50, max_attempts: int = 20) -> None:
        self.pool = pool
        self.url = url
        self.batch_size = batch_size
        self.max_attempts = max_attempts

    async def run_once(self) -> int:
        """Deliver what is due now; return how many were sent."""
        sent = 0
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT notification_id, project_id, kind, recipients, message, payload, created_at
                   FROM notifications
                   WHERE sent_at IS NULL AND attempts < $1
                   ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
                self.max_attempts,
                self.batch_size,
            )
            for row in rows:
                body = {k: (v.isoformat() if k == "created_at" else v) for k, v in dict(row).items()}
                try:
                    await asyncio.to_thread(post_json, self.url, body, row["notification_id"])
                except Exception as exc:  # the receiver's failure is recorded, then retried later
                    await conn.execute(
                        "UPDATE notifications SET attempts = attempts + 1, last_error = $2 WHERE notification_id = $1",
                        row["notification_id"],
                        f"{type(exc).__name__}: {exc}"[:500],
                    )
                    log.warning("notification not delivered", notification_id=row["notification_id"], error=str(exc))
                    continue
                await conn.execute(
                    "UPDATE notifications SET sent_at = now(), attempts = attempts + 1, last_error = NULL "
                    "WHERE notification_id = $1",
                    row["notification_id"],
                )
                sent += 1
        return sent

    async def run_forever(self, stop: asyncio.Event, poll_interval: float = 1.0) -> None:
        """Deliver until ``stop`` is set, waiting out database and receiver outages."""
        log.info("notification sender started", url=self.url)
        while not stop.is_set():
            try:
                await self.run_once()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("notification sender cannot reach the database", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_interval)
        log.info("notification sender stopped")
