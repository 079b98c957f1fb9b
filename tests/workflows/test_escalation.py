"""The escalation ladder under time skipping: warning, breach and 督办, joint meeting, deemed approval."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from schemas.project import ResolveMeeting
from tests.harness import Harness
from tests.support import rid
from tests.workflows.helpers import approve_all, decide, events, matter, open_all, settle, view
from workflows.project import ProjectWorkflow


def of_clock(rows: list[asyncpg.Record], event_type: str, clock_prefix: str) -> list[asyncpg.Record]:
    return [r for r in rows if r["event_type"] == event_type and r["payload"]["clock_id"].startswith(clock_prefix)]


async def test_a_late_department_is_warned_escalated_and_brought_to_a_joint_meeting(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    h = await ts.start(zone="tunliu")
    v = await approve_all(h, "approval_land")
    pid = v.project_id
    # Everything but the EIA (ecology, promised 10 working days, escalate policy) is decided.
    # Project filing is complete on receipt of its information (备案, 条例 §13): the EIA opens after it.
    assert matter(v, "project-filing").state == "approved" and matter(v, "eia").state == "to_apply"
    await open_all(h)
    v = await view(h)
    eia = matter(v, "eia")
    assert eia.state == "pending" and eia.clock is not None and eia.clock.promised_deadline is not None
    for m in v.matters:
        if m.stage == "approval_land" and m.state == "pending" and m.code != "eia":
            await decide(h, m.code, m.department, f"ok-{m.code}", by="clerk")

    # Past the promised deadline and three more working days (at most 5 calendar days + a holiday
    # week), still within the statutory 20.
    await settle(h)
    await ts_env.sleep(eia.clock.promised_deadline - await ts_env.get_current_time() + timedelta(days=12))
    rows = await events(pg_pool, pid, wait_for="JointMeetingConvened")
    assert len(of_clock(rows, "DeadlineWarned", "matter:eia")) == 1
    assert [b["payload"]["limit"] for b in of_clock(rows, "DeadlineBreached", "matter:eia")] == ["promised"]
    escalated = of_clock(rows, "EscalatedToLead", "matter:eia")
    assert len(escalated) == 1 and escalated[0]["payload"]["project_lead"] == "lead-zhao"
    meetings = of_clock(rows, "JointMeetingConvened", "matter:eia")
    assert len(meetings) == 1 and "dept:ecology" in meetings[0]["payload"]["attendees"]
    warn, breach = (
        of_clock(rows, "DeadlineWarned", "matter:eia")[0],
        of_clock(rows, "DeadlineBreached", "matter:eia")[0],
    )
    assert warn["occurred_at"] < breach["occurred_at"] < meetings[0]["occurred_at"]
    notes = await pg_pool.fetch("SELECT kind FROM notifications WHERE project_id = $1", pid)
    assert {"warning", "escalation", "joint_meeting"} <= {n["kind"] for n in notes}

    v = await view(h)
    assert matter(v, "eia").clock.overdue and "OVERDUE" in v.waiting_for
    meeting_id = meetings[0]["payload"]["meeting_id"]
    await h.execute_update(
        ProjectWorkflow.resolve_meeting,
        ResolveMeeting(
            request_id=rid(),
            meeting_id=meeting_id,
            resolution="生态环境局 to decide within 2 working days",
            by="lead-zhao",
        ),
    )
    v = await view(h)
    assert next(x for x in v.meetings if x.meeting_id == meeting_id).resolution is not None
    rows = await events(pg_pool, pid, wait_for="JointMeetingResolved")
    assert "JointMeetingResolved" in [r["event_type"] for r in rows]
