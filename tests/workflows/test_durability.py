"""Durability: nothing a restart can lose (issue 9's regression cases, each on a real dev server).

- A worker without a workflow cache replays the whole history on every workflow task, as a
  restarted worker does; updates streaming in while activities complete must never make it
  diverge (the original bug: the next command depended on how the SDK ordered jobs).
- Continue-as-new happens in every stage, not only during construction.
- A storm of concurrent commands from three processes (three connections): each keeps at most
  ``interfaces.admission.DEFAULT_LIMIT`` in flight and queues the rest; together they pass
  Temporal's 10 in-flight updates, so Temporal refuses some (and clears the project's cached
  state, aborting the others); the clients retry with the same request ids after jittered
  backoff, and each command is applied exactly once.
- A batch the storage refuses for good parks the project loudly (search attribute, current
  details, fault row, operator notification) instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities import content
from activities.project import ProjectActivities
from interfaces.client import DaibanClient
from schemas import commands
from schemas.effects import Batch
from schemas.project import ProgressReport, ReassignAgent, ResumeClock, RetryFaulted, StopClock
from tests.faults.checks import timer_gaps
from tests.harness import Harness, adapter_worker
from tests.support import rid
from tests.workflows.helpers import (
    approve_all,
    decide,
    events,
    open_all,
    search_attributes,
    settle,
    storage_refusing,
    view,
)
from worker import WORKFLOWS, activities_of
from workflows.project import SHORT_RUN_EVENTS, ProjectWorkflow
from workflows.start import CARRIED_METADATA


async def _history_problems(h: WorkflowHandle[Any, Any]) -> list[str]:
    """Workflow task failures in the history (a nondeterminism error shows up as one)."""
    out = []
    async for e in h.fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            out.append(e.workflow_task_failed_event_attributes.failure.message)
    return out


async def _replays(h: WorkflowHandle[Any, Any]) -> None:
    history = await h.fetch_history()
    result = await Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure


async def test_updates_racing_activities_replay_on_a_worker_without_cache(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    content.load_shipped()
    async with (
        adapter_worker(dev_env.client, task_queue, pg_pool),
        Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=activities_of(ProjectActivities(pg_pool)),
            max_cached_workflows=0,  # every workflow task replays the history from the start
        ),
    ):
        harness = Harness(dev_env.client, task_queue, pg_pool)
        client = DaibanClient(dev_env.client, task_queue)
        h = await harness.start(zone="yanhu")
        pid = (await approve_all(h, "construction", prefix="nc")).project_id
        # Commands keep arriving while each flush's activity completes: jobs of both kinds share
        # workflow tasks, in whatever order the server delivers them.
        for round_ in range(6):
            cmds = [ProgressReport(request_id=rid(), percent=round_ * 10, by="agent-li") for _ in range(4)]
            await asyncio.gather(*(client.report_progress(pid, c) for c in cmds))
        await settle(h)
        assert await _history_problems(h) == []
        rows = await events(pg_pool, pid)
        assert [r["version"] for r in rows] == list(range(1, len(rows) + 1))
        assert sum(r["event_type"] == "ConstructionProgressReported" for r in rows) == 24
        await _replays(h)
        await harness.terminate_all()


async def test_continue_as_new_in_an_approval_stage(dev: Harness, pg_pool: asyncpg.Pool) -> None:
    h = await dev.start(zone="tunliu", history_limit=100)
    await approve_all(h, "approval_land", prefix="can")
    await open_all(h, "can")
    client = DaibanClient(dev.client, dev.task_queue)
    pid = (await view(h)).project_id
    for _ in range(15):  # stop/resume pairs: ~10 history events each, in the land-approval stage
        await client.stop_clock(
            pid, StopClock(matter_code="eia", department="ecology", kind="testing", reason="lab", expected_days=5)
        )
        await client.resume_clock(pid, ResumeClock(matter_code="eia", department="ecology"))
    runs = {w.run_id async for w in dev.client.list_workflows(f"WorkflowId = '{h.id}'")}
    assert len(runs) >= 2, "the project continued as new before construction"
    v = await view(h)
    assert v.stage == "approval_land" and v.events_emitted > 30
    rows = await events(pg_pool, pid, wait_for="ClockResumed")
    await settle(dev.client.get_workflow_handle(h.id))
    rows = await events(pg_pool, pid)
    assert [r["version"] for r in rows] == list(range(1, len(rows) + 1)), "one gap-free stream across runs"
    # A continued run's input, as the UI shows it, is the registration (and the limit it was
    # given); the carried state travels compressed in the payload's metadata (``workflows.start``).
    async for e in dev.client.get_workflow_handle(h.id).fetch_history_events():
        payload = e.workflow_execution_started_event_attributes.input.payloads[0]
        shown = json.loads(payload.data)
        assert set(shown) == {"registration", "history_limit"} and CARRIED_METADATA in payload.metadata
        assert shown["registration"]["project_id"] == pid and "stage" not in json.dumps(shown)
        break


async def test_a_storm_of_commands_is_applied_once_each(dev: Harness, pg_pool: asyncpg.Pool) -> None:
    h = await dev.start(zone="yanhu")
    pid = (await approve_all(h, "construction", prefix="storm")).project_id
    target = dev.client.service_client.config.target_host
    clients = [
        DaibanClient(await Client.connect(target, data_converter=pydantic_data_converter), dev.task_queue)
        for _ in range(3)
    ]
    client = clients[0]
    cmds = [ProgressReport(request_id=rid(), percent=20, by="agent-li") for _ in range(60)]
    # 60 at once, 20 from each process: 3 x 5 in flight against Temporal's 10 per workflow. Before
    # the gate, one process sent all 60 and the refusals kept the project from completing any
    # workflow task until the client gave up (a CI failure). On 2 loaded cores the retries can
    # take longer than the default 30 s.
    acks = await asyncio.gather(
        *(clients[i % 3].send(commands.REPORT_PROGRESS, pid, c, wait=120) for i, c in enumerate(cmds))
    )
    assert {a.request_id for a in acks} == {c.request_id for c in cmds}
    # Resent (as a caller whose connection broke would): the first answers, nothing applied again.
    again = await asyncio.gather(*(client.report_progress(pid, c) for c in cmds[:10]))
    assert all(a.duplicate for a in again)
    for _ in range(100):
        n = await pg_pool.fetchval(
            "SELECT count(*) FROM events WHERE stream_id = $1 AND event_type = 'ConstructionProgressReported'", pid
        )
        if n >= 60:
            break
        await asyncio.sleep(0.1)
    assert n == 60
    # Patch lean-batches: the storm's batches overlapped in flight, yet each event crossed history once.
    await settle(dev.client.get_workflow_handle(h.id))
    sent = await _batched_event_ids(dev, h.id)
    stored = [r["event_id"] for r in await pg_pool.fetch("SELECT event_id FROM events WHERE stream_id = $1", pid)]
    assert sorted(sent) == sorted(stored), "every stored event in exactly one batch"
    # Patch quiet-endings: past its limit a run waits for its batches and starts no timer meanwhile.
    windows = await _ending_windows(dev, h.id)
    assert any(w.updates and w.waited for w in windows), "updates handled while an ending run waited"
    assert [w for w in windows if w.timers] == [], "no alarm timer started while a run was ending"


@dataclass
class _Ending:
    """A run's tasks from the first one past its limit (``SHORT_RUN_EVENTS``) to its continue-as-new."""

    run_id: str
    updates: int = 0  # updates accepted in those tasks
    timers: list[int] = field(default_factory=list)  # event ids of timers started in them
    waited: bool = False  # the continue-as-new came in a later task than the first past the limit


