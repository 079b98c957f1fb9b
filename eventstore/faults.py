"""Projects whose batch the storage refused for good (table ``project_faults``), for operators."""

from __future__ import annotations

import asyncpg

from eventstore.outbox import record_notification
from schemas.activities import FaultReport


async def record_fault(pool: asyncpg.Pool, report: FaultReport, *, notification_id: str, message: str) -> bool:
    """Record ``report`` and queue an operators' notification, in one transaction.

    Idempotent on project, run and first event version; False when it was recorded before.
    """
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.execute(
            """INSERT INTO project_faults (project_id, run_id, first_event_version, error_type, message,
                      batch_summary, faulted_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
            report.project_id,
            report.run_id,
            report.first_event_version if report.first_event_version is not None else -1,
            report.error_type,
            report.message,
            report.batch_summary,
            report.at,
        )
        await record_notification(conn, notification_id, report.project_id, "fault", ["operators"], message, {})
    return bool(status == "INSERT 0 1")
