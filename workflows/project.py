"""The project workflow: one per investment project, from registration to production.

Contract (names are what other services' SDKs call):

- Workflow ``ProjectWorkflow``, id ``project-{project_id}``, input ``ProjectInput``, result ``ProjectResult``.
- Updates: one per row of ``schemas.commands`` (ratings: ``workflows.ratings``), validated (a refusal leaves no
  trace in history); signed ones (``decide``, ``verify``, ``extend_permit``) answer a ``DecisionResult``, the others
  an ``Ack``, each saying what is pending next; a repeated request id gets the first answer (``duplicate: true``),
  another body a refusal; ``NotReady`` while registering: retry.
- Update ``adopt_calendar(AdoptCalendar)``: the content version of a newly loaded official
  calendar; deadlines recompute and re-arm. Refused before history (``ContentNotLoaded``: retry) while
  the worker does not hold the version. Signal ``calendar_updated(CalendarUpdate)`` does the same,
  unchecked: an unknown version fails the workflow task until a worker holds it, so a version that
  never existed stalls the project. The calendar load sends the signal (it stored the version, and
  Temporal keeps a signal while no worker runs); anyone else sends the update.
- Queries ``state() -> ProjectView``, ``clock_ledger``, ``migration_preview(MigrateContent)`` (what
  ``migrate_content`` would move; nothing changes).

Determinism by construction (why a restart loses nothing):

- Handlers apply the pure transition synchronously (``ProjectMachine.execute``) and only append to
  the project's outbox (events and effects); they never await and schedule nothing.
- The main loop alone issues commands (activities, timers, search attributes), and only at
  *settled* points: after every wake-up it first yields once more (``_settle``), so every job of
  the activation (updates, signals, activity results, timers, in whatever order the SDK applied
  them) has run before it reads the state. What it schedules therefore depends on the activation's
  content, never on the order of its jobs, in the first execution and in any replay alike.
- A batch's result alone issues nothing (patch ``pipelined``, ``workflows.pipeline``): one task
  may reach the workflow in two activations first and in one on replay. Batches (``apply_batch``:
  events and effects in one transaction) leave from the activation that filled the outbox; its
  prefix is dropped only once stored, so a batch refused for good stays while the project is
  marked faulted for operators.
- Continue-as-new in every stage on the server's suggestion or at ``history_limit`` events,
  carrying the state (with the outbox and every answer given) but never the catalog, zone policy
  or calendar, which travel as content versions (``catalog.content``), nor free texts whole (patch
  ``texts-out``: bounded summaries; the texts are in the domain events), and since patch
  ``carried-apart`` compressed, beside the registration (written as bytes in the input payload's
  metadata since this release, before as ``ProjectInput.carried_zlib``: ``workflows.start``).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any, cast

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from catalog.content import REGISTRY, ContentVersions
    from catalog.models import ProjectFacts, derive_checklist
    from legalclock import LegalClockError
    from schemas import commands as c
    from schemas import project as p
    from schemas.activities import (
        APPLY_BATCH,
        HEARTBEAT_TIMEOUT,
        NON_RETRYABLE,
        RESOLVE_VERSIONS,
        ResolveVersions,
    )
    from schemas.effects import Batch
    from workflows.clocks import ClockLedgers
    from workflows.content import machine_of
    from workflows.faulting import report_fault
    from workflows.lifecycle import ProjectMachine, ProjectState, Rejected
    from workflows.patches import (
        ACCEPTANCE,
        CARRIED_APART,
        CHECKED_START,
        DAYS_PERIODS,
        DEEMED_BY_MATTER,
        EVENT_DAY_PERIODS,
        FILINGS,
        HELD_ACCEPTANCE,
        LAPSED_PERMITS,
        MODES_BY_RULE,
        OWED_PAST_PRODUCTION,
        PIPELINED,
        PROMISE_ONLY_LIMITS,
        SCOPED_DECISIONS,
        SHORT_RUNS,
        TEXTS_OUT,
        TWO_CLOCKS,
        Patches,
    )
    from workflows.pipeline import InFlight, Pipeline, pipeline_for_run, publish
    from workflows.ratings import RatingUpdates
    from workflows.start import (
        NO_INPUT,
        ProjectInput,
        continued_input,
        decode_start,
        refuse,
        refuse_workflow_id,
        unreadable,
    )

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=list(NON_RETRYABLE),
)
_TIMEOUT = timedelta(seconds=30)

NOT_READY = "NotReady"
# A content version this worker's registry does not hold (yet: the refresher loads a stored version
# within seconds, ``activities.content``): refused before history, the client retries.
CONTENT_NOT_LOADED = "ContentNotLoaded"
SHORT_RUN_EVENTS = 200  # patch ``short-runs`` (``workflows.patches``): a run continues as new at this many events
REJECTED = "Rejected"


__all__ = ["ProjectInput", "ProjectWorkflow"]  # ProjectInput: ``workflows.start``, where the raw start is checked


@workflow.defn
class ProjectWorkflow(RatingUpdates):
    """One investment project's approval lifecycle (see the module docstring for the contract)."""

    _new_pipeline = staticmethod(pipeline_for_run)  # patch adapter-queue; tests/upgrade builds the release before it
    # One marker for every patch (``workflows.patches``); the same test's old release asks one by one.
    _take_patches = staticmethod(Patches.take)

    @workflow.init
    def __init__(self, raw: RawValue = NO_INPUT) -> None:
        # The raw start, checked here (``workflows.start``): a bad one fails the run at once.
        inp, self._errors = decode_start(raw, workflow.info().continued_run_id is not None)
        self._input = inp
        self._m: ProjectMachine | None = None
        if inp is not None and inp.carried is not None and not self._errors:
            # The decoded start is this run's own object and nothing reads ``carried`` again: the
            # machine takes it as it is (a deep copy cost ~10 ms of worker CPU per run start and
            # per replay of a continued run, ``benchmarks.replay_cost``).
            self._m = machine_of(inp.carried)
            self._input = inp.model_copy(update={"carried": None})
        # A calendar version signalled while the project is still registering, adopted right after.
        self._early_calendar: str | None = None
        self._wake = False
        self._short_runs = False  # patch short-runs, taken at the run's start
        self._patches = Patches()  # taken first thing in ``run``
        self._published: dict[str, Any] = {}

    # ---- run ---------------------------------------------------------------------------------

    @workflow.run
    async def run(self, raw: RawValue = NO_INPUT) -> p.ProjectResult:
        inp = self._input
        # First of all, in the run's first workflow task: one marker for every patch (``workflows.patches``).
        self._patches = patches = self._take_patches()
        if self._errors and patches.patched(CHECKED_START):
            if workflow.info().continued_run_id is not None:
                # A daiban worker wrote this input when it continued the project as new. One this
                # worker cannot read comes from a newer release (after a rollback) or a defect:
                # refusing it would end the project for good. The workflow task fails instead and
                # Temporal retries it until a worker that reads it takes it (roll forward); the UI
                # and ``daiban project list --stuck`` show the run waiting, with this message.
                raise unreadable(self._errors)
            raise refuse(self._errors)
        if inp is None:  # before the patch: the task failed on decoding
            raise RuntimeError("Failed decoding arguments")
        wrong_id = refuse_workflow_id(workflow.info().workflow_id, inp)
        if wrong_id is not None:
            raise wrong_id
        # Taken once per run, in its first workflow task (a run started before keeps the old loop).
        pipelined = patches.patched(PIPELINED)
        self._short_runs = patches.patched(SHORT_RUNS)
        texts_out = patches.patched(TEXTS_OUT)  # in every run: a project started before adopts it at its next run
        m = self._m or await self._register(inp.registration)
        if texts_out:
            m.keep_texts_out()
        if pipelined:
            return await self._run_pipelined(m, inp)
        while True:
            now = workflow.now()
            m.fire_alarms(now)
            m.advance(now)
            self._publish()
            if m.done and not (m.state.pending_events or m.state.effects):
                break
            if self._continue_as_new_due():
                self._continue_as_new(m, inp)
            if (m.state.pending_events or m.state.effects) and self._fault is None:
                await self._flush()
            else:  # idle, or parked after a fault until an operator asks to retry
                await self._sleep_until_woken(None if self._fault else m.next_alarm())
        return m.result()

    async def _run_pipelined(self, m: ProjectMachine, inp: ProjectInput) -> p.ProjectResult:
        """The main loop under patch ``pipelined`` (``workflows.pipeline``): only a wake-up, a timer or
        the run's start makes it act (alarms, stages, search attributes, continue-as-new, dispatch,
        the next alarm); a batch's result only drops what it stored from the outbox."""
        pipe, acting = self._new_pipeline(_RETRY, _TIMEOUT, self._patches), True
        while True:
            failed = pipe.take_stored(m)
            if failed is not None:
                await self._batch_failed(pipe, failed)
            idle = not (m.state.pending_events or m.state.effects or pipe.inflight)
            if acting:
                now = workflow.now()
                m.fire_alarms(now)
                m.advance(now)
                self._publish()
                if m.done and not (m.state.pending_events or m.state.effects or pipe.inflight):
                    break
                can = self._continue_as_new_due()
                if can and not pipe.inflight:  # a result arriving meanwhile would refuse the task
                    self._continue_as_new(m, inp)
                if self._fault is None and not can:  # due: let the batches in flight land first
                    pipe.dispatch(m)
                # Parked after a fault, or ending (patch quiet-endings, ``workflows.pipeline``): no new
                # alarm, but a timer that fired is let go (or it wakes us again).
                quiet = self._fault is not None or (pipe.quiet_endings and (can or m.done))
                pipe.arm(None if quiet else m.next_alarm(), m.next_alarm_summary)
            elif m.done and idle:
                break
            elif not pipe.inflight and self._continue_as_new_due():  # the batches it waited for landed
                self._continue_as_new(m, inp)
            self._wake = False
            await workflow.wait_condition(lambda: self._wake or pipe.timer_fired() or pipe.any_done())
            await self._settle()
            acting = self._wake or pipe.timer_fired()
        return m.result()

    async def _batch_failed(self, pipe: Pipeline, failed: InFlight) -> None:
        """A batch refused for good parks the project (``_record_fault``); anything else fails it."""
        exc = failed.handle.exception()
        cause = exc.cause if isinstance(exc, ActivityError) else None
        if not (isinstance(cause, ApplicationError) and cause.type in NON_RETRYABLE):
            raise exc or ApplicationError("batch failed", non_retryable=True)
        pipe.abandon()  # the others carry the same refused events: send everything again on retry
        await self._record_fault(failed.batch, cause)

    def _continue_as_new(self, m: ProjectMachine, inp: ProjectInput) -> None:
        # Whatever the outbox holds travels in the carried state: a steady stream of updates can
        # never keep a project from continuing as new.
        limit = inp.history_limit
        if self._patches.patched(CARRIED_APART):
            # The input shows the registration; the state travels compressed, as bytes in the input
            # payload's metadata (``workflows.start.continued_input``). No patch: replay never
            # compares a continue-as-new's input, and every form ever written is read (by its
            # field or metadata key); the release before reads this one (expand, then contract).
            nxt = ProjectInput(registration=inp.registration, history_limit=limit)
            workflow.continue_as_new(continued_input(workflow.payload_converter().to_payload(nxt), m.state))
        else:
            nxt = ProjectInput(registration=inp.registration, carried=m.state, history_limit=limit)
            workflow.continue_as_new(nxt)

    async def _register(self, r: p.RegisterProject) -> ProjectMachine:
        versions = await workflow.execute_activity(
            RESOLVE_VERSIONS,
            ResolveVersions(zone=r.zone),
            result_type=ContentVersions,
            summary=f"catalog, zone {r.zone} policy and calendar in force",
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
        patched = self._patches.patched
        state = ProjectState(
            registration=r,
            versions=versions,
            agent=r.agent,
            backup_agent=r.backup_agent,
            # Projects registered before the two-clock rule keep one clock per matter on replay.
            clock_model=2 if patched(TWO_CLOCKS) else 1,
            deemed_rule=2 if patched(DEEMED_BY_MATTER) else 1,
            acceptance_rule=2 if patched(ACCEPTANCE) else 1,
            modes_rule=2 if patched(MODES_BY_RULE) else 1,
            filing_rule=2 if patched(FILINGS) else 1,
            production_rule=2 if patched(OWED_PAST_PRODUCTION) else 1,
            permit_rule=2 if patched(LAPSED_PERMITS) else 1,
            period_rule=2 if patched(EVENT_DAY_PERIODS) else 1,
            promise_only_rule=2 if patched(PROMISE_ONLY_LIMITS) else 1,
            decision_scope=2 if patched(SCOPED_DECISIONS) else 1,
            enterprise_period_rule=2 if patched(DAYS_PERIODS) else 1,
            acceptance_hold_rule=2 if patched(HELD_ACCEPTANCE) else 1,
        )
        m = machine_of(state)
        m.register(derive_checklist(m.ctx.catalog, m.zone, ProjectFacts.of(r)), workflow.now())
        # The memo names the project in the UI even when it was started without the client.
        workflow.upsert_memo({"name": r.name, "enterprise": r.enterprise, "investment_yuan": r.investment_yuan})
        self._m = m
        await self._settle()  # commands that arrived meanwhile were refused as NotReady; signals kept
        if self._early_calendar is not None:
            m.calendar_changed(REGISTRY.calendar(self._early_calendar), workflow.now())
        return m

    async def _settle(self) -> None:
        """Yield until every job of the current activation has been applied.

        Conditions are checked only after the event loop ran everything ready (update and signal
        handlers, activity and timer resolutions), so what follows sees the same state whatever
        order the SDK applied the activation's jobs in.
        """
        await workflow.wait_condition(lambda: True)

    async def _sleep_until_woken(self, alarm: Any) -> None:
        """Wait for a state change (an update or signal) or for ``alarm`` (a datetime) to be due."""
        self._wake = False
        timeout = None if alarm is None else max(alarm - workflow.now(), timedelta(seconds=1))
        with contextlib.suppress(TimeoutError):  # the alarm is due
            await workflow.wait_condition(
                lambda: self._wake,
                timeout=timeout,
                timeout_summary=self._machine.next_alarm_summary() if alarm is not None else None,
            )
        await self._settle()

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        limit = (self._input.history_limit if self._input else None) or (
            SHORT_RUN_EVENTS if self._short_runs else 2_000
        )
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > limit

    async def _flush(self) -> None:
        """Hand the outbox to ``apply_batch``; consume it only once the batch is stored."""
        m = self._machine
        batch = Batch(project_id=m.pid, events=list(m.state.pending_events), effects=list(m.state.effects))
        try:
            await workflow.execute_activity(
                APPLY_BATCH,
                batch,
                result_type=int,
                summary=batch.summary(),
                start_to_close_timeout=_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=_RETRY,
            )
        except ActivityError as exc:
            cause = exc.cause
            if not (isinstance(cause, ApplicationError) and cause.type in NON_RETRYABLE):
                raise
            await self._record_fault(batch, cause)
        else:
            # Handlers may have appended while the batch was out: drop exactly what was stored.
            del m.state.pending_events[: len(batch.events)]
            del m.state.effects[: len(batch.effects)]
        await self._settle()

    async def _record_fault(self, batch: Batch, cause: ApplicationError) -> None:
        """The storage refused the batch for good: park the project and tell the operators."""
        self._fault = f"{cause.type}: {cause.message}"[:500]
        workflow.logger.error("project faulted: %s", self._fault)
        self._publish()
        await report_fault(batch, cause, _TIMEOUT)

    def _publish(self) -> None:
        """Search attributes and current details, so the UI shows where the project stands."""
        publish(self._machine, self._published, self._fault)

    @property
    def _fault(self) -> str | None:
        """Why the project is parked (the storage refused a batch for good), or None. Kept in the
        state (``ProjectState.fault``), so a run continued while parked stays parked."""
        return None if self._m is None else self._m.state.fault

    @_fault.setter
    def _fault(self, why: str | None) -> None:
        self._machine.state.fault = why

    @property
    def _machine(self) -> ProjectMachine:
        if self._m is None:
            raise ApplicationError("the project is still registering; retry in a moment", type=NOT_READY)
        return self._m

    def _check(self, name: str, cmd: BaseModel) -> None:
        """Run the validator of update ``name``: a refusal fails the update before history."""
        m = self._machine
        try:
            m.check(name, cmd, workflow.now())
        except (Rejected, LegalClockError) as exc:
            raise ApplicationError(str(exc), type=REJECTED, non_retryable=True) from None

    def _ack(self, name: str, cmd: BaseModel) -> p.Ack:
        return cast(p.Ack, self._execute(name, cmd))  # the machine answers each command with its row's answer

    def _decision(self, name: str, cmd: BaseModel) -> p.DecisionResult:
        return cast(p.DecisionResult, self._execute(name, cmd))

    def _execute(self, name: str, cmd: BaseModel) -> Any:
        """Apply update ``name`` synchronously and wake the main loop; never awaits."""
        m = self._machine
        version, effects = m.state.version, len(m.state.effects)
        try:
            result = m.execute(name, cmd, workflow.now())
        except (Rejected, LegalClockError) as exc:
            # A business failure fails the update, never the workflow task. A command is checked
            # again before it changes anything (tests/lifecycle/test_properties.py: a refusal when
            # applied leaves the state as it was); should one ever be refused after it emitted,
            # operators are told (its events stay in the outbox, stored with the next batch).
            if (m.state.version, len(m.state.effects)) != (version, effects):
                workflow.logger.error("update %s refused after it changed the project: %s", name, exc)
            raise ApplicationError(str(exc), type=REJECTED, non_retryable=True) from None
        self._wake = True
        return result

    # ---- updates -----------------------------------------------------------------------------

    @workflow.update(description=c.DECIDE.description)
    def decide(self, d: p.Decision) -> p.DecisionResult:
        workflow.logger.info("decision %s on %s by %s: %s", d.decision_id, d.matter_code, d.department, d.kind)
        return self._decision("decide", d)

    @decide.validator
    def validate_decide(self, d: p.Decision) -> None:
        self._check("decide", d)

    @workflow.update(description=c.SUBMIT_APPLICATION.description)
    def submit_application(self, cmd: p.SubmitApplication) -> p.Ack:
        return self._ack("submit_application", cmd)

    @submit_application.validator
    def validate_submit_application(self, cmd: p.SubmitApplication) -> None:
        self._check("submit_application", cmd)

    @workflow.update(description=c.VERIFY.description)
    def verify(self, v: p.Verification) -> p.DecisionResult:
        return self._decision("verify", v)

    @verify.validator
    def validate_verify(self, v: p.Verification) -> None:
        self._check("verify", v)

    @workflow.update(description=c.EXTEND_PERMIT.description)
    def extend_permit(self, cmd: p.PermitExtension) -> p.DecisionResult:
        return self._decision("extend_permit", cmd)

    @extend_permit.validator
    def validate_extend_permit(self, cmd: p.PermitExtension) -> None:
        self._check("extend_permit", cmd)

    @workflow.update(description=c.SUPPLY_MATERIALS.description)
    def supply_materials(self, cmd: p.SupplyMaterials) -> p.Ack:
        return self._ack("supply_materials", cmd)

    @supply_materials.validator
    def validate_supply_materials(self, cmd: p.SupplyMaterials) -> None:
        self._check("supply_materials", cmd)

    @workflow.update(description=c.RESUBMIT.description)
    def resubmit(self, cmd: p.Resubmit) -> p.Ack:
        return self._ack("resubmit", cmd)

    @resubmit.validator
    def validate_resubmit(self, cmd: p.Resubmit) -> None:
        self._check("resubmit", cmd)

    @workflow.update(description=c.STOP_CLOCK.description)
    def stop_clock(self, cmd: p.StopClock) -> p.Ack:
        return self._ack("stop_clock", cmd)

    @stop_clock.validator
    def validate_stop_clock(self, cmd: p.StopClock) -> None:
        self._check("stop_clock", cmd)

    @workflow.update(description=c.RESUME_CLOCK.description)
    def resume_clock(self, cmd: p.ResumeClock) -> p.Ack:
        return self._ack("resume_clock", cmd)

    @resume_clock.validator
    def validate_resume_clock(self, cmd: p.ResumeClock) -> None:
        self._check("resume_clock", cmd)

    @workflow.update(description=c.EXTEND_LIMIT.description)
    def extend_limit(self, cmd: p.ExtendLimit) -> p.Ack:
        return self._ack("extend_limit", cmd)

    @extend_limit.validator
    def validate_extend_limit(self, cmd: p.ExtendLimit) -> None:
        self._check("extend_limit", cmd)

    @workflow.update(description=c.REASSIGN_AGENT.description)
    def reassign_agent(self, cmd: p.ReassignAgent) -> p.Ack:
        return self._ack("reassign_agent", cmd)

    @reassign_agent.validator
    def validate_reassign_agent(self, cmd: p.ReassignAgent) -> None:
        self._check("reassign_agent", cmd)

    @workflow.update(description=c.REPORT_PROGRESS.description)
    def report_progress(self, cmd: p.ProgressReport) -> p.Ack:
        return self._ack("report_progress", cmd)

    @report_progress.validator
    def validate_report_progress(self, cmd: p.ProgressReport) -> None:
        self._check("report_progress", cmd)

    @workflow.update(description=c.RESOLVE_MEETING.description)
    def resolve_meeting(self, cmd: p.ResolveMeeting) -> p.Ack:
        return self._ack("resolve_meeting", cmd)

    @resolve_meeting.validator
    def validate_resolve_meeting(self, cmd: p.ResolveMeeting) -> None:
        self._check("resolve_meeting", cmd)

    @workflow.update(description=c.WITHDRAW.description)
    def withdraw(self, cmd: p.Withdraw) -> p.Ack:
        return self._ack("withdraw", cmd)

    @withdraw.validator
    def validate_withdraw(self, cmd: p.Withdraw) -> None:
        self._check("withdraw", cmd)

    @workflow.update(description=c.CONFIRM_DEADLINE.description)
    def confirm_deadline(self, cmd: p.ConfirmDeadline) -> p.Ack:
        return self._ack("confirm_deadline", cmd)

    @confirm_deadline.validator
    def validate_confirm_deadline(self, cmd: p.ConfirmDeadline) -> None:
        self._check("confirm_deadline", cmd)

    @workflow.update(description=c.RETRY_FAULTED.description)
    def retry_faulted(self, cmd: p.RetryFaulted) -> p.Ack:
        first = self._first_answer(cmd)
        if first is not None:
            return first
        workflow.logger.info("retry after fault requested by %s: %s", cmd.by, self._fault)
        self._fault = None
        self._wake = True
        return self._answered(cmd, "the refused batch will be tried again")

    @retry_faulted.validator
    def validate_retry_faulted(self, cmd: p.RetryFaulted) -> None:
        try:  # a resend after a lost answer is answered again, never applied twice
            if self._machine.remembered(cmd) is not None:  # (refuses while registering)
                return
        except Rejected as exc:
            raise ApplicationError(str(exc), type=REJECTED, non_retryable=True) from None
        if self._fault is None:
            raise ApplicationError("project: the project is not faulted", type=REJECTED, non_retryable=True)

    @workflow.update(description=c.MIGRATE_CONTENT.description)
    def migrate_content(self, cmd: p.MigrateContent) -> p.Ack:
        return self._ack("migrate_content", cmd)

    @migrate_content.validator
    def validate_migrate_content(self, cmd: p.MigrateContent) -> None:
        self._check("migrate_content", cmd)

    @workflow.update(description=c.ADOPT_CALENDAR.description)
    def adopt_calendar(self, cmd: p.AdoptCalendar) -> p.Ack:
        m = self._machine
        first = self._first_answer(cmd)
        if first is not None:
            return first
        # Validated, so some worker held the version: a replaying worker that does not hold it yet
        # fails the workflow task until its refresher loads it (seconds), never for good.
        changed = m.calendar_changed(REGISTRY.calendar(cmd.version), workflow.now())
        if changed:
            workflow.logger.info("official calendar %s adopted (asked by %s)", cmd.version, cmd.by)
            self._wake = True
        return self._answered(
            cmd, f"calendar {cmd.version} " + ("adopted: open deadlines recomputed" if changed else "already in force")
        )

    # The commands of the workflow itself (not of the machine's table): answered once per request id.

    def _first_answer(self, cmd: p.RetryFaulted | p.AdoptCalendar) -> p.Ack | None:
        """The first answer to a resent command (``duplicate``), or None for a new one."""
        known = self._machine.remembered(cmd)
        if known is not None and isinstance(known.result, p.Ack):
            return known.result.model_copy(update={"duplicate": True})
        return None

    def _answered(self, cmd: p.RetryFaulted | p.AdoptCalendar, message: str) -> p.Ack:
        """The answer to ``cmd``, remembered (carried, like every command's answer)."""
        ack = p.Ack(stage=self._machine.state.stage, message=message, request_id=cmd.request_id)
        self._machine.remember(cmd, ack)
        return ack

    @adopt_calendar.validator
    def validate_adopt_calendar(self, cmd: p.AdoptCalendar) -> None:
        m = self._machine  # refuses while registering (NotReady)
        try:
            if m.remembered(cmd) is not None:  # a resend after a lost answer is answered again
                return
            if not REGISTRY.has_calendar(cmd.version):
                raise ApplicationError(
                    f"version: calendar {cmd.version} is not loaded on this worker: stored moments ago "
                    "(retry), or never stored (daiban calendar load)",
                    type=CONTENT_NOT_LOADED,
                    non_retryable=True,
                )
            m.check_calendar(REGISTRY.calendar(cmd.version))
        except Rejected as exc:
            raise ApplicationError(str(exc), type=REJECTED, non_retryable=True) from None

    # ---- signal and query --------------------------------------------------------------------

    @workflow.signal(
        description=(
            "A newly loaded official calendar (content version): deadlines recompute. Unchecked: send only a "
            "version just stored (daiban calendar load does); otherwise the update adopt_calendar."
        )
    )
    def calendar_updated(self, upd: p.CalendarUpdate) -> None:
        if self._m is None:
            self._early_calendar = upd.version
            return
        # An unknown version fails the workflow task until this worker has loaded it.
        if self._m.calendar_changed(REGISTRY.calendar(upd.version), workflow.now()):
            workflow.logger.info("official calendar %s adopted", upd.version)
            self._wake = True

    @workflow.query(description="Open clocks with their legal ledgers, to preview a calendar change.")
    def clock_ledger(self) -> ClockLedgers:
        return self._machine.clock_ledgers()

    @workflow.query(description="What migrate_content would do: the deadlines it would move (nothing changes).")
    def migration_preview(self, cmd: p.MigrateContent) -> p.MigrationPreview:
        try:
            return self._machine.preview_migration(cmd, workflow.now())
        except (Rejected, LegalClockError) as exc:
            raise ApplicationError(str(exc), type=REJECTED) from None

    @workflow.query(description="The project's full state: stages, matters, clocks, obligations, decisions.")
    def state(self) -> p.ProjectView:
        return self._machine.view(workflow.now())
