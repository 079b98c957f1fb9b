"""The application and acceptance step (行政许可法 §32) on the pure lifecycle, with a fixed clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.load import default_catalog, default_zones
from catalog.models import ZonePolicy, check_zone
from interfaces.cli import common
from interfaces.cli.project import render_view
from legalclock import CST
from schemas.stages import Stage
from tests import support as sp
from tests.legalclock.test_legalclock_workingtime import oracle_days_after, oracle_working_days_after
from workflows.lifecycle import ProjectMachine, Rejected
from workflows.lifecycle.acceptance import ACCEPTANCE_DAYS

T0 = sp.T0
LATER = T0 + timedelta(days=1)  # Tuesday 3 March 2026, 09:00


def at_land(zone: str = "tunliu") -> ProjectMachine:
    """A rule-2 project in stage 2 (approval & land) with project filing done: the rest open to apply since T0."""
    m = sp.machine(zone, acceptance_rule=2, stage=Stage.APPROVAL_LAND)
    assert sp.state_of(m, "project-filing") == "to_apply"
    received(m, "project-filing")
    sp.accept(m, "project-filing")
    sp.decide(m, "project-filing")
    assert sp.state_of(m, "eia") == "to_apply"
    sp.drain(m)
    return m


def received(m: ProjectMachine, code: str, now: datetime = T0) -> None:
    sp.apply(m, code, now)
    assert sp.state_of(m, code) == "received"


def acceptance_clock(m: ProjectMachine, code: str) -> str:
    return f"acceptance:{code}:{m.state.matters[code].submissions}"


def test_an_open_stage_runs_no_clock_against_the_department() -> None:
    m = sp.machine("tunliu", acceptance_rule=2, clear=False)
    assert sp.state_of(m, "enterprise-registration") == "to_apply"
    assert "ApplicationOpened" in sp.types(m)
    assert not any(tc.scope == "matter" for tc in m.state.clocks.values())
    with pytest.raises(Rejected, match="not pending a decision"):
        sp.decide(m, "enterprise-registration")


def test_received_application_gives_the_department_five_working_days() -> None:
    m = at_land()
    received(m, "eia")
    tc = m.state.clocks[acceptance_clock(m, "eia")]
    assert tc.scope == "acceptance"
    assert sp.statutory_deadline_of(m, tc.clock_id) == sp.legal_deadline(m, T0, ACCEPTANCE_DAYS)
    [effect] = [f for f in m.state.effects if f.kind == "submit"]
    assert effect.phase == "acceptance"
    assert m.state.matters["eia"].clock_id is None


def test_the_decision_clock_starts_at_acceptance() -> None:
    m = at_land()
    received(m, "land-pre-review", T0)
    sp.drain(m)
    m.execute("decide", sp.decision("land-pre-review", "accept"), LATER)
    clock_id = sp.matter_clock(m, "land-pre-review")
    spec = m.ctx.specs["land-pre-review"]
    assert spec.limit_from == "acceptance"  # 行政许可法 §42: 自受理行政许可申请之日起
    assert sp.statutory_deadline_of(m, clock_id) == sp.legal_deadline(m, LATER, spec.clock_days)
    assert m.state.clocks[clock_id].acceptance is None
    [accepted] = sp.events_of(m, "ApplicationAccepted")
    assert accepted.payload["deemed"] is False
    assert accepted.payload["accepted_at"] == LATER.isoformat()
    assert "accept_submission" in sp.effect_kinds(m)


def test_a_limit_counted_from_the_receipt_starts_there_and_the_promise_at_acceptance() -> None:
    """环境影响评价法 §22 (自收到环境影响报告表之日起三十日内): the department's days to accept count."""
    m = at_land()
    received(m, "eia", T0)
    sp.drain(m)
    m.execute("decide", sp.decision("eia", "accept"), LATER)
    clock_id = sp.matter_clock(m, "eia")
    tc, spec = m.state.clocks[clock_id], m.ctx.specs["eia"]
    assert spec.limit_from == "receipt" and spec.promised_days is not None
    assert spec.statutory_days_counted == "days"  # 三十日: calendar days (民法典 §201-§203)
    statutory = sp.legal_deadline(m, T0, spec.clock_days, "days")
    promised = sp.legal_deadline(m, LATER, spec.promised_days)
    assert (sp.statutory_deadline_of(m, clock_id), sp.deadline_of(m, clock_id)) == (statutory, promised)
    # Received Monday: by Tuesday's close the limit has used a day (the day of receipt not counted).
    assert m._used(tc, LATER + timedelta(hours=8, minutes=30)) == pytest.approx(1.0)
    view = m.clock_view(tc, LATER)
    assert (view.accepted_at, view.received_at, view.deadline, view.promised_deadline) == (
        LATER,
        T0,
        statutory,
        promised,
    )
    [accepted] = sp.events_of(m, "ApplicationAccepted")
    assert accepted.payload["accepted_at"] == LATER.isoformat()
    assert (accepted.payload["deadline"], accepted.payload["promised_deadline"]) == (
        statutory.isoformat(),
        promised.isoformat(),
    )


