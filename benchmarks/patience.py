"""Calls of the bench's drivers that outlast a loaded machine: retried when they time out.

On a shared machine the dev server can answer a call after its RPC deadline, and an Update can
meet its workflow continuing as new ("workflow is closing"); an Update is then
sent again with the same update id (Temporal answers a repeated id with the first outcome, so
nothing is applied twice) and a query is simply asked again. Every retry is counted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

T = TypeVar("T")

RETRIES: Counter[str] = Counter()
_TRANSIENT = {RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.CANCELLED}
# An Update that met a continue-as-new ("workflow is closing"), a connection dropped under load.
# A query while a workflow task timed out on a loaded worker ("Workflow Task in failed state").
_TRANSIENT_TEXT = ("Timeout expired", "workflow is closing", "tcp connect error", "Workflow Task in failed state")


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, WorkflowUpdateRPCTimeoutOrCancelledError | TimeoutError):
        return True
    return isinstance(exc, RPCError) and (exc.status in _TRANSIENT or any(t in str(exc) for t in _TRANSIENT_TEXT))


async def patiently(call: Callable[[], Awaitable[T]], what: str, attempts: int = 20) -> T:
    """``call()``, again after a transient failure (a timeout), up to ``attempts`` times."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except Exception as exc:
            if attempt == attempts or not _transient(exc):
                raise
            RETRIES[what] += 1
            await asyncio.sleep(min(0.2 * attempt, 2.0))
    raise AssertionError("unreachable")
