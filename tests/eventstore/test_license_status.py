"""An e-licence's status in the licence record (modes rule 2) against the real PostgreSQL: suspended
while materials owed under tolerance are overdue, valid again once supplied, lapsed for a permit
whose construction did not start; every write idempotent, a batch applied again never turning a
status back; the read models and the timeline follow."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from eventstore import queries as q
from eventstore.batches import apply_batch
from eventstore.licences import issue_license, revoke_license, set_license_status
from eventstore.projector import Projector
from legalclock import CST
from schemas.effects import Batch
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import ProjectMachine


def batch_of(m: ProjectMachine) -> Batch:
    """The outbox as one batch (what ``ProjectWorkflow`` hands to ``apply_batch``), then emptied."""
    batch = Batch(project_id=m.pid, events=list(m.state.pending_events), effects=list(m.state.effects))
    sp.drain(m)
    return batch


async def status_of(pool: asyncpg.Pool, license_no: str) -> tuple[str, str | None]:
    row = await pool.fetchrow("SELECT status, status_reason FROM e_licenses WHERE license_no = $1", license_no)
    assert row is not None
    return row["status"], row["status_reason"]


async def test_status_writes_apply_once_in_version_order_and_never_after_revocation(pg_pool: asyncpg.Pool) -> None:
    number = f"EL-{uuid.uuid4().hex[:10]}"
    await issue_license(pg_pool, number, f"p-{uuid.uuid4().hex[:8]}", "land-pre-review", "resources", "某公司")
    assert await status_of(pg_pool, number) == ("valid", None)
    assert await set_license_status(pg_pool, number, "suspended", "owed", 7) is True
    assert await set_license_status(pg_pool, number, "suspended", "owed", 7) is False  # applied again
    assert await set_license_status(pg_pool, number, "valid", "supplied", 9) is True
    assert await set_license_status(pg_pool, number, "suspended", "owed", 7) is False  # an older batch, late
    assert await status_of(pg_pool, number) == ("valid", "supplied")
    assert await set_license_status(pg_pool, "EL-unknown", "lapsed", "x", 1) is False
    assert await revoke_license(pg_pool, number, "verification failed") is True
    assert await status_of(pg_pool, number) == ("revoked", "verification failed")
    assert await set_license_status(pg_pool, number, "valid", "supplied", 99) is False


async def test_tolerance_suspends_and_reinstates_the_licence_through_batches(pg_pool: asyncpg.Pool) -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND, modes_rule=2, clear=False)
    sp.decide(m, "project-filing")
    t1 = sp.T0 + timedelta(hours=2)
    m.execute("decide", sp.decision("land-pre-review", "accept_with_tolerance", items=["land survey report"]), t1)
    licence = m.state.matters["land-pre-review"].license_no
    assert licence is not None
    await apply_batch(pg_pool, batch_of(m))
    due = sp.deadline_of(m, "obligation:land-pre-review:supply_materials:1")
    m.fire_alarms(due)
    suspend = batch_of(m)
    await apply_batch(pg_pool, suspend)
    assert (await status_of(pg_pool, licence))[0] == "suspended"
    m.execute("supply_materials", sp.supply("land-pre-review", ["land survey report"]), due + timedelta(days=1))
    reinstate = batch_of(m)
    await apply_batch(pg_pool, reinstate)
    assert (await status_of(pg_pool, licence))[0] == "valid"
    # Both batches applied again, the older last: nothing written twice, nothing turned back.
    await apply_batch(pg_pool, reinstate)
    await apply_batch(pg_pool, suspend)
    assert (await status_of(pg_pool, licence))[0] == "valid"
    await Projector(pg_pool).run_once()
    project = await q.get_project(pg_pool, m.pid)
    assert project is not None
    (land,) = [x for x in project.matters if x.matter_code == "land-pre-review"]
    assert (land.license_no, land.license_status) == (licence, "valid")
    timeline = [e.summary for e in await q.project_timeline(pg_pool, m.pid)]
    assert any(s.startswith(f"E-license {licence} of ") and " suspended: " in s for s in timeline)
    (row,) = [x for x in await q.project_licences(pg_pool, m.pid) if x.license_no == licence]
    assert row.status == "valid" and row.status_reason is not None and "supplied" in row.status_reason


async def test_a_lapsed_permit_is_marked_lapsed_in_the_record_and_the_read_model(pg_pool: asyncpg.Pool) -> None:
    m = sp.machine("yanhu", stage=Stage.CONSTRUCTION, modes_rule=2, clear=False)
    licence = m.state.matters["construction-permit"].license_no
    assert licence is not None
    await apply_batch(pg_pool, batch_of(m))
    m.fire_alarms(datetime(2026, 6, 3, tzinfo=CST))
    lapse = batch_of(m)
    await apply_batch(pg_pool, lapse)
    await apply_batch(pg_pool, lapse)
    assert await status_of(pg_pool, licence) == ("lapsed", "construction did not start by 2026-06-03 00:00 CST")
    await Projector(pg_pool).run_once()
    project = await q.get_project(pg_pool, m.pid)
    assert project is not None
    (permit,) = [x for x in project.matters if x.matter_code == "construction-permit"]
    assert (permit.state, permit.license_no, permit.license_status) == ("pending", None, "lapsed")
    timeline = [e.summary for e in await q.project_timeline(pg_pool, m.pid)]
    assert any(s.startswith(f"Permit {licence} lapsed at ") for s in timeline)