async def _runs(dev: Harness, workflow_id: str) -> AsyncIterator[tuple[str, list[HistoryEvent]]]:
    """Every run of ``workflow_id``: its run id and its history's events."""
    async for run in dev.client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        handle = dev.client.get_workflow_handle(workflow_id, run_id=run.run_id)
        yield run.run_id, [e async for e in handle.fetch_history_events()]


async def _ending_windows(dev: Harness, workflow_id: str) -> list[_Ending]:
    out = []
    async for run_id, history in _runs(dev, workflow_id):
        if history[-1].event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            continue
        started = [
            e.event_id
            for e in history
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED and e.event_id > SHORT_RUN_EVENTS
        ]
        if not started:  # continued as new on the server's suggestion, before its limit
            continue
        w = _Ending(run_id, waited=len(started) > 1)
        for e in history:
            if e.event_id <= started[0]:
                continue
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                w.updates += 1
            elif e.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                w.timers.append(e.event_id)
        out.append(w)
    return out


async def _batched_event_ids(dev: Harness, workflow_id: str) -> list[str]:
    """The event ids of every ``apply_batch`` input in every run of ``workflow_id``, repeats kept."""
    ids: list[str] = []
    async for _, history in _runs(dev, workflow_id):
        for e in history:
            a = e.activity_task_scheduled_event_attributes
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and a.activity_type.name == "apply_batch":
                (batch,) = pydantic_data_converter.payload_converter.from_payloads(a.input.payloads, [Batch])
                ids += [ev.event_id for ev in batch.events]
    return ids


