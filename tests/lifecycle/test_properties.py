"""Properties of any run: whatever valid commands arrive, in whatever order, at whatever pace.

Hypothesis drives a project with commands the machine accepts (chosen among those its gate lets
through) at instants that move forward by hours to weeks, and after each step checks what must
always hold: a gap-free stream, causation ids, one id per notification, every running clock has a
future alarm (or is stopped), matter states agree with their clocks, later stages untouched, and
a retried command is answered from memory without changing anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas import effects as fx
from schemas.project import Ack, DecisionResult
from schemas.stages import APPROVAL_STAGES, Stage
from tests import support as sp
from workflows.lifecycle import ProjectMachine, Rejected

Command = tuple[str, BaseModel]


def settle(m: ProjectMachine, now: datetime) -> None:
    """What the workflow's main loop does at ``now``: fire due alarms and advance until idle."""
    for _ in range(6):
        m.fire_alarms(now)
        m.advance(now)
        nxt = m.next_alarm()
        if nxt is None or nxt > now:
            return
    raise AssertionError(f"alarms keep coming due at {now}: {m.next_alarm_summary()}")


def candidates(m: ProjectMachine, now: datetime, percent_step: int) -> list[Command]:
    """Commands a department, the agent or an operator could send now."""
    out: list[Command] = []
    for code, x in m.state.matters.items():
        spec = m.ctx.specs[code]
        tc = m.state.clocks.get(x.clock_id or "")
        running = tc is not None and not tc.closed and not tc.clock.stopped
        if x.state == "pending":
            out.append(("decide", sp.decision(code, "approve", instant=x.mode == "instant")))
            out.append(("decide", sp.decision(code, "reject")))
            if running:  # not during a department's stop: see the xfail in test_commands
                out.append(("decide", sp.decision(code, "request_correction")))
                out.append(("stop_clock", sp.stop_clock(code)))
            else:
                out.append(("resume_clock", sp.resume_clock(code)))
            if "tolerance" in spec.modes:
                out.append(("decide", sp.decision(code, "accept_with_tolerance")))
            if "commitment" in spec.modes:
                out.append(("decide", sp.decision(code, "approve_on_commitment")))
        if x.state in ("pending", "correction") and tc is not None and tc.clock.extension is None:
            at = m.deadline(tc).at
            if at is None or at > now:  # §42: within the limit (see the xfail in test_commands)
                out.append(("extend_limit", sp.extend_limit(code, 5)))
        if x.state in ("correction", "suspended") or any(
            o.kind == "supply_materials" and o.state == "open" for o in x.obligations
        ):
            out.append(("supply_materials", sp.supply(code)))
        if x.state == "rejected":
            out.append(("resubmit", sp.resubmit(code)))
        if any(o.kind == "verification" and o.state == "open" for o in x.obligations):
            out.append(("verify", sp.verification(code, passed=True)))
            out.append(("verify", sp.verification(code, passed=False)))
    if m.state.stage == Stage.CONSTRUCTION:
        out.append(("report_progress", sp.progress(min(100, m.state.construction_percent + percent_step))))
    for meeting in m.state.meetings.values():
        if meeting.resolution is None:
            out.append(("resolve_meeting", sp.resolve(meeting.meeting_id)))
    out.append(("reassign_agent", sp.reassign(m.state.backup_agent)))
    return out


ONWARD = {"decide", "supply_materials", "resubmit", "report_progress", "verify"}


def _onward(cmd: BaseModel) -> bool:
    """Approvals and passed verifications move a project on; other decisions send it back."""
    return getattr(cmd, "kind", "approve") == "approve" and getattr(cmd, "passed", True) is True


