"""The construction permit lapses (建筑法 §9) under time skipping: extended once before expiry, then
neither used nor extended again, it lapses at the new expiry; the licence record says so, construction
cannot proceed, and the matter is open for a new application.

One time-skipping test per module: the test server keeps a module's earlier projects around.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from schemas.project import PermitExtension, ProgressReport
from tests.harness import Harness
from tests.workflows.helpers import approve_all, events, eventually, matter, settle, view
from workflows.project import ProjectWorkflow


async def test_an_unused_permit_lapses_after_its_extension_and_the_matter_reopens(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    h = await ts.start(zone="yanhu")
    v = await approve_all(h, "construction")
    permit = matter(v, "construction-permit")
    licence, first_expiry = permit.license_no, permit.permit_expires_at
    assert licence is not None and first_expiry is not None and permit.license_status == "valid"
    # The issuing department extends it before expiry: 3 calendar months more.
    extend = PermitExtension(
        decision_id="ext-1", department="housing", matter_code="construction-permit", by="住建局", reason="征迁未完成"
    )
    result = await h.execute_update(ProjectWorkflow.extend_permit, extend)
    assert result.state == "approved"
    expiry = matter(await view(h), "construction-permit").permit_expires_at
    assert expiry is not None and expiry - first_expiry > timedelta(days=85)
    await settle(h)
    await ts_env.sleep(expiry - await ts_env.get_current_time() + timedelta(hours=1))
    rows = await events(pg_pool, v.project_id, wait_for="PermitLapsed")
    lapsed = next(r for r in rows if r["event_type"] == "PermitLapsed")
    assert lapsed["payload"]["license_no"] == licence and lapsed["payload"]["extensions_used"] == 1
    v = await eventually(h, lambda v: matter(v, "construction-permit").state == "to_apply", "the permit reopened")
    reopened = matter(v, "construction-permit")
    assert reopened.license_no is None and reopened.mode == "standard" and v.stage == "construction"
    await settle(h)
    row = await pg_pool.fetchrow("SELECT status FROM e_licenses WHERE license_no = $1", licence)
    assert row is not None and row["status"] == "lapsed"
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await h.execute_update(
            ProjectWorkflow.report_progress, ProgressReport(request_id="progress-1", percent=10, by=v.agent)
        )
    assert "percent: construction cannot proceed without a valid" in str(info.value.cause)
