"""Registrations the gateway accepted (table ``gateway_registrations``): exact answers under concurrency.

The first registration of a project id claims it (the primary key decides between concurrent
callers); the others read what it claimed, to answer with the same run or refuse another body.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from eventstore.store import Executor


@dataclass(frozen=True)
class Claim:
    """A project id's registration: ``fresh`` for the caller that claimed it, else what was claimed."""

    fresh: bool
    registration: dict[str, Any]
    run_id: str | None
    created: bool | None


async def claim_registration(db: Executor, project_id: str, registration: dict[str, Any], principal: str) -> Claim:
    """Claim ``project_id`` for ``registration`` (JSON values), or read the claim that holds it."""
    row = await db.fetchrow(
        """INSERT INTO gateway_registrations (project_id, registration, principal)
           VALUES ($1, $2, $3)
           ON CONFLICT (project_id) DO NOTHING
           RETURNING project_id""",
        project_id,
        registration,  # the pool's jsonb codec encodes it (infra.db)
        principal,
    )
    if row is not None:
        return Claim(True, registration, None, None)
    held = await read_registration(db, project_id)
    if held is None:  # given back meanwhile (the first caller's start failed): claim it again
        return await claim_registration(db, project_id, registration, principal)
    return held


async def read_registration(db: Executor, project_id: str) -> Claim | None:
    """The claim that holds ``project_id``, if any."""
    row = await db.fetchrow(
        "SELECT registration, run_id, created FROM gateway_registrations WHERE project_id = $1", project_id
    )
    if row is None:
        return None
    return Claim(False, dict(row["registration"]), row["run_id"], row["created"])


async def record_run(db: Executor, project_id: str, run_id: str, created: bool) -> None:
    """The run the claiming caller started (``created``) or found."""
    await db.execute(
        "UPDATE gateway_registrations SET run_id = $2, created = $3 WHERE project_id = $1", project_id, run_id, created
    )


async def release_registration(db: Executor, project_id: str) -> None:
    """Give a project id back when its start failed before any run was recorded."""
    await db.execute("DELETE FROM gateway_registrations WHERE project_id = $1 AND run_id IS NULL", project_id)


async def wait_for_run(db: Executor, project_id: str, seconds: float) -> Claim | None:
    """The claim once its run is recorded (polling), or None after ``seconds``."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while True:
        held = await read_registration(db, project_id)
        if held is None or held.run_id is not None or loop.time() > until:
            return held if held is not None and held.run_id is not None else None
        await asyncio.sleep(0.05)
