"""The department inbox (table ``department_inbox``): applications to accept and to decide.

A row is an application as received (``phase`` ``acceptance``: the period to accept it,
行政许可法 §32's 5 working days or the matter's own rule), then accepted (``decision``) until
decided, refused or withdrawn (``closed_at``).

Writers are idempotent on (project, matter, submission), so a retried batch writes nothing twice.
The read side (a department's open submissions with their deadlines) is ``queries.department_inbox``.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from eventstore.store import Executor, insert_once
from schemas.effects import AcceptSubmission, SubmitApplication

log = structlog.get_logger(__name__)


async def record_submission(db: Executor, application: SubmitApplication) -> bool:
    """Put a submission in the department's inbox; False if it was there already."""
    return await insert_once(db, "department_inbox", application.model_dump(exclude={"kind"}))


async def accept_submission(db: Executor, accepted: AcceptSubmission) -> bool:
    """Move a received application to "to decide"; False if it was accepted (or closed) already."""
    status: str = await db.execute(
        """UPDATE department_inbox
           SET phase = 'decision', accepted_at = $4,
               payload = payload || jsonb_build_object('deadline', $5::text)
           WHERE project_id = $1 AND matter_code = $2 AND submission = $3
             AND phase = 'acceptance' AND closed_at IS NULL""",
        accepted.project_id,
        accepted.matter_code,
        accepted.submission,
        accepted.accepted_at,
        accepted.deadline.isoformat() if accepted.deadline else None,
    )
    return status.endswith(" 1")


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


async def submission_stored(db: Executor, project_id: str, matter_code: str, submission: int) -> bool:
    """Whether the department inbox holds this submission (its batch has committed)."""
    found = await db.fetchval(
        "SELECT 1 FROM department_inbox WHERE project_id = $1 AND matter_code = $2 AND submission = $3",
        project_id,
        matter_code,
        submission,
    )
    return found is not None
