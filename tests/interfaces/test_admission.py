"""``interfaces.admission``: one process never holds more updates in flight per project than its limit.

Pure asyncio, no server: the gate's promise is about what this process sends. What Temporal does
when several processes together pass its limit is tested in
``tests/workflows/test_durability.py`` (the storm from three connections).
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interfaces.admission import DEFAULT_LIMIT, QueuedTooLong, UpdateGate, backoff


async def test_at_most_limit_hold_a_project_and_other_projects_do_not_wait() -> None:
    gate, holding, most = UpdateGate(), 0, 0
    release = asyncio.Event()

    async def command(key: str) -> None:
        nonlocal holding, most
        async with gate.slot(key):
            holding += 1
            most = max(most, holding)
            await release.wait()
            holding -= 1

    tasks = [asyncio.create_task(command("p-1")) for _ in range(3 * DEFAULT_LIMIT)]
    await asyncio.sleep(0.01)
    assert most == DEFAULT_LIMIT and gate.in_flight("p-1") == 3 * DEFAULT_LIMIT
    # Another project is not queued behind p-1.
    async with asyncio.timeout(1):
        async with gate.slot("p-2"):
            assert gate.in_flight("p-2") == 1
    release.set()
    await asyncio.gather(*tasks)
    assert most == DEFAULT_LIMIT
    assert len(gate) == 0, "an idle project leaves no entry behind"


async def test_a_caller_queued_past_its_deadline_gives_up_and_frees_its_place() -> None:
    gate = UpdateGate(limit=1)
    loop = asyncio.get_running_loop()
    async with gate.slot("p-1"):
        with pytest.raises(QueuedTooLong, match="2 updates to p-1"):
            async with gate.slot("p-1", deadline=loop.time() + 0.05):
                pytest.fail("entered a full gate")
        assert gate.in_flight("p-1") == 1
    async with gate.slot("p-1", deadline=loop.time() + 0.05):  # free again
        assert gate.in_flight("p-1") == 1
    assert len(gate) == 0


async def test_a_holder_that_fails_releases_its_slot() -> None:
    gate = UpdateGate(limit=1)
    with pytest.raises(RuntimeError):
        async with gate.slot("p-1"):
            raise RuntimeError("the update failed")
    async with asyncio.timeout(1), gate.slot("p-1"):
        assert gate.in_flight("p-1") == 1


@pytest.mark.parametrize("limit", [0, 11, -1])
def test_a_limit_that_would_provoke_temporal_s_refusal_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        UpdateGate(limit=limit)


@given(
    attempt=st.integers(min_value=1, max_value=60),
    first=st.floats(min_value=0.01, max_value=1.0),
    cap=st.floats(min_value=0.01, max_value=10.0),
)
def test_backoff_is_jittered_below_an_exponential_ceiling(attempt: int, first: float, cap: float) -> None:
    delay = backoff(attempt, first=first, cap=cap)
    assert 0.0 <= delay <= min(cap, first * 2 ** (attempt - 1))
