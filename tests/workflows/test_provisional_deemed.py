"""No irreversible act on a provisional deadline (issue 11), under time skipping.

In a year without the State Council's notice the deadline is provisional: a breach escalates
(督办) but deemed approval (超时默认) is held; loading the year's notice releases it.
One time-skipping test per module: the test server keeps a module's earlier projects around.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from catalog.content import REGISTRY
from eventstore.calendars import current_calendar
from legalclock import CST, YearCalendar, provisional_holidays
from schemas.project import CalendarUpdate
from tests.harness import Harness
from tests.workflows.helpers import approve_all, events, matter, move_to, settle, unnoticed_year, view
from tests.workflows.test_escalation import of_clock
from workflows.project import ProjectWorkflow


async def test_a_provisional_breach_escalates_and_the_notice_then_deems_approval(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    # A Monday in July of a year without a notice (2027 when written), whatever today's date.
    law = await current_calendar(pg_pool)  # what the project takes when it registers
    year = unnoticed_year(await ts_env.get_current_time(), law, from_month=7)
    monday = next(date(year, 7, d) for d in range(1, 8) if date(year, 7, d).weekday() == 0)
    await move_to(ts_env, datetime.combine(monday, time(9, 30), CST))
    h = await ts.start(zone="yanhu")
    v = await approve_all(h, "completion_acceptance", prefix="pv")
    planning = matter(v, "planning-verification")  # yanhu deems it (缺席默认 at joint acceptance)
    assert planning.clock is not None and planning.clock.provisional and planning.clock.deadline is not None
    await settle(h)
    await ts_env.sleep(planning.clock.deadline - await ts_env.get_current_time() + timedelta(hours=1))
    rows = await events(pg_pool, v.project_id, wait_for="DeemedApprovalHeld")
    (breach,) = [
        b
        for b in of_clock(rows, "DeadlineBreached", "matter:planning-verification")
        if b["payload"]["limit"] == "statutory"
    ]
    assert breach["payload"]["provisional"] is True
    assert of_clock(rows, "EscalatedToLead", "matter:planning-verification"), "the ladder escalates as for any breach"
    assert matter(await view(h), "planning-verification").state == "pending", "no deemed approval yet"

    # The State Council publishes the year (its statutory days unchanged): the deadline is confirmed.
    days = {d: n.removesuffix(" (provisional)") for d, n in provisional_holidays(year).items()}
    notice = REGISTRY.add_calendar(law.with_year(year, YearCalendar(holidays=days)))
    await h.signal(ProjectWorkflow.calendar_updated, CalendarUpdate(version=notice))
    rows = await events(pg_pool, v.project_id, wait_for="DepartmentLiabilityRecorded")
    approved = [
        r
        for r in rows
        if r["event_type"] == "MatterApproved" and r["payload"]["matter_code"] == "planning-verification"
    ]
    assert len(approved) == 1 and approved[0]["payload"]["mode"] == "deemed"
    assert matter(await view(h), "planning-verification").state == "approved"
