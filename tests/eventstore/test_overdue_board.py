"""The overdue board (督办) from the read models: a breach on a provisional deadline is marked until
the deadline is confirmed, and how late is counted in working days (行政许可法 §82), not calendar days.

The provisional breaches come from the lifecycle itself (``ProjectMachine`` in 2027, a year the
shipped calendar has no State Council notice for); the events are appended and projected into a
database of the test's own, so the calendar in force is the shipped one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from eventstore import queries as q
from eventstore.codec import matter_clock_id
from eventstore.content import store_versions
from eventstore.projector import Projector
from eventstore.store import append
from infra import migrate
from infra.db import create_pool
from legalclock import CST, OfficialCalendar, YearCalendar, default_calendar, provisional_holidays
from schemas import events as ev
from tests import support as sp
from tests.databases import fresh_database
from tests.eventstore.conftest import new_stream
from workflows.lifecycle import ProjectMachine

T0 = datetime(2027, 7, 5, 9, 30, tzinfo=CST)  # 2027: no notice in the shipped calendar


def notice(base: OfficialCalendar, year: int) -> OfficialCalendar:
    """``base`` with the State Council's notice for ``year`` (its statutory days as computed)."""
    days = {d: n.removesuffix(" (provisional)") for d, n in provisional_holidays(year).items()}
    return base.with_year(year, YearCalendar(holidays=days))


async def flags(pool: asyncpg.Pool, project_id: str, now: datetime) -> dict[str, bool]:
    return {i.clock_id: i.provisional for i in await q.overdue(pool, now=now) if i.project_id == project_id}


async def project(pool: asyncpg.Pool, m: ProjectMachine) -> None:
    await append(pool, sp.drain(m))
    await Projector(pool).run_once()


async def test_a_provisional_breach_is_marked_until_the_years_notice_confirms_it(private_pool: asyncpg.Pool) -> None:
    m = sp.machine("yanhu", at=T0, clear=False)
    pid = m.state.registration.project_id
    later = T0 + timedelta(days=45)
    m.fire_alarms(later)
    breaches = [e.payload for e in m.state.pending_events if e.event_type == "DeadlineBreached"]
    assert breaches and all(b["provisional"] for b in breaches)
    await project(private_pool, m)
    marked = await flags(private_pool, pid, later)
    assert marked and all(marked.values()), marked
    board = {i.clock_id: i for i in await q.overdue(private_pool, now=later)}
    promise_only = board["matter:enterprise-registration:1"]
    assert promise_only.breached and promise_only.provisional

    # A calendar with 2028's notice but not 2027's confirms nothing.
    only_2028 = notice(default_calendar(), 2028)
    await store_versions(private_pool, [(only_2028.version, "calendar", only_2028)])
    assert m.calendar_changed(only_2028, later + timedelta(hours=1))
    await project(private_pool, m)
    assert await flags(private_pool, pid, later) == marked

    # The State Council publishes 2027 (statutory days as counted): no deadline moves, and every
    # breach now rests on official data.
    official = notice(only_2028, 2027)
    await store_versions(private_pool, [(official.version, "calendar", official)])
    assert m.calendar_changed(official, later + timedelta(hours=2))
    recomputed = [e.payload for e in m.state.pending_events if e.event_type == "DeadlinesRecomputed"]
    assert recomputed == [
        {"project_id": pid, "calendar_version": official.version, "deadlines": {}, "promised_deadlines": {}}
    ]
    await project(private_pool, m)
    confirmed = await flags(private_pool, pid, later)
    assert confirmed.keys() == marked.keys() and not any(confirmed.values()), confirmed

    # A rebuild projects the same (the calendar is read by its version, which never changes).
    await Projector(private_pool).rebuild()
    assert await flags(private_pool, pid, later) == confirmed


async def test_a_version_the_store_does_not_hold_leaves_the_mark(private_pool: asyncpg.Pool) -> None:
    m = sp.machine("yanhu", at=T0, clear=False)
    pid = m.state.registration.project_id
    later = T0 + timedelta(days=45)
    m.fire_alarms(later)
    await project(private_pool, m)
    assert m.calendar_changed(notice(default_calendar(), 2027), later + timedelta(hours=1))  # not stored
    await project(private_pool, m)
    marked = await flags(private_pool, pid, later)
    assert marked and all(marked.values())