def test_after_a_completion_notice_the_limit_counts_from_the_completed_application() -> None:
    """建筑工程施工许可管理办法 §5(三) (审批时间可以自证明文件补正齐全后作相应顺延), as for EIA."""
    m = at_land()
    received(m, "eia", T0)
    m.execute("decide", sp.decision("eia", "request_completion", items=["公示材料"]), LATER)
    completed = LATER + timedelta(days=2)  # Thursday
    sp.ack(m, "supply_materials", sp.supply("eia", ["公示材料"]), completed)
    accepted = completed + timedelta(days=1, hours=2)  # Friday 11:00
    m.execute("decide", sp.decision("eia", "accept"), accepted)
    clock_id = sp.matter_clock(m, "eia")
    spec = m.ctx.specs["eia"]
    assert sp.statutory_deadline_of(m, clock_id) == sp.legal_deadline(m, completed, spec.clock_days, "days")
    assert sp.deadline_of(m, clock_id) == sp.legal_deadline(m, accepted, spec.promised_days or 0)


@settings(max_examples=120, deadline=None)
@given(
    day=st.integers(min_value=0, max_value=240),
    minute=st.integers(min_value=0, max_value=24 * 60 - 1),
    wait=st.integers(min_value=0, max_value=5),
    at=st.times(),
)
def test_each_limit_counts_from_where_its_rule_says(day: int, minute: int, wait: int, at: time) -> None:
    """Property, against a day-by-day count on chinese-calendar: received at any instant (a rest day,
    after hours) and accepted ``wait`` working days later (any time before the 5 days to accept run
    out), a limit counted from the receipt (EIA, 30 days: 日) ends at 17:30 of the 30th day after the
    receipt's day, or of the first working day after it (民法典 §203); its promise (7 working days)
    and a limit counted from acceptance (land pre-review, 20, promise 3) at 17:30 of their last
    working day after the acceptance's (the day of the event not counted, whatever the hour: 民法典
    §201)."""
    receipt = datetime.combine(date(2026, 1, 5) + timedelta(days=day), time(), CST) + timedelta(minutes=minute)
    receipt_day = receipt.date()
    last = datetime.combine(oracle_working_days_after(receipt_day, 5), time(17, 29), CST)
    acceptance = datetime.combine(oracle_working_days_after(receipt_day, wait), at.replace(microsecond=0), CST)
    acceptance = min(max(acceptance, receipt + timedelta(minutes=1)), last)
    acceptance_day = acceptance.date()
    m = sp.machine("tunliu", acceptance_rule=2, at=receipt, stage=Stage.APPROVAL_LAND)
    sp.approve_pending(m, receipt)
    for code in ("eia", "land-pre-review"):
        received(m, code, receipt)
        m.execute("decide", sp.decision(code, "accept"), acceptance)

    def close(after: date, n: int) -> datetime:
        return datetime.combine(oracle_working_days_after(after, n), time(17, 30), CST)

    eia, lpr = sp.matter_clock(m, "eia"), sp.matter_clock(m, "land-pre-review")
    assert sp.statutory_deadline_of(m, eia) == datetime.combine(oracle_days_after(receipt_day, 30), time(17, 30), CST)
    assert sp.deadline_of(m, eia) == close(acceptance_day, 7)
    assert sp.statutory_deadline_of(m, lpr) == close(acceptance_day, 20)
    assert sp.deadline_of(m, lpr) == close(acceptance_day, 3)


