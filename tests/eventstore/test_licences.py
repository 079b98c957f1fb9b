"""E-licences: issued once by number, marked when minted on deemed approval, revoked once."""

from __future__ import annotations

import uuid

import asyncpg

from eventstore.licences import issue_license, revoke_license


async def test_a_deemed_licence_says_so_and_each_write_applies_once(pg_pool: asyncpg.Pool) -> None:
    number, project = f"EL-{uuid.uuid4().hex[:10]}", f"p-{uuid.uuid4().hex[:8]}"
    args = (number, project, "planning-verification", "resources", "某某科技有限公司")
    assert await issue_license(pg_pool, *args, deemed=True) is True
    assert await issue_license(pg_pool, *args, deemed=True) is False  # a retried batch writes nothing
    row = await pg_pool.fetchrow("SELECT deemed, revoked_at FROM e_licenses WHERE license_no = $1", number)
    assert row is not None and row["deemed"] is True and row["revoked_at"] is None
    assert await revoke_license(pg_pool, number, "verification failed") is True
    assert await revoke_license(pg_pool, number, "verification failed") is False