async def test_an_operator_confirming_the_deadline_clears_the_mark_and_a_new_breach_sets_it(
    private_pool: asyncpg.Pool,
) -> None:
    s = new_stream()
    clock = matter_clock_id("eia", 1)
    matter: dict[str, Any] = {"matter_code": "eia", "department": "ecology", "stage": "approval_land"}
    due = datetime(2027, 3, 1, 17, 30, tzinfo=CST)
    on_clock: dict[str, Any] = {"clock_id": clock, "scope": "matter", "department": "ecology"}
    await append(
        private_pool,
        [
            s.register("tunliu"),
            s.emit(
                ev.MatterSubmitted,
                **matter,
                submission=1,
                mode="standard",
                statutory_days=30,
                promised_days=7,
                deadline=due,
                promised_deadline=due - timedelta(days=14),
            ),
            s.emit(
                ev.DeadlineBreached, **on_clock, deadline=due - timedelta(days=14), provisional=True, limit="promised"
            ),
            s.emit(ev.DeadlineBreached, **on_clock, deadline=due, provisional=False),
        ],
    )
    await Projector(private_pool).run_once()
    now = due + timedelta(days=3)
    (item,) = [i for i in await q.overdue(private_pool, now=now) if i.project_id == s.project_id]
    # The statutory breach is on official data only where its flag says so; the promise's counts too.
    assert (item.breached, item.promise_missed, item.provisional) == (True, True, True)

    await append(private_pool, [s.emit(ev.ProvisionalDeadlineConfirmed, clock_id=clock, by="ops", reason="核实")])
    await Projector(private_pool).run_once()
    (item,) = [i for i in await q.overdue(private_pool, now=now) if i.project_id == s.project_id]
    assert (item.breached, item.provisional) == (True, False)

    # An extension re-arms the clock (its breach and mark end); a later breach on a provisional
    # deadline marks it again.
    extended = due + timedelta(days=20)
    await append(
        private_pool,
        [
            s.emit(
                ev.LimitExtended,
                clock_id=clock,
                scope="matter",
                days=10,
                approved_by="局长",
                reason="复杂",
                new_deadline=extended,
            ),
            s.emit(ev.DeadlineBreached, **on_clock, deadline=extended, provisional=True),
        ],
    )
    await Projector(private_pool).run_once()
    row = await private_pool.fetchrow(
        "SELECT breached, provisional, promise_provisional FROM rm_clocks WHERE project_id = $1 AND clock_id = $2",
        s.project_id,
        clock,
    )
    assert row is not None and (row["breached"], row["provisional"], row["promise_provisional"]) == (True, True, False)


async def test_how_late_is_counted_in_working_days_over_the_spring_festival(private_pool: asyncpg.Pool) -> None:
    """Due Friday 13 Feb 2026 at the close; Spring Festival 15-23 Feb, make-up working day Saturday
    14 Feb (国办发明电〔2025〕7号). At the close of Wednesday 25 Feb, 12 calendar days later, the
    clock is 3 working days late (14, 24 and 25 Feb); at 10:00 that morning, 2 days and 1 hour."""
    s = new_stream()
    due = datetime(2026, 2, 13, 17, 30, tzinfo=CST)
    await append(
        private_pool,
        [
            s.register("tunliu"),
            s.emit(
                ev.MatterSubmitted,
                matter_code="eia",
                department="ecology",
                stage="approval_land",
                submission=1,
                mode="standard",
                statutory_days=30,
                promised_days=None,
                deadline=due,
            ),
        ],
    )
    await Projector(private_pool).run_once()

    async def item_at(now: datetime) -> q.OverdueItem:
        (item,) = [i for i in await q.overdue(private_pool, now=now) if i.project_id == s.project_id]
        return item

    close = await item_at(datetime(2026, 2, 25, 17, 30, tzinfo=CST))
    assert (close.late_working_days, close.late_working_hours, close.late_by) == (3.0, 21.0, "3.0 working days")
    assert not close.provisional  # no breach recorded yet, and 2026 is official
    morning = await item_at(datetime(2026, 2, 25, 10, 0, tzinfo=CST))
    assert (morning.late_working_days, morning.late_working_hours) == (2.14, 15.0)
    # Under one working day: hours. The holiday week counts nothing.
    holiday = await item_at(datetime(2026, 2, 23, 12, 0, tzinfo=CST))
    assert (holiday.late_working_days, holiday.late_working_hours, holiday.late_by) == (1.0, 7.0, "1.0 working days")
    saturday = await item_at(datetime(2026, 2, 14, 11, 0, tzinfo=CST))  # the make-up Saturday is worked
    assert (saturday.late_working_hours, saturday.late_by) == (2.0, "2.0 working hours")


