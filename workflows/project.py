"""The project workflow: one per investment project, from registration to production.

Contract (names are what other services' SDKs call):

- Workflow ``ProjectWorkflow``, id ``project-{project_id}``, input ``ProjectInput``.
- Updates (validated; a rejected update leaves no trace in history):
  ``decide(Decision) -> DecisionResult`` (departments; a repeated decision id gets the first
  answer), ``verify(Verification) -> DecisionResult``, ``supply_materials(SupplyMaterials)``,
  ``resubmit(Resubmit)``, ``stop_clock(StopClock)``, ``resume_clock(ResumeClock)``,
  ``extend_limit(ExtendLimit)``, ``reassign_agent(ReassignAgent)``,
  ``report_progress(ProgressReport)``, ``resolve_meeting(ResolveMeeting)``,
  ``withdraw(Withdraw)``; each but the first two returns ``Ack``.
- Signal ``calendar_updated(CalendarUpdate)``: a newly loaded official calendar; deadlines
  recompute and re-arm.
- Query ``state() -> ProjectView``.

The rules live in ``workflows.machine`` (pure); this class adds time, activities, visibility
and continue-as-new.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.project import (
        CloseSubmission,
        IssueLicense,
        LoadContext,
        Notify,
        ProjectActivities,
        RecordEvents,
        RevokeLicense,
        SubmitApplication,
    )
    from catalog.models import ProjectFacts, derive_checklist
    from legalclock import LegalClockError
    from schemas import visibility
    from schemas.project import (
        Ack,
        Decision,
        DecisionResult,
        ExtendLimit,
        ProgressReport,
        ProjectView,
        ReassignAgent,
        RegisterProject,
        ResolveMeeting,
        Resubmit,
        ResumeClock,
        StopClock,
        SupplyMaterials,
        Verification,
        Withdraw,
    )
    from schemas.stages import Stage
    from workflows.clocks import CalendarData
    from workflows.machine import Effect, ProjectMachine, ProjectState, Rejected

T = TypeVar("T")

_TIMEOUT = timedelta(seconds=30)
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
A = TypeVar("A")
R = TypeVar("R")


async def _activity(fn: Callable[[ProjectActivities, A], Awaitable[R]], arg: A, summary: str) -> R:
    """Run one of the project's activities with the platform's timeout and retry policy."""
    return await workflow.execute_activity_method(
        fn, arg, summary=summary, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY
    )


class ProjectInput(BaseModel):
    """Start a project (``registration``) or continue one (``carried``, set by continue-as-new)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    registration: RegisterProject
    carried: ProjectState | None = None
    # Continue-as-new once history holds this many events (the server also suggests it).
    history_limit: int = 2_000


class CalendarUpdate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    calendar: CalendarData


