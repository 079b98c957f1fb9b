"""What the lifecycle escalates or records beyond breaches reaches the read models (migration 0250):
a stop that outlasts its declared length is on the overdue board while it lasts (行政许可法 §45), a
joint meeting's resolution shows in the clock's escalation, and a department's procedural fault
counts in its report (行政许可法 §32 ¶1(4), §72(4)). The lifecycle runs as pure code; its events
are appended and projected on a database of the test's own."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from eventstore import queries as q
from eventstore.projector import Projector
from eventstore.store import append
from legalclock import CST
from schemas.stages import Stage
from tests import support as sp
from tests.eventstore.conftest import PrivateDb
from workflows.lifecycle import ProjectMachine


async def project(db: PrivateDb, m: ProjectMachine) -> None:
    """Append what the lifecycle emitted so far and project it."""
    await append(db.pool, m.state.pending_events)
    m.state.pending_events.clear()
    await Projector(db.pool).run_once()


def at_land() -> ProjectMachine:
    """Tunliu, stage 1 with project filing approved: EIA pending since T0; every event kept."""
    m = sp.machine("tunliu", stage=Stage.APPROVAL_LAND, clear=False)
    sp.decide(m, "project-filing")
    return m


async def test_a_stop_that_outlasts_its_declared_length_is_on_the_board_until_the_clock_resumes(
    private_db: PrivateDb,
) -> None:
    m = at_land()
    pid = m.state.registration.project_id
    start = datetime(2026, 3, 3, 10, 0, tzinfo=CST)  # Tuesday
    sp.ack(m, "stop_clock", sp.stop_clock("eia", "testing", expected_days=3), start)
    over = datetime(2026, 3, 6, 17, 30, tzinfo=CST)  # 3 working days after Tuesday
    m.fire_alarms(over - timedelta(minutes=1))
    await project(private_db, m)
    assert "matter:eia:1" not in {i.clock_id for i in await q.overdue(private_db.pool, now=over)}
    m.fire_alarms(over)
    assert sp.events_of(m, "StopOverran")
    await project(private_db, m)
    [item] = [i for i in await q.overdue(private_db.pool, now=over) if i.clock_id == "matter:eia:1"]
    assert (item.project_id, item.stop_overran, item.department) == (pid, True, "ecology")
    assert item.deadline is None and not item.breached  # no deadline runs while stopped
    sp.ack(m, "resume_clock", sp.resume_clock("eia"), over + timedelta(days=3))
    await project(private_db, m)
    assert not [i for i in await q.overdue(private_db.pool, now=over + timedelta(days=3)) if i.stop_overran]


async def test_a_resolved_joint_meeting_shows_in_the_clocks_escalation(private_db: PrivateDb) -> None:
    m = at_land()
    clock = "matter:eia:1"
    due = sp.deadline_of(m, clock)
    m.fire_alarms(due)
    meet = sp.legal_deadline(m, due, m.zone.escalation.joint_meeting_after_days)
    m.fire_alarms(meet)
    [convened] = [e.payload for e in sp.events_of(m, "JointMeetingConvened") if e.payload["clock_id"] == clock]
    await project(private_db, m)
    board = {i.clock_id: i for i in await q.overdue(private_db.pool, now=meet)}
    assert board[clock].escalation == "joint_meeting"
    sp.ack(m, "resolve_meeting", sp.resolve(convened["meeting_id"]), meet)
    await project(private_db, m)
    board = {i.clock_id: i for i in await q.overdue(private_db.pool, now=meet)}
    assert board[clock].escalation == "meeting_resolved"  # still overdue until it acts on the resolution


async def test_a_contracts_missed_promise_is_on_the_board_and_not_the_departments_breach(
    private_db: PrivateDb,
) -> None:
    """Promise-only rule 2: the land transfer contract's promise passed shows on the overdue board as
    the zone's missed promise, and ``report departments`` counts no legal breach for it."""
    from tests.lifecycle.test_promise_only import CONTRACT, breach_of_contract, contract_pending

    m = contract_pending(2, keep_events=True)
    clock = sp.matter_clock(m, CONTRACT)
    due = sp.deadline_of(m, clock)
    assert breach_of_contract(m)["limit"] == "promised"
    await project(private_db, m)
    [item] = [i for i in await q.overdue(private_db.pool, now=due) if i.clock_id == clock]
    assert (item.promise_missed, item.breached, item.department) == (True, False, "resources")
    rows = {r.department: r for r in await q.department_report(private_db.pool, zone="tunliu")}
    assert rows["resources"].breaches == 0
    lines = [t.summary for t in await q.project_timeline(private_db.pool, m.pid) if t.event_type == "DeadlineBreached"]
    assert [line for line in lines if "resources" in line] == [
        f"Promise missed: matter clock of resources, due {due.astimezone(CST):%Y-%m-%d %H:%M}"
        " (the zone's promise; 督办, no legal breach)"
    ]