async def test_a_batch_refused_for_good_parks_the_project_loudly(dev: Harness, pg_pool: asyncpg.Pool) -> None:
    h = await dev.start(zone="tunliu")
    v = await open_all(h)
    pending = next(m for m in v.matters if m.state == "pending")
    async with storage_refusing(pg_pool, v.project_id):
        await _parks_loudly(h, pg_pool, v.project_id, pending.code, pending.department)


async def _parks_loudly(h: Any, pg_pool: asyncpg.Pool, project_id: str, code: str, department: str) -> None:
    await decide(h, code, department, "refused-1", by="clerk")
    await search_attributes(h, DaibanFaulted=True)
    desc = await h.describe()
    assert desc.status is not None and desc.status.name == "RUNNING"
    meta = await h.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert meta.current_details.startswith("FAULT") and "StorageRefused" in meta.current_details
    fault = None
    for _ in range(100):
        fault = await pg_pool.fetchrow(
            "SELECT error_type, message FROM project_faults WHERE project_id = $1", project_id
        )
        if fault:
            break
        await asyncio.sleep(0.1)
    assert fault is not None and fault["error_type"] == "StorageRefused"
    note = await pg_pool.fetchval(
        "SELECT count(*) FROM notifications WHERE project_id = $1 AND kind = 'fault'", project_id
    )
    assert note == 1
    # No activity keeps retrying in the background.
    await settle(h)
    assert not (await h.describe()).raw_description.pending_activities
    # An operator retry after a repair runs the batch again (here it is refused again: still parked).
    retry = RetryFaulted(request_id=rid(), by="operator-li")
    ack = await h.execute_update(ProjectWorkflow.retry_faulted, retry)
    assert "tried again" in ack.message and not ack.duplicate
    await search_attributes(h, DaibanFaulted=True)
    # The operator's client lost the answer and sends the same request again: answered, not applied
    # twice (the project faulted again meanwhile: a second retry would run the batch once more).
    again = await h.execute_update(ProjectWorkflow.retry_faulted, retry)
    assert again.duplicate and again.request_id == retry.request_id
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.execute_update(
            ProjectWorkflow.retry_faulted, RetryFaulted(request_id=retry.request_id, by="operator-wang")
        )
    assert "already used for a different command" in str(refused.value.cause)
    with contextlib.suppress(Exception):
        await h.terminate("test finished")