async def test_migration_0240_has_a_store_projected_before_it_rebuilt(
    pg_server_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store projected by a release before 0240 has no provisional marks: 0240 asks the next
    leader to rebuild the read models (migration 0220's ``rebuild_reason``), which marks them."""
    shipped = migrate.available()
    async with fresh_database(pg_server_dsn, "daiban_es", migrated=False) as dsn:
        pool = await create_pool(dsn, max_size=4)
        try:
            monkeypatch.setattr(migrate, "available", lambda: [x for x in shipped if x.version < "0240"])
            await migrate.apply(pool)
            m = sp.machine("yanhu", at=T0, clear=False)
            later = T0 + timedelta(days=45)
            m.fire_alarms(later)
            await append(pool, sp.drain(m))
            # What the release before projected (its handlers wrote no mark): the checkpoint moved on.
            await pool.execute("UPDATE projection_checkpoints SET position = (SELECT max(position) FROM events)")
            monkeypatch.setattr(migrate, "available", lambda: shipped)
            assert "0240_clock_provisional" in await migrate.apply(pool)
            reason = await pool.fetchval("SELECT rebuild_reason FROM projection_checkpoints")
            assert "migration 0240" in reason
            assert await Projector(pool).rebuild_if_required()
            marked = await flags(pool, m.state.registration.project_id, later)
            assert marked and all(marked.values())
        finally:
            await pool.close()


async def test_acceptance_by_silence_held_on_a_provisional_period_is_on_the_board_until_it_ends(
    private_pool: asyncpg.Pool,
) -> None:
    """A department silent past a provisional period to accept (patch ``held-acceptance``): the clock
    is overdue and marked provisional; a notice that moves its end later takes it off the board, and
    acceptance by silence at the new end closes it (tests/lifecycle/test_held_acceptance.py)."""
    from schemas.stages import Stage
    from tests.lifecycle.test_held_acceptance import FIRE, NOTICE_END, PROVISIONAL_END, RECEIVED, with_2030_notice

    opened = RECEIVED - timedelta(days=7)
    m = sp.machine("yanhu", at=opened, acceptance_rule=2, stage=Stage.COMPLETION_ACCEPTANCE, clear=False)
    pid = m.state.registration.project_id
    sp.apply(m, FIRE, RECEIVED)
    clock = f"acceptance:{FIRE}:1"
    m.fire_alarms(PROVISIONAL_END)
    assert sp.events_of(m, "DeemedAcceptanceHeld")
    await project(private_pool, m)
    after = PROVISIONAL_END + timedelta(hours=16)
    assert (await flags(private_pool, pid, after)).get(clock) is True

    official = with_2030_notice(m.ctx.calendar, national_day=True)
    await store_versions(private_pool, [(official.version, "calendar", official)])
    assert m.calendar_changed(official, datetime(2030, 10, 11, 9, tzinfo=CST))
    await project(private_pool, m)
    assert clock not in await flags(private_pool, pid, datetime(2030, 10, 11, 10, tzinfo=CST))
    m.fire_alarms(NOTICE_END)
    await project(private_pool, m)
    assert clock not in await flags(private_pool, pid, NOTICE_END + timedelta(days=1))