def test_silence_for_five_working_days_is_acceptance_on_receipt() -> None:
    m = at_land()
    received(m, "eia", T0)
    due = sp.statutory_deadline_of(m, acceptance_clock(m, "eia"))
    m.fire_alarms(due - timedelta(minutes=1))
    assert sp.state_of(m, "eia") == "received"
    m.fire_alarms(due)
    assert sp.state_of(m, "eia") == "pending"
    tc = m.state.clocks[sp.matter_clock(m, "eia")]
    assert tc.clock.accepted_at == T0  # the days of silence count against the limit
    [accepted] = sp.events_of(m, "ApplicationAccepted")
    assert accepted.payload["deemed"] is True
    assert m._used(tc, due) == pytest.approx(ACCEPTANCE_DAYS)
    # Once deemed, the department's acceptance decisions are over.
    with pytest.raises(Rejected, match="received application"):
        m.execute("decide", sp.decision("eia", "request_completion"), due)


def test_a_late_notice_is_refused_before_the_alarm_has_fired() -> None:
    m = at_land()
    received(m, "eia", T0)
    due = sp.statutory_deadline_of(m, acceptance_clock(m, "eia"))
    with pytest.raises(Rejected, match="ran out"):
        m.check("decide", sp.decision("eia", "request_completion"), due)


def test_one_completion_notice_then_the_completed_application_is_received_again() -> None:
    m = at_land()
    received(m, "eia", T0)
    m.execute("decide", sp.decision("eia", "request_completion", items=["环评报告表", "公示材料"]), LATER)
    assert sp.state_of(m, "eia") == "incomplete"
    with pytest.raises(Rejected, match="supply_materials"):
        sp.apply(m, "eia", LATER)
    later = LATER + timedelta(days=2)  # Thursday: Wednesday counts, the notice's day does not
    sp.ack(m, "supply_materials", sp.supply("eia", ["环评报告表", "公示材料"]), later)
    assert sp.state_of(m, "eia") == "received"
    assert m.state.matters["eia"].submissions == 2
    tc = m.state.clocks[acceptance_clock(m, "eia")]
    assert sp.statutory_deadline_of(m, tc.clock_id) == sp.legal_deadline(m, later, ACCEPTANCE_DAYS)
    [again] = [e for e in sp.events_of(m, "ApplicationReceived") if e.payload["submission"] == 2]
    assert again.payload["completes_notice"] is True
    assert again.payload["preparation_days"] == pytest.approx(1.0)
    # The same application: a second notice is refused...
    with pytest.raises(Rejected, match="already issued"):
        m.execute("decide", sp.decision("eia", "request_completion"), later)
    # ...unless the department records that its first notice was incomplete (its fault).
    second = sp.decision("eia", "request_completion", reasons=["首次告知遗漏监测数据"]).model_copy(
        update={"first_notice_incomplete": True}
    )
    sp.drain(m)
    m.execute("decide", second, later)
    assert sp.types(m)[:2] == ["CompletionRequested", "DepartmentFaultRecorded"]
    assert sp.events_of(m, "CompletionRequested")[0].payload["notice"] == 2


