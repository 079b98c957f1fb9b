"""The open clocks' legal ledgers (``ProjectMachine.clock_ledgers``, the ``clock_ledger`` query) count
every deadline as the machine does, under the calendar in force and under a new one: what a calendar
load's preview (``interfaces.usecases.publish_calendar``) tells an operator before any project moves.

The oracle is the machine itself: the ledgers' deadlines under a new calendar are the deadlines the
machine computes once it adopts that calendar (``calendar_changed``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from legalclock import CST, OfficialCalendar, merge_calendar_file
from schemas.stages import Stage
from tests import support as sp
from tests.catalog.test_seasonal_zone import registered, seasonal_xiangyuan
from tests.lifecycle.test_promise_only import CONTRACT, contract_pending
from workflows.lifecycle import ProjectMachine


def machine_deadlines(m: ProjectMachine) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Each open clock's (own deadline, promised deadline) as the machine computes them."""
    return {
        tc.clock_id: (m.deadline(tc).at, m.promised_deadline(tc)) for tc in m.state.clocks.values() if not tc.closed
    }


def ledger_deadlines(
    m: ProjectMachine, calendar: OfficialCalendar
) -> dict[str, tuple[datetime | None, datetime | None]]:
    return {ledger.clock_id: ledger.deadlines(calendar) for ledger in m.clock_ledgers().clocks}


def at_land_with_late_acceptances(zone: str = "tunliu", machine: ProjectMachine | None = None) -> ProjectMachine:
    """Stage 1 open; its matters applied for on T0 and accepted a day later, so a limit counted from
    the receipt (the EIA, 环境影响评价法) and a promise counted from the acceptance differ."""
    m = machine or sp.machine(zone, acceptance_rule=2, promise_only_rule=2, stage=Stage.APPROVAL_LAND)
    start = m.state.clocks["process"].clock.accepted_at if "process" in m.state.clocks else sp.T0
    sp.open_applications(m, start)
    if m.state.matters["project-filing"].state == "pending":
        sp.decide(m, "project-filing", now=start)
    applied = [c for c, x in m.state.matters.items() if x.state == "to_apply"]
    for code in applied:
        sp.apply(m, code, start)
    accepted = start + timedelta(days=1, hours=2)
    for code in [c for c in applied if m.state.matters[c].state == "received"]:
        sp.accept(m, code, accepted)
    return m


def with_holiday(m: ProjectMachine, day: datetime) -> OfficialCalendar:
    """The machine's calendar with ``day`` made a holiday (a zone's correction)."""
    data = {"years": {str(day.year): {"holidays": {day.date().isoformat(): "调整"}, "workdays": {}}}}
    calendar, _ = merge_calendar_file(m.ctx.calendar, json.dumps(data))
    return calendar


def test_the_ledgers_count_each_deadline_as_the_machine_does_under_a_new_calendar() -> None:
    m = at_land_with_late_acceptances()
    eia = m.state.clocks[sp.matter_clock(m, "eia")]
    assert eia.acceptance is not None and eia.promised_days is not None, "receipt-based limit, promise from acceptance"
    assert ledger_deadlines(m, m.ctx.calendar) == machine_deadlines(m)
    # A holiday two working days after acceptance moves the promises and the limits alike.
    holiday = datetime(2026, 3, 5, tzinfo=CST)  # Thursday
    new = with_holiday(m, holiday)
    preview = ledger_deadlines(m, new)
    assert preview[eia.clock_id] != ledger_deadlines(m, m.ctx.calendar)[eia.clock_id], "the holiday moves the EIA"
    m.calendar_changed(new, sp.T0 + timedelta(days=1, hours=3))
    assert preview == machine_deadlines(m)
    assert preview[eia.clock_id][1] is not None


def test_a_contracts_only_deadline_is_its_promise_in_the_ledger() -> None:
    """Promise-only rule 2: the land transfer contract's clock runs on the zone's promise alone, so
    the preview lists its deadline as the promise (``limit``), not as a statutory one."""
    for rule, limit in ((2, "promised"), (1, "statutory")):
        m = contract_pending(rule)  # type: ignore[arg-type]
        clock = sp.matter_clock(m, CONTRACT)
        [ledger] = [x for x in m.clock_ledgers().clocks if x.clock_id == clock]
        assert (ledger.limit, ledger.promise) == (limit, None)
        assert ledger.deadlines(m.ctx.calendar) == (sp.deadline_of(m, clock), None)


def test_a_seasonal_zone_closes_each_deadline_on_its_own_days_hours() -> None:
    seasonal = seasonal_xiangyuan()
    at = datetime(2026, 5, 20, 9, 0, tzinfo=CST)  # winter hours; the limits end in summer
    m = registered(seasonal, at)
    sp.open_applications(m, at)
    sp.approve_until(m, Stage.APPROVAL_LAND, at)
    m = at_land_with_late_acceptances(machine=m)
    deadlines = ledger_deadlines(m, m.ctx.calendar)
    assert deadlines == machine_deadlines(m)
    summer_closes = [d for pair in deadlines.values() for d in pair if d is not None and d.hour == 18]
    assert summer_closes, "some deadline closes at the summer 18:00"
    assert any(promised is not None for _, promised in deadlines.values())
