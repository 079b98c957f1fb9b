"""The outbox on its way to the store, the alarm timers and the search attributes of the loop.

Why (tests/faults/evidence): a worker may take one workflow task in two activations on its first
execution (a batch's result, then updates) where a replay takes one (updates first). Whatever the
workflow issues in the first of the two comes before the updates' acceptances there and after them
on replay: a nondeterminism error, or a timer numbering the replay does not share. So here:

- a batch is dispatched from the activation that filled the outbox, without waiting for the one in
  flight: before patch ``lean-batches`` it carried the whole outbox not yet known stored; since,
  only what no batch of the run carried yet, and ``apply_batch`` stores it after its predecessors
  (``Batch.after_version``), so each event crosses history once;
- a batch's result is taken without issuing anything (the outbox prefix it stored is dropped);
- an alarm timer is started where the alarm was decided and never cancelled; a new one only when
  no pending timer fires at or before the alarm (one that fires early wakes the loop for nothing);
- since patch ``quiet-endings``, none while the run is ending (continue-as-new due, or the project
  done): the end (continue-as-new, completion) then follows from a batch's result, and an update
  handled in the same activation, before or after that result, issues only what it issues in
  either order (its search attributes). Before, the update started a timer when it came first and
  the run ended on the result, and the end alone when the result came first: a fresh worker,
  given a task with no commands followed by one with updates, took both in one activation (updates
  first) where a full replay takes them apart (faults run, seed 41631: "Continue as new workflow
  machine does not handle this event: TimerStarted"). An alarm that falls due while the run waits
  for its batches fires at the next update or at the next run's start, which acts at once: the
  wait lasts as long as the batches in flight do (the storage reachable: seconds).

Workflow code: deterministic, Temporal APIs only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from schemas import visibility
    from schemas.activities import (
        APPLY_BATCH,
        DELIVER_APPLICATIONS,
        DELIVERY_ATTEMPTS,
        HEARTBEAT_TIMEOUT,
        Deliveries,
        adapter_queue,
    )
    from schemas.effects import Batch, SubmitApplication
    from workflows.lifecycle import ProjectMachine
    from workflows.patches import ADAPTER_QUEUE, LEAN_BATCHES, QUIET_ENDINGS, Patches


# A department system that is down is retried for about 6 minutes (``DELIVERY_ATTEMPTS``), then given
# up with the operators told (the activity does): a run waits for its deliveries before it continues
# as new, so a delivery retried forever held every later batch of the project. Never fails the project.
_DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=DELIVERY_ATTEMPTS,
)


class OnlyWhatIsSet(BaseModel):
    """A workflow input serialized without its unset (None) fields, read back unchanged (their
    defaults): the UI shows a project's start input as its registration, and ``carried`` only on
    the runs that continue as new."""

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


@dataclass
class InFlight:
    """A dispatched batch: its activity, and how far into the outbox it reaches."""

    batch: Batch
    handle: workflow.ActivityHandle[int]
    # The last event version it carries, and the (run-absolute) count of effects through its last.
    events_through: int
    effects_through: int
    delivery: bool = False  # ``deliver_applications``: stores nothing, taken whenever it is done


class Pipeline:
    """Batches in flight and the pending alarm timers of one run.

    Before patch ``lean-batches`` each batch carries the whole outbox not yet known stored, so
    batches in flight never wait for each other: whichever lands first stores everything up to its
    end, and the others find their events and effects already there (idempotent by event id and
    business keys). Since (``lean``), each carries only what follows the previous batch and waits
    in ``apply_batch`` for it to be stored; the outbox drops what batches stored in their order.
    """

    def __init__(
        self,
        retry: RetryPolicy,
        timeout: timedelta,
        *,
        adapters_apart: bool = False,
        lean: bool = False,
        quiet_endings: bool = False,
    ) -> None:
        self._retry, self._timeout = retry, timeout
        # Patch ``quiet-endings``: no alarm timer starts while the run is ending (module docstring).
        self.quiet_endings = quiet_endings
        # Patch ``adapter-queue``: each batch holding applications is followed by their delivery.
        self.adapters_apart = adapters_apart
        self.lean = lean
        self._delivering: set[tuple[str, int]] = set()  # (matter, submission) sent to the adapters
        self.inflight: list[InFlight] = []
        self._events_sent = self._effects_sent = self._effects_dropped = 0
        self._timers: list[tuple[datetime, asyncio.Task[None]]] = []

    def dispatch(self, m: ProjectMachine) -> None:
        """Send the outbox to a new ``apply_batch`` if it holds anything no batch in flight carries."""
        events, effects = m.state.pending_events, m.state.effects
        events_through = events[-1].version if events else self._events_sent
        effects_through = self._effects_dropped + len(effects)
        if events_through <= self._events_sent and effects_through <= self._effects_sent:
            return
        if self.lean:  # only what follows the batches in flight, stored after them
            batch = Batch(
                project_id=m.pid,
                events=[e for e in events if e.version > self._events_sent],
                effects=list(effects[self._effects_sent - self._effects_dropped :]),
                adapters_apart=self.adapters_apart,
                after_version=self._events_sent if self.inflight else 0,
            )
            effects = batch.effects
        else:
            batch = Batch(
                project_id=m.pid, events=list(events), effects=list(effects), adapters_apart=self.adapters_apart
            )
        handle = workflow.start_activity(
            APPLY_BATCH,
            batch,
            result_type=int,
            summary=batch.summary(),
            start_to_close_timeout=self._timeout,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=self._retry,
        )
        self.inflight.append(InFlight(batch, handle, events_through, effects_through))
        self._events_sent, self._effects_sent = events_through, effects_through
        # A batch carries every effect not yet known stored: each application is delivered once.
        applications = [
            e
            for e in effects
            if isinstance(e, SubmitApplication) and (e.matter_code, e.submission) not in self._delivering
        ]
        if self.adapters_apart and applications:
            self._delivering |= {(a.matter_code, a.submission) for a in applications}
            self._deliver(batch, applications)

    def _deliver(self, batch: Batch, applications: list[SubmitApplication]) -> None:
        """Start the delivery of ``applications`` on the adapters' queue, beside their batch.

        It waits there for the batch's commit; tracked like a batch that stores nothing (so the
        run continues as new only once it landed). Bounded (``_DELIVERY_RETRY``): one that fails
        for good is dropped (``take_stored``), the operators told by the activity.
        """
        handle = workflow.start_activity(
            DELIVER_APPLICATIONS,
            Deliveries(project_id=batch.project_id, applications=applications),
            result_type=int,
            task_queue=adapter_queue(workflow.info().task_queue),
            summary="to department systems: " + ", ".join(f"{a.matter_code} ({a.department})" for a in applications),
            start_to_close_timeout=self._timeout,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=_DELIVERY_RETRY,
        )
        self.inflight.append(InFlight(batch, handle, 0, 0, delivery=True))

    def _takeable(self) -> list[InFlight]:
        """The finished batches and deliveries whose result may be taken now: when ``lean``, a
        batch only after every batch dispatched before it (each stores only its own part)."""
        if not self.lean:
            return [f for f in self.inflight if f.handle.done()]
        takeable, earlier_open = [], False
        for f in self.inflight:
            if f.handle.done() and (f.delivery or not earlier_open):
                takeable.append(f)
            elif not f.delivery:
                earlier_open = True
        return takeable

    def any_done(self) -> bool:
        return bool(self._takeable())

    def take_stored(self, m: ProjectMachine) -> InFlight | None:
        """Drop from the outbox what finished batches stored; return a failed one, if any.

        A delivery that failed for good (a department system refused it or stayed down) is
        dropped, logged and nothing more: it issues nothing here (module docstring), its activity
        told the operators, and the applications are in the departments' inboxes.
        """
        for done in self._takeable():
            self.inflight.remove(done)
            if done.delivery and done.handle.exception() is not None:
                workflow.logger.warning("delivery to department systems given up: %s", done.handle.exception())
                continue
            if done.handle.exception() is not None:
                return done
            while m.state.pending_events and m.state.pending_events[0].version <= done.events_through:
                m.state.pending_events.pop(0)
            while m.state.effects and self._effects_dropped < done.effects_through:
                m.state.effects.pop(0)
                self._effects_dropped += 1
        return None

    def abandon(self) -> None:
        """Cancel every batch in flight; the outbox keeps what they carried, to send again."""
        for f in self.inflight:
            f.handle.cancel()
        self.inflight.clear()
        self._delivering.clear()
        self._events_sent, self._effects_sent = 0, self._effects_dropped

    def arm(self, alarm: datetime | None, summary: Callable[[], str]) -> None:
        """Make sure a timer fires at or before ``alarm`` (a datetime), without cancelling any;
        ``summary`` names a new timer in the UI (asked only when one starts)."""
        self._timers = [(at, t) for at, t in self._timers if not t.done()]
        if alarm is not None and not any(at <= alarm for at, _ in self._timers):
            delay = max(alarm - workflow.now(), timedelta(seconds=1))
            self._timers.append((alarm, asyncio.create_task(workflow.sleep(delay, summary=summary()))))

    def timer_fired(self) -> bool:
        return any(t.done() for _, t in self._timers)


def pipeline_for_run(retry: RetryPolicy, timeout: timedelta, patches: Patches) -> Pipeline:
    """A run's pipeline, taken where its loop starts: since patch ``adapter-queue`` its applications
    go to department systems from the adapters' task queue (a run started before keeps ``apply_batch``
    calling them, until it continues as new)."""
    adapters_apart = patches.patched(ADAPTER_QUEUE)
    lean = patches.patched(LEAN_BATCHES)
    return Pipeline(
        retry, timeout, adapters_apart=adapters_apart, lean=lean, quiet_endings=patches.patched(QUIET_ENDINGS)
    )


def publish(m: ProjectMachine, published: dict[str, Any], fault: str | None) -> None:
    """Upsert the search attributes that changed since ``published`` (updated in place) and set
    the current details, so the UI shows where the project stands (``fault``: parked, and why)."""
    now, r = workflow.now(), m.state.registration
    values: dict[str, Any] = {
        visibility.PROJECT_ID.name: r.project_id,
        visibility.ZONE.name: r.zone,
        visibility.STAGE.name: str(m.state.stage),
        visibility.AGENT.name: m.state.agent,
        visibility.OPEN_DEPARTMENTS.name: m.open_departments(),
        visibility.OVERDUE.name: m.overdue(now),
        visibility.NEXT_DEADLINE.name: m.nearest_deadline(),
        visibility.FAULTED.name: fault is not None,
    }
    changed = {k: v for k, v in values.items() if published.get(k, object()) != v}
    if changed:
        keys = {k.name: k for k in visibility.ALL}
        updates: list[SearchAttributeUpdate[Any]] = [
            keys[name].value_unset() if value is None else keys[name].value_set(value)
            for name, value in changed.items()
        ]
        workflow.upsert_search_attributes(updates)
        published.update(changed)
    details = m.waiting_for(now)
    if fault is not None:
        details = f"FAULT, waiting for an operator (retry_faulted): {fault}. {details}"
    workflow.set_current_details(details)