def test_refusal_to_accept_sends_the_matter_back_to_apply_afresh() -> None:
    m = at_land()
    received(m, "eia", T0)
    m.execute("decide", sp.decision("eia", "refuse", reasons=["不属于本机关职权"]), LATER)
    assert sp.state_of(m, "eia") == "to_apply"
    assert [f.outcome for f in m.state.effects if f.kind == "close_submission"] == ["refused"]
    received(m, "eia", LATER)
    m.execute("decide", sp.decision("eia", "request_completion"), LATER)  # a new application: a first notice


def test_instant_matter_is_accepted_and_decided_in_one_step() -> None:
    m = sp.machine("tunliu", acceptance_rule=2)
    received(m, "enterprise-registration")
    with pytest.raises(Rejected, match="not accepted yet"):
        sp.decide(m, "enterprise-registration", "reject")
    sp.decide(m, "enterprise-registration")  # instant approve
    assert sp.state_of(m, "enterprise-registration") == "approved"
    assert [t for t in sp.types(m) if t in ("ApplicationAccepted", "MatterApproved")] == [
        "ApplicationAccepted",
        "MatterApproved",
    ]


def test_a_commitment_matter_needs_the_signed_commitment_and_is_approved_on_receipt() -> None:
    m = at_land()
    energy = "energy-review"
    assert m.state.matters[energy].mode == "commitment"
    assert sp.state_of(m, energy) == "to_apply"
    with pytest.raises(Rejected, match="commitment: "):
        m.check("submit_application", sp.application(energy))
    sp.drain(m)
    sp.ack(m, "submit_application", sp.application(energy, commitment=True), LATER)
    assert sp.state_of(m, energy) == "approved"
    [received_event] = sp.events_of(m, "ApplicationReceived")
    assert received_event.payload["commitment"]["signed_by"] == "法定代表人 张三"
    [approved] = sp.events_of(m, "MatterApproved")
    assert approved.payload["mode"] == "commitment"
    assert approved.payload["decided_by"] == "法定代表人 张三"


def test_approval_on_commitment_needs_a_commitment_with_the_application() -> None:
    m = sp.machine("yanhu", acceptance_rule=2, stage=Stage.ENGINEERING_PERMIT)
    code = next(
        c
        for c, x in m.state.matters.items()
        if "commitment" in m.ctx.specs[c].modes and x.state == "to_apply" and x.mode == "standard"
    )
    received(m, code)
    sp.accept(m, code)
    with pytest.raises(Rejected, match="signed commitment"):
        m.check("decide", sp.decision(code, "approve_on_commitment"))


def test_one_supplementary_request_per_accepted_application() -> None:
    m = at_land()
    received(m, "eia")
    sp.accept(m, "eia")
    sp.decide(m, "eia", "request_correction")
    sp.ack(m, "supply_materials", sp.supply("eia"))
    assert sp.state_of(m, "eia") == "pending"
    with pytest.raises(Rejected, match="already requested once"):
        m.check("decide", sp.decision("eia", "request_correction"))


def test_acceptance_kinds_only_on_a_received_application() -> None:
    m = at_land()
    received(m, "eia")
    sp.accept(m, "eia")
    with pytest.raises(Rejected, match="received application"):
        m.check("decide", sp.decision("eia", "accept"))


def test_projects_before_the_acceptance_step_submit_when_the_stage_opens() -> None:
    m = sp.machine("tunliu", acceptance_rule=1)
    assert sp.state_of(m, "enterprise-registration") == "pending"
    with pytest.raises(Rejected, match="before the acceptance step"):
        m.check("submit_application", sp.application("enterprise-registration"))


def test_a_project_runs_to_production_through_application_and_acceptance() -> None:
    m = sp.machine("tunliu", acceptance_rule=2, stage=Stage.IN_PRODUCTION, clear=False)
    assert m.state.stage == Stage.IN_PRODUCTION
    assert all(x.state in ("approved", "exempt") for x in m.state.matters.values())
    accepted = {e.payload["matter_code"] for e in m.state.pending_events if e.event_type == "ApplicationAccepted"}
    assert accepted == {c for c, x in m.state.matters.items() if x.state == "approved"}