async def test_a_contracts_missed_promise_ends_when_a_calendar_moves_its_deadline_ahead(
    private_db: PrivateDb,
) -> None:
    """As the lifecycle re-arms the contract's clock (a holiday added on its deadline day moves the
    deadline a working day on), the board no longer lists the missed promise."""
    import json

    from legalclock import merge_calendar_file
    from tests.lifecycle.test_promise_only import CONTRACT, breach_of_contract, contract_pending

    m = contract_pending(2, keep_events=True)
    clock = sp.matter_clock(m, CONTRACT)
    due = sp.deadline_of(m, clock)
    breach_of_contract(m)
    await project(private_db, m)
    assert clock in {i.clock_id for i in await q.overdue(private_db.pool, now=due)}
    holiday = {"years": {str(due.year): {"holidays": {due.date().isoformat(): "test"}, "workdays": {}}}}
    calendar, _ = merge_calendar_file(m.ctx.calendar, json.dumps(holiday))
    later = due + timedelta(minutes=5)
    m.calendar_changed(calendar, later)
    assert not m.state.clocks[clock].breached and sp.deadline_of(m, clock) > later
    await project(private_db, m)
    assert clock not in {i.clock_id for i in await q.overdue(private_db.pool, now=later)}


async def test_a_departments_procedural_fault_counts_in_its_report(private_db: PrivateDb) -> None:
    m = sp.machine("tunliu", stage=Stage.APPROVAL_LAND, clear=False, acceptance_rule=2)
    sp.apply(m, "project-filing")
    sp.accept(m, "project-filing")
    sp.decide(m, "project-filing")
    sp.apply(m, "eia")
    m.execute("decide", sp.decision("eia", "request_completion"), sp.T0 + timedelta(hours=2))
    m.execute("supply_materials", sp.supply("eia", ["环评报告表"]), sp.T0 + timedelta(days=1))
    second = sp.decision("eia", "request_completion", reasons=["首次告知遗漏监测数据"]).model_copy(
        update={"first_notice_incomplete": True}
    )
    m.execute("decide", second, sp.T0 + timedelta(days=2))
    assert sp.events_of(m, "DepartmentFaultRecorded")
    await project(private_db, m)
    rows = {r.department: r for r in await q.department_report(private_db.pool, zone="tunliu")}
    assert rows["ecology"].faults == 1
    assert all(r.faults == 0 for d, r in rows.items() if d != "ecology")


@pytest.mark.parametrize("supply_days", [None, 100], ids=["suspended", "still-owed"])
async def test_a_permit_that_lapses_while_suspended_ends_what_was_owed_for_it(
    private_db: PrivateDb, supply_days: float | None
) -> None:
    """Permit rule 2: the owed materials end with the lapsed permit (``PermitLapsed.obligations_ended``);
    the read models close their clock and the matter is open to apply again, as the lifecycle says.
    Suspended, their clock closed when they were missed; still owed (a tolerance period longer than
    the permit's three months), only the lapse closes it."""
    from tests.lifecycle.test_modes import PERMIT, suspended_permit_lapses

    m = suspended_permit_lapses(2, keep_events=True, supply_days=supply_days)
    pid = m.state.registration.project_id
    await project(private_db, m)
    row = await private_db.pool.fetchrow(
        "SELECT state, license_no, obligation FROM rm_matters WHERE project_id = $1 AND matter_code = $2", pid, PERMIT
    )
    assert dict(row) == {"state": "to_apply", "license_no": None, "obligation": None}
    open_owed = await private_db.pool.fetch(
        "SELECT clock_id FROM rm_clocks WHERE project_id = $1 AND scope = 'obligation' AND open", pid
    )
    assert [r["clock_id"] for r in open_owed] == [
        c.clock_id for c in m.state.clocks.values() if c.scope == "obligation" and not c.closed
    ]
