"""Deadline timers under time skipping: exact instants, provisional years, stopped clocks.

The time-skipping server starts at today's date, so these tests move it to the dates they need
with ``env.sleep`` before starting a project.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from catalog.content import REGISTRY
from eventstore.calendars import current_calendar
from legalclock import CST, Clock, YearCalendar, provisional_holidays
from schemas.project import CalendarUpdate
from tests.harness import Harness
from tests.workflows.helpers import (
    HOURS,
    events,
    move_to,
    open_all,
    settle,
    unnoticed_year,
    view,
    working_days_after,
)
from workflows.project import ProjectWorkflow


async def test_process_deadline_across_national_day_is_exact_and_follows_the_new_calendar(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    # Accepted on the last working Friday of September (24 Sep in 2027, when written), 10:00 in
    # Beijing, in a year without an official notice, whatever today's date.
    law = await current_calendar(pg_pool)  # what the project takes when it registers
    year = unnoticed_year(await ts_env.get_current_time(), law, from_month=9)
    friday = next(
        date(year, 9, d)
        for d in range(30, 13, -1)
        if date(year, 9, d).weekday() == 4 and law.is_working_day(date(year, 9, d))
    )
    await move_to(ts_env, datetime.combine(friday, time(10, 0), CST))
    h = await ts.start(zone="tunliu")
    # The whole-process clock runs once an application is accepted (the same day here: a stop and a
    # resumption on one day move nothing).
    v = await open_all(h)
    process = next(c for c in v.clocks if c.clock_id == "process")
    provisional = Clock(accepted_at=process.accepted_at, limit_days=20).deadline(law, HOURS)
    assert process.provisional and process.deadline == provisional.at

    # The year's official notice arrives: the law's rest days, and National Day from 1 Oct through
    # the first day after the 7th the law leaves worked (eight days off, as in 2023's notice). It
    # only adds rest days within the limit, so the deadline moves later whatever the year.
    after = next(d for d in (date(year, 10, 8) + timedelta(days=n) for n in range(15)) if law.is_working_day(d))
    days = {d: n.removesuffix(" (provisional)") for d, n in provisional_holidays(year).items()}
    days |= {date(year, 10, d): "国庆节" for d in range(1, 8)} | {after: "国庆节"}
    new = law.with_year(year, YearCalendar(holidays=days))
    await h.signal(ProjectWorkflow.calendar_updated, CalendarUpdate(version=REGISTRY.add_calendar(new)))
    expected = Clock(accepted_at=process.accepted_at, limit_days=20).deadline(new, HOURS).at
    assert expected is not None and provisional.at is not None and expected > provisional.at
    v = await view(h)
    process = next(c for c in v.clocks if c.clock_id == "process")
    assert not process.provisional and process.deadline == expected
    # 20 working days after the Friday, counted by walking the notice's working days; in 2027:
    # 27-30 Sep (4), 1-8 Oct off, then 11-29 Oct (15) and Monday 1 Nov: 17:30.
    assert expected == datetime.combine(working_days_after(new, friday, 20), HOURS.afternoon_end, CST)
    if year == 2027:
        assert expected == datetime(2027, 11, 1, 17, 30, tzinfo=CST)
    rows = await events(pg_pool, v.project_id, wait_for="DeadlinesRecomputed")
    moved = next(r for r in rows if r["event_type"] == "DeadlinesRecomputed")["payload"]
    assert moved["calendar_version"] == new.version
    assert datetime.fromisoformat(moved["deadlines"]["process"]) == expected

    # One second before: no breach. Then exactly one, at the deadline.
    await settle(h)
    await move_to(ts_env, expected - timedelta(seconds=1))
    rows = await events(pg_pool, v.project_id)
    assert not [r for r in rows if r["event_type"] == "DeadlineBreached" and r["payload"]["clock_id"] == "process"]
    await settle(h)
    await ts_env.sleep(timedelta(days=3))
    rows = await events(pg_pool, v.project_id, wait_for="EscalatedToLead")
    breaches = [r for r in rows if r["event_type"] == "DeadlineBreached" and r["payload"]["clock_id"] == "process"]
    assert len(breaches) == 1
    assert timedelta(0) <= breaches[0]["occurred_at"] - expected < timedelta(seconds=2)
    warned = [r for r in rows if r["event_type"] == "DeadlineWarned" and r["payload"]["clock_id"] == "process"]
    assert len(warned) == 1 and warned[0]["occurred_at"] < expected