def check_invariants(m: ProjectMachine, now: datetime) -> None:
    s = m.state
    pid = m.pid
    # The stream: versions 1..n without gaps, ids from the version.
    assert [e.version for e in s.pending_events] == list(range(1, s.version + 1))
    assert [e.event_id for e in s.pending_events] == [f"{pid}:{v}" for v in range(1, s.version + 1)]
    # One notification id per notification (the outbox is idempotent on it).
    ids = [f.notification_id for f in s.effects if isinstance(f, fx.Notify)]
    assert len(ids) == len(set(ids))
    # Every running clock still has its alarm ahead; nothing due is left unfired.
    nxt = m.next_alarm()
    assert nxt is None or nxt > now
    for tc in s.clocks.values():
        if tc.closed or tc.clock.stopped or tc.breached:
            continue
        at = m.deadline(tc).at
        assert at is not None and at > now, tc.clock_id
    # Matter states agree with their clocks.
    for code, x in s.matters.items():
        own = s.clocks.get(x.clock_id or "")
        if x.state in ("pending", "correction"):
            assert own is not None and not own.closed, code
        if x.state == "correction":
            assert own is not None and own.clock.stopped, code
        if x.state in ("approved", "rejected", "suspended") and own is not None:
            assert own.closed, code
        if x.state == "exempt":
            assert x.mode == "regional_assessment" and own is None, code
    # Stages after the current one are untouched.
    if s.stage in sp.LIFECYCLE:
        later = {st for st in APPROVAL_STAGES if sp.LIFECYCLE.index(st) > sp.LIFECYCLE.index(s.stage)}
        assert all(x.state == "waiting" for x in s.matters.values() if m.ctx.specs[x.code].stage in later)
    if s.stage == Stage.WITHDRAWN:
        assert all(tc.closed for tc in s.clocks.values()) and m.done


steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),  # which command
        st.sampled_from([0, 1, 3, 9, 30, 100, 400]),  # hours until it arrives
        # 5%: withdraw; 10%: a retry of an earlier command; 45%: a command that moves on
        st.integers(min_value=0, max_value=19),
    ),
    max_size=25,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(["yanhu", "tunliu"]), plan=steps, percent_step=st.sampled_from([25, 60, 100]))
def test_any_sequence_of_valid_commands_keeps_the_invariants(
    zone: str, plan: list[tuple[int, int, int]], percent_step: int
) -> None:
    m = sp.machine(zone, clear=False)
    now = sp.T0
    answered: list[tuple[str, BaseModel, DecisionResult | Ack]] = []
    for pick, hours, dice in plan:
        now += timedelta(hours=hours)
        before = m.state.version
        settle(m, now)
        assert {e.causation_id for e in m.state.pending_events[before:]} <= {None}
        if m.done:
            break
        if dice == 0:
            options: list[Command] = [("withdraw", sp.withdraw())]
        elif dice <= 2 and answered:
            name, cmd, first = answered[pick % len(answered)]
            version = m.state.version
            m.check(name, cmd)
            assert sp.first_answer(m.execute(name, cmd, now)) == sp.first_answer(first).model_copy(
                update={"duplicate": True}
            )
            assert m.state.version == version
            continue
        else:
            options = candidates(m, now, percent_step)
            # Nearly half the time, something that moves the project on, so runs reach late stages.
            onward = [(n, c) for n, c in options if n in ONWARD and _onward(c)]
            if dice <= 11 and onward:
                options = onward
        name, cmd = options[pick % len(options)]
        try:
            m.check(name, cmd)
        except Rejected:
            continue  # e.g. a department's stop on a matter whose clock is stopped
        before = m.state.version
        result = m.execute(name, cmd, now)
        answered.append((name, cmd, result))
        caused = m.state.pending_events[before:]
        rid = getattr(cmd, "decision_id", None) or getattr(cmd, "request_id", None)
        assert caused and {e.causation_id for e in caused} == {rid}
        settle(m, now)
        check_invariants(m, now)
    check_invariants(m, now)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(["yanhu", "tunliu"]),
    plan=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000), st.sampled_from([0, 3, 30])), max_size=30),
)
def test_a_command_refused_when_applied_changes_nothing(zone: str, plan: list[tuple[int, int, int]]) -> None:
    """Two updates validated in one activation: the second's handler meets the state the first left,
    so its command is checked again when applied (``ProjectMachine.execute``) and may be refused
    there, after its validator let it through. A refusal then must leave the state exactly as it was:
    the update fails, and nothing of it may stay in the outbox, the clocks or the answers."""
    m = sp.machine(zone, clear=False)
    now = sp.T0
    for first, second, hours in plan:
        now += timedelta(hours=hours)
        settle(m, now)
        if m.done:
            break
        options = candidates(m, now, 60)
        onward = [(n, c) for n, c in options if n in ONWARD and _onward(c)] or options
        gated = []
        for name, cmd in (onward[first % len(onward)], options[second % len(options)]):
            try:
                m.check(name, cmd)  # both validated on the state before either ran
            except Rejected:
                continue
            gated.append((name, cmd))
        for name, cmd in gated:
            before = m.state.model_dump()
            try:
                m.execute(name, cmd, now)
            except Rejected:
                assert m.state.model_dump() == before, f"{name} refused after changing the state"
        settle(m, now)
    check_invariants(m, now)
