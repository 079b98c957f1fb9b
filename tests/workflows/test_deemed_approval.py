"""Deemed approval (超时默认) under time skipping: a missed limit approves and records liability.

One time-skipping test per module: the test server keeps a module's earlier projects around.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from catalog.content import REGISTRY
from schemas.project import CalendarUpdate
from tests.harness import Harness
from tests.workflows.helpers import approve_all, events, matter, noticed_through, settle, view
from tests.workflows.test_escalation import of_clock
from workflows.project import ProjectWorkflow


async def test_deemed_approval_records_the_departments_liability(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    # Yanhu's policy deems the joint-acceptance opinions it lists (缺席默认), planning verification
    # among them; fire acceptance (public safety) is never deemed without a named local rule.
    h = await ts.start(zone="yanhu")
    # Deemed approval is held on a provisional deadline (tests/workflows/test_provisional_deemed.py):
    # this one runs where the years it spans have their notice, whatever today's date.
    this_year = (await ts_env.get_current_time()).year
    calendar = CalendarUpdate(version=REGISTRY.add_calendar(noticed_through(this_year + 1)))
    await h.signal(ProjectWorkflow.calendar_updated, calendar)
    v = await approve_all(h, "completion_acceptance")
    planning = matter(v, "planning-verification")
    assert planning.state == "pending" and planning.clock.deadline is not None
    assert not planning.clock.provisional
    await settle(h)
    await ts_env.sleep(planning.clock.deadline - await ts_env.get_current_time() + timedelta(hours=1))
    rows = await events(pg_pool, v.project_id, wait_for="DepartmentLiabilityRecorded")
    approved = [r for r in rows if r["event_type"] == "MatterApproved" and r["payload"]["mode"] == "deemed"]
    assert [r["payload"]["matter_code"] for r in approved] == [
        "planning-verification",
        "land-verification",
        "archives-acceptance",
    ]
    assert all(r["payload"]["on_time"] is False for r in approved)
    liability = next(r for r in rows if r["event_type"] == "DepartmentLiabilityRecorded")
    assert liability["payload"]["department"] == "resources"
    # The zone's promise (5 days) passed first and was escalated (督办); deemed approval came only
    # on the statutory limit (20 days), without a second escalation.
    breaches = of_clock(rows, "DeadlineBreached", "matter:planning-verification")
    assert [b["payload"]["limit"] for b in breaches] == ["promised", "statutory"]
    assert len(of_clock(rows, "EscalatedToLead", "matter:planning-verification")) == 1
    v = await view(h)
    assert matter(v, "planning-verification").state == "approved"
    assert matter(v, "fire-acceptance").state == "pending", "public safety: escalated, never deemed"