async def test_a_parked_project_stays_parked_across_continue_as_new(dev: Harness, pg_pool: asyncpg.Pool) -> None:
    """Before, the next run forgot the fault: it tried the refused batch again unasked and recorded
    a second fault (a second notification to the operators) for each continue-as-new."""
    h = await dev.start(zone="tunliu", history_limit=100)
    v = await open_all(h)
    pending = next(m for m in v.matters if m.state == "pending")
    client = DaibanClient(dev.client, dev.task_queue)
    async with storage_refusing(pg_pool, v.project_id):
        await decide(h, pending.code, pending.department, "refused-can", by="clerk")
        await search_attributes(h, DaibanFaulted=True)
        parked_run = (await h.describe()).run_id
        # Agents go on working while the operators repair: their commands fill the history.
        n = 0
        while (await h.describe()).run_id == parked_run:
            to = "agent-wang" if n % 2 == 0 else "agent-li"
            await client.reassign_agent(v.project_id, ReassignAgent(to_agent=to, by="lead-zhao", reason="shift"))
            n += 1
            assert n < 100, "the run never continued as new"
        await settle(h)
        meta = await h.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        assert meta.current_details.startswith("FAULT") and "StorageRefused" in meta.current_details
        await search_attributes(h, DaibanFaulted=True)
        new_run = dev.client.get_workflow_handle(h.id, run_id=(await h.describe()).run_id)
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            async for e in new_run.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
        assert "apply_batch" not in scheduled and "record_fault" not in scheduled, scheduled
        faults = await pg_pool.fetchval("SELECT count(*) FROM project_faults WHERE project_id = $1", v.project_id)
        assert faults == 1
    # Repaired: the operator's retry stores everything held since the fault, in the new run.
    await h.execute_update(ProjectWorkflow.retry_faulted, RetryFaulted(request_id=rid(), by="operator-li"))
    await search_attributes(h, DaibanFaulted=False)
    rows = await events(pg_pool, v.project_id, wait_for="AgentReassigned")
    assert sum(r["event_type"] == "AgentReassigned" for r in rows) == n
    assert any(r["payload"].get("decision_id") == "refused-can" for r in rows)
    await h.terminate("test finished")


async def test_search_attributes_follow_the_stage_while_commands_stream_in(dev: Harness) -> None:
    h = await dev.start(zone="tunliu")
    v = await approve_all(h, "approval_land", prefix="sa")
    client = DaibanClient(dev.client, dev.task_queue)
    stop = asyncio.Event()

    async def stream() -> int:
        # Agent hand-overs back and forth (AB岗) keep the outbox busy the whole time.
        n = 0
        while not stop.is_set():
            to = "agent-wang" if n % 2 == 0 else "agent-li"
            await client.reassign_agent(v.project_id, ReassignAgent(to_agent=to, by="lead-zhao", reason="shift"))
            n += 1
        return n

    streaming = asyncio.create_task(stream())
    try:
        await asyncio.sleep(1)
        for i in range(5):  # the land chain: pre-review, contract, land-use planning permit
            await open_all(h, f"sa{i}")
            pending = [m for m in (await view(h)).matters if m.state == "pending" and m.code != "eia"]
            for m in pending:
                await decide(h, m.code, m.department, f"sa-{m.code}", by="c")
        await decide(h, "eia", "ecology", "sa-eia", by="c")
        stage = (await view(h)).stage
        assert stage != "approval_land"
        # Visible in the UI while the stream goes on (not only once the outbox is empty).
        await search_attributes(h, DaibanStage=str(stage))
        assert not streaming.done()
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await streaming


