"""Tolerance (容缺) and commitment (告知承诺) obligations under time skipping."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from schemas.project import SupplyMaterials, Verification
from tests.harness import Harness
from tests.support import rid
from tests.workflows.helpers import approve_all, decide, events, eventually, matter, open_all, settle, types, view
from workflows.project import ProjectWorkflow


async def test_failed_commitment_verification_revokes_and_reopens_the_matter(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    # Tunliu handles the energy review by commitment: approved at once, verified afterwards.
    h = await ts.start(zone="tunliu")
    v = await approve_all(h, "engineering_permit", prefix="b")
    energy = matter(v, "energy-review")
    assert energy.state == "approved" and energy.approval_mode == "commitment"
    v = await eventually(h, lambda v: matter(v, "energy-review").license_no, "e-license issued")
    energy = matter(v, "energy-review")
    obligation = energy.obligations[0]
    assert obligation.kind == "verification" and obligation.state == "open"
    verification = Verification(
        decision_id="verify-energy",
        department="approval",
        matter_code="energy-review",
        passed=False,
        by="inspector",
        findings="energy use exceeds the committed figures",
    )
    result = await h.execute_update(ProjectWorkflow.verify, verification)
    # Reopened as a standard matter: the agent applies afresh and the department accepts it.
    assert result.state == "to_apply"
    v = await view(h)
    energy = matter(v, "energy-review")
    assert energy.state == "to_apply" and energy.mode == "standard" and energy.submissions == 1
    assert energy.approval_mode is None
    v = await open_all(h, "reopened")
    energy = matter(v, "energy-review")
    assert energy.state == "pending" and energy.submissions == 2
    rows = await events(pg_pool, v.project_id, wait_for="ApprovalRevoked")
    await settle(h)
    revoked = await pg_pool.fetchrow(
        "SELECT revoked_at, revoked_reason FROM e_licenses WHERE project_id = $1 AND matter_code = 'energy-review'",
        v.project_id,
    )
    assert revoked["revoked_at"] is not None and "exceeds" in revoked["revoked_reason"]
    assert types(rows).count("ApplicationReceived") >= 2
    # The same verification sent again is answered, not applied twice.
    again = await h.execute_update(ProjectWorkflow.verify, verification)
    assert again.duplicate and matter(await view(h), "energy-review").submissions == 2
    # The same decision id with another body is refused, not answered as if it were the same.
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await h.execute_update(ProjectWorkflow.verify, verification.model_copy(update={"passed": True}))
    assert "already used for a different command" in str(info.value.cause)


async def test_missed_tolerance_materials_suspend_the_approval_and_the_stage_waits(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    h = await ts.start(zone="yanhu")
    v = await approve_all(h, "engineering_permit", prefix="a")
    # Building planning permit accepted with tolerance; the traffic statement is owed.
    await decide(
        h,
        "building-planning-permit",
        "resources",
        "bpp-tol",
        "accept_with_tolerance",
        by="planner",
        items=["traffic impact statement"],
    )
    v = await view(h)
    bpp = matter(v, "building-planning-permit")
    assert bpp.state == "approved" and bpp.approval_mode == "tolerance"
    owed = bpp.obligations[0]
    assert owed.kind == "supply_materials" and owed.state == "open"
    await decide(h, "lightning-design-review", "meteorology", "ldr", by="clerk")
    v = await view(h)
    assert v.stage == "construction_permit", "a tolerance approval counts while materials are owed"
    # The tolerance period (10 working days) runs out with nothing supplied.
    await settle(h)
    await ts_env.sleep(owed.clock.deadline - await ts_env.get_current_time() + timedelta(hours=1))
    rows = await events(pg_pool, v.project_id, wait_for="ApprovalSuspended")
    assert {"ObligationMissed", "ApprovalSuspended"} <= set(types(rows))
    assert matter(await view(h), "building-planning-permit").state == "suspended"
    # The construction-permit stage is decided, but the suspended approval holds the project.
    for code in ("construction-drawing-review", "fire-design-review", "construction-permit"):
        await open_all(h, f"cp{len(code)}")
        await decide(h, code, "housing", f"ok-{code}", by="clerk")
    v = await view(h)
    assert v.stage == "construction_permit"
    assert "supply owed materials for building-planning-permit" in v.waiting_for
    # Supplied late: the approval is reinstated and the project moves on.
    await h.execute_update(
        ProjectWorkflow.supply_materials,
        SupplyMaterials(
            request_id=rid(), matter_code="building-planning-permit", by="agent-li", items=["traffic impact statement"]
        ),
    )
    v = await view(h)
    assert matter(v, "building-planning-permit").state == "approved"
    assert v.stage == "construction"
    rows = await events(pg_pool, v.project_id, wait_for="ApprovalReinstated")
    assert types(rows).count("ObligationFulfilled") == 1
