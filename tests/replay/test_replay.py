"""Replay tests: committed histories of real runs must replay on today's workflow code.

A change that alters the commands a workflow issues for an existing history fails here; such a
change needs ``workflow.patched``. Regenerate the histories (only for a deliberate, versioned
change) with ``DAIBAN_RECORD_HISTORIES=1 make test PYTEST_ARGS=tests/replay``; keep the old ones
under a suffix, as ``*_one_clock.json`` keeps the histories recorded before the ``two-clocks`` and
``deemed-by-matter`` patches, ``*_before_texts_out.json`` those recorded before the ``texts-out``
patch (and the small update answers and workflow result), ``*_before_adapter_queue.json`` those recorded before the
``checked-start``, ``scoped-decisions`` and ``adapter-queue`` patches, ``*_before_lean.json`` (and
``lifecycle_to_production_before_lean_last_run.json``) those recorded before the ``lean-batches`` and
``carried-apart`` patches, ``*_before_consolidated.json`` those recorded before patch
``consolidated-2026-12`` (``workflows.patches``: one marker since, where each patch had its own),
``*_before_quiet.json`` those recorded before the ``quiet-endings`` patch (and its consolidation
``consolidated-2026-12-b``: they hold the older marker), ``*_before_production_rule.json`` those recorded
before the ``owed-past-production`` patch (and its consolidation ``consolidated-2026-12-c``; the
lifecycle recorded since has a bad rating owed its callback and fix past production),
``*_before_period_rule.json`` those recorded before the ``event-day-periods`` patch (and its
consolidation ``consolidated-2026-12-d``; the shipped zones count after-hours applications the same
day, so only the marker differs),
``*_before_days_periods.json`` (and ``lifecycle_to_production_before_days_periods_last_run.json``) those
recorded before the ``enterprise-days-periods`` patch (and its consolidation ``consolidated-2026-12-e``;
the lifecycle recorded since runs the completion filing's 15 days as a clock counted in days),
``*_before_held_acceptance.json`` (and ``lifecycle_to_production_before_held_acceptance_last_run.json``)
those recorded before the ``held-acceptance`` patch (and its consolidation ``consolidated-2026-12-f``;
their deadlines are official, so only the marker differs) and catalog ``shanxi-industrial-2026.11``,
``lifecycle_to_production_before_calendar_days.json`` (and its ``_last_run``) those recorded before the
catalog counted EIA's and the pollutant permits' limits in days (日; no patch: the unit comes with the
catalog version a project runs under, and the lifecycle recorded since carries such clocks),
``*_before_filings.json``
those recorded before the ``filings-joint-acceptance`` patch and ``*_before_acceptance.json`` those recorded before the
``acceptance`` and ``short-runs`` patches (both paths of every patch replay).
``lifecycle_to_production_before_binary.json`` (and ``..._last_run_before_binary.json``) were
recorded while a run continued as new with ``carried_zlib``; since, the carried state is bytes in
the input's metadata (no patch: replay never compares that input; ``workflows.start`` reads both).
``faulted_and_retried_before_fault_result.json`` holds a refused batch whose ``record_fault``
returned null (before ``FaultRecorded``; no patch: only the result's type changed, and
``workflows.faulting`` takes both); ``test_record_fault_history`` records ``faulted_and_retried``.
``faults_*.json`` are runs of the fault suite (``make faults --keep-histories DIR``):
``faults_f41631-018.json`` the run whose older twin (before ``quiet-endings``) did not replay, its
worker killed twice while it waited past its limit for its batches (``tests/faults/evidence``).
"""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from catalog.content import REGISTRY
from schemas.project import (
    ProgressReport,
    Rate,
    ReassignAgent,
    RecordCallback,
    RecordFix,
    ResolveMeeting,
    Resubmit,
    RetryFaulted,
    SupplyMaterials,
    Verification,
    Withdraw,
    workflow_id_for,
)
from tests.harness import Harness
from tests.replay.canary import ChangedProjectWorkflow
from tests.support import rid
from tests.workflows.helpers import (
    apply,
    approve_all,
    decide,
    open_all,
    search_attributes,
    settle,
    storage_refusing,
    view,
)
from workflows.project import ProjectWorkflow

HISTORIES = Path(__file__).parent / "histories"
# The content versions (catalog, zone policies, calendars) the recorded histories name.
CONTENT = Path(__file__).parent / "content"
# Histories of the first workflow version (one activity per effect, patched memo): version 2
# (deterministic handlers, one batch per flush, content versions) cannot replay them. Projects
# started on v1 finish on v1 workers; see README "Upgrading running projects".
RETIRED = Path(__file__).parent / "retired" / "v1"
RECORD = os.environ.get("DAIBAN_RECORD_HISTORIES") == "1"


