"""Helpers for lifecycle tests: play the department systems, read the event store."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.testing import WorkflowEnvironment

from legalclock import CST, OfficialCalendar, YearCalendar, default_calendar, provisional_holidays
from schemas.project import (
    Commitment,
    Decision,
    DecisionKind,
    DecisionResult,
    ProgressReport,
    ProjectView,
    ResumeClock,
    StopClock,
    SubmitApplication,
)
from tests.support import lifecycle_zones, with_notices
from workflows.project import ProjectWorkflow


@contextlib.asynccontextmanager
async def storage_refusing(pool: asyncpg.Pool, project_id: str) -> AsyncIterator[None]:
    """PostgreSQL refuses every event of ``project_id`` for good while inside (a check the batch can
    never pass), so its batches are refused with ``StorageRefused`` and the project parks. (Before
    issue 14 a NUL character in a decision did the same; it is now refused at the edge.)"""
    tag = project_id.replace("-", "_").replace(".", "_")
    await pool.execute(
        f"""CREATE FUNCTION refuse_{tag}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'refused for the test' USING ERRCODE = 'check_violation'; END $$;
            CREATE TRIGGER refuse_{tag} BEFORE INSERT ON events FOR EACH ROW
                WHEN (NEW.stream_id = '{project_id}') EXECUTE FUNCTION refuse_{tag}();"""
    )
    try:
        yield
    finally:
        await pool.execute(f"DROP TRIGGER refuse_{tag} ON events; DROP FUNCTION refuse_{tag}();")


# When the enterprise signed the commitments the helpers send (before any test's project starts).
T_SIGNED = datetime(2026, 1, 5, 9, 0, tzinfo=CST)


async def view(h: WorkflowHandle[Any, Any]) -> ProjectView:
    """The project's state, waiting while it registers."""
    for _ in range(100):
        try:
            return await h.query(ProjectWorkflow.state)
        except WorkflowQueryFailedError as exc:
            if "still registering" not in str(exc):
                raise
        await asyncio.sleep(0.1)
    raise AssertionError("project never finished registering")


async def decide(
    h: WorkflowHandle[Any, Any],
    matter_code: str,
    department: str,
    decision_id: str,
    kind: DecisionKind = "approve",
    *,
    by: str,
    **fields: Any,
) -> DecisionResult:
    """Send a department's decision on ``matter_code`` as the ``decide`` update (``fields``: the rest of it)."""
    d = Decision(
        decision_id=decision_id, department=department, matter_code=matter_code, kind=kind, decided_by=by, **fields
    )
    return await h.execute_update(ProjectWorkflow.decide, d)


async def apply(h: WorkflowHandle[Any, Any], code: str, mode: str, request_id: str, *, by: str) -> None:
    """The agent applies for ``code`` (with the signed commitment of a commitment matter)."""
    signed = (
        Commitment(text_version="cn-2026-1", signed_by="法定代表人", signed_at=T_SIGNED)
        if mode == "commitment"
        else None
    )
    cmd = SubmitApplication(request_id=request_id, matter_code=code, by=by, materials=["申请表"], commitment=signed)
    await h.execute_update(ProjectWorkflow.submit_application, cmd)


async def open_all(h: WorkflowHandle[Any, Any], prefix: str = "ok") -> ProjectView:
    """Apply for every matter open to apply and accept every received one (受理), as the agent and
    each department would; the view after."""
    v = await view(h)
    for m in v.matters:
        if m.state == "to_apply":
            await apply(h, m.code, m.mode, f"{prefix}-apply-{m.code}-{m.submissions + 1}", by=v.agent)
    v = await view(h)
    for m in v.matters:
        if m.state == "received":
            key = f"{prefix}-accept-{m.code}-{m.submissions}"
            await decide(h, m.code, m.department, key, "accept", by=f"{m.department}-clerk")
    return await view(h)


