"""``ZoneDutyWorkflow``: one run of the zone's periodic work, started by a Temporal Schedule.

Contract: workflow ``ZoneDutyWorkflow``, input ``ZoneDuty`` (``schemas.duties``), result
``DutyResult``; no signals, updates or queries. Its schedule (``infra.schedules``) names the
duty; the run asks ``perform_zone_duty`` for the instant it was started (``workflow.now()``),
which keys the period (a day, an ISO week, a year). Workflow code: deterministic.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from schemas.duties import PERFORM_ZONE_DUTY, DutyResult, DutyRun, ZoneDuty


@workflow.defn
class ZoneDutyWorkflow:
    """Run one zone duty (``schemas.duties``) once; its schedule starts the next."""

    @workflow.run
    async def run(self, duty: ZoneDuty) -> DutyResult:
        result: DutyResult = await workflow.execute_activity(
            PERFORM_ZONE_DUTY,
            DutyRun(kind=duty.kind, at=workflow.now()),
            result_type=DutyResult,
            summary=duty.kind.replace("_", " "),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
        )
        return result
