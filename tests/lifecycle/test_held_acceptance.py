"""Acceptance by silence (行政许可法 §32 ¶1(4)) is not taken on a provisional deadline (acceptance hold rule 2).

Silence for the whole period to accept makes the application accepted on receipt, and the department
loses its one completion notice (补正告知) for good. A period that ends in a year without the State
Council's notice ends on a provisional deadline (statutory holidays known, 调休 not), so, like deemed
approval, acceptance by silence waits: the department may still accept, notify or refuse, until the
official calendar confirms the period ran out or an operator does (``confirm_deadline``); a calendar
that moves its end later re-arms it.

The fire acceptance received Monday 30 Sep 2030 10:00 (2030 has no notice): §32's 5 working days to
accept end Thursday 10 Oct 17:30 provisionally (National Day's statutory 1-3 Oct skipped). Under a
notice shaped like recent ones (1-7 Oct off, Sunday 29 Sep and Saturday 12 Oct worked) they end
Saturday 12 Oct 17:30.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from legalclock import CST, OfficialCalendar, YearCalendar
from schemas.project import ConfirmDeadline
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import ProjectMachine, Rejected

FIRE = "fire-acceptance"
RECEIVED = datetime(2030, 9, 30, 10, tzinfo=CST)
PROVISIONAL_END = datetime(2030, 10, 10, 17, 30, tzinfo=CST)
NOTICE_END = datetime(2030, 10, 12, 17, 30, tzinfo=CST)


def received_fire(acceptance_hold_rule: int = 2) -> tuple[ProjectMachine, str]:
    m = sp.machine(
        "yanhu",
        at=RECEIVED - timedelta(days=7),
        acceptance_rule=2,
        stage=Stage.COMPLETION_ACCEPTANCE,
        acceptance_hold_rule=acceptance_hold_rule,  # type: ignore[arg-type]
    )
    sp.apply(m, FIRE, RECEIVED)
    clock = f"acceptance:{FIRE}:{m.state.matters[FIRE].submissions}"
    info = m.deadline(m.state.clocks[clock])
    assert (info.at, info.provisional) == (PROVISIONAL_END, True)
    sp.drain(m)
    return m, clock


def with_2030_notice(calendar: OfficialCalendar, national_day: bool) -> OfficialCalendar:
    """``calendar`` with a 2030 notice: the law's rest days, and with ``national_day`` 1-7 Oct off
    with Sunday 29 Sep and Saturday 12 Oct worked (调休)."""
    base = sp.with_notices(calendar, range(2030, 2031))
    if not national_day:
        return base
    year = base.years[2030]
    holidays = {**year.holidays, **{date(2030, 10, d): "国庆节" for d in range(1, 8)}}
    workdays = {date(2030, 9, 29): "国庆节调休", date(2030, 10, 12): "国庆节调休"}
    return base.with_year(2030, YearCalendar(holidays=holidays, workdays=workdays))


def accepted(m: ProjectMachine) -> list[dict[str, object]]:
    return [e.payload for e in sp.events_of(m, "ApplicationAccepted")]


def assert_accepted_on_receipt(m: ProjectMachine) -> None:
    """One acceptance, by silence, on the receipt (行政许可法 §32 ¶1(4))."""
    (done,) = accepted(m)
    assert done["deemed"] is True and done["accepted_at"] == RECEIVED.isoformat()


def test_silence_on_a_provisional_period_is_held_and_the_department_may_still_notify() -> None:
    m, clock = received_fire()
    m.fire_alarms(PROVISIONAL_END)
    (held,) = [e.payload for e in sp.events_of(m, "DeemedAcceptanceHeld")]
    assert (held["clock_id"], held["matter_code"], held["department"]) == (clock, FIRE, "housing")
    assert held["deadline"] == PROVISIONAL_END.isoformat()
    assert accepted(m) == [] and sp.state_of(m, FIRE) == "received"
    told = [f for f in m.state.effects if f.kind == "notify" and f.notice == "deemed_acceptance_held"]
    assert told and "lead-zhao" in told[0].recipients
    m.fire_alarms(PROVISIONAL_END + timedelta(hours=16))  # held: its alarm does not fire again
    assert len(sp.events_of(m, "DeemedAcceptanceHeld")) == 1 and accepted(m) == []
    notice = sp.decision(FIRE, "request_completion", items=["消防设施检测报告"])
    later = datetime(2030, 10, 11, 10, tzinfo=CST)  # inside the law's period under the notice to come
    m.check("decide", notice, later)
    m.execute("decide", notice, later)
    assert sp.state_of(m, FIRE) == "incomplete"


def test_a_notice_that_moves_the_end_later_re_arms_it_and_silence_then_accepts_on_receipt() -> None:
    m, clock = received_fire()
    m.fire_alarms(PROVISIONAL_END)
    m.calendar_changed(with_2030_notice(m.ctx.calendar, national_day=True), datetime(2030, 10, 11, 9, tzinfo=CST))
    info = m.deadline(m.state.clocks[clock])
    assert (info.at, info.provisional) == (NOTICE_END, False)
    m.fire_alarms(NOTICE_END - timedelta(minutes=1))
    assert accepted(m) == [] and sp.state_of(m, FIRE) == "received"
    m.fire_alarms(NOTICE_END)
    assert_accepted_on_receipt(m)
    assert sp.state_of(m, FIRE) == "pending"


def test_a_notice_that_confirms_the_end_accepts_on_receipt_at_once() -> None:
    m, _ = received_fire()
    m.fire_alarms(PROVISIONAL_END)
    m.calendar_changed(with_2030_notice(m.ctx.calendar, national_day=False), datetime(2030, 10, 11, 9, tzinfo=CST))
    assert_accepted_on_receipt(m)
    with pytest.raises(Rejected, match=r"^kind: request_completion is decided on a received application"):
        m.check("decide", sp.decision(FIRE, "request_completion", items=["x"]), datetime(2030, 10, 11, 10, tzinfo=CST))


def test_an_operator_confirms_the_provisional_end() -> None:
    m, clock = received_fire()
    confirm = ConfirmDeadline(request_id=sp.rid(), clock_id=clock, by="ops-wang", reason="国务院通知核实")
    with pytest.raises(Rejected, match=r"^clock_id: .* holds no deemed approval or acceptance by silence"):
        m.check("confirm_deadline", confirm)  # nothing held before the period ends
    m.fire_alarms(PROVISIONAL_END)
    sp.drain(m)
    a = sp.ack(m, "confirm_deadline", confirm, datetime(2030, 10, 11, 9, tzinfo=CST))
    assert a.message.endswith(f"{FIRE} deemed accepted on receipt")
    assert sp.types(m)[0] == "ProvisionalDeadlineConfirmed"
    assert_accepted_on_receipt(m)


def test_projects_registered_before_the_rule_accept_on_the_provisional_end() -> None:
    m, _ = received_fire(acceptance_hold_rule=1)
    m.fire_alarms(PROVISIONAL_END)
    assert not sp.events_of(m, "DeemedAcceptanceHeld")
    assert_accepted_on_receipt(m)
    assert sp.state_of(m, FIRE) == "pending"
