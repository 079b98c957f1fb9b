"""A background heartbeat for an activity's attempt, so the server learns of a dead worker early.

An activity scheduled with a heartbeat timeout (``schemas.activities.HEARTBEAT_TIMEOUT``) is
timed out, and retried on another worker, once no heartbeat came for that long: a worker killed
in the middle of an attempt costs that long, not the start-to-close timeout. While ``beating``
is open, a task calls ``activity.heartbeat(*details())`` every third of the timeout, the first
time after one third: short attempts (nearly all) send nothing. The SDK throttles the calls (to
0.8 of the timeout by default; daiban's workers to a third, ``schemas.activities.HEARTBEAT_THROTTLE``,
so each beat is sent as made) and sends the latest details with a failure: ``details`` must give what the
next attempt should read in ``activity.info().heartbeat_details``, as an explicit
``activity.heartbeat`` call before a failure does (``activities.project``: the predecessor
misses). Outside an activity, or without a heartbeat timeout, it does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from temporalio import activity


@contextlib.asynccontextmanager
async def beating(details: Callable[[], Sequence[Any]] = tuple) -> AsyncIterator[None]:
    """Heartbeat in the background while the block runs (module docstring); ``details()`` gives
    the heartbeat's details (a sequence, empty by default), asked at each beat."""
    timeout = activity.info().heartbeat_timeout if activity.in_activity() else None
    if not timeout:
        yield
        return
    interval = timeout.total_seconds() / 3

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            activity.heartbeat(*details())

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()  # no beat after the block: an explicit heartbeat before a failure stands
