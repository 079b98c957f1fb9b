"""A workflow that runs one ``apply_batch`` as the project workflow schedules it, with a heartbeat
timeout of its input's choosing (``tests/workflows/test_heartbeat.py``). Its own module: the
sandbox imports a workflow's module, and the test's imports the activities."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.activities import APPLY_BATCH
    from schemas.effects import Batch
    from workflows.project import _RETRY, _TIMEOUT


class OneBatch(BaseModel):
    batch: Batch
    heartbeat_ms: int


@workflow.defn(name="HeartbeatProbe")
class HeartbeatProbe:
    @workflow.run
    async def run(self, inp: OneBatch) -> int:
        written: int = await workflow.execute_activity(
            APPLY_BATCH,
            inp.batch,
            result_type=int,
            start_to_close_timeout=_TIMEOUT,
            heartbeat_timeout=timedelta(milliseconds=inp.heartbeat_ms),
            retry_policy=_RETRY,
        )
        return written
