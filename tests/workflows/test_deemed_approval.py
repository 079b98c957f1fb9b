"""Deemed approval (超时默认) under time skipping: a missed limit approves and records liability.

One time-skipping test per module: the test server keeps a module's earlier projects around.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from tests.harness import Harness
from tests.workflows.helpers import approve_all, events, matter, settle, view
from tests.workflows.test_escalation import of_clock


async def test_deemed_approval_records_the_departments_liability(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    # Yanhu applies deemed approval (超时默认) to lightning protection design review.
    h = await ts.start(zone="yanhu")
    v = await approve_all(h, "engineering_permit")
    lightning = matter(v, "lightning-design-review")
    assert lightning.state == "pending" and lightning.mode == "standard"
    assert matter(v, "air-defence-review").approval_mode == "commitment"
    await settle(h)
    await ts_env.sleep(lightning.clock.deadline - await ts_env.get_current_time() + timedelta(hours=1))
    rows = await events(pg_pool, v.project_id, wait_for="DepartmentLiabilityRecorded")
    approved = [
        r
        for r in rows
        if r["event_type"] == "MatterApproved" and r["payload"]["matter_code"] == "lightning-design-review"
    ]
    assert len(approved) == 1 and approved[0]["payload"]["mode"] == "deemed"
    assert approved[0]["payload"]["on_time"] is False
    licence = await pg_pool.fetchrow(
        "SELECT deemed FROM e_licenses WHERE project_id = $1 AND matter_code = 'lightning-design-review'",
        v.project_id,
    )
    assert licence is not None and licence["deemed"] is True, "the e-licence records that nobody signed it"
    liability = next(r for r in rows if r["event_type"] == "DepartmentLiabilityRecorded")
    assert liability["payload"]["department"] == "meteorology"
    # The zone's promise (5 days) passed first and was escalated (督办); deemed approval came only
    # on the statutory limit (20 days), without a second escalation.
    breaches = of_clock(rows, "DeadlineBreached", "matter:lightning")
    assert [b["payload"]["limit"] for b in breaches] == ["promised", "statutory"]
    assert len(of_clock(rows, "EscalatedToLead", "matter:lightning")) == 1
    v = await view(h)
    assert matter(v, "lightning-design-review").state == "approved"
