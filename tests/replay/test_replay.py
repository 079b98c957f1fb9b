"""Replay tests: committed histories of real runs must replay on today's workflow code.

A change that alters the commands a workflow issues for an existing history fails here; such a
change needs ``workflow.patched``. Regenerate the histories (only for a deliberate, versioned
change) with ``DAIBAN_RECORD_HISTORIES=1 make test PYTEST_ARGS=tests/replay``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from schemas.project import (
    Decision,
    ProgressReport,
    ReassignAgent,
    ResolveMeeting,
    Resubmit,
    SupplyMaterials,
    Verification,
    Withdraw,
)
from tests.harness import Harness
from tests.replay.canary import ChangedProjectWorkflow
from tests.workflows.helpers import approve_all, settle, view
from workflows.project import ProjectWorkflow

HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("DAIBAN_RECORD_HISTORIES") == "1"


def saved() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", saved(), ids=lambda p: p.stem)
async def test_saved_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[ProjectWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"


async def test_canary_a_changed_workflow_is_detected() -> None:
    assert saved(), "no saved histories to replay"
    replayer = Replayer(workflows=[ChangedProjectWorkflow], data_converter=pydantic_data_converter)
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(saved()[0]))


@pytest.mark.skipif(not RECORD, reason="set DAIBAN_RECORD_HISTORIES=1 to record new histories")
async def test_record_histories(dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool) -> None:
    from tests.harness import running_worker

    async for h in running_worker(dev_env, task_queue, pg_pool):
        await _record_lifecycle(h)
        await _record_withdrawal(h)


@pytest.mark.skipif(not RECORD, reason="set DAIBAN_RECORD_HISTORIES=1 to record new histories")
async def test_record_escalation_history(ts_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool) -> None:
    from tests.harness import running_worker

    async for h in running_worker(ts_env, task_queue, pg_pool):
        p = await h.start(zone="yanhu")
        v = await approve_all(p, "engineering_permit", prefix="e")
        lightning = next(m for m in v.matters if m.code == "lightning-design-review")
        await p.execute_update(
            ProjectWorkflow.decide,
            Decision(
                decision_id="e-bpp",
                department="resources",
                matter_code="building-planning-permit",
                kind="request_correction",
                decided_by="planner",
                items=["fire lane drawing"],
            ),
        )
        await settle(p)
        # Past the lightning review's limit (deemed approval), the stage limit and a joint meeting.
        await ts_env.sleep(lightning.clock.deadline - await ts_env.get_current_time() + timedelta(days=14))
        await settle(p)
        meetings = (await view(p)).meetings
        assert meetings, "a joint meeting was convened"
        await p.execute_update(
            ProjectWorkflow.resolve_meeting,
            ResolveMeeting(meeting_id=meetings[0].meeting_id, resolution="extend and decide", by="lead-zhao"),
        )
        await settle(p)
        await _write(h, p, "escalation_deemed_and_meeting")


async def _write(h: Harness, handle: object, name: str) -> None:
    history = await h.client.get_workflow_handle(handle.id).fetch_history()  # type: ignore[attr-defined]
    (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


async def _record_lifecycle(h: Harness) -> None:
    p = await h.start(zone="yanhu")
    await approve_all(p, "approval_land", prefix="r")
    await p.execute_update(
        ProjectWorkflow.decide,
        Decision(
            decision_id="r-filing",
            department="approval",
            matter_code="project-filing",
            kind="approve",
            decided_by="clerk",
            instant=True,
        ),
    )
    await p.execute_update(
        ProjectWorkflow.decide,
        Decision(
            decision_id="r-eia",
            department="ecology",
            matter_code="eia",
            kind="request_correction",
            decided_by="reviewer",
            items=["noise data"],
        ),
    )
    await p.execute_update(
        ProjectWorkflow.supply_materials, SupplyMaterials(matter_code="eia", by="agent-li", items=["noise data"])
    )
    await p.execute_update(
        ProjectWorkflow.decide,
        Decision(
            decision_id="r-luppp",
            department="resources",
            matter_code="land-use-planning-permit",
            kind="reject",
            decided_by="planner",
            reasons=["red line"],
        ),
    )
    await p.execute_update(ProjectWorkflow.resubmit, Resubmit(matter_code="land-use-planning-permit", by="agent-li"))
    await p.execute_update(
        ProjectWorkflow.reassign_agent, ReassignAgent(to_agent="agent-wang", by="lead", reason="leave")
    )
    await approve_all(p, "engineering_permit", prefix="r2")
    await p.execute_update(
        ProjectWorkflow.decide,
        Decision(
            decision_id="r-bpp",
            department="resources",
            matter_code="building-planning-permit",
            kind="accept_with_tolerance",
            decided_by="planner",
            items=["traffic statement"],
        ),
    )
    await p.execute_update(
        ProjectWorkflow.supply_materials,
        SupplyMaterials(matter_code="building-planning-permit", by="agent-wang", items=["traffic statement"]),
    )
    await approve_all(p, "construction", prefix="r3")
    for pct in (50, 100):
        await p.execute_update(ProjectWorkflow.report_progress, ProgressReport(percent=pct, by="agent-wang"))
    await approve_all(p, "in_production", prefix="r4")
    await p.execute_update(
        ProjectWorkflow.verify,
        Verification(
            decision_id="r-verify", department="air-defence", matter_code="air-defence-review", passed=True, by="x"
        ),
    )
    await p.result()
    await _write(h, p, "lifecycle_to_production")


async def _record_withdrawal(h: Harness) -> None:
    p = await h.start(zone="tunliu")
    await view(p)
    await settle(p)
    await p.execute_update(ProjectWorkflow.withdraw, Withdraw(reason="plan changed", by="agent-li"))
    await p.result()
    await _write(h, p, "withdrawn_at_establishment")