def saved(folder: Path = HISTORIES) -> list[Path]:
    return sorted(folder.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    """A recorded history under its real workflow id (``project-{project_id}`` from its input)."""
    text = path.read_text(encoding="utf-8")
    first = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
    payload = json.loads(base64.b64decode(first["input"]["payloads"][0]["data"]))
    return WorkflowHistory.from_json(workflow_id_for(payload["registration"]["project_id"]), text)


def load_content() -> None:
    """Put every committed content version into the worker registry, as a worker would have it."""
    for path in sorted(CONTENT.glob("*.json")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        REGISTRY.add(entry["kind"], entry["content"], path.stem)


def save_content() -> None:
    """Write every content version the registry holds (those the recorded histories used among them)."""
    CONTENT.mkdir(exist_ok=True)
    for version, (kind, model) in REGISTRY.contents().items():
        target = CONTENT / f"{version}.json"
        if not target.exists():
            target.write_text(json.dumps({"kind": kind, "content": model.model_dump(mode="json")}, ensure_ascii=False))


@pytest.mark.parametrize("path", saved(), ids=lambda p: p.stem)
async def test_saved_history_replays(path: Path) -> None:
    load_content()
    replayer = Replayer(workflows=[ProjectWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"


async def test_there_are_histories_of_every_kind() -> None:
    names = {p.stem for p in saved()}
    kinds = {"lifecycle_to_production", "withdrawn_at_establishment", "escalation_deemed_and_meeting"}
    assert kinds <= names, "histories under today's rules (patches acceptance, short-runs and before)"
    assert {f"{k}_one_clock" for k in kinds} <= names, "histories of projects registered before two-clocks"
    assert {f"{k}_before_acceptance" for k in kinds} <= names, "histories of projects registered before acceptance"
    assert {f"{k}_before_lean" for k in kinds} <= names, "histories recorded before lean-batches and carried-apart"
    assert {f"{k}_before_consolidated" for k in kinds} <= names, "histories whose runs took each patch on its own"
    assert {f"{k}_before_quiet" for k in kinds} <= names, "histories recorded before quiet-endings"
    recorded_again = ("lifecycle_to_production", "withdrawn_at_establishment")
    assert {f"{k}_before_production_rule" for k in recorded_again} <= names, "recorded before owed-past-production"
    assert {f"{k}_before_period_rule" for k in recorded_again} <= names, "recorded before event-day-periods"
    assert {f"{k}_before_days_periods" for k in recorded_again} <= names, "recorded before enterprise-days-periods"
    assert {f"{k}_before_held_acceptance" for k in recorded_again} <= names, "recorded before held-acceptance"
    assert {"lifecycle_to_production_before_binary", "lifecycle_to_production_last_run_before_binary"} <= names, (
        "a lifecycle continued with carried_zlib, before the carried state moved to the input's metadata"
    )
    assert any(n.startswith("faults_") for n in names), "histories of a fault-suite run (make faults --keep-histories)"


@pytest.mark.parametrize("path", saved(RETIRED), ids=lambda p: p.stem)
async def test_retired_v1_histories_are_refused_not_misread(path: Path) -> None:
    # The incompatibility is versioned and explicit: v2 code refuses v1 histories at once.
    replayer = Replayer(workflows=[ProjectWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None


async def test_canary_a_changed_workflow_is_detected() -> None:
    assert saved(), "no saved histories to replay"
    load_content()
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
        h.history_limit = 2_000  # long runs on the time-skipping server (see the ts fixture)
        p = await h.start(zone="yanhu")
        v = await approve_all(p, "completion_acceptance", prefix="e")
        planning = next(m for m in v.matters if m.code == "planning-verification")
        await decide(
            p,
            "fire-acceptance",
            "housing",
            "e-fire",
            "request_correction",
            by="inspector",
            items=["sprinkler test"],
        )
        await settle(p)
        # Past the joint-acceptance limit: yanhu deems planning verification (缺席默认), fire
        # acceptance (public safety) escalates to a joint meeting instead.
        assert planning.clock is not None and planning.clock.deadline is not None
        await ts_env.sleep(planning.clock.deadline - await ts_env.get_current_time() + timedelta(days=14))
        await settle(p)
        meetings = (await view(p)).meetings
        assert meetings, "a joint meeting was convened"
        await p.execute_update(
            ProjectWorkflow.resolve_meeting,
            ResolveMeeting(
                request_id=rid(), meeting_id=meetings[0].meeting_id, resolution="extend and decide", by="lead-zhao"
            ),
        )
        await settle(p)
        await _write(h, p, "escalation_deemed_and_meeting")


@pytest.mark.skipif(not RECORD, reason="set DAIBAN_RECORD_HISTORIES=1 to record new histories")
async def test_record_fault_history(dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool) -> None:
    """A batch the storage refuses for good (``record_fault`` completes), then an operator's retry."""
    from tests.harness import running_worker

    async for h in running_worker(dev_env, task_queue, pg_pool):
        p = await h.start(zone="tunliu")
        v = await open_all(p, "f")
        pending = next(m for m in v.matters if m.state == "pending")
        async with storage_refusing(pg_pool, v.project_id):
            await decide(p, pending.code, pending.department, "f-refused", by="clerk")
            await search_attributes(p, DaibanFaulted=True)
            await settle(p)
        await p.execute_update(ProjectWorkflow.retry_faulted, RetryFaulted(request_id=rid(), by="operator-li"))
        await search_attributes(p, DaibanFaulted=False)
        await settle(p)
        await _write(h, p, "faulted_and_retried")


async def _write(h: Harness, handle: WorkflowHandle[Any, Any], name: str) -> None:
    """The project's first run as ``name``; its last as ``name_last_run`` when it continued as new."""
    first = await h.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id).fetch_history()
    (HISTORIES / f"{name}.json").write_text(first.to_json(), encoding="utf-8")
    save_content()
    latest = h.client.get_workflow_handle(handle.id)
    if (await latest.describe()).run_id != handle.first_execution_run_id:
        (HISTORIES / f"{name}_last_run.json").write_text((await latest.fetch_history()).to_json(), encoding="utf-8")


async def _record_lifecycle(h: Harness) -> None:
    p = await h.start(zone="yanhu")
    await approve_all(p, "approval_land", prefix="r", accept=False)
    # Applications: project filing is complete on receipt (备案); the EIA's application goes back
    # once with a completion notice (补正告知) before it is accepted.
    await apply(p, "project-filing", "standard", "r-apply-filing", by="agent-li")
    await apply(p, "eia", "standard", "r-apply-eia", by="agent-li")
    await decide(p, "eia", "ecology", "r-eia-notice", "request_completion", by="clerk", items=["report form"])
    await p.execute_update(
        ProjectWorkflow.supply_materials,
        SupplyMaterials(request_id=rid(), matter_code="eia", by="agent-li", items=["report form"]),
    )
    await open_all(p, "r-land")
    await decide(p, "eia", "ecology", "r-eia", "request_correction", by="reviewer", items=["noise data"])
    await p.execute_update(
        ProjectWorkflow.supply_materials,
        SupplyMaterials(request_id=rid(), matter_code="eia", by="agent-li", items=["noise data"]),
    )
    await decide(p, "land-contract", "resources", "r-contract", by="clerk")
    await open_all(p, "r-land-2")
    await decide(p, "land-use-planning-permit", "resources", "r-luppp", "reject", by="planner", reasons=["red line"])
    await p.execute_update(
        ProjectWorkflow.resubmit, Resubmit(request_id=rid(), matter_code="land-use-planning-permit", by="agent-li")
    )
    await p.execute_update(
        ProjectWorkflow.reassign_agent,
        ReassignAgent(request_id=rid(), to_agent="agent-wang", by="lead", reason="leave"),
    )
    await approve_all(p, "engineering_permit", prefix="r2")
    await decide(
        p,
        "building-planning-permit",
        "resources",
        "r-bpp",
        "accept_with_tolerance",
        by="planner",
        items=["traffic impact statement"],
    )
    await p.execute_update(
        ProjectWorkflow.supply_materials,
        SupplyMaterials(
            request_id=rid(),
            matter_code="building-planning-permit",
            by="agent-wang",
            items=["traffic impact statement"],
        ),
    )
    await approve_all(p, "construction", prefix="r3")
    # A bad rating of the agent before production: its callback and fix keep the project open past
    # production (production rule 2), until both are recorded.
    await p.execute_update(
        ProjectWorkflow.rate, Rate(request_id=rid(), target="agent", grade="bad", text="回复慢", by="ent-1")
    )
    for pct in (50, 100):
        await p.execute_update(
            ProjectWorkflow.report_progress, ProgressReport(request_id=rid(), percent=pct, by="agent-wang")
        )
    await approve_all(p, "in_production", prefix="r4")
    await p.execute_update(
        ProjectWorkflow.verify,
        Verification(
            decision_id="r-verify", department="air-defence", matter_code="air-defence-review", passed=True, by="x"
        ),
    )
    settled = {"request_id": "", "rating_id": "agent:agent-wang", "note": "已回访整改", "by": "lead-zhao"}
    await p.execute_update(ProjectWorkflow.record_callback, RecordCallback(**{**settled, "request_id": rid()}))
    await p.execute_update(ProjectWorkflow.record_fix, RecordFix(**{**settled, "request_id": rid()}))
    await p.result()
    await _write(h, p, "lifecycle_to_production")


async def _record_withdrawal(h: Harness) -> None:
    p = await h.start(zone="tunliu")
    await view(p)
    await settle(p)
    await p.execute_update(ProjectWorkflow.withdraw, Withdraw(request_id=rid(), reason="plan changed", by="agent-li"))
    await p.result()
    await _write(h, p, "withdrawn_at_establishment")
