"""The worker's watch on Temporal: a server that stops answering is noticed within the limit."""

from __future__ import annotations

import asyncio
import time

from temporalio.testing import WorkflowEnvironment

from infra.temporal import BIN, watch_health


async def test_a_stopped_server_is_noticed_and_a_stop_ends_the_watch() -> None:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"))
    stop = asyncio.Event()
    try:
        watching = asyncio.create_task(watch_health(env.client, 0.5, stop))
        await asyncio.sleep(1.0)
        assert not watching.done(), "an answering server is not lost"
    finally:
        lost_at = time.monotonic()
        await env.shutdown()
    assert await asyncio.wait_for(watching, timeout=10) is True
    assert time.monotonic() - lost_at < 5
    # A stop ends the watch without calling anything lost.
    stop.set()
    assert await watch_health(env.client, 0.5, stop) is False
