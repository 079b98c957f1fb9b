"""The legal clock runs inside Temporal's workflow sandbox, fed as data."""

from __future__ import annotations

import sys
import textwrap
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from infra.temporal import LOCAL_SERVER_STARTUP
from legalclock import Clock, Deadline, OfficeHours, default_calendar

pytest.importorskip("temporalio")

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

TEST_SERVER = Path(sys.prefix) / "bin" / "temporal-test-server"

# legalclock is deliberately NOT passed through: the sandbox imports it afresh, which fails
# on any non-deterministic call made at import time.
WORKFLOW = """
from datetime import datetime
from pydantic import BaseModel
from temporalio import workflow

from legalclock import Clock, Deadline, OfficeHours, OfficialCalendar, SuspensionKind


class Input(BaseModel):
    clock: Clock
    calendar: OfficialCalendar
    hours: OfficeHours


@workflow.defn
class DeadlineWorkflow:
    @workflow.run
    async def run(self, data: Input) -> list[Deadline]:
        plain = data.clock.deadline(data.calendar, data.hours)
        stopped = data.clock.stop(SuspensionKind.CORRECTION, datetime.fromisoformat(
            "2026-09-29T10:00+08:00")).resume(datetime.fromisoformat("2026-10-09T10:00+08:00"))
        return [plain, stopped.deadline(data.calendar, data.hours)]
"""


@pytest.mark.asyncio
@pytest.mark.skipif(not TEST_SERVER.exists(), reason="no local Temporal test server")
async def test_deadline_inside_a_workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = f"legalclock_sandbox_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(WORKFLOW))
    monkeypatch.syspath_prepend(str(tmp_path))
    defs = __import__(module)
    calendar = default_calendar().slice(2026, 2026)
    clock = Clock.model_validate_json('{"accepted_at": "2026-09-21T02:00:00Z", "limit_days": 20}')
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER),
        test_server_startup_timeout=LOCAL_SERVER_STARTUP,
    )
    try:
        config = env.client.config()
        config["data_converter"] = pydantic_data_converter
        client = Client(**config)
        queue = f"legalclock-{uuid.uuid4()}"
        async with Worker(client, task_queue=queue, workflows=[defs.DeadlineWorkflow]):
            result = await client.execute_workflow(
                defs.DeadlineWorkflow.run,
                defs.Input(clock=clock, calendar=calendar, hours=OfficeHours()),
                id=f"legalclock-{uuid.uuid4()}",
                task_queue=queue,
                result_type=list[Deadline],
                execution_timeout=timedelta(seconds=30),
            )
    finally:
        await env.shutdown()
    assert [d.at.isoformat() if d.at else None for d in result] == [
        "2026-10-26T17:30:00+08:00",
        "2026-10-29T17:30:00+08:00",
    ]
    assert {d.calendar_version for d in result} == {calendar.version}
