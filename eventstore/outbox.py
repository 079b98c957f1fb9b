"""The notifications outbox (table ``notifications``): written with the events, relayed after.

The lifecycle's notifications (warnings, escalations, joint meetings, faults) are queued here in
the transaction of their batch (``record_notification``, idempotent on the notification id). A
relay delivers them (``activities.notifications``) without holding a transaction across its HTTP
calls: ``claim_due`` leases a few rows in one short transaction (``FOR UPDATE SKIP LOCKED``, so
relays in several workers share the work, and one more attempt counted), the relay posts them,
and ``mark_sent`` / ``mark_failed`` record each outcome in a statement of its own (a failure
leases the row out until its next try, backing off). A relay that dies holding a lease leaves its
rows to be claimed again once the lease ran out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from eventstore.store import Executor, insert_once


class Notification(BaseModel):
    """One queued notification, as the relay posts it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notification_id: str
    project_id: str
    kind: str
    recipients: list[str]
    message: str
    payload: dict[str, Any]
    created_at: datetime


class OutboxEntry(Notification):
    """A notification with its delivery state, for operators (``daiban notifications``)."""

    sent_at: datetime | None
    attempts: int
    last_error: str | None


async def record_notification(
    db: Executor,
    notification_id: str,
    project_id: str,
    kind: str,
    recipients: list[str],
    message: str,
    payload: dict[str, Any],
) -> bool:
    """Queue a notification in the outbox; False if this id was queued already."""
    row = {
        "notification_id": notification_id,
        "project_id": project_id,
        "kind": kind,
        "recipients": recipients,
        "message": message,
        "payload": payload,
    }
    return await insert_once(db, "notifications", row)


async def claim_due(db: Executor, *, limit: int, max_attempts: int, lease: timedelta) -> list[Notification]:
    """Lease up to ``limit`` unsent notifications, oldest first, counting one more attempt each.

    One statement, so one short transaction: rows another relay holds (locked or leased) are
    skipped, and so are those that used up ``max_attempts``.
    """
    rows = await db.fetch(
        """WITH due AS (
               SELECT notification_id FROM notifications
               WHERE sent_at IS NULL AND attempts < $1
                 AND (claimed_until IS NULL OR claimed_until < now())
               ORDER BY created_at LIMIT $2
               FOR UPDATE SKIP LOCKED)
           UPDATE notifications n SET claimed_until = now() + $3::interval, attempts = n.attempts + 1
           FROM due WHERE n.notification_id = due.notification_id
           RETURNING n.notification_id, n.project_id, n.kind, n.recipients, n.message, n.payload,
                     n.created_at""",
        max_attempts,
        limit,
        lease,
    )
    return sorted((Notification(**dict(r)) for r in rows), key=lambda n: (n.created_at, n.notification_id))


async def mark_sent(db: Executor, notification_id: str) -> None:
    """The receiver accepted the notification: it is delivered and its lease ends."""
    await db.execute(
        """UPDATE notifications SET sent_at = coalesce(sent_at, now()), last_error = NULL,
                  claimed_until = NULL
           WHERE notification_id = $1""",
        notification_id,
    )


async def mark_failed(
    db: Executor, notification_id: str, error: str, *, retry_base: timedelta, retry_cap: timedelta
) -> int:
    """The delivery failed: keep the error and lease the row out until its next try; return its attempts.

    The next try waits ``retry_base`` doubled with each attempt made (1, 2, 4, ... times), at most
    ``retry_cap``: a receiver that is down is not hammered once a round, and a long outage is waited
    out rather than used up in a few seconds of attempts. ``claimed_until`` holds the time of the
    next try (``claim_due`` skips the row until then). 0 if the row was sent meanwhile.
    """
    attempts = await db.fetchval(
        """UPDATE notifications SET last_error = $2,
                  claimed_until = now() + least($3::interval * power(2, least(greatest(attempts - 1, 0), 30)),
                                                $4::interval)
           WHERE notification_id = $1 AND sent_at IS NULL
           RETURNING attempts""",
        notification_id,
        error[:500],
        retry_base,
        retry_cap,
    )
    return int(attempts or 0)


async def list_notifications(
    db: Executor, *, project_id: str | None = None, unsent_only: bool = False, limit: int = 50
) -> list[OutboxEntry]:
    """Queued notifications, newest first: one project's, or only the undelivered ones."""
    rows = await db.fetch(
        """SELECT notification_id, project_id, kind, recipients, message, payload, created_at,
                  sent_at, attempts, last_error
           FROM notifications
           WHERE ($1::text IS NULL OR project_id = $1) AND (NOT $2 OR sent_at IS NULL)
           ORDER BY created_at DESC LIMIT $3""",
        project_id,
        unsent_only,
        limit,
    )
    return [OutboxEntry(**dict(r)) for r in rows]