@settings(max_examples=60, deadline=None)
@given(
    day=st.integers(min_value=0, max_value=300),
    minute=st.integers(min_value=0, max_value=24 * 60 - 1),
)
def test_deemed_acceptance_runs_the_limit_as_if_accepted_on_receipt(day: int, minute: int) -> None:
    """Property: silence gives the same statutory deadline as an acceptance at the receipt instant."""
    receipt = datetime(2026, 1, 1, tzinfo=CST) + timedelta(days=day, minutes=minute)
    m = sp.machine("tunliu", acceptance_rule=2, at=receipt, stage=Stage.APPROVAL_LAND)
    sp.approve_pending(m, receipt)  # project filing, which the others require
    received(m, "eia", receipt)
    due = sp.statutory_deadline_of(m, acceptance_clock(m, "eia"))
    assert due == sp.legal_deadline(m, receipt, ACCEPTANCE_DAYS)
    m.fire_alarms(due)
    spec = m.ctx.specs["eia"]
    assert sp.statutory_deadline_of(m, sp.matter_clock(m, "eia")) == sp.legal_deadline(
        m, receipt, spec.clock_days, spec.statutory_days_counted
    )


def test_the_readme_acceptance_example() -> None:
    """README "Acceptance first": EIA report form received Mon 2 Mar 2026 09:00 (statutory 30, promised 7)."""

    def local(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 3, day, hour, minute, tzinfo=CST)

    accepted = at_land()
    received(accepted, "eia", local(2, 9))
    assert sp.statutory_deadline_of(accepted, acceptance_clock(accepted, "eia")) == local(9, 17, 30)
    accepted.execute("decide", sp.decision("eia", "accept"), local(4, 10))
    clock_id = sp.matter_clock(accepted, "eia")
    assert sp.deadline_of(accepted, clock_id) == local(13, 17, 30)
    # 30 days (日) from the receipt: Wednesday 1 April (the working-day reading gave 14 April).
    assert sp.statutory_deadline_of(accepted, clock_id) == datetime(2026, 4, 1, 17, 30, tzinfo=CST)
    received(accepted, "land-pre-review", local(2, 9))
    accepted.execute("decide", sp.decision("land-pre-review", "accept"), local(4, 10))
    lpr = sp.matter_clock(accepted, "land-pre-review")
    assert sp.statutory_deadline_of(accepted, lpr) == datetime(2026, 4, 1, 17, 30, tzinfo=CST)  # from acceptance

    silent = at_land()
    received(silent, "eia", local(2, 9))
    silent.fire_alarms(local(9, 17, 30))
    clock_id = sp.matter_clock(silent, "eia")
    assert sp.deadline_of(silent, clock_id) == local(11, 17, 30)
    assert sp.statutory_deadline_of(silent, clock_id) == datetime(2026, 4, 1, 17, 30, tzinfo=CST)
    assert silent._used(silent.state.clocks[clock_id], local(9, 17, 30)) == pytest.approx(5)


def test_the_whole_process_cap_counts_approval_time_only() -> None:
    """The process clock runs only while an accepted matter's clock runs (国办发〔2019〕11号)."""
    m = sp.machine("tunliu", acceptance_rule=2)
    process = m.state.clocks["process"]
    assert process.clock.stopped, "nothing is with a department before the first acceptance"
    tue, thu = T0 + timedelta(days=1), T0 + timedelta(days=3)
    received(m, "enterprise-registration", tue)
    sp.accept(m, "enterprise-registration", tue)
    assert not m.state.clocks["process"].clock.stopped
    m.execute("decide", sp.decision("enterprise-registration", instant=True), thu)
    assert m.state.clocks["process"].clock.stopped, "project filing is with the agent: not approval time"
    # A week of the agent's preparation later, project filing is accepted and decided in 2 days.
    mon, wed = T0 + timedelta(days=7), T0 + timedelta(days=9)
    received(m, "project-filing", mon)
    sp.accept(m, "project-filing", mon)
    m.execute("decide", sp.decision("project-filing", instant=True), wed)
    later = wed + timedelta(days=7)
    used = m._used(m.state.clocks["process"], later)

    # Oracle, day by day as stops count (行政许可法 §45 ledger): the working days after an
    # acceptance day up to and including the day its decision left the department.
    def days(start: datetime, end: datetime) -> set[int]:
        first, last = start.date(), end.date()
        span = [first + timedelta(days=i) for i in range(1, (last - first).days + 1)]
        return {d.toordinal() for d in span if m.ctx.calendar.is_working_day(d)}

    assert used == len(days(tue, thu) | days(mon, wed)) == 4
    assert used < m._used(m.state.clocks["stage:approval_land"], later), "the agent's week is not counted"


