"""Period rule 2 on the pure lifecycle: in a zone that deems an application received after hours
accepted the next working day (``OfficeHours.after_hours_acceptance = "next_working_day"``), only
an application's clocks count that way; every other period counts from the day of its event, that
day not counted, whatever the hour (民法典 §201). Before the rule those periods ended one working
day late.

The oracle is independent of ``legalclock``: it walks calendar days with ``is_working_day`` only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from legalclock import CST
from schemas import project as p
from schemas.stages import Stage
from tests import support as sp
from workflows import clocks
from workflows.lifecycle import ProjectContext, ProjectMachine
from workflows.lifecycle.state import TrackedClock

CLOSE = time(17, 30)  # the shipped zones' close of office hours
MONDAY_EVENING = datetime(2026, 3, 2, 20, 0, tzinfo=CST)  # after hours on a working Monday


def nth_working_day_after(m: ProjectMachine, day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (``day`` itself not counted), by the calendar alone."""
    left = n
    while left:
        day += timedelta(days=1)
        left -= m.ctx.calendar.is_working_day(day)
    return day


def at_close(day: date) -> datetime:
    return datetime.combine(day, CLOSE, CST)


def next_day_zone(m: ProjectMachine, period_rule: int) -> ProjectMachine:
    """``m`` under its zone with after-hours applications accepted the next working day."""
    zone = m.ctx.zone
    hours = zone.office_hours.model_copy(update={"after_hours_acceptance": "next_working_day"})
    m.ctx = ProjectContext(m.ctx.catalog, zone.model_copy(update={"office_hours": hours}), m.ctx.calendar)
    m.state.period_rule = period_rule  # type: ignore[assignment]
    return m


def bad_rating_at(m: ProjectMachine, code: str, at: datetime) -> datetime:
    rate = p.Rate.model_validate(
        {"request_id": sp.rid(), "target": "matter", "matter_code": code, "grade": "bad", "text": "", "by": "ent-1"}
    )
    sp.ack(m, "rate", rate, at)
    [tc] = [tc for tc in m.state.clocks.values() if tc.scope == "rating" and tc.clock_id.startswith("rating:callback")]
    return sp.statutory_deadline_of(m, tc.clock_id)


def decided(period_rule: int) -> tuple[ProjectMachine, str]:
    m = next_day_zone(sp.machine("yanhu", stage=Stage.APPROVAL_LAND), period_rule)
    code = next(c for c, mm in m.state.matters.items() if mm.state == "approved")
    return m, code


def test_a_bad_rating_given_after_hours_is_called_back_counting_from_the_next_day() -> None:
    m, code = decided(period_rule=2)
    days = int(m.zone.ratings.callback_days)
    assert bad_rating_at(m, code, MONDAY_EVENING) == at_close(nth_working_day_after(m, MONDAY_EVENING.date(), days))


def test_projects_registered_before_period_rule_2_keep_the_day_late_period() -> None:
    m, code = decided(period_rule=1)
    days = int(m.zone.ratings.callback_days)
    late = at_close(nth_working_day_after(m, MONDAY_EVENING.date(), days + 1))
    assert bad_rating_at(m, code, MONDAY_EVENING) == late


def test_the_joint_meeting_after_a_breach_counts_from_the_breach_day() -> None:
    """The meeting is due N working days after the missed deadline, at 17:30 of its own day: the
    close of office hours is not 'after hours' for the period that starts there."""
    for rule, extra in ((2, 0), (1, 1)):
        m = next_day_zone(sp.at_approval_land("tunliu"), rule)
        clock = "matter:eia:1"
        due = sp.deadline_of(m, clock)
        m.fire_alarms(due)
        sp.drain(m)
        after = int(m.zone.escalation.joint_meeting_after_days)
        meet = at_close(nth_working_day_after(m, due.astimezone(CST).date(), after + extra))
        m.fire_alarms(meet - timedelta(minutes=1))
        assert not [e for e in sp.events_of(m, "JointMeetingConvened") if e.payload["clock_id"] == clock], rule
        m.fire_alarms(meet)
        assert [e for e in sp.events_of(m, "JointMeetingConvened") if e.payload["clock_id"] == clock], rule


_RULE_2 = next_day_zone(sp.machine("yanhu"), period_rule=2)
_START = datetime(2025, 1, 1, tzinfo=CST)


@settings(max_examples=300, deadline=None)
@given(
    minutes=st.integers(min_value=0, max_value=700 * 24 * 60),
    days=st.integers(min_value=1, max_value=25),
    scope=st.sampled_from(["matter", "acceptance", "enterprise", "obligation", "rating", "stage", "process"]),
)
def test_only_an_applications_clocks_move_to_the_next_working_day(minutes: int, days: int, scope: str) -> None:
    """Whatever the instant: an application's clock after hours (or on a rest day) counts from the
    next working day, which is not counted either; every other period from the day of its event."""
    m = _RULE_2
    at = _START + timedelta(minutes=minutes)
    day = at.date()
    start = day
    if scope in ("matter", "acceptance") and not (m.ctx.calendar.is_working_day(day) and at.time() < CLOSE):
        start = nth_working_day_after(m, day, 1)
    tc = TrackedClock(clock_id=f"probe:{scope}", scope=scope, label="probe", clock=clocks.start(at, float(days)))
    assert m.deadline(tc).at == at_close(nth_working_day_after(m, start, days))
