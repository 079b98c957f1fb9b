"""The escalation ladder: warning (预警), breach, 督办, joint meeting (联席会议), deemed approval
(超时默认), missed obligations; the next alarm; a new official calendar."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from catalog.load import default_catalog
from catalog.models import check_zone
from legalclock import Clock, OfficialCalendar, YearCalendar, merge_calendar_file
from schemas import effects as fx
from schemas.stages import Stage
from tests import support as sp
from tests.support import lifecycle_zones
from workflows.lifecycle import ProjectMachine, Rejected

MINUTE = timedelta(minutes=1)


def warning_of(m: ProjectMachine, clock_id: str) -> datetime:
    """The legal clock's warning instant: 80% of the budget or 2 days before, whichever first
    (the days-before rule only for limits longer than 2 days)."""
    tc = m.state.clocks[clock_id]
    clock = m.promise_clock(tc) or tc.clock  # the warning is on the promise when there is one
    esc = m.zone.escalation
    before = esc.warn_days_before if clock.total_days > esc.warn_days_before else None
    at = clock.warning_at(m.ctx.calendar, m.zone.office_hours, share=esc.warn_share, days_before=before).at
    assert at is not None, f"{clock_id} is stopped"
    return at


def notices(m: ProjectMachine) -> list[tuple[str, list[str]]]:
    return [(f.notice, f.recipients) for f in m.state.effects if isinstance(f, fx.Notify)]


def test_the_first_alarm_is_the_establishment_warning_and_its_summary_names_matter_and_department() -> None:
    m = sp.machine("yanhu")
    warn = warning_of(m, "matter:enterprise-registration:1")
    assert warn == warning_of(m, "stage:establishment")
    assert m.next_alarm() == warn
    assert m.next_alarm_summary() == (
        f"warning for stage establishment; warning for enterprise-registration 企业设立登记 (market) at "
        f"{warn:%Y-%m-%d %H:%M} CST"
    )


def test_a_warning_goes_out_once_at_the_warning_instant() -> None:
    m = sp.at_approval_land()
    clock = "matter:eia:1"
    warn = warning_of(m, clock)
    due = sp.deadline_of(m, clock)
    assert sp.T0 < warn < due
    assert (
        warn
        == Clock(accepted_at=sp.T0, limit_days=sp.EIA_PROMISE)
        .warning_at(m.ctx.calendar, m.zone.office_hours, share=0.8, days_before=2)
        .at
    )
    m.fire_alarms(warn - MINUTE)
    assert clock not in [e.payload["clock_id"] for e in sp.events_of(m, "DeadlineWarned")]
    m.fire_alarms(warn)
    warned = [e.payload for e in sp.events_of(m, "DeadlineWarned") if e.payload["clock_id"] == clock]
    assert len(warned) == 1
    assert warned[0]["department"] == "ecology" and warned[0]["deadline"] == due.isoformat()
    assert warned[0]["working_days_left"] == pytest.approx(2.0)
    assert ("warning", ["agent-li", "dept:ecology"]) in notices(m)
    assert m.state.clocks[clock].warned and not m.state.clocks[clock].breached
    count = m.state.version
    m.fire_alarms(warn)
    assert m.state.version == count  # nothing fires twice


def test_a_breach_escalates_to_the_project_lead_then_convenes_a_joint_meeting() -> None:
    m = sp.at_approval_land("tunliu")
    clock = "matter:eia:1"
    due = sp.deadline_of(m, clock)
    m.fire_alarms(due - MINUTE)
    sp.drain(m)
    m.fire_alarms(due)
    ours = [e for e in m.state.pending_events if e.payload.get("clock_id") == clock]
    assert [e.event_type for e in ours] == ["DeadlineBreached", "EscalatedToLead"]
    assert ours[1].payload["project_lead"] == "lead-zhao" and ours[1].payload["department"] == "ecology"
    assert ("escalation", ["agent-li", "dept:ecology", "lead-zhao"]) in notices(m)
    assert m.state.matters["eia"].state == "pending"  # tunliu deems nothing approved
    # 3 working days later, still undecided: a joint meeting.
    meet = sp.legal_deadline(m, due, m.zone.escalation.joint_meeting_after_days)
    sp.drain(m)
    m.fire_alarms(meet - MINUTE)
    assert clock not in [e.payload["clock_id"] for e in sp.events_of(m, "JointMeetingConvened")]
    m.fire_alarms(meet)
    convened = [e.payload for e in sp.events_of(m, "JointMeetingConvened") if e.payload["clock_id"] == clock]
    assert len(convened) == 1
    meeting_id = convened[0]["meeting_id"]
    assert convened[0]["attendees"] == ["zone-management-committee", "lead-zhao", "dept:ecology"]
    assert m.state.clocks[clock].meeting_id == meeting_id and m.state.meetings[meeting_id].department == "ecology"
    sp.drain(m)
    a = sp.ack(m, "resolve_meeting", sp.resolve(meeting_id), meet)
    assert a.message == f"joint meeting {meeting_id} resolved"
    assert sp.types(m) == ["JointMeetingResolved"]
    (seen,) = [x for x in m.view(meet).meetings if x.meeting_id == meeting_id]
    assert seen.resolution == "专班协调，限期办结"
    with pytest.raises(Rejected, match=rf"^meeting_id: joint meeting {meeting_id} is already resolved$"):
        m.check("resolve_meeting", sp.resolve(meeting_id))
    with pytest.raises(Rejected, match=r"^meeting_id: no joint meeting jm-99 in project "):
        m.check("resolve_meeting", sp.resolve("jm-99"))


def test_a_breach_decided_before_the_meeting_convenes_none_and_is_recorded_late() -> None:
    m = sp.at_approval_land("tunliu")
    due = sp.deadline_of(m, "matter:eia:1")
    m.fire_alarms(due)
    sp.decide(m, "eia", now=due + timedelta(hours=1))
    approved = next(e for e in sp.events_of(m, "MatterApproved") if e.payload["matter_code"] == "eia")
    assert approved.payload["on_time"] is False
    m.fire_alarms(due + timedelta(days=30))
    assert not [e for e in sp.events_of(m, "JointMeetingConvened") if e.payload["clock_id"] == "matter:eia:1"]


def test_alarms_fire_in_order_warning_before_breach_even_when_both_are_due() -> None:
    m = sp.at_approval_land("tunliu")
    due = sp.deadline_of(m, "matter:eia:1")
    m.fire_alarms(due + timedelta(hours=1))  # woke late: both due at once
    ours = [e.event_type for e in m.state.pending_events if e.payload.get("clock_id") == "matter:eia:1"]
    assert ours == ["DeadlineWarned", "DeadlineBreached", "EscalatedToLead"]


def test_deemed_approval_where_the_zone_and_the_matter_say_so() -> None:
    # A zone whose local rule names lightning design review (a public-safety matter, so only with
    # the rule named) deems it; building planning (same stage, a longer statutory limit) escalates as usual.
    # Deemed approval follows the statutory limit, never the zone's shorter promise: the missed
    # promise is escalated (督办) like any other.
    m = sp.deeming(
        sp.machine("yanhu", stage=Stage.ENGINEERING_PERMIT), "lightning-design-review", safety_rule="local rule §12"
    )
    clock = "matter:lightning-design-review:1"
    due = sp.statutory_deadline_of(m, clock)
    # 10 working days (雷电防护装置设计审核和竣工验收规定 §11) against 20 (行政许可法 §42)
    assert due < sp.statutory_deadline_of(m, "matter:building-planning-permit:1")
    m.fire_alarms(due - MINUTE)
    m.fire_alarms(due - MINUTE)  # the joint meeting on the missed promise, due by then
    missed = [e for e in sp.events_of(m, "DeadlineBreached") if e.payload["clock_id"] == clock]
    assert [e.payload["limit"] for e in missed] == ["promised"]
    assert clock in {e.payload["clock_id"] for e in sp.events_of(m, "EscalatedToLead")}
    assert m.state.matters["lightning-design-review"].state == "pending"
    sp.drain(m)
    m.fire_alarms(due)
    x = m.state.matters["lightning-design-review"]
    assert (x.state, x.approval_mode) == ("approved", "deemed")
    lightning = [
        e
        for e in m.state.pending_events
        if e.payload.get("matter_code") == "lightning-design-review" or e.payload.get("clock_id") == clock
    ]
    assert [e.event_type for e in lightning] == [
        "DeadlineBreached",
        "MatterApproved",
        "ELicenseIssued",
        "DepartmentLiabilityRecorded",
    ]
    assert lightning[0].payload["limit"] == "statutory"
    assert lightning[2].payload["deemed"] is True, "the e-licence says nobody signed it"
    (licence,) = [e for e in m.state.effects if isinstance(e, fx.IssueLicense)]
    assert (licence.matter_code, licence.deemed) == ("lightning-design-review", True)
    approved = lightning[1].payload
    assert (approved["decision_id"], approved["decided_by"], approved["on_time"]) == (
        f"deemed:{clock}",
        "meteorology",
        False,
    )
    assert lightning[3].payload["deadline"] == due.isoformat()
    assert any(n == "deemed_approval" and "lead-zhao" in r for n, r in notices(m))
    assert m.state.matters["building-planning-permit"].state == "pending"
    m.fire_alarms(sp.statutory_deadline_of(m, "matter:building-planning-permit:1"))  # not deemed: escalated
    escalated = {e.payload["clock_id"] for e in sp.events_of(m, "EscalatedToLead")}
    assert "matter:building-planning-permit:1" in escalated and clock not in escalated
    assert m.state.clocks[clock].closed


def test_deemed_approval_only_for_the_matters_a_zone_lists_and_public_safety_only_with_its_rule() -> None:
    clock = "matter:air-defence-acceptance:1"  # public safety (人民防空法 §22)
    for zone in ("tunliu", "yanhu"):  # yanhu deems joint-acceptance opinions, not this one
        m = sp.machine(zone, stage=Stage.COMPLETION_ACCEPTANCE)
        m.fire_alarms(sp.statutory_deadline_of(m, clock))
        assert m.state.matters["air-defence-acceptance"].state == "pending", zone
        assert clock in {e.payload["clock_id"] for e in sp.events_of(m, "EscalatedToLead")}
    # Yanhu's shipped policy: the absent-department rule (缺席默认) at joint acceptance.
    assert m.state.matters["planning-verification"].approval_mode == "deemed"
    assert m.state.matters["fire-acceptance"].state == "pending"
    # A zone that names its local rule may include a safety matter.
    y = sp.deeming(sp.machine("yanhu", stage=Stage.COMPLETION_ACCEPTANCE), "air-defence-acceptance", safety_rule="r")
    y.fire_alarms(sp.statutory_deadline_of(y, clock))
    assert y.state.matters["air-defence-acceptance"].approval_mode == "deemed"


def test_a_zone_policy_naming_a_safety_matter_without_its_rule_is_refused() -> None:
    catalog, zone = default_catalog(), lifecycle_zones()["yanhu"]
    check_zone(catalog, zone)  # the shipped policy passes
    bad = zone.model_copy(update={"deemed_approval_matters": ["fire-design-review"]})
    with pytest.raises(
        ValueError, match=r"^zones\.yanhu\.deemed_approval_matters: fire-design-review is a matter of public"
    ):
        check_zone(catalog, bad)
    with pytest.raises(ValueError, match=r"unknown matter 'no-such'"):
        check_zone(catalog, zone.model_copy(update={"deemed_approval_matters": ["no-such"]}))
    check_zone(catalog, bad.model_copy(update={"deemed_approval_safety_rule": "盐湖区消防设计审查管理办法 §9"}))


def test_projects_registered_before_keep_the_catalogs_timeout_policy() -> None:
    y = sp.machine("yanhu", stage=Stage.COMPLETION_ACCEPTANCE, deemed_rule=1)
    y.fire_alarms(sp.statutory_deadline_of(y, "matter:air-defence-acceptance:1"))
    assert y.state.matters["air-defence-acceptance"].approval_mode == "deemed"
    assert y.state.matters["planning-verification"].state == "pending"


def test_a_missed_verification_escalates_and_convenes_no_meeting() -> None:
    m = sp.machine("tunliu", stage=Stage.ENGINEERING_PERMIT)
    clock = "obligation:energy-review:verification:1"
    due = sp.deadline_of(m, clock)
    m.fire_alarms(due)
    ours = [e.event_type for e in m.state.pending_events if e.payload.get("clock_id") == clock]
    assert ours == ["DeadlineWarned", "DeadlineBreached", "EscalatedToLead"]
    assert m.state.matters["energy-review"].obligations[0].state == "open"  # still owed by the department
    sp.drain(m)
    m.fire_alarms(due + timedelta(days=60))
    assert clock not in {e.payload.get("clock_id") for e in m.state.pending_events}
    m.execute("verify", sp.verification("energy-review", passed=True), due + timedelta(days=60))
    assert m.state.clocks[clock].closed


def test_the_stage_clock_escalates_without_a_department_and_convenes_while_the_stage_is_open() -> None:
    m = sp.machine("tunliu", stage=Stage.ENGINEERING_PERMIT)
    clock = "stage:engineering_permit"
    due = sp.deadline_of(m, clock)
    m.fire_alarms(due)
    escalated = [e.payload for e in sp.events_of(m, "EscalatedToLead") if e.payload["clock_id"] == clock]
    assert escalated and escalated[0]["department"] is None and escalated[0]["scope"] == "stage"
    sp.drain(m)
    meet = sp.legal_deadline(m, due, 3)
    m.fire_alarms(meet)
    convened = [e.payload for e in sp.events_of(m, "JointMeetingConvened") if e.payload["clock_id"] == clock]
    assert len(convened) == 1 and convened[0]["attendees"] == ["zone-management-committee", "lead-zhao"]


def test_next_alarm_is_the_nearest_one_and_none_once_everything_is_closed() -> None:
    m = sp.at_approval_land("tunliu")
    alarms = [warning_of(m, tc.clock_id) for tc in m.state.clocks.values() if not tc.closed]
    assert m.next_alarm() == min(alarms)
    # The summary names each clock due at that instant with its department.
    summary = m.next_alarm_summary()
    assert summary.startswith("warning for ") and summary.endswith(" CST")


# ---- a new official calendar ----------------------------------------------------------------


def test_a_new_calendar_moves_running_deadlines_and_re_arms_their_ladder() -> None:
    m = sp.at_approval_land("tunliu")
    clock = "matter:eia:1"
    before = sp.deadline_of(m, clock)
    m.fire_alarms(warning_of(m, clock))
    assert m.state.clocks[clock].warned
    # A (fictional) extra holiday on Wednesday 4 March 2026, inside every running limit.
    text = json.dumps({"years": {"2026": {"holidays": {"2026-03-04": "测试假日"}, "workdays": {}}}})
    new, changed = merge_calendar_file(m.ctx.calendar, text)
    assert changed == [2026] and new.version != m.ctx.calendar.version
    sp.drain(m)
    now = sp.T0 + timedelta(days=1)
    assert m.calendar_changed(new, now) is True
    after = sp.deadline_of(m, clock)
    assert after == Clock(accepted_at=sp.T0, limit_days=sp.EIA_PROMISE).deadline(new, m.zone.office_hours).at
    assert after > before
    assert m.state.versions.calendar == new.version and m.view(now).calendar_version == new.version
    assert sp.types(m) == ["DeadlinesRecomputed"]
    moved = m.state.pending_events[0].payload["deadlines"]
    promised_moved = m.state.pending_events[0].payload["promised_deadlines"]
    assert promised_moved[clock] == after.isoformat() and "process" in moved
    # EIA's statutory 30 days are calendar days (日): a holiday inside them moves nothing.
    assert clock not in moved
    statutory = Clock(accepted_at=sp.T0, limit_days=sp.EIA_STATUTORY, counted="days").deadline(new, m.zone.office_hours)
    assert statutory.at == sp.statutory_deadline_of(m, clock)
    lpr = Clock(accepted_at=sp.T0, limit_days=20).deadline(new, m.zone.office_hours).at  # 20 working days: moved
    assert lpr is not None and moved["matter:land-pre-review:1"] == lpr.isoformat()
    assert not m.state.clocks[clock].warned  # the later deadline re-arms the warning
    # The same calendar again changes nothing.
    assert m.calendar_changed(new, now) is False
    assert sp.types(m) == ["DeadlinesRecomputed"]


def test_a_calendar_that_drops_an_official_year_is_refused_and_one_that_adds_or_corrects_is_not() -> None:
    m = sp.at_approval_land("tunliu")
    current = m.ctx.calendar
    newest = max(current.years)
    older = OfficialCalendar.from_years({y: d for y, d in current.years.items() if y != newest})
    with pytest.raises(Rejected, match=rf"^version: calendar {older.version} has no official data for {newest}, "):
        m.check_calendar(older)
    text = json.dumps({"years": {str(newest): {"holidays": {f"{newest}-03-04": "测试假日"}, "workdays": {}}}})
    corrected, _ = merge_calendar_file(current, text)
    m.check_calendar(corrected)  # a correction of a year it holds
    added = current.with_year(newest + 1, YearCalendar(holidays={date(newest + 1, 1, 1): "元旦"}, workdays={}))
    m.check_calendar(added)  # a new year
    m.check_calendar(current)  # the one in force (adopting it changes nothing)
    assert m.calendar_changed(corrected, sp.T0 + timedelta(days=1)) is True


def test_the_warning_comes_at_80_percent_or_2_days_before_whichever_is_first() -> None:
    m = sp.machine("yanhu", stage=Stage.ENGINEERING_PERMIT)
    cal, hours = m.ctx.calendar, m.zone.office_hours

    def only(clock_id: str, share: float | None, days_before: float | None) -> datetime | None:
        tc = m.state.clocks[clock_id]
        clock = m.promise_clock(tc) or tc.clock  # the warning is on the zone's promise when there is one
        return clock.warning_at(cal, hours, share=share, days_before=days_before).at

    # 5 promised days: 2 days before (after 3 used) comes before 80% (after 4 used).
    five = "matter:building-planning-permit:1"
    by_days = only(five, None, 2)
    by_share = only(five, 0.8, None)
    assert by_days is not None and by_share is not None and by_days < by_share
    assert warning_of(m, five) == by_days
    # The 20-day whole-process cap: 80% (after 16 used) comes before 2 days before (after 18).
    by_share = only("process", 0.8, None)
    by_days = only("process", None, 2)
    assert by_share is not None and by_days is not None and by_share < by_days
    assert warning_of(m, "process") == by_share
    # The machine warns at the nearest of them.
    m.fire_alarms(warning_of(m, five))
    assert five in [e.payload["clock_id"] for e in sp.events_of(m, "DeadlineWarned")]