def test_the_cli_marks_a_limit_counted_from_the_receipt() -> None:
    m = at_land()
    for code in ("eia", "land-pre-review"):
        received(m, code, T0)
        m.execute("decide", sp.decision(code, "accept"), LATER)
    with common.out.capture() as captured:
        render_view(m.view(LATER))
    text = captured.get().replace("\n", " ")
    # Only the receipt-counted limit is marked (its deadline cell wraps: the words are in its column).
    assert text.count("receipt)") == 1
    eia = captured.get().split("│ eia ")[1].split("│ soil-water")[0]
    assert "from" in eia and "receipt)" in eia
    # The zone's promise beside it, counted from the acceptance: what the inbox and answers show.
    promised = m.view(LATER).matters
    eia_clock = next(x.clock for x in promised if x.code == "eia")
    assert eia_clock is not None and eia_clock.promised_deadline is not None
    assert "promised" in eia and f"{eia_clock.promised_deadline.astimezone(CST):%m-%d}" in eia


def at_land_reporting() -> ProjectMachine:
    """``at_land`` for a project whose EIA is a report (报告书: 60 working days, no promise)."""
    reg = sp.registration(zone="tunliu").model_copy(update={"eia_category": "report"})
    m = sp.machine("tunliu", reg=reg, acceptance_rule=2, stage=Stage.APPROVAL_LAND)
    received(m, "project-filing")
    sp.accept(m, "project-filing")
    sp.decide(m, "project-filing")
    sp.drain(m)
    return m


def test_a_receipt_counted_limit_without_a_promise_keeps_its_acceptance() -> None:
    m = at_land_reporting()
    received(m, "eia-report", T0)
    m.execute("decide", sp.decision("eia-report", "accept"), LATER)
    clock_id = sp.matter_clock(m, "eia-report")
    tc, spec = m.state.clocks[clock_id], m.ctx.specs["eia-report"]
    assert spec.promised_days is None and tc.promised_days is None
    statutory = sp.legal_deadline(m, T0, spec.clock_days, "days")  # 环境影响评价法 §22: 六十日, from the receipt
    assert sp.statutory_deadline_of(m, clock_id) == sp.deadline_of(m, clock_id) == statutory
    assert tc.acceptance == LATER
    view = m.clock_view(tc, LATER)
    assert (view.accepted_at, view.received_at, view.deadline) == (LATER, T0, statutory)


def test_the_construction_permit_counts_its_seven_days_from_the_receipt() -> None:
    """建筑法 §8 ¶2 (as amended in 2019; 建筑工程施工许可管理办法 §5(三) repeats it): 自收到申请之日起七日内,
    a law's days (日), counted by 民法典 §201-§203; Yanhu handles it as standard. Received Monday 2 Mar
    2026 09:00 and accepted on Thursday, it is due Monday 9 Mar 17:30 (the working-day reading gave 11
    Mar); no promise of the zone's lies within it, so the zone answers for the law's 7 days."""
    m = sp.machine("yanhu", acceptance_rule=2, stage=Stage.CONSTRUCTION_PERMIT)
    sp.approve_pending(m, T0)  # the drawing, fire and civil air defence reviews it requires
    assert sp.state_of(m, "construction-permit") == "to_apply"
    received(m, "construction-permit", T0)
    accepted = T0 + timedelta(days=3, hours=5)  # Thursday 14:00
    m.execute("decide", sp.decision("construction-permit", "accept"), accepted)
    clock_id = sp.matter_clock(m, "construction-permit")
    tc = m.state.clocks[clock_id]
    statutory = sp.statutory_deadline_of(m, clock_id)
    assert statutory == sp.legal_deadline(m, T0, 7, "days") == datetime(2026, 3, 9, 17, 30, tzinfo=CST)
    assert tc.promised_days is None and sp.deadline_of(m, clock_id) == statutory


