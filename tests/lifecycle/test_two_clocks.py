"""Two clocks per matter: the statutory limit (the law) and the zone's shorter promise.

行政许可法 §42 sets the limit a department decides within (20 working days by default), and a legal
breach, with deemed approval where a zone's policy allows it, follows that limit alone. A zone's
promise to the enterprise (承诺时限, its reform rules) is shorter: warnings and 督办 follow it, and
missing it is the zone's failure, never a reason to deem approval. Both run on one ledger
(acceptance and stops), so a stop (§45) moves both alike; an extension (§42) moves the statutory
limit, and the promise only where the zone's policy says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from legalclock import Clock
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import ProjectMachine

LIGHTNING = "matter:lightning-design-review:1"  # promised 5, statutory 20


def deeming_lightning() -> ProjectMachine:
    """A zone whose local rule deems the lightning design review approved (超时默认)."""
    m = sp.machine("yanhu", stage=Stage.ENGINEERING_PERMIT)
    return sp.deeming(m, "lightning-design-review", safety_rule="local rule")


def test_the_promise_warns_and_escalates_then_the_statutory_limit_deems_approval() -> None:
    m = deeming_lightning()
    promised, statutory = sp.deadline_of(m, LIGHTNING), sp.statutory_deadline_of(m, LIGHTNING)
    assert promised < statutory
    first = m.next_alarm()
    assert first is not None and first <= promised  # the warning on the promise comes first
    for at in (promised - timedelta(minutes=1), promised, statutory - timedelta(minutes=1)):
        m.fire_alarms(at)
    kinds = [
        (e.event_type, e.payload.get("limit")) for e in m.state.pending_events if e.payload.get("clock_id") == LIGHTNING
    ]
    assert kinds == [
        ("DeadlineWarned", None),
        ("DeadlineBreached", "promised"),
        ("EscalatedToLead", None),
        ("JointMeetingConvened", None),  # the ladder's last rung, on the promise too
    ]
    assert m.state.matters["lightning-design-review"].state == "pending"
    m.fire_alarms(statutory)
    assert m.state.matters["lightning-design-review"].approval_mode == "deemed"


@settings(max_examples=40, deadline=None)
@given(
    stop_after=st.integers(min_value=0, max_value=6 * 24),
    stop_hours=st.integers(min_value=1, max_value=20 * 24),
)
def test_a_stop_moves_both_deadlines_by_the_same_working_days(stop_after: int, stop_hours: int) -> None:
    m = sp.machine("yanhu", stage=Stage.ENGINEERING_PERMIT)
    promised, statutory = sp.deadline_of(m, LIGHTNING), sp.statutory_deadline_of(m, LIGHTNING)
    start = sp.T0 + timedelta(hours=stop_after)
    end = start + timedelta(hours=stop_hours)
    m.execute("stop_clock", sp.stop_clock("lightning-design-review", "expert_review", expected_days=5), start)
    m.execute("resume_clock", sp.resume_clock("lightning-design-review"), end)
    uncounted = m.state.clocks[LIGHTNING].clock.suspensions[-1]
    assert uncounted.end == end
    # Both deadlines move by the same number of working days on the official calendar.
    index = m.ctx.calendar.day_index

    def shift(before: datetime, after: datetime) -> int:
        return index.working_before(after.date().toordinal()) - index.working_before(before.date().toordinal())

    assert shift(promised, sp.deadline_of(m, LIGHTNING)) == shift(statutory, sp.statutory_deadline_of(m, LIGHTNING))


@settings(max_examples=40, deadline=None)
@given(
    stop_after=st.integers(min_value=0, max_value=6 * 24),
    stop_hours=st.integers(min_value=1, max_value=20 * 24),
)
def test_on_a_limit_in_days_a_stop_moves_the_law_by_days_and_the_promise_by_working_days(
    stop_after: int, stop_hours: int
) -> None:
    """EIA's 30 days (日, 民法典 §201-§203) and the zone's 7 working days on one ledger: stopped on day S
    and resumed on day R, the statutory deadline takes the calendar days in (S, R], the promise the
    working days."""
    m = sp.at_approval_land()
    clock = "matter:eia:1"
    start = sp.T0 + timedelta(hours=stop_after)
    end = start + timedelta(hours=stop_hours)
    m.execute("stop_clock", sp.stop_clock("eia", "expert_review", expected_days=5), start)
    m.execute("resume_clock", sp.resume_clock("eia"), end)
    ledger = m.state.clocks[clock].clock
    assert ledger.counted == "days"
    statutory = Clock(accepted_at=sp.T0, limit_days=30, counted="days", suspensions=ledger.suspensions)
    promise = Clock(accepted_at=sp.T0, limit_days=sp.EIA_PROMISE, suspensions=ledger.suspensions)
    hours = m.zone.office_hours
    assert sp.statutory_deadline_of(m, clock) == statutory.deadline(m.ctx.calendar, hours).at
    assert sp.deadline_of(m, clock) == promise.deadline(m.ctx.calendar, hours).at
    assert sp.deadline_of(m, clock) < sp.statutory_deadline_of(m, clock)


@settings(max_examples=40, deadline=None)
@given(hours=st.integers(min_value=0, max_value=40 * 24))
def test_deemed_approval_never_comes_before_the_statutory_deadline(hours: int) -> None:
    m = deeming_lightning()
    statutory = sp.statutory_deadline_of(m, LIGHTNING)
    now = sp.T0 + timedelta(hours=hours)
    for _ in range(4):  # as the workflow's loop does: fire until nothing more is due
        m.fire_alarms(now)
    deemed = m.state.matters["lightning-design-review"].approval_mode == "deemed"
    assert deemed == (now >= statutory)