async def test_a_cold_worker_gets_an_activity_result_and_an_update_in_one_task(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    """The restart case of the fault suite, made deterministic: while no workflow worker runs, a
    flush's activity completes and an update arrives; a fresh worker (no cache) takes both in one
    workflow task. The update is accepted before anything the main loop schedules after the
    result, and the history replays."""
    content.load_shipped()
    real = ProjectActivities(pg_pool)
    gate = asyncio.Event()

    @activity.defn(name="apply_batch")
    async def held_apply(batch: Batch) -> int:
        if [e.event_type for e in batch.events] == ["AgentReassigned"]:
            await gate.wait()
        return await real.apply_batch(batch)

    acts = [a for a in activities_of(real) if getattr(a, "__name__", "") != "apply_batch"] + [held_apply]
    async with (
        adapter_worker(dev_env.client, task_queue, pg_pool),
        Worker(dev_env.client, task_queue=task_queue, activities=acts),
    ):
        async with Worker(dev_env.client, task_queue=task_queue, workflows=WORKFLOWS, max_cached_workflows=0):
            h = await Harness(dev_env.client, task_queue, pg_pool).start(zone="tunliu")
            await approve_all(h, "approval_land", prefix="cold")
            first = ReassignAgent(request_id=rid(), to_agent="agent-wang", by="lead-zhao", reason="leave")
            await h.execute_update(ProjectWorkflow.reassign_agent, first)
            await asyncio.sleep(0.5)  # its batch is held in the activity
        gate.set()  # the batch completes while no workflow worker runs
        await asyncio.sleep(1)
        second = ReassignAgent(request_id=rid(), to_agent="agent-li", by="lead-zhao", reason="back")
        sent = asyncio.create_task(h.execute_update(ProjectWorkflow.reassign_agent, second))
        await asyncio.sleep(1)
        async with Worker(dev_env.client, task_queue=task_queue, workflows=WORKFLOWS, max_cached_workflows=0):
            await sent
            await settle(h)
            kinds = [e.event_type async for e in h.fetch_history_events()]
            accepted = [i for i, k in enumerate(kinds) if k == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
            completed = [i for i, k in enumerate(kinds) if k == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
            # The task that carried the held batch's result also carried the second update.
            late = [i for i in completed if any(a > i for a in accepted)]
            assert late, "the activity result and the update met in one task"
            assert await _history_problems(h) == []
            await _replays(h)
            await h.terminate("test finished")


async def test_an_operator_reset_to_an_earlier_task_reapplies_every_update_once(
    dev: Harness, pg_pool: asyncpg.Pool
) -> None:
    """The way out for a project whose workflow task keeps failing (README: when something goes
    wrong): reset to a workflow task completed before the failure. Temporal reapplies the updates
    recorded after it; their request ids make each apply once, and the batches are idempotent."""
    h = await dev.start(zone="tunliu")
    v = await approve_all(h, "approval_land", prefix="rs")
    client = DaibanClient(dev.client, dev.task_queue)
    await settle(h)
    reset_to = max(
        [
            e.event_id
            async for e in h.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        ]
    )
    for to in ("agent-wang", "agent-li", "agent-zhou"):
        await client.reassign_agent(v.project_id, ReassignAgent(to_agent=to, by="lead-zhao", reason="rota"))
    await settle(h)
    before = await view(h)
    resp = await dev.client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=dev.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=h.id, run_id=(await h.describe()).run_id),
            reason="operator: workflow task failing",
            workflow_task_finish_event_id=reset_to,
            request_id=rid(),
        )
    )
    new = dev.client.get_workflow_handle(h.id, run_id=resp.run_id)
    for _ in range(100):
        after = await view(new)
        if after.agent == before.agent and after.events_emitted == before.events_emitted:
            break
        await asyncio.sleep(0.1)
    assert after.agent == "agent-zhou" and after.events_emitted == before.events_emitted
    await settle(new)
    rows = await events(pg_pool, v.project_id)
    assert [r["version"] for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r["event_type"] == "AgentReassigned" for r in rows) == 3, "each update applied once"
    await _replays(new)
    await new.terminate("test finished")


async def test_a_batch_result_alone_issues_no_command(dev: Harness) -> None:
    """Only a wake-up, a timer or the run's start makes the loop act; a batch's result only drops
    what it stored. A worker may take a batch's result and an update of the same workflow task in
    two activations where a replay takes one (updates first): anything issued on the result alone
    would replay in another place (tests/faults/evidence)."""
    h = await dev.start(zone="tunliu")
    v = await approve_all(h, "approval_land", prefix="quiet")
    client = DaibanClient(dev.client, dev.task_queue)
    for to in ("agent-wang", "agent-li", "agent-wang", "agent-li"):
        await client.reassign_agent(v.project_id, ReassignAgent(to_agent=to, by="lead-zhao", reason="rota"))
        await settle(h)
    history = await h.fetch_history()
    events = list(history.events)
    kinds = [e.event_type for e in events]
    batches = {
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "apply_batch"
    }
    results = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and e.activity_task_completed_event_attributes.scheduled_event_id in batches
    ]
    assert len(results) >= 5
    not_commands = {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_TIMER_FIRED,
    }
    for i in results:
        done = kinds.index(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, i)
        commands = []
        for kind in kinds[done + 1 :]:
            if kind in not_commands:
                break
            commands.append(kind)
        if EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED in commands:
            continue  # an update rode along in the task: it may act
        assert commands == [], f"after the batch result at event {i + 1}: {[EventType.Name(k) for k in commands]}"
    assert EventType.EVENT_TYPE_TIMER_CANCELED not in kinds, "alarm timers are never cancelled"
    assert timer_gaps(history) == []
    await _replays(h)
    await h.terminate("test finished")
