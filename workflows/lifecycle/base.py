"""The machine's foundation: the state, the content it runs under, events, effects and clocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar, cast

from catalog.models import MatterSpec, ZonePolicy
from schemas import effects as fx
from schemas import events as ev
from schemas.events import ChecklistItem, ClockScope, EventEnvelope
from schemas.project import (
    Ack,
    DecisionRecord,
)
from schemas.stages import Stage
from workflows import clocks
from workflows.lifecycle.state import (
    REOPENABLE,
    MatterState,
    ProjectContext,
    ProjectState,
    Rejected,
    TrackedClock,
    brief,
)

# What a clock's ledger keeps of a stop's reason once texts are kept out (a correction's items, joined).
LINE_KEPT = 200


T = TypeVar("T")


class LifecycleBase:
    """The machine's foundation: the state, the content it runs under, events, effects and clocks."""

    def __init__(self, state: ProjectState, ctx: ProjectContext) -> None:
        self.state = state
        self.ctx = ctx
        # The request id of the command being applied; events it causes carry it.
        self._cause: str | None = None
        # Deadlines already computed, by clock object: a pure function of the (frozen) clock and the
        # content, asked for dozens of times a workflow task (alarms, search attributes, answers).
        # Each entry keeps the clock and the content it was computed under, so an identity that
        # matches is the same input (a kept object's id cannot be reused).
        self._deadlines: dict[tuple[int, tuple[str, float | None]], tuple[object, ProjectContext, object]] = {}

    @property
    def pid(self) -> str:
        return self.state.registration.project_id

    @property
    def zone(self) -> ZonePolicy:
        return self.ctx.zone

    def zone_of(self, tc: TrackedClock) -> ZonePolicy:
        """The zone as ``tc`` counts: under its after-hours acceptance rule for an application's
        clocks (``clocks.APPLICATION_SCOPES``), and from the day of the event for every other
        period under period rule 2 (``ProjectState.period_rule``; 民法典 §201)."""
        if tc.scope in clocks.APPLICATION_SCOPES:
            return self.ctx.zone
        return self.event_zone

    @property
    def event_zone(self) -> ZonePolicy:
        """The zone as a period from an event other than an application counts (a stop's declared
        length, the ladder's meeting, the enterprise's preparation): from the day of the event
        under period rule 2, under the zone's after-hours rule before it."""
        return self.ctx.event_zone if self.state.period_rule == 2 else self.ctx.zone

    def _spec(self, m: MatterState) -> MatterSpec:
        return self.ctx.specs[m.code]

    def _on_promise_alone(self, spec: MatterSpec) -> bool:
        """Promise-only rule 2 (``ProjectState.promise_only_rule``): the law sets ``spec`` no decision
        period (a contract, 城市房地产管理法 §15; a filing), so its clock runs on the zone's promise alone."""
        return self.state.promise_only_rule == 2 and spec.statutory_days is None

    def _statutory_days(self, spec: MatterSpec) -> float | None:
        """The statutory decision limit an event records for ``spec`` (working days).

        Under promise-only rule 2 (``ProjectState.promise_only_rule``) None where the law sets no
        decision period (a contract, 城市房地产管理法 §15; a filing): no report may judge it against
        the law. Before it, the days its clock ran on (``MatterSpec.clock_days``, the zone's promise).
        """
        return spec.statutory_days if self.state.promise_only_rule == 2 else spec.clock_days

    def _as_handed(self, items: list[ChecklistItem], specs: Callable[[str], MatterSpec]) -> list[ChecklistItem]:
        """The checklist (一次性告知清单) as the project hands it: under promise-only rule 2 a matter
        without a statutory decision limit lists none (``_statutory_days``); ``specs`` looks a
        matter up by code in the content the checklist was derived from."""
        if self.state.promise_only_rule != 2:
            return items
        out = []
        for item in items:
            days = specs(item.matter_code).statutory_days
            out.append(item if days == item.statutory_days else item.model_copy(update={"statutory_days": days}))
        return out

    def _emit(self, event: ev.DomainEvent, now: datetime) -> None:
        self.state.version += 1
        self.state.pending_events.append(
            EventEnvelope(
                event_id=f"{self.pid}:{self.state.version}",
                stream_id=self.pid,
                version=self.state.version,
                event_type=type(event).__name__,
                occurred_at=now,
                payload=event.model_dump(mode="json"),
                causation_id=self._cause,
            )
        )

    def _notify(self, kind: str, recipients: list[str], message: str, now: datetime) -> None:
        # The notification id follows the event that caused it, so a retry writes nothing twice.
        self.state.effects.append(
            fx.Notify(
                notification_id=f"{self.pid}:{self.state.version}:{kind}",
                project_id=self.pid,
                notice=kind,
                recipients=recipients,
                message=message,
            )
        )

    def _close_submission(self, m: MatterState, outcome: str, now: datetime) -> None:
        self.state.effects.append(fx.CloseSubmission(**self._submission_of(m), outcome=outcome, closed_at=now))

    def _submission_of(self, m: MatterState) -> dict[str, Any]:
        """The fields that name a matter's current submission in an effect (inbox, licence)."""
        return {"project_id": self.pid, "matter_code": m.code, "submission": m.submissions}

    def _matter_fields(self, m: MatterState) -> dict[str, Any]:
        spec = self._spec(m)
        return {"project_id": self.pid, "matter_code": m.code, "department": spec.department, "stage": spec.stage}

    def matter(self, code: str) -> MatterState:
        m = self.state.matters.get(code)
        if m is None:
            raise Rejected(f"matter_code: {code!r} is not a matter of project {self.pid}")
        return m

    def _new_clock(
        self,
        clock_id: str,
        scope: ClockScope,
        label: str,
        limit_days: float,
        now: datetime,
        department: str | None = None,
        matter_code: str | None = None,
        counted: clocks.Counted = "working_days",
    ) -> TrackedClock:
        tc = TrackedClock(
            clock_id=clock_id,
            scope=scope,
            label=label,
            department=department,
            matter_code=matter_code,
            clock=clocks.start(now, limit_days, counted),
        )
        self.state.clocks[clock_id] = tc
        return tc

    def deadline(self, tc: TrackedClock) -> clocks.DeadlineInfo:
        """The deadline of ``tc``'s statutory limit (its only limit without a promise)."""
        zone = self.zone_of(tc)
        return self._memo(tc.clock, ("deadline", None), lambda: clocks.deadline(tc.clock, self.ctx.calendar, zone))

    def _memo(self, clock: clocks.LegalClock, what: tuple[str, float | None], compute: Callable[[], T]) -> T:
        """``compute()``, remembered for ``clock`` and ``what`` (the figure, and the promised days
        it is computed under; None: the clock's own limit)."""
        key = (id(clock), what)
        hit = self._deadlines.get(key)
        if hit is not None and hit[0] is clock and hit[1] is self.ctx:
            return cast(T, hit[2])
        if len(self._deadlines) > 512:
            self._deadlines.clear()
        value = compute()
        self._deadlines[key] = (clock, self.ctx, value)
        return value

    def promise_clock(self, tc: TrackedClock) -> clocks.LegalClock | None:
        """The zone's promise as a clock on ``tc``'s ledger (same stops), or None.

        It counts from the clock's start, or from ``tc.acceptance`` where the statutory limit counts
        from the receipt, always in working days (a promise is the zone's, 承诺时限), also on a statutory
        limit in calendar days. An extension of the statutory limit (行政许可法 §42)
        extends the promise only where the zone's policy says so (``ZonePolicy.extension_moves_promise``),
        by as many working days.
        """
        if tc.promised_days is None:
            return None
        extension = tc.clock.extension if self.zone.extension_moves_promise else None
        update: dict[str, Any] = {"limit_days": tc.promised_days, "extension": extension}
        if tc.clock.counted != "working_days":
            update["counted"] = "working_days"
        if tc.acceptance is not None:
            update["accepted_at"] = tc.acceptance
        return tc.clock.model_copy(update=update)

    def limit_of(self, tc: TrackedClock) -> Literal["statutory", "promised"]:
        """Which limit ``tc``'s own deadline (``deadline``) is: the zone's promise on a matter the law
        sets no decision limit for, under promise-only rule 2 (``ProjectState.promise_only_rule``;
        a contract, 城市房地产管理法 §15); the law's otherwise. A promise shorter than the law's limit
        is the clock's second deadline (``promise_clock``)."""
        m = self.state.matters.get(tc.matter_code or "") if tc.scope == "matter" else None
        return "promised" if m is not None and self._on_promise_alone(self._spec(m)) else "statutory"

    def promised_deadline(self, tc: TrackedClock) -> datetime | None:
        """The promise's deadline on a clock that has one (None: no promise, or stopped)."""
        return self.answerable_deadline(tc).at if tc.promised_days is not None else None

    def _on_clock(self, tc: TrackedClock, *, department: bool = True) -> dict[str, Any]:
        """The fields a clock's events start with: project, clock id, scope (and department)."""
        fields: dict[str, Any] = {"project_id": self.pid, "clock_id": tc.clock_id, "scope": tc.scope}
        if department:
            fields["department"] = tc.department
        return fields

    def answerable_deadline(self, tc: TrackedClock) -> clocks.DeadlineInfo:
        """The deadline the zone answers for: its promise when there is one, else the limit."""
        if tc.promised_days is None:
            return self.deadline(tc)

        def promised() -> clocks.DeadlineInfo:
            promise = self.promise_clock(tc)
            assert promise is not None
            return clocks.deadline(promise, self.ctx.calendar, self.zone_of(tc))

        return self._memo(tc.clock, ("deadline", tc.promised_days), promised)

    def _stop(self, clock_id: str, kind: str, reason: str, now: datetime, expected_days: float | None = None) -> None:
        tc = self.state.clocks[clock_id]
        kept = reason if not self.state.texts_out or len(reason) <= LINE_KEPT else reason[: LINE_KEPT - 1] + "…"
        tc.clock = clocks.stop(tc.clock, kind, kept, now, expected_days)  # the event keeps the whole reason
        self._emit(
            ev.ClockStopped(
                **self._on_clock(tc, department=False),
                kind=kind,
                reason=reason,
                expected_days=expected_days,
            ),
            now,
        )

    def _resume(self, clock_id: str, now: datetime) -> None:
        tc = self.state.clocks[clock_id]
        tc.clock, stopped = clocks.resume(tc.clock, self.ctx.calendar, now)
        self._emit(
            ev.ClockResumed(
                **self._on_clock(tc, department=False),
                stopped_working_days=stopped,
                new_deadline=self.deadline(tc).at,
                new_promised_deadline=self.promised_deadline(tc),
            ),
            now,
        )

    def _close_clock(self, clock_id: str | None, now: datetime) -> float:
        """Close a clock; return the working days it used."""
        tc = self.state.clocks.get(clock_id or "")
        if tc is None:
            return 0.0
        if not tc.closed:
            tc.closed = True
            tc.final_used_days = self._used(tc, now)
        return tc.final_used_days or 0.0

    def _used(self, tc: TrackedClock, now: datetime) -> float:
        if tc.final_used_days is not None:
            return tc.final_used_days
        return clocks.used_days(tc.clock, self.ctx.calendar, self.zone_of(tc), now)

    def _statutory_working_days(self, spec: MatterSpec, tc: TrackedClock | None, now: datetime) -> float | None:
        """A statutory limit stated in days (日): the working days it spans on ``tc``'s ledger (or, with
        no clock, from ``now``), as the figures judge days used and saved. None for working days."""
        if spec.statutory_days is None or spec.statutory_days_counted != "days" or self._on_promise_alone(spec):
            return None
        if tc is None or tc.clock.counted != "days":
            clock = clocks.start(now, spec.statutory_days, "days")
            return clocks.limit_working_days(clock, self.ctx.calendar, self.event_zone, now)
        return clocks.limit_working_days(tc.clock, self.ctx.calendar, self.zone_of(tc), now)

    def _require_active(self, m: MatterState | None = None) -> None:
        """Refuse changes to an ended project; in production only a matter reopened is still handled.

        A commitment whose verification failed after production reopens its matter (告知承诺: the
        approval is revoked); that matter is decided, corrected or resubmitted as before.
        """
        stage = self.state.stage
        if stage == Stage.IN_PRODUCTION and m is not None and m.state in REOPENABLE:
            return
        if stage in (Stage.WITHDRAWN, Stage.IN_PRODUCTION):
            raise Rejected(f"project {self.pid} is {stage}; nothing can change")

    def _kept(self, texts: list[str]) -> list[str]:
        """``texts`` as the state keeps them: abridged (``brief``) once the project keeps texts out."""
        return brief(texts) if self.state.texts_out else list(texts)

    def _record(self, m: MatterState, record: DecisionRecord) -> None:
        """Keep a decision in its matter (its reasons and items abridged once texts are kept out)."""
        if (
            self.state.texts_out
            and not record.abridged
            and (brief(record.reasons) != record.reasons or brief(record.items) != record.items)
        ):
            record = record.model_copy(
                update={"reasons": brief(record.reasons), "items": brief(record.items), "abridged": True}
            )
        m.decisions.append(record)

    def keep_texts_out(self) -> None:
        """From now on keep only bounded summaries of decisions' reasons and items and of obligations'
        items in the state (the full texts are in the domain events); abridge those already kept."""
        if self.state.texts_out:
            return
        self.state.texts_out = True
        for m in self.state.matters.values():
            decisions, m.decisions = m.decisions, []
            for record in decisions:
                self._record(m, record)
            for o in m.obligations:
                o.items = brief(o.items)

    def _ack(self, message: str) -> Ack:
        return Ack(stage=self.state.stage, message=message)

    def _overdue(self, tc: TrackedClock, now: datetime) -> bool:
        """Past the deadline the zone answers for (the promise when there is one)."""
        at = self.answerable_deadline(tc).at
        return at is not None and now >= at