@workflow.defn
class ProjectWorkflow:
    """One investment project's approval lifecycle (see the module docstring for the contract)."""

    @workflow.init
    def __init__(self, inp: ProjectInput) -> None:
        self._input = inp
        self._m: ProjectMachine | None = ProjectMachine(inp.carried.model_copy(deep=True)) if inp.carried else None
        self._dirty = False
        # A calendar signalled while the project is still registering, adopted right after.
        self._early_calendar: CalendarData | None = None

    # ---- run ---------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ProjectInput) -> ProjectView:
        if self._m is None:
            r = inp.registration
            ctx = await _activity(
                ProjectActivities.load_context,
                LoadContext(zone=r.zone, year=workflow.now().year),
                f"load catalog, zone {r.zone} policy and official calendar",
            )
            state = ProjectState(registration=r, context=ctx, agent=r.agent, backup_agent=r.backup_agent)
            self._m = ProjectMachine(state)
            facts = ProjectFacts(project_type=r.project_type, standard_land_parcel=r.standard_land_parcel)
            self._m.register(derive_checklist(ctx.catalog, ctx.zone, facts), workflow.now())
            # The memo names the project in the UI even when it was started without the client.
            # Added after projects were running: patched, so their histories still replay.
            if workflow.patched("memo-at-registration"):
                workflow.upsert_memo({"name": r.name, "enterprise": r.enterprise, "investment_yuan": r.investment_yuan})
            if self._early_calendar is not None:
                self._m.calendar_changed(
                    self._early_calendar, workflow.now(), record=workflow.patched("deadlines-recomputed-event")
                )
        m = self._m
        while True:
            m.advance(workflow.now())
            await self._flush()
            if m.done:
                break
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    ProjectInput(registration=inp.registration, carried=m.s, history_limit=inp.history_limit)
                )
            self._dirty = False
            nxt = m.next_alarm()
            timeout = None if nxt is None else max(nxt - workflow.now(), timedelta(seconds=1))
            with contextlib.suppress(TimeoutError):  # the alarm is due
                await workflow.wait_condition(
                    lambda: self._dirty,
                    timeout=timeout,
                    timeout_summary=f"next deadline action at {nxt.isoformat()}" if nxt else None,
                )
            m.fire_alarms(workflow.now())
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        return m.view(workflow.now())

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return self._machine.s.stage == Stage.CONSTRUCTION and (
            info.is_continue_as_new_suggested() or info.get_current_history_length() > self._input.history_limit
        )

    async def _flush(self) -> None:
        """Carry out pending effects, then append pending events; loop until both are empty.

        Stops early when the history is due to continue as new: under a steady stream of updates
        the loop would never empty, and what is left travels in the carried state.
        """
        m = self._machine
        while (m.s.effects or m.s.pending_events) and not self._should_continue_as_new():
            effects, m.s.effects = m.s.effects, []
            if effects:
                # Concurrently across matters, in order within one: a matter's submission must
                # reach its inbox before its closing does.
                groups: dict[str, list[Effect]] = {}
                for i, effect in enumerate(effects):
                    groups.setdefault(str(effect.args.get("matter_code", i)), []).append(effect)
                await asyncio.gather(*(self._perform_in_order(g) for g in groups.values()))
            events, m.s.pending_events = m.s.pending_events, []
            if events:
                await _activity(
                    ProjectActivities.record_events,
                    RecordEvents(events=events),
                    f"record {len(events)} events: {', '.join(sorted({e.event_type for e in events}))}",
                )
        self._publish()

    async def _perform_in_order(self, effects: list[Effect]) -> None:
        for effect in effects:
            await self._perform(effect)

    async def _perform(self, e: Effect) -> None:
        a = e.args
        if e.kind == "submit":
            await _activity(
                ProjectActivities.submit_application,
                SubmitApplication(**a),
                f"submit {a['matter_code']} to {a['department']} (submission {a['submission']})",
            )
        elif e.kind == "close_submission":
            await _activity(
                ProjectActivities.close_submission,
                CloseSubmission(**a),
                f"close submission {a['submission']} of {a['matter_code']}: {a['outcome']}",
            )
        elif e.kind == "revoke_license":
            await _activity(
                ProjectActivities.revoke_license,
                RevokeLicense(**a),
                f"revoke e-license {a['license_no']}",
            )
        elif e.kind == "issue_license":
            license_no = await _activity(
                ProjectActivities.issue_license,
                IssueLicense(**a),
                f"issue e-license for {a['matter_code']} ({a['department']})",
            )
            self._machine.license_issued(a["matter_code"], license_no, workflow.now())
        else:
            await _activity(
                ProjectActivities.notify,
                Notify(**a),
                f"notify {a['kind']}: {', '.join(a['recipients'])}",
            )

    def _publish(self) -> None:
        """Search attributes and current details, so the UI shows where the project stands."""
        m, now = self._machine, workflow.now()
        r = m.s.registration
        updates: list[SearchAttributeUpdate[Any]] = [
            visibility.PROJECT_ID.value_set(r.project_id),
            visibility.ZONE.value_set(r.zone),
            visibility.STAGE.value_set(str(m.s.stage)),
            visibility.AGENT.value_set(m.s.agent),
            visibility.OPEN_DEPARTMENTS.value_set(m.open_departments()),
            visibility.OVERDUE.value_set(m.overdue(now)),
        ]
        nearest = m.nearest_deadline()
        updates.append(
            visibility.NEXT_DEADLINE.value_set(nearest) if nearest else visibility.NEXT_DEADLINE.value_unset()
        )
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(m.waiting_for(now))

    @property
    def _machine(self) -> ProjectMachine:
        if self._m is None:
            raise ApplicationError("the project is still registering; try again", non_retryable=True)
        return self._m

    def _apply(self, fn: Callable[[], T]) -> T:
        """Run a state change from a handler and wake the main loop."""
        try:
            result = fn()
        except (Rejected, LegalClockError) as exc:
            # A business failure fails the update, never the workflow task.
            raise ApplicationError(str(exc), type="Rejected", non_retryable=True) from None
        # Advance right away, so the next query or update sees the stage move this one caused,
        # even while the main loop is still waiting on an activity.
        self._machine.advance(workflow.now())
        self._dirty = True
        if isinstance(result, Ack):  # answer with the stage the command led to
            return result.model_copy(update={"stage": self._machine.s.stage})
        return result

    def _check(self, fn: Callable[[], object]) -> None:
        """Run a validator: ``Rejected`` becomes the update's failure, before history."""
        try:
            fn()
        except Rejected as exc:
            raise ApplicationError(str(exc), type="Rejected", non_retryable=True) from None

    # ---- updates -----------------------------------------------------------------------------

    @workflow.update(
        description=(
            "A department decides a pending matter (approve, reject, correction, tolerance, commitment); "
            "a repeated decision id gets the first answer."
        )
    )
    def decide(self, d: Decision) -> DecisionResult:
        workflow.logger.info("decision %s on %s by %s: %s", d.decision_id, d.matter_code, d.department, d.kind)
        return self._apply(lambda: self._machine.decide(d, workflow.now()))

    @decide.validator
    def _validate_decide(self, d: Decision) -> None:
        self._check(lambda: self._machine.validate_decision(d))

    @workflow.update(
        description=(
            "The department's after-the-fact verification of a commitment-based approval; "
            "a failure revokes and reopens the matter."
        )
    )
    def verify(self, v: Verification) -> DecisionResult:
        return self._apply(lambda: self._machine.verify(v, workflow.now()))

    @verify.validator
    def _validate_verify(self, v: Verification) -> None:
        self._check(lambda: self._machine.validate_verification(v))

    @workflow.update(
        description="The agent supplies correction materials, or secondary materials owed under tolerance."
    )
    def supply_materials(self, cmd: SupplyMaterials) -> Ack:
        return self._apply(lambda: self._machine.supply(cmd, workflow.now()))

    @supply_materials.validator
    def _validate_supply(self, cmd: SupplyMaterials) -> None:
        self._check(lambda: self._machine.validate_supply(cmd))

    @workflow.update(description="The agent resubmits a rejected matter; its clock starts again.")
    def resubmit(self, cmd: Resubmit) -> Ack:
        return self._apply(lambda: self._machine.resubmit(cmd, workflow.now()))

    @resubmit.validator
    def _validate_resubmit(self, cmd: Resubmit) -> None:
        self._check(lambda: self._machine.validate_resubmit(cmd))

    @workflow.update(
        description="The department stops a matter's clock for expert review, a hearing, testing or public notice."
    )
    def stop_clock(self, cmd: StopClock) -> Ack:
        return self._apply(lambda: self._machine.stop_clock(cmd, workflow.now()))

    @stop_clock.validator
    def _validate_stop(self, cmd: StopClock) -> None:
        self._check(lambda: self._machine.validate_stop(cmd))

    @workflow.update(description="The department restarts a stopped clock.")
    def resume_clock(self, cmd: ResumeClock) -> Ack:
        return self._apply(lambda: self._machine.resume_clock(cmd, workflow.now()))

    @resume_clock.validator
    def _validate_resume(self, cmd: ResumeClock) -> None:
        self._check(lambda: self._machine.validate_resume(cmd))

    @workflow.update(description="Extend a matter's limit once, naming who approved it and why.")
    def extend_limit(self, cmd: ExtendLimit) -> Ack:
        return self._apply(lambda: self._machine.extend(cmd, workflow.now()))

    @extend_limit.validator
    def _validate_extend(self, cmd: ExtendLimit) -> None:
        self._check(lambda: self._machine.validate_extend(cmd))

    @workflow.update(description="Hand the project to the backup agent (AB岗) or a new agent.")
    def reassign_agent(self, cmd: ReassignAgent) -> Ack:
        return self._apply(lambda: self._machine.reassign(cmd, workflow.now()))

    @reassign_agent.validator
    def _validate_reassign(self, cmd: ReassignAgent) -> None:
        self._check(lambda: self._machine.validate_reassign(cmd))

    @workflow.update(description="Construction progress in percent; 100 opens the joint completion acceptance.")
    def report_progress(self, cmd: ProgressReport) -> Ack:
        return self._apply(lambda: self._machine.progress(cmd, workflow.now()))

    @report_progress.validator
    def _validate_progress(self, cmd: ProgressReport) -> None:
        self._check(lambda: self._machine.validate_progress(cmd))

    @workflow.update(description="Record the resolution of a joint meeting (联席会议).")
    def resolve_meeting(self, cmd: ResolveMeeting) -> Ack:
        return self._apply(lambda: self._machine.resolve_meeting(cmd, workflow.now()))

    @resolve_meeting.validator
    def _validate_meeting(self, cmd: ResolveMeeting) -> None:
        self._check(lambda: self._machine.validate_meeting(cmd))

    @workflow.update(description="Withdraw the project; open matters are closed.")
    def withdraw(self, cmd: Withdraw) -> Ack:
        return self._apply(lambda: self._machine.withdraw(cmd, workflow.now()))

    @withdraw.validator
    def _validate_withdraw(self, cmd: Withdraw) -> None:
        self._check(lambda: self._machine.validate_withdraw(cmd))

    # ---- signal and query --------------------------------------------------------------------

    @workflow.signal(description="A newly loaded official calendar: deadlines recompute and re-arm.")
    def calendar_updated(self, upd: CalendarUpdate) -> None:
        if self._m is None:
            self._early_calendar = upd.calendar
        elif self._m.calendar_changed(
            upd.calendar, workflow.now(), record=workflow.patched("deadlines-recomputed-event")
        ):
            workflow.logger.info("official calendar %s adopted", upd.calendar.version)
            self._dirty = True

    @workflow.query(description="The project's full state: stages, matters, clocks, obligations, decisions.")
    def state(self) -> ProjectView:
        return self._machine.view(workflow.now())
