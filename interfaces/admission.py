"""How many Workflow Updates one process keeps in flight per project, and how it backs off.

Temporal admits at most ``history.maxInFlightUpdates`` updates per workflow execution at once
(10 by default; dynamic config of the Temporal cluster). It refuses the next with
``RESOURCE_EXHAUSTED`` ("limit on number of concurrent in-flight updates"), and the refusal is
not free: the history service releases the workflow's lock with an error, which clears its cached
mutable state (``service/history/workflow/cache``: ``makeReleaseFunc`` clears the context on any
error). That aborts every admitted update ("workflow update was aborted", retried by the SDK) and
drops the speculative workflow task a worker is completing ("Workflow task not found"). A steady
stream of refusals therefore keeps a project from completing any workflow task for as long as it
lasts: 60 concurrent commands retried without a limit stalled a project in CI for two minutes.

So a process never causes the refusal itself: ``UpdateGate`` lets at most ``limit`` updates per
project be in flight from it (``DEFAULT_LIMIT``, below Temporal's 10 so that another process, a
department system with its own SDK, say, still has room), and queues the rest locally. Refusals
caused by several processes together are retried after ``backoff``: exponential with full
jitter, so that the retries of many callers spread out instead of arriving together.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from temporalio.client import Client

DEFAULT_LIMIT = 5  # per project and process; Temporal's default per workflow is 10
THROTTLED_CAP_S = 5.0  # the longest wait between retries of a refused update (seconds)


@dataclass
class _Slots:
    semaphore: asyncio.Semaphore
    users: int = 0


@dataclass
class UpdateGate:
    """At most ``limit`` (1-10) updates in flight per key (a project id) from this process.

    ``slot(key)`` waits for room and holds it for the duration of the ``async with``; an entry
    lives only while someone holds or waits for it, so the gate stays as small as the load.

    Raises:
        ValueError: ``limit`` outside 1-10 (above Temporal's default it would provoke the refusal).
    """

    limit: int = DEFAULT_LIMIT
    _slots: dict[str, _Slots] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 10:
            raise ValueError(f"limit: {self.limit} is outside 1-10 updates in flight per project")

    def in_flight(self, key: str) -> int:
        """How many callers hold or wait for a slot of ``key`` now."""
        entry = self._slots.get(key)
        return entry.users if entry else 0

    def __len__(self) -> int:
        """How many keys have callers now."""
        return len(self._slots)

    @contextlib.asynccontextmanager
    async def slot(self, key: str, deadline: float | None = None) -> AsyncIterator[None]:
        """Hold one of ``key``'s slots for the ``async with``.

        Raises:
            QueuedTooLong: no slot came free before ``deadline`` (the running loop's ``time()``).
        """
        entry = self._slots.get(key)
        if entry is None:
            entry = self._slots[key] = _Slots(asyncio.Semaphore(self.limit))
        entry.users += 1
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    await entry.semaphore.acquire()
            except TimeoutError:
                raise QueuedTooLong(key, entry.users) from None
            try:
                yield
            finally:
                entry.semaphore.release()
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._slots[key]


class QueuedTooLong(Exception):
    """No slot came free in time: ``users`` callers held or waited for ``key``'s slots."""

    def __init__(self, key: str, users: int) -> None:
        super().__init__(f"{users} updates to {key} in flight or queued in this process")
        self.key = key
        self.users = users


def backoff(attempt: int, *, first: float, cap: float) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, ...): uniform in [0, min(cap, first * 2**(attempt-1))].

    "Full jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015): callers refused
    together retry at spread-out times.
    """
    ceiling = min(cap, first * 2 ** max(attempt - 1, 0))
    return random.uniform(0.0, ceiling)  # timing jitter, not a secret


_GATES: weakref.WeakKeyDictionary[Client, UpdateGate] = weakref.WeakKeyDictionary()


def gate_of(client: Client) -> UpdateGate:
    """The gate every ``DaibanClient`` on this Temporal ``client`` (one connection) shares."""
    gate = _GATES.get(client)
    if gate is None:
        gate = _GATES[client] = UpdateGate()
    return gate
