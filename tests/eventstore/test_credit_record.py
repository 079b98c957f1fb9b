"""The credit record (信用记录) read model against the real PostgreSQL: a commitment (告知承诺) found
untrue on verification is entered once (国办发〔2020〕42号), filtered by zone and enterprise, and
rebuilt from the events."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from eventstore import queries as q
from eventstore.batches import apply_batch
from eventstore.projector import Projector
from schemas.effects import Batch
from schemas.stages import Stage
from tests import support as sp


async def test_a_failed_commitment_is_entered_once_in_the_credit_record(pg_pool: asyncpg.Pool) -> None:
    # An enterprise of this test's own: the session database holds other tests' credit records.
    reg = sp.registration(zone="yanhu").model_copy(update={"enterprise": f"测试企业{uuid.uuid4().hex[:8]}有限公司"})
    m = sp.machine("yanhu", reg=reg, stage=Stage.ENGINEERING_PERMIT, modes_rule=2, clear=False)
    m.execute("decide", sp.decision("lightning-design-review", "approve_on_commitment"), sp.T0)
    t1 = sp.T0 + timedelta(days=3)
    m.execute("verify", sp.verification("lightning-design-review", passed=False, findings="接闪器与承诺不符"), t1)
    batch = Batch(project_id=m.pid, events=list(m.state.pending_events), effects=list(m.state.effects))
    await apply_batch(pg_pool, batch)
    projector = Projector(pg_pool)
    await projector.run_once()

    enterprise = m.state.registration.enterprise
    [entry] = await q.credit_records(pg_pool, enterprise=enterprise)
    assert (entry.project_id, entry.zone, entry.matter_code, entry.department) == (
        m.pid,
        "yanhu",
        "lightning-design-review",
        "meteorology",
    )
    assert entry.findings == "接闪器与承诺不符" and "信用记录" in entry.consequence
    assert await q.credit_records(pg_pool, zone="tunliu", enterprise=enterprise) == []

    await apply_batch(pg_pool, batch)  # the activity retried: nothing twice
    await projector.rebuild()
    assert await q.credit_records(pg_pool, enterprise=enterprise) == [entry]