@pytest.mark.parametrize(("hours", "on_time"), [(-1, True), (1, False)])
def test_a_rejection_is_judged_against_the_promise_counted_from_acceptance(hours: int, on_time: bool) -> None:
    """The department report takes ``on_time`` from the event: the days used count from the receipt,
    the promise from acceptance, so comparing them would misjudge (here by a day)."""
    m = at_land()
    received(m, "eia", T0)
    m.execute("decide", sp.decision("eia", "accept"), LATER)
    due = sp.deadline_of(m, sp.matter_clock(m, "eia"))
    sp.drain(m)
    m.execute("decide", sp.decision("eia", "reject", reasons=["选址不符合规划"]), due + timedelta(hours=hours))
    [rejected] = sp.events_of(m, "MatterRejected")
    assert rejected.payload["on_time"] is on_time


def promising(zone_code: str, code: str, days: float) -> ZonePolicy:
    zone = default_zones()[zone_code]
    return ZonePolicy.model_validate(
        {**zone.model_dump(), "promised_days": {**zone.promised_days, code: days}, "stage_limits": {}}
    )


def test_a_zone_promise_that_could_end_after_a_receipt_counted_limit_is_refused() -> None:
    """The construction permit's 7 days (日, 建筑法 §8 ¶2) count from the receipt, and up to 5 days
    (建筑工程施工许可管理办法 §5(三)) may be gone at acceptance: around National Day they are all rest
    days, so no promise in working days from acceptance can be sure to end within them."""
    for days in (0.5, 2, 7):
        with pytest.raises(ValueError, match=r"promised_days\.construction-permit: .* can span .* calendar days"):
            check_zone(default_catalog(), promising("yanhu", "construction-permit", days))


def test_a_promise_on_a_limit_in_calendar_days_must_fit_it_around_any_holiday() -> None:
    """EIA's 30 days (日) count from the receipt: a promise in working days, with the 5 to accept,
    must end within them even across Spring Festival (``most_calendar_days``): 9 does (14 working
    days span at most 30 days), 10 does not; the limit itself, in working days, is no promise."""
    check_zone(default_catalog(), promising("tunliu", "eia", 9))
    for days in (10, 30):
        with pytest.raises(ValueError, match=r"promised_days\.eia: .* can span .* calendar days around a long"):
            check_zone(default_catalog(), promising("tunliu", "eia", days))


