"""The department inbox (table ``department_inbox``): submissions waiting for a decision.

Writers are idempotent on (project, matter, submission), so a retried batch writes nothing twice.
The read side (a department's open submissions with their deadlines) is ``queries.department_inbox``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from eventstore.store import Executor

log = structlog.get_logger(__name__)


async def record_submission(
    db: Executor,
    project_id: str,
    matter_code: str,
    submission: int,
    department: str,
    payload: dict[str, Any],
    submitted_at: datetime,
) -> bool:
    """Put a submission in the department's inbox; False if it was there already."""
    status = await db.execute(
        """INSERT INTO department_inbox (project_id, matter_code, submission, department, payload,
                  submitted_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        project_id,
        matter_code,
        submission,
        department,
        payload,
        submitted_at,
    )
    return bool(status == "INSERT 0 1")


async def close_submission(
    db: Executor,
    project_id: str,
    matter_code: str,
    submission: int,
    outcome: str,
    closed_at: datetime,
) -> bool:
    """Close an inbox row with the decision's outcome; False if it was closed already.

    The first close wins: a retry is a no-op, and a later close with another outcome is logged.
    """
    closed = await db.fetchrow(
        """WITH closing AS (
               UPDATE department_inbox SET closed_at = $5, outcome = $4
               WHERE project_id = $1 AND matter_code = $2 AND submission = $3
                 AND closed_at IS NULL
               RETURNING 1)
           SELECT EXISTS (SELECT 1 FROM closing) AS now,
                  (SELECT outcome FROM department_inbox
                   WHERE project_id = $1 AND matter_code = $2 AND submission = $3) AS before""",
        project_id,
        matter_code,
        submission,
        outcome,
        closed_at,
    )
    assert closed is not None
    if not closed["now"] and closed["before"] != outcome:
        log.warning(
            "inbox row not closed",
            project_id=project_id,
            matter_code=matter_code,
            submission=submission,
            outcome=outcome,
            recorded=closed["before"],
        )
    return bool(closed["now"])
