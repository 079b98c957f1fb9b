"""The fault injector: kills workers, the Temporal server and PostgreSQL while updates stream.

- Worker restarts (SIGKILL, or SIGTERM then a graceful exit), spread over the run. Each one waits
  until updates are in flight, then looks (describe) for a workflow task being worked on right
  now and kills at once; kills that found one count as hitting an open workflow task.
- The Temporal dev server SIGKILLed and restarted on its SQLite file and ports.
- PostgreSQL stopped (fast shutdown) for a while, then started again.

A supervisor restarts workers that exit on their own (counted as crashes, not as faults).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import PendingWorkflowTaskState

from tests.faults.driver import ProjectDriver, Run
from tests.faults.stack import Stack, Worker


@dataclass
class Plan:
    restarts: int
    temporal_kills: int
    pg_stop_seconds: float
    sigterm_share: float = 0.3


@dataclass
class Injector:
    stack: Stack
    run: Run
    drivers: list[ProjectDriver]
    plan: Plan
    rng: random.Random
    injected: Counter[str] = field(default_factory=Counter)
    open_task_hits: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    _restarting: set[asyncio.Task[None]] = field(default_factory=set)
    temporal_down: bool = False

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    @property
    def restarts(self) -> int:
        return self.injected["worker SIGKILL"] + self.injected["worker SIGTERM"]

    def active(self) -> list[ProjectDriver]:
        return [d for d in self.drivers if not d.done]

    async def open_tasks(self) -> int:
        """How many active projects have a workflow task started on a worker right now."""

        async def one(d: ProjectDriver) -> bool:
            with contextlib.suppress(Exception):
                raw = (await d.handle.describe(rpc_timeout=timedelta(seconds=2))).raw_description
                if raw.HasField("pending_workflow_task"):
                    return bool(
                        raw.pending_workflow_task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
                    )
            return False

        found = await asyncio.gather(*(one(d) for d in self.active()))
        return sum(found)

    async def wait_streaming(self, within: float = 10) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and not self.stop.is_set() and self.active():
            if self.run.in_flight > 0:
                return True
            await asyncio.sleep(0.05)
        return False

    # ---- workers -----------------------------------------------------------------------------

    async def kill_worker(self, graceful: bool) -> None:
        live = self.stack.live_workers()
        if not live:
            return
        # Kill the moment a workflow task is open, if one opens within a short look.
        open_now = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline and not open_now:
            open_now = await self.open_tasks()
        live = self.stack.live_workers()
        if not live:
            return
        w = self.rng.choice(live)
        assert w.proc is not None
        w.busy = True
        kind = "worker SIGTERM" if graceful else "worker SIGKILL"
        with contextlib.suppress(ProcessLookupError):
            w.proc.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
        self.injected[kind] += 1
        if open_now:
            self.open_task_hits += 1
        self.run.note(
            f"{kind} worker {w.slot}.{w.generation} (pid {w.proc.pid}), in flight {self.run.in_flight}, "
            f"open workflow tasks {open_now}"
        )
        task = asyncio.create_task(self._restart(w))
        self._restarting.add(task)
        task.add_done_callback(self._restarting.discard)

    async def _restart(self, w: Worker) -> None:
        assert w.proc is not None
        proc = w.proc
        try:
            await asyncio.to_thread(proc.wait, self.stack.grace_seconds + 20)
        except subprocess.TimeoutExpired:
            self.run.note(f"worker {w.slot}.{w.generation} ignored SIGTERM; SIGKILL")
            proc.kill()
            await asyncio.to_thread(proc.wait, 10)
        self.stack.spawn_worker(w)
        w.busy = False

    async def supervise(self) -> None:
        """Restart workers that exited on their own (a dead PostgreSQL at start, say)."""
        while True:
            for w in self.stack.workers:
                if not w.busy and w.proc is not None and w.proc.poll() is not None:
                    w.crashes += 1
                    self.run.note(f"worker {w.slot}.{w.generation} exited by itself ({w.proc.returncode}); restart")
                    await asyncio.sleep(1)
                    self.stack.spawn_worker(w)
            await asyncio.sleep(0.5)

    # ---- Temporal and PostgreSQL -------------------------------------------------------------

    async def kill_temporal(self) -> None:
        self.temporal_down = True
        try:
            self.run.note(f"SIGKILL Temporal dev server, in flight {self.run.in_flight}")
            await asyncio.to_thread(self.stack.kill_temporal)
            self.injected["Temporal SIGKILL"] += 1
            await asyncio.sleep(self.rng.uniform(1, 3))
            self.stack.start_temporal()
            await self.stack.wait_temporal()
            self.run.note("Temporal dev server back")
        finally:
            self.temporal_down = False

    async def stop_pg(self) -> None:
        self.run.note(f"stopping PostgreSQL for {self.plan.pg_stop_seconds:.0f} s")
        await asyncio.to_thread(self.stack.stop_pg)
        self.injected["PostgreSQL stop"] += 1
        await asyncio.sleep(self.plan.pg_stop_seconds)
        await asyncio.to_thread(self.stack.start_pg)
        self.run.note("PostgreSQL back")

    # ---- the schedule ------------------------------------------------------------------------

    async def inject(self) -> None:
        """Spread the planned faults over the drive; stop when the plan is done or nothing runs."""
        p = self.plan
        events: list[str] = ["kill"] * p.restarts
        # Temporal kills and the PostgreSQL stop land in the middle part of the run.
        for i in range(p.temporal_kills):
            events.insert(int(len(events) * (0.3 + 0.5 * (i + 1) / (p.temporal_kills + 1))), "temporal")
        if p.pg_stop_seconds > 0:
            events.insert(int(len(events) * 0.45), "pg")
        # Leave the last quarter of the drive for projects to finish without faults.
        budget = self.run.duration * 0.75 - (p.pg_stop_seconds if p.pg_stop_seconds > 0 else 0)
        interval = max(0.3, budget / max(1, len(events)))
        background: list[asyncio.Task[None]] = []
        for what in events:
            if self.stop.is_set() or not self.active():
                break
            await asyncio.sleep(interval * self.rng.uniform(0.5, 1.5))
            if not await self.wait_streaming(within=30):
                self.run.note("no update in flight for 30 s; fault deferred")
                if not await self.wait_streaming(within=60):
                    break
            if what == "kill":
                await self.kill_worker(graceful=self.rng.random() < p.sigterm_share)
            elif what == "temporal":
                await self.kill_temporal()
            else:
                background.append(asyncio.create_task(self.stop_pg()))
        for t in background:
            await t
        while self._restarting:
            await asyncio.gather(*list(self._restarting))

    def summary(self) -> dict[str, Any]:
        return {
            "injected": dict(self.injected),
            "open_task_hits": self.open_task_hits,
            "crashes": sum(w.crashes for w in self.stack.workers),
        }
