"""``daiban repair``: a project's events re-appended from its Temporal history, idempotently.

The histories are real: a tiny workflow (the shape of the project workflow's flush: activity
``apply_batch`` with ``{"project_id", "events", "effects"}``, or the legacy ``record_events`` with
``{"events"}``) runs on the session's dev server, over several runs chained by continue-as-new,
and its activities append to database A. Repair then rebuilds the stream in database B from the
history alone. A last test does the same with the real project workflow.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import BaseModel, ConfigDict
from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from benchmarks.sample import ProjectStream
from eventstore.repair import RepairError, repair_project
from eventstore.store import EventIdConflict, append, read_stream, verify_chain
from schemas import events as ev
from schemas.events import EventEnvelope
from tests.eventstore.conftest import PrivateDb, _private_db

DAIBAN = str(Path(sys.executable).parent / "daiban")


class ApplyBatchIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    events: list[EventEnvelope]
    effects: list[dict[str, Any]] = []


class RecordEventsIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    events: list[EventEnvelope]


class Batch(BaseModel):
    activity: str  # apply_batch or record_events
    events: list[EventEnvelope]


class ProbeInput(BaseModel):
    project_id: str
    runs: list[list[Batch]]  # one list of batches per run; the workflow continues as new between runs


@workflow.defn(name="RepairProbe")
class RepairProbe:
    @workflow.run
    async def run(self, inp: ProbeInput) -> None:
        for batch in inp.runs[0]:
            arg: BaseModel = (
                ApplyBatchIn(project_id=inp.project_id, events=batch.events, effects=[{"kind": "notify"}])
                if batch.activity == "apply_batch"
                else RecordEventsIn(events=batch.events)
            )
            await workflow.execute_activity(batch.activity, arg, start_to_close_timeout=timedelta(seconds=30))
        if len(inp.runs) > 1:
            workflow.continue_as_new(ProbeInput(project_id=inp.project_id, runs=inp.runs[1:]))


class StoreActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name="apply_batch")
    async def apply_batch(self, inp: ApplyBatchIn) -> int:
        return await append(self.pool, inp.events)

    @activity.defn(name="record_events")
    async def record_events(self, inp: RecordEventsIn) -> int:
        return await append(self.pool, inp.events)


def lifecycle(project_id: str) -> list[EventEnvelope]:
    s = ProjectStream(project_id)
    events = [s.register("zone-repair")]
    events += [s.emit(ev.AgentReassigned, from_agent="王芳", to_agent="李强", by="张伟", reason="AB岗")]
    events += [s.emit(ev.ConstructionProgressReported, percent=p, note="进度") for p in (10, 20, 35, 50, 80)]
    caused = [e.model_copy(update={"causation_id": f"req-{e.version}"}) if e.version % 2 else e for e in events]
    return [EventEnvelope(**e.model_dump()) for e in caused]


async def run_probe(env: WorkflowEnvironment, pool: asyncpg.Pool, project_id: str, runs: list[list[Batch]]) -> None:
    queue = f"tq-repair-{uuid.uuid4().hex[:8]}"
    acts = StoreActivities(pool)
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[RepairProbe],
        activities=[acts.apply_batch, acts.record_events],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await env.client.start_workflow(
            RepairProbe.run, ProbeInput(project_id=project_id, runs=runs), id=f"project-{project_id}", task_queue=queue
        )
        await handle.result()


async def stream_rows(pool: asyncpg.Pool, project_id: str) -> list[tuple[Any, ...]]:
    return [
        (e.event_id, e.version, e.event_type, e.payload, e.occurred_at, e.causation_id, e.prev_hash, e.hash)
        for e in await read_stream(pool, project_id)
    ]


@pytest.fixture
async def other_db(pg_server_dsn: str) -> Any:
    async for db in _private_db(pg_server_dsn):
        yield db


async def test_repair_rebuilds_a_stream_from_every_run_of_the_history(
    dev_env: WorkflowEnvironment, private_db: PrivateDb, other_db: PrivateDb
) -> None:
    pid = f"p-{uuid.uuid4().hex[:10]}"
    events = lifecycle(pid)
    # Three runs; the first flushes with the legacy activity, a batch is sent twice (a resend after
    # continue-as-new), as the workflow may.
    runs = [
        [Batch(activity="record_events", events=events[:2])],
        [Batch(activity="apply_batch", events=events[2:4]), Batch(activity="apply_batch", events=events[3:5])],
        [Batch(activity="apply_batch", events=events[5:])],
    ]
    await run_probe(dev_env, private_db.pool, pid, runs)
    a = await stream_rows(private_db.pool, pid)
    assert len(a) == len(events)

    first = await repair_project(other_db.pool, dev_env.client, pid)
    assert (first.runs, first.batches, first.events_in_history) == (3, 4, len(events))
    assert (first.appended, first.already_present) == (len(events), 0)
    assert await stream_rows(other_db.pool, pid) == a  # same events, same chain
    assert await verify_chain(other_db.pool, pid) == []

    again = await repair_project(other_db.pool, dev_env.client, pid)
    assert (again.appended, again.already_present) == (0, len(events))
    # Against A, which has everything: nothing to do either.
    assert (await repair_project(private_db.pool, dev_env.client, pid)).appended == 0


async def test_repair_appends_only_the_missing_tail_and_refuses_other_content(
    dev_env: WorkflowEnvironment, private_db: PrivateDb, other_db: PrivateDb
) -> None:
    pid = f"p-{uuid.uuid4().hex[:10]}"
    events = lifecycle(pid)
    await run_probe(dev_env, private_db.pool, pid, [[Batch(activity="apply_batch", events=events)]])
    # B was restored from a backup taken after the third event.
    await append(other_db.pool, events[:3])
    result = await repair_project(other_db.pool, dev_env.client, pid)
    assert (result.appended, result.already_present) == (len(events) - 3, 3)
    assert await stream_rows(other_db.pool, pid) == await stream_rows(private_db.pool, pid)

    # A store whose stream says something else than the history: refused, nothing written.
    pid2 = f"p-{uuid.uuid4().hex[:10]}"
    events2 = lifecycle(pid2)
    await run_probe(dev_env, private_db.pool, pid2, [[Batch(activity="apply_batch", events=events2)]])
    forged = events2[0].model_copy(update={"payload": {**events2[0].payload, "zone": "elsewhere"}})
    await append(other_db.pool, [forged])
    with pytest.raises(EventIdConflict):
        await repair_project(other_db.pool, dev_env.client, pid2)
    assert len(await read_stream(other_db.pool, pid2)) == 1

    with pytest.raises(RepairError, match="no workflow project-p-nowhere"):
        await repair_project(other_db.pool, dev_env.client, "p-nowhere")


async def daiban(env: WorkflowEnvironment, dsn: str, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        DAIBAN,
        *args,
        env=dict(
            os.environ,
            DATABASE_URL=dsn,
            DAIBAN_TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
            DAIBAN_TEMPORAL_NAMESPACE=env.client.namespace,
            COLUMNS="200",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_daiban_repair_from_the_command_line(
    dev_env: WorkflowEnvironment, private_db: PrivateDb, other_db: PrivateDb
) -> None:
    pid = f"p-{uuid.uuid4().hex[:10]}"
    events = lifecycle(pid)
    await run_probe(
        dev_env,
        private_db.pool,
        pid,
        [[Batch(activity="apply_batch", events=events[:4])], [Batch(activity="apply_batch", events=events[4:])]],
    )
    code, out, err = await daiban(dev_env, other_db.dsn, "repair", pid)
    assert code == 0, err
    assert f"{pid}: appended {len(events)} event(s), 0 already present" in out
    code, out, err = await daiban(dev_env, other_db.dsn, "repair", pid, "--json")
    assert code == 0, err
    assert json.loads(out)["appended"] == 0 and json.loads(out)["already_present"] == len(events)
    code, _, err = await daiban(dev_env, other_db.dsn, "repair", "p-nowhere")
    assert code == 2 and err.strip() == "daiban: project_id: Temporal has no workflow project-p-nowhere"


async def test_repair_a_real_project_from_its_workflow_history(
    dev: Any, pg_pool: asyncpg.Pool, other_db: PrivateDb
) -> None:
    # The project workflow flushes with apply_batch (or, in histories before it, record_events):
    # repair reads either. Database A is the session's, B a fresh empty one.
    from tests.workflows.helpers import approve_all, settle

    handle = await dev.start()
    await approve_all(handle, until_stage="approval_land")
    await settle(handle)
    pid = handle.id.removeprefix("project-")
    a = await stream_rows(pg_pool, pid)
    assert len(a) >= 5

    result = await repair_project(other_db.pool, dev.client, pid)
    assert (result.appended, result.already_present) == (len(a), 0)
    assert await stream_rows(other_db.pool, pid) == a
    assert await verify_chain(other_db.pool, pid) == []
    assert (await repair_project(other_db.pool, dev.client, pid)).appended == 0
    assert (await repair_project(pg_pool, dev.client, pid)).appended == 0
