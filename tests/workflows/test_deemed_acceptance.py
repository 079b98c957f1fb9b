"""Acceptance by silence (行政许可法 §32 ¶1(4)) under time skipping: the alarm timer of the
department's 5 working days accepts the application on receipt, and the statutory limit then
counts from the receipt, so its breach follows. Where the 5 days end in a year without the State
Council's notice (``make test-dates`` runs it as if on such days), the alarm holds the acceptance
(patch ``held-acceptance``) and an operator's ``confirm_deadline`` takes it.

One time-skipping test per module: the test server keeps a module's earlier projects around.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from schemas.project import ConfirmDeadline
from tests.harness import Harness
from tests.workflows.helpers import apply, events, matter, settle, view
from workflows.project import ProjectWorkflow


async def test_silence_for_five_working_days_accepts_the_application_on_receipt(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    h = await ts.start(zone="tunliu")
    v = await view(h)
    assert matter(v, "enterprise-registration").state == "to_apply"
    await apply(h, "enterprise-registration", "standard", "apply-reg", by=v.agent)
    v = await view(h)
    reg = matter(v, "enterprise-registration")
    assert reg.state == "received" and reg.clock.scope == "acceptance" and reg.clock.deadline is not None
    receipt = reg.clock.accepted_at

    await settle(h)
    await ts_env.sleep(reg.clock.deadline - await ts_env.get_current_time() + timedelta(minutes=10))
    if reg.clock.provisional:  # held on uncertain data until confirmed
        rows = await events(pg_pool, v.project_id, wait_for="DeemedAcceptanceHeld")
        assert matter(await view(h), "enterprise-registration").state == "received"
        confirm = ConfirmDeadline(request_id="confirm-1", clock_id=reg.clock.clock_id, by="ops-wang", reason="核实")
        await h.execute_update(ProjectWorkflow.confirm_deadline, confirm)
    rows = await events(pg_pool, v.project_id, wait_for="ApplicationAccepted")
    [accepted] = [r for r in rows if r["event_type"] == "ApplicationAccepted"]
    assert accepted["payload"]["deemed"] is True
    assert datetime.fromisoformat(accepted["payload"]["accepted_at"]) == receipt

    v = await view(h)
    reg = matter(v, "enterprise-registration")
    assert reg.state == "pending" and reg.clock.scope == "matter"
    assert reg.clock.accepted_at == receipt, "the limit runs from the receipt"
    # Five working days of silence exceed the statutory 3: the legal breach is recorded at once.
    rows = await events(pg_pool, v.project_id, wait_for="DeadlineBreached")
    limits = [r["payload"]["limit"] for r in rows if r["event_type"] == "DeadlineBreached"]
    assert "statutory" in limits
