"""A batch the storage refused for good: the operators are told (activity ``record_fault``).

Workflow code: deterministic, Temporal APIs only. ``ProjectWorkflow`` parks the project (its
``_fault``) and calls ``report_fault``; the refused batch stays in the outbox until an operator
sends ``retry_faulted``.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from schemas.activities import RECORD_FAULT, FaultRecorded, FaultReport
    from schemas.effects import Batch


async def report_fault(batch: Batch, cause: ApplicationError, start_to_close: timedelta) -> FaultRecorded | None:
    """Record the refused ``batch`` (table ``project_faults``, a notification, a metric); retried
    until stored, at most a minute apart.

    The activity's result is the fault recorded (``FaultRecorded``, readable in the UI); it is None
    in histories recorded before it had one (a null payload decodes to None whatever the type).
    """
    recorded: FaultRecorded | None = await workflow.execute_activity(
        RECORD_FAULT,
        FaultReport(
            project_id=batch.project_id,
            run_id=workflow.info().run_id,
            error_type=cause.type or "unknown",
            message=cause.message,
            batch_summary=batch.summary(),
            first_event_version=batch.events[0].version if batch.events else None,
            at=workflow.now(),
        ),
        result_type=FaultRecorded,
        summary=f"record fault: {cause.type}",
        start_to_close_timeout=start_to_close,
        retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
    )
    return recorded