async def approve_all(
    h: WorkflowHandle[Any, Any], until_stage: str, prefix: str = "ok", *, accept: bool = True
) -> ProjectView:
    """Approve every pending matter, as each department would, until the project reaches a stage
    (construction reports 100% at once); the matters of that stage applied for and accepted."""
    for _ in range(20):
        v = await view(h)
        if v.stage == until_stage:
            # Its matters applied for and accepted (unless not asked), as the stage's decisions then find them.
            return await open_all(h, prefix) if accept else v
        if v.stage == "construction":
            done = ProgressReport(request_id=f"{prefix}-built", percent=100, by=v.agent)
            await h.execute_update(ProjectWorkflow.report_progress, done)
            continue
        if any(m.state in ("to_apply", "received") for m in v.matters):
            v = await open_all(h, prefix)
        pending = [m for m in v.matters if m.state == "pending"]
        if not pending and (
            v.stage == until_stage or any(m.state == "approved" for m in v.matters if m.stage == v.stage)
        ):
            continue  # approved on receipt (a commitment, a filing): the stage moved on
        assert pending, f"stuck in {v.stage}: {v.waiting_for}"
        for m in pending:
            await decide(h, m.code, m.department, f"{prefix}-{m.code}-{m.submissions}", by=f"{m.department}-clerk")
    raise AssertionError(f"never reached {until_stage}")


async def events(pool: asyncpg.Pool, project_id: str, *, wait_for: str | None = None) -> list[asyncpg.Record]:
    """The project's events in stream order; optionally wait until one of a type is recorded."""
    for _ in range(100):
        rows = await pool.fetch(
            "SELECT event_type, payload, occurred_at, version FROM events WHERE stream_id = $1 ORDER BY version",
            project_id,
        )
        if wait_for is None or any(r["event_type"] == wait_for for r in rows):
            return list(rows)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {wait_for} event for {project_id}")


def types(rows: list[asyncpg.Record]) -> list[str]:
    return [r["event_type"] for r in rows]


def matter(v: ProjectView, code: str) -> Any:
    return next(m for m in v.matters if m.code == code)


HOURS = lifecycle_zones()["tunliu"].office_hours


def official_2027() -> OfficialCalendar:
    """A 2027 notice as the State Council would publish it (National Day 1-7 Oct, make-up 9 Oct)."""
    year = YearCalendar(
        holidays={
            date(2027, 1, 1): "元旦",
            **{date(2027, 10, d): "国庆节" for d in range(1, 8)},
        },
        workdays={date(2027, 10, 9): "国庆节调休"},
    )
    return default_calendar().with_year(2027, year)


def noticed_through(last_year: int) -> OfficialCalendar:
    """The shipped calendar with a notice for each year up to ``last_year`` that has none, each as
    the State Council would publish the law's own rest days (国务院《全国年节及纪念日放假办法》).

    The time-skipping server starts at today's date, and a deemed approval is never taken on a
    provisional year's deadline; a test about deemed approval itself runs on this calendar, so it
    does not turn into a held one as the date nears a year without a notice.
    """
    calendar = default_calendar()
    return with_notices(calendar, range(min(calendar.years), last_year + 1))


def unnoticed_year(now: datetime, in_force: OfficialCalendar, *, from_month: int = 7) -> int:
    """The first year without a notice in ``in_force`` (the calendar a project registering now takes:
    ``eventstore.calendars.current_calendar``, which holds any notice an earlier test loaded) whose
    ``from_month`` still lies ahead of ``now``: where a test under time skipping (which starts at
    today's date) finds provisional deadlines, whatever the date it runs on and whichever notices
    have shipped or been loaded since it was written."""
    year = now.year
    while in_force.is_official(year) or datetime(year, from_month, 1, tzinfo=CST) <= now:
        year += 1
    return year


def notice_for(year: int) -> OfficialCalendar:
    """A notice for ``year`` as the State Council would publish one (国务院办公厅 notices, e.g.
    国办发明电〔2025〕7号): New Year's Day, National Day 1-7 Oct, and the weekend day after it worked
    (调休); the other festivals as the law gives them. For 2027: ``official_2027``'s National Day."""
    days = {d: n.removesuffix(" (provisional)") for d, n in provisional_holidays(year).items()}
    days = {d: n for d, n in days.items() if d.month != 10}
    days.update({date(year, 10, d): "国庆节" for d in range(1, 8)})
    makeup = next(date(year, 10, d) for d in range(8, 15) if date(year, 10, d).weekday() >= 5)
    days.pop(makeup, None)
    return default_calendar().with_year(year, YearCalendar(holidays=days, workdays={makeup: "国庆节调休"}))


