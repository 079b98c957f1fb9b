"""Projects whose batch the storage refused for good (table ``project_faults``), for operators."""

from __future__ import annotations

import asyncpg

from eventstore.outbox import record_notification
from eventstore.store import insert_once
from schemas.activities import FaultReport


async def record_fault(pool: asyncpg.Pool, report: FaultReport, *, notification_id: str, message: str) -> bool:
    """Record ``report`` and queue an operators' notification, in one transaction.

    Idempotent on project, run and first event version; False when it was recorded before.
    """
    async with pool.acquire() as conn, conn.transaction():
        row = report.model_dump(exclude={"at"}) | {"faulted_at": report.at}
        if report.first_event_version is None:
            row["first_event_version"] = -1
        new = await insert_once(conn, "project_faults", row)
        await record_notification(conn, notification_id, report.project_id, "fault", ["operators"], message, {})
    return new
