"""An unverified commitment (告知承诺) escalates when its verification period runs out."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from tests.harness import Harness
from tests.workflows.helpers import approve_all, events, matter, settle, view


async def test_unverified_commitment_escalates_when_its_period_runs_out(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    h = await ts.start(zone="tunliu")
    v = await approve_all(h, "engineering_permit", prefix="c")
    verification = matter(v, "soil-water-conservation").obligations[0]
    await settle(h)
    await ts_env.sleep(verification.clock.deadline - await ts_env.get_current_time() + timedelta(hours=1))
    rows = await events(pg_pool, v.project_id, wait_for="EscalatedToLead")
    breached = [r["payload"]["clock_id"] for r in rows if r["event_type"] == "DeadlineBreached"]
    assert "obligation:soil-water-conservation:verification:1" in breached
    v = await view(h)
    assert matter(v, "soil-water-conservation").state == "approved", "the approval stands until verified"
