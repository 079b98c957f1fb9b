"""The legal clock's rules as the lifecycle applies them (issue 11), on the pure machine.

- 超时默认 is irreversible, so it is never taken on a provisional deadline (a year without the
  State Council's notice): held, escalated, then taken once the notice confirms the deadline
  passed, or an operator confirms it.
- §45 stops declare their length; the applicant is told; an overrun warns and escalates.
- §42 extensions: within the limit, at most the matter's maximum, once, the applicant told.
- A stop moves the deadline by whole working days: (S, R] are not counted.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from legalclock import CST, YearCalendar, provisional_holidays
from schemas import effects as fx
from schemas.project import ConfirmDeadline
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import ProjectMachine, Rejected

# Monday 5 July 2027: 2027 has no notice in the shipped calendar, so its deadlines are provisional.
T27 = datetime(2027, 7, 5, 9, 0, tzinfo=CST)
LIGHTNING = "matter:lightning-design-review:1"


def notices(m: ProjectMachine) -> list[tuple[str, list[str], str]]:
    return [(e.notice, e.recipients, e.message) for e in m.state.effects if isinstance(e, fx.Notify)]


def yanhu_2027() -> ProjectMachine:
    """A zone whose local rule deems the lightning design review approved (超时默认)."""
    m = sp.machine("yanhu", at=T27, stage=Stage.ENGINEERING_PERMIT)
    return sp.deeming(m, "lightning-design-review", safety_rule="local rule")


def official_2027(m: ProjectMachine) -> ProjectMachine:
    """The 2027 notice arrives: the statutory days, official now (no swap near July)."""
    days = {d: n.removesuffix(" (provisional)") for d, n in provisional_holidays(2027).items()}
    m.calendar_changed(m.ctx.calendar.with_year(2027, YearCalendar(holidays=days)), T27)
    return m


def test_a_provisional_breach_escalates_but_holds_deemed_approval() -> None:
    m = yanhu_2027()
    due = sp.statutory_deadline_of(m, LIGHTNING)
    assert m.deadline(m.state.clocks[LIGHTNING]).provisional
    m.fire_alarms(due)
    lightning = m.state.matters["lightning-design-review"]
    assert lightning.state == "pending", "no deemed approval on a provisional deadline"
    breaches = [e.payload for e in sp.events_of(m, "DeadlineBreached") if e.payload["clock_id"] == LIGHTNING]
    assert [(b["limit"], b["provisional"]) for b in breaches] == [("promised", True), ("statutory", True)]
    assert [e.payload["clock_id"] for e in sp.events_of(m, "DeemedApprovalHeld")] == [LIGHTNING]
    assert LIGHTNING in {e.payload["clock_id"] for e in sp.events_of(m, "EscalatedToLead")}
    assert m.state.clocks[LIGHTNING].deemed_held


def test_the_notice_releases_a_held_deemed_approval_once_the_deadline_is_official() -> None:
    m = yanhu_2027()
    due = sp.statutory_deadline_of(m, LIGHTNING)
    m.fire_alarms(due)
    sp.drain(m)
    later = due + timedelta(days=7)
    days = {d: n.removesuffix(" (provisional)") for d, n in provisional_holidays(2027).items()}
    assert m.calendar_changed(m.ctx.calendar.with_year(2027, YearCalendar(holidays=days)), later)
    x = m.state.matters["lightning-design-review"]
    assert (x.state, x.approval_mode) == ("approved", "deemed")
    assert "DepartmentLiabilityRecorded" in sp.types(m)
    assert not m.state.clocks[LIGHTNING].deemed_held


def test_an_operator_confirms_a_provisional_deadline() -> None:
    m = yanhu_2027()
    due = sp.statutory_deadline_of(m, LIGHTNING)
    m.fire_alarms(due)
    sp.drain(m)
    cmd = ConfirmDeadline(request_id=sp.rid(), clock_id=LIGHTNING, by="operator-li", reason="notice expected unchanged")
    a = sp.ack(m, "confirm_deadline", cmd, due + timedelta(hours=2))
    assert "deemed approved" in a.message
    assert sp.types(m)[0] == "ProvisionalDeadlineConfirmed" and "MatterApproved" in sp.types(m)
    assert m.state.matters["lightning-design-review"].approval_mode == "deemed"
    with pytest.raises(Rejected, match=r"^clock_id: "):
        m.check("confirm_deadline", cmd.model_copy(update={"request_id": sp.rid()}))


def test_an_official_deadline_is_deemed_at_once() -> None:
    m = official_2027(yanhu_2027())
    m.fire_alarms(sp.statutory_deadline_of(m, LIGHTNING))
    assert m.state.matters["lightning-design-review"].approval_mode == "deemed"
    assert not sp.events_of(m, "DeemedApprovalHeld")


def test_a_stop_declares_its_length_and_the_agent_is_told() -> None:
    m = sp.at_approval_land()
    start = datetime(2026, 3, 3, 10, 0, tzinfo=CST)
    a = sp.ack(m, "stop_clock", sp.stop_clock("eia", "expert_review", expected_days=5), start)
    assert a.message == "clock of eia stopped for expert_review, 5 working days"
    assert sp.events_of(m, "ClockStopped")[0].payload["expected_days"] == 5
    ((kind, to, text),) = notices(m)
    assert kind == "clock_stopped" and to == ["agent-li"] and "5 working days" in text and "§45" in text


def test_a_stop_that_outlasts_its_declared_length_escalates_once() -> None:
    m = sp.at_approval_land()
    start = datetime(2026, 3, 3, 10, 0, tzinfo=CST)  # Tuesday
    sp.ack(m, "stop_clock", sp.stop_clock("eia", "testing", expected_days=3), start)
    sp.drain(m)
    # Three working days after Tuesday: Friday 6 March, 17:30.
    over = datetime(2026, 3, 6, 17, 30, tzinfo=CST)
    tc = m.state.clocks["matter:eia:1"]
    assert m._alarms(tc) == [(over, "overrun")]
    m.fire_alarms(over - timedelta(minutes=1))
    assert not sp.events_of(m, "StopOverran")
    m.fire_alarms(over)
    (overran,) = sp.events_of(m, "StopOverran")
    assert overran.payload["expected_days"] == 3 and overran.payload["kind"] == "testing"
    assert any(n == "stop_overrun" and "lead-zhao" in r for n, r, _ in notices(m))
    m.fire_alarms(over + timedelta(days=5))
    assert len(sp.events_of(m, "StopOverran")) == 1
    assert m._alarms(tc) == []


def test_a_stop_moves_the_deadline_by_whole_working_days() -> None:
    m = sp.at_approval_land()
    before = sp.deadline_of(m, "matter:eia:1")
    # Stopped Tuesday 10:00, resumed Thursday 15:00: Wednesday and Thursday are not counted.
    sp.ack(m, "stop_clock", sp.stop_clock("eia", "hearing", expected_days=5), datetime(2026, 3, 3, 10, 0, tzinfo=CST))
    sp.ack(m, "resume_clock", sp.resume_clock("eia"), datetime(2026, 3, 5, 15, 0, tzinfo=CST))
    (resumed,) = sp.events_of(m, "ClockResumed")
    assert resumed.payload["stopped_working_days"] == 2
    after = sp.deadline_of(m, "matter:eia:1")
    assert after.time() == before.time()  # still the close of office, not 14:30
    assert (
        m.ctx.calendar.day_index.working_before(after.date().toordinal())
        - m.ctx.calendar.day_index.working_before(before.date().toordinal())
        == 2
    )


def test_a_same_day_stop_moves_nothing() -> None:
    m = sp.at_approval_land()
    before = sp.deadline_of(m, "matter:eia:1")
    sp.ack(m, "stop_clock", sp.stop_clock("eia", "hearing", expected_days=1), datetime(2026, 3, 3, 10, 0, tzinfo=CST))
    sp.ack(m, "resume_clock", sp.resume_clock("eia"), datetime(2026, 3, 3, 16, 0, tzinfo=CST))
    assert sp.events_of(m, "ClockResumed")[0].payload["stopped_working_days"] == 0
    assert sp.deadline_of(m, "matter:eia:1") == before


def test_an_extension_is_refused_after_the_deadline_and_over_the_maximum_naming_the_rule() -> None:
    m = sp.at_approval_land()
    clock = sp.matter_clock(m, sp.LAND_PRE)
    due = sp.statutory_deadline_of(m, clock)  # §42: within the law's limit, not the promise
    with pytest.raises(Rejected, match=r"^days: .*legal maximum of 10.*§42"):
        m.check("extend_limit", sp.extend_limit(sp.LAND_PRE, 15), due - timedelta(days=1))
    with pytest.raises(Rejected, match=r"^days: .*within the limit.*§42"):
        m.check("extend_limit", sp.extend_limit(sp.LAND_PRE, 10), due + timedelta(minutes=1))
    a = sp.ack(m, "extend_limit", sp.extend_limit(sp.LAND_PRE, 10), due - timedelta(hours=1))
    assert a.message == f"limit of {sp.LAND_PRE} extended by 10 working days"  # 行政许可法 §82
    ((kind, to, text),) = notices(m)
    assert kind == "extended" and to == ["agent-li"] and "10 working days" in text


def test_a_joint_matter_may_extend_by_its_own_maximum() -> None:
    m = sp.at_approval_land()
    spec = m.ctx.specs[sp.LAND_PRE]
    m.ctx.specs[sp.LAND_PRE] = spec.model_copy(update={"extension_max_days": 15})  # joint handling (§42 para. 2)
    clock = sp.matter_clock(m, sp.LAND_PRE)
    sp.ack(m, "extend_limit", sp.extend_limit(sp.LAND_PRE, 15), sp.deadline_of(m, clock) - timedelta(days=1))
    assert m.state.clocks[clock].clock.total_days == spec.clock_days + 15


@pytest.mark.parametrize(
    ("code", "law", "zone"),
    [
        ("eia", "环境影响评价法 .*§22", "tunliu"),  # 30 days (日) from the receipt
        ("eia-report", "环境影响评价法 .*§22", "tunliu"),  # 60 days (日) from the receipt
        ("water-abstraction-permit", "取水许可和水资源费征收管理条例 .*§19", "tunliu"),  # 45 working days
        ("pollutant-permit-simplified", "排污许可管理条例 .*§12", "tunliu"),  # 20 days (日)
        ("construction-permit", "建筑法 §7-8 \\(§8 ¶2 as amended", "yanhu"),  # 七日 from the receipt
    ],
)
def test_a_limit_its_own_law_sets_without_an_extension_is_not_extended(code: str, law: str, zone: str) -> None:
    """行政许可法 §42's ten days extend its own twenty (二十日内不能作出决定的，…可以延长十日); a limit
    set by a law or regulation is that law's (但是，法律、法规另有规定的，依照其规定), and these state no
    extension: refused before history, naming the law, at any time within the limit."""
    reg = sp.registration(zone=zone).model_copy(
        update={
            "eia_category": "report" if code == "eia-report" else "report_form",
            "water_abstraction": True,
            "pollutant_permit": "simplified",
        }
    )
    m = sp.machine(zone, stage=Stage(sp.context(zone).specs[code].stage), reg=reg)
    assert m.ctx.specs[code].extension_max_days is None
    while m.state.matters[code].clock_id is None:  # what it requires first (the project's filing)
        sp.decide(m, next(c for c, x in m.state.matters.items() if x.state == "pending" and c != code))
    clock = sp.matter_clock(m, code)
    at = sp.statutory_deadline_of(m, clock) - timedelta(days=3)
    refusal = (
        rf"^matter_code: the limit of {code} is set by its own law or regulation, which provides no extension "
        rf"\(行政许可法 §42 yields to it: 法律、法规另有规定的，依照其规定\); its legal basis: {law}"
    )
    with pytest.raises(Rejected, match=refusal):
        m.check("extend_limit", sp.extend_limit(code, 1), at)
    with pytest.raises(Rejected, match=refusal):
        m.execute("extend_limit", sp.extend_limit(code, 1), at)
    assert m.state.clocks[clock].clock.extension is None and not sp.events_of(m, "LimitExtended")


def test_the_shipped_2027_is_provisional_and_carries_the_statutory_days() -> None:
    m = yanhu_2027()
    assert not m.ctx.calendar.is_official(2027)
    assert not m.ctx.calendar.is_working_day(date(2027, 2, 8))  # Spring Festival 2027 (除夕 6 Feb)


@pytest.mark.parametrize(
    ("code", "longest", "law"),
    [
        ("enterprise-registration", 3, "市场主体登记管理条例 §19"),  # 3 working days, a complex case 3 more
        ("pollutant-permit-key", 15, "排污许可管理条例 §2 .*§12 .*45"),  # 30 days, 45 with an on-site check
    ],
)
def test_a_matter_with_its_own_law_extends_by_that_laws_days(code: str, longest: float, law: str) -> None:
    reg = sp.registration(zone="tunliu").model_copy(update={"pollutant_permit": "key"})
    m = sp.machine("tunliu", stage=Stage(sp.context("tunliu").specs[code].stage), reg=reg)
    clock = sp.matter_clock(m, code)  # acceptance rule 1 (the test machine): running once its stage opens
    due = sp.statutory_deadline_of(m, clock)
    with pytest.raises(Rejected, match=rf"^days: .*legal maximum of {longest:g} for {code} \(.*{law}"):
        m.check("extend_limit", sp.extend_limit(code, longest + 1), due - timedelta(hours=1))
    sp.ack(m, "extend_limit", sp.extend_limit(code, longest), due - timedelta(hours=1))
    assert m.state.clocks[clock].clock.total_days == m.ctx.specs[code].clock_days + longest