def working_days_after(calendar: OfficialCalendar, day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` not counted), walking ``is_working_day``:
    an oracle independent of the legal clock's index."""
    found = 0
    while found < count:
        day += timedelta(days=1)
        found += calendar.is_working_day(day)
    return day


async def move_to(env: WorkflowEnvironment, target: datetime) -> None:
    now = await env.get_current_time()
    assert target > now, f"the test server is already past {target}"
    await env.sleep(target - now)


async def search_attributes(h: WorkflowHandle[Any, Any], **expected: Any) -> Any:
    """The workflow's search attributes once they show ``expected`` (visibility lags a little)."""
    from schemas import visibility

    keys = {k.name: k for k in visibility.ALL}
    sa = None
    for _ in range(100):
        sa = (await h.describe()).typed_search_attributes
        if all(sa.get(keys[name]) == value for name, value in expected.items()):
            return sa
        await asyncio.sleep(0.1)
    raise AssertionError(f"search attributes never showed {expected}: {sa}")


async def eventually(h: WorkflowHandle[Any, Any], check: Any, what: str) -> ProjectView:
    """The project's state once ``check(view)`` holds (activities complete a moment later)."""
    for _ in range(100):
        v = await view(h)
        if check(v):
            return v
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


async def settle(h: WorkflowHandle[Any, Any]) -> None:
    """Wait until the project has no activity in flight.

    Skipping time while an activity runs would fire its timeout timers; the time-skipping server
    then retries it and the clock stalls.
    """
    quiet = 0
    for _ in range(400):
        raw = (await h.describe()).raw_description
        # Between an activity's completion and the task that schedules the next one, nothing is
        # pending but a workflow task: wait for neither, twice in a row.
        idle = not raw.pending_activities and not raw.HasField("pending_workflow_task")
        quiet = quiet + 1 if idle else 0
        if quiet == 2:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("activities never settled")


@dataclass
class Task:
    """One workflow task or activity task of a project, as its history records it."""

    workflow_id: str
    run_id: str
    identity: str
    at: datetime
    name: str = ""  # the activity's type
    queue: str = ""  # the queue it was scheduled on
    # A workflow task's worker deployment build id ("" unversioned) and versioning behaviour (the enum's value).
    build_id: str = ""
    behavior: int = 0


@dataclass
class Histories:
    workflow_tasks: list[Task] = field(default_factory=list)
    activities: list[Task] = field(default_factory=list)
    failed_workflow_tasks: list[str] = field(default_factory=list)


async def read_histories(client: Client, workflow_ids: list[str]) -> Histories:
    """Every run of each project: who completed each workflow task (and as which build) and started
    each activity, each list in time order."""
    out = Histories()
    for wid in workflow_ids:
        async for run in client.list_workflows(f"WorkflowId = '{wid}'"):
            scheduled: dict[int, tuple[str, str]] = {}
            async for e in client.get_workflow_handle(wid, run_id=run.run_id).fetch_history_events():
                at = e.event_time.ToDatetime(tzinfo=UTC)
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                    c = e.workflow_task_completed_event_attributes
                    build, behavior = c.deployment_version.build_id, c.versioning_behavior
                    out.workflow_tasks.append(Task(wid, run.run_id, c.identity, at, build_id=build, behavior=behavior))
                elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    out.failed_workflow_tasks.append(e.workflow_task_failed_event_attributes.failure.message)
                elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                    a = e.activity_task_scheduled_event_attributes
                    scheduled[e.event_id] = (a.activity_type.name, a.task_queue.name)
                elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                    s = e.activity_task_started_event_attributes
                    name, queue = scheduled[s.scheduled_event_id]
                    out.activities.append(Task(wid, run.run_id, s.identity, at, name, queue))
    out.workflow_tasks.sort(key=lambda t: t.at)
    out.activities.sort(key=lambda t: t.at)
    return out


LAB = StopClock(matter_code="eia", department="ecology", kind="testing", reason="lab", expected_days=5)


async def stop_and_resume(daiban: Any, project_id: str, times: int) -> None:
    """Stop the EIA's clock for a test and resume it, ``times`` over (~10 history events each, in
    the land-approval stage): a project with a short ``history_limit`` continues as new."""
    for _ in range(times):
        await daiban.stop_clock(project_id, LAB)
        await daiban.resume_clock(project_id, ResumeClock(matter_code="eia", department="ecology"))
