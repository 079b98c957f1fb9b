"""The department inbox (table ``department_inbox``): submissions waiting for a decision.

Writers are idempotent on (project, matter, submission), so a retried batch writes nothing twice.
The read side (a department's open submissions with their deadlines) is ``queries.department_inbox``.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from eventstore.store import Executor, insert_once
from schemas.effects import SubmitApplication

log = structlog.get_logger(__name__)


async def record_submission(db: Executor, application: SubmitApplication) -> bool:
    """Put a submission in the department's inbox; False if it was there already."""
    return await insert_once(db, "department_inbox", application.model_dump(exclude={"kind"}))


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