def test_completions_cannot_grow_an_application_past_its_materials_cap() -> None:
    """Each completion adds what it names; the application's list is carried in the state and sent
    in every ApplicationReceived, so it is capped at MAX_MATERIALS, refused before history."""
    from schemas.project import MAX_ITEMS, MAX_MATERIALS

    m = at_land()
    received(m, "eia", T0)
    now = LATER
    for round_ in range(MAX_MATERIALS // MAX_ITEMS + 1):
        notice = sp.decision("eia", "request_completion", reasons=["缺材料"]).model_copy(
            update={"first_notice_incomplete": round_ > 0}
        )
        m.execute("decide", notice, now)
        items = [f"材料{round_}-{i}" for i in range(MAX_ITEMS)]
        supply = sp.supply("eia", items)
        if len({*m.state.matters["eia"].materials, *items}) > MAX_MATERIALS:
            capped = rf"^items: the application for eia would hold \d+ materials, at most {MAX_MATERIALS}"
            with pytest.raises(Rejected, match=capped):
                m.check("supply_materials", supply)
            return
        m.check("supply_materials", supply)
        m.execute("supply_materials", supply, now)
        now += timedelta(hours=1)
    raise AssertionError("the cap was never reached")


def test_the_readme_construction_permit_example_across_national_day() -> None:
    """README "Calendar days": received Friday 25 Sep 2026 10:00, the permit's 7 days (日, 建筑法 §8 ¶2)
    end on 2 Oct, inside National Day, so Thursday 8 Oct 17:30 (7 working days: 12 Oct); its 5 days to
    accept (日, 建筑工程施工许可管理办法 §5(三)) end Wednesday 30 Sep 17:30."""
    m = sp.machine("yanhu", acceptance_rule=2, stage=Stage.CONSTRUCTION_PERMIT)
    received_at = datetime(2026, 9, 25, 10, tzinfo=CST)
    sp.approve_pending(m, received_at)
    received(m, "construction-permit", received_at)
    app = [e for e in sp.events_of(m, "ApplicationReceived") if e.payload["matter_code"] == "construction-permit"]
    assert app[-1].payload["acceptance_deadline"] == datetime(2026, 9, 30, 17, 30, tzinfo=CST).isoformat()
    m.execute("decide", sp.decision("construction-permit", "accept"), datetime(2026, 9, 28, 10, tzinfo=CST))
    due = sp.statutory_deadline_of(m, sp.matter_clock(m, "construction-permit"))
    assert due == datetime(2026, 10, 8, 17, 30, tzinfo=CST)
    assert sp.legal_deadline(m, received_at, 7) == datetime(2026, 10, 12, 17, 30, tzinfo=CST)


def test_a_running_permit_moves_to_days_and_loses_its_promise_only_by_migration() -> None:
    """A project registered under a catalog that counted the permit's 7 days in working days, with a
    promise of 2, keeps them; an operator's migration to the catalog in force (days since
    shanxi-industrial-2026.10) moves the statutory deadline to the law's days (earlier, recorded) and
    takes the promise away."""
    from tests.lifecycle.test_migration import earlier_catalog, migration, on_registry

    m = sp.machine("yanhu", acceptance_rule=2, stage=Stage.CONSTRUCTION_PERMIT)
    registry = on_registry(m)
    shipped = m.state.versions.catalog
    earlier = earlier_catalog(
        registry,
        "construction-permit",
        drop=("statutory_days_counted", "acceptance", "extension_max_days"),
        promised_days=2,
        promise_basis="zone's choice",
    )
    sp.ack(m, "migrate_content", migration(catalog_version=earlier), T0)
    sp.approve_pending(m, T0)
    received(m, "construction-permit", T0)
    m.execute("decide", sp.decision("construction-permit", "accept"), T0 + timedelta(days=1))
    clock_id = sp.matter_clock(m, "construction-permit")
    assert sp.statutory_deadline_of(m, clock_id) == datetime(2026, 3, 11, 17, 30, tzinfo=CST)  # 7 working days
    assert m.state.clocks[clock_id].promised_days == 2
    sp.drain(m)
    sp.ack(m, "migrate_content", migration(catalog_version=shipped), T0 + timedelta(days=2))
    assert sp.statutory_deadline_of(m, clock_id) == datetime(2026, 3, 9, 17, 30, tzinfo=CST)  # 7 days (日)
    assert m.state.clocks[clock_id].promised_days is None
    (event,) = sp.events_of(m, "ContentMigrated")
    (move,) = [x for x in event.payload["moves"] if x["clock_id"] == clock_id]
    assert (move["deadline_was"], move["deadline"]) == (
        datetime(2026, 3, 11, 17, 30, tzinfo=CST).isoformat(),
        datetime(2026, 3, 9, 17, 30, tzinfo=CST).isoformat(),
    )
