"""A bad rating's callback clock (好差评 回访, 国办发〔2019〕51号) runs on the workflow's timers: under time
skipping, a callback not recorded by its deadline is breached and escalated to the project lead (督办),
while the fix clock still runs; the callback recorded afterwards is late.

One time-skipping test per module: the test server keeps a module's earlier projects around.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from schemas.project import Rate, RecordCallback
from tests.harness import Harness
from tests.workflows.helpers import approve_all, events, settle
from workflows.project import ProjectWorkflow


async def test_a_missed_callback_on_a_bad_rating_is_escalated_to_the_lead(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    h = await ts.start(zone="yanhu")
    v = await approve_all(h, "approval_land", prefix="r")
    [code] = [m.code for m in v.matters if m.stage == "establishment" and m.state == "approved"]
    rated = Rate(
        request_id="rate-1", target="matter", matter_code=code, grade="very_bad", text="材料退回三次", by="ent"
    )
    ack = await h.execute_update(ProjectWorkflow.rate, rated)
    assert "callback and fix clocks opened" in ack.message
    rows = await events(pg_pool, v.project_id, wait_for="RatingGiven")
    given = next(r["payload"] for r in rows if r["event_type"] == "RatingGiven")
    callback_at = datetime.fromisoformat(given["callback_deadline"])
    assert datetime.fromisoformat(given["fix_deadline"]) > callback_at
    await settle(h)
    await ts_env.sleep(callback_at - await ts_env.get_current_time() + timedelta(hours=1))
    clock = f"rating:callback:matter:{code}"
    for _ in range(100):
        rows = await events(pg_pool, v.project_id, wait_for="EscalatedToLead")
        escalated = [r["payload"] for r in rows if r["event_type"] == "EscalatedToLead"]
        if any(e["clock_id"] == clock for e in escalated):
            break
        await settle(h)
    else:
        raise AssertionError(f"{clock} never escalated")
    assert next(e for e in escalated if e["clock_id"] == clock)["project_lead"] == v.project_lead
    breached = [r["payload"]["clock_id"] for r in rows if r["event_type"] == "DeadlineBreached"]
    assert clock in breached and f"rating:fix:matter:{code}" not in breached
    late = RecordCallback(request_id="callback-1", rating_id=f"matter:{code}", note="已回访", by=given["department"])
    assert "(late)" in (await h.execute_update(ProjectWorkflow.record_callback, late)).message
