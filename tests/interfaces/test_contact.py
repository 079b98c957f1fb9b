"""The enterprise's contact (personal data): stored encrypted in PostgreSQL, never in Temporal or logs.

Registration through the gateway carries the contact; the project's whole Temporal history (every
payload, fetched as bytes) and daiban's other tables never hold the phone or the identity number
in plaintext; the contact route decrypts for the project's people and its zone's operators only;
keys rotate (old rows decrypt, new writes and ``rekey`` use the newest).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import asyncpg
import pytest
import structlog

from eventstore.contacts import ContactCipher, fetch_contact, rekey, store_contact
from infra.db import create_pool
from schemas.contact import EnterpriseContact
from tests.databases import fresh_database
from tests.interfaces.conftest import CONTACT_KEYS, Gateway, as_, operator, wait_registered
from tests.interfaces.tally import record

PHONE = "13912345678"
ID_NUMBER = "11010519491231002X"
CONTACT = {"person": "张三", "phone": PHONE, "legal_rep_id_number": ID_NUMBER}


async def _register(gw: Gateway, **fields: Any) -> tuple[str, Any]:
    body = gw.project(contact=CONTACT, **fields)
    r = await gw.http.post("/projects", json=body, headers=operator())
    if r.status_code == 201:
        gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{body['project_id']}"))
    return str(body["project_id"]), r


async def test_contact_never_in_temporal_nor_plaintext_storage(gw: Gateway, pg_pool: asyncpg.Pool) -> None:
    with structlog.testing.capture_logs() as logs:
        pid, r = await _register(gw)
        assert r.status_code == 201, r.text
        await wait_registered(gw, pid)
        await gw.apply(pid, "enterprise-registration")
        got = await gw.http.get(f"/projects/{pid}/contact", headers=operator())
    assert got.status_code == 200 and got.json() == CONTACT, got.text
    await asyncio.sleep(0.5)  # the batch's activity has run: its payloads are in the history
    history = await gw.harness.client.get_workflow_handle(f"project-{pid}").fetch_history()
    raw = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
    # The payloads are in these bytes as they are stored (the registration's other fields are there).
    assert "山西示例新材料有限公司".encode() in raw and pid.encode() in raw
    for secret in (PHONE, ID_NUMBER, "张三"):
        assert secret.encode() not in raw, f"{secret} in the Temporal history"
        assert all(secret not in repr(e) for e in logs), f"{secret} logged"
    # PostgreSQL: ciphertext only; no other table holds them.
    row = await pg_pool.fetchrow("SELECT key_id, ciphertext FROM enterprise_contacts WHERE project_id = $1", pid)
    assert row["key_id"] == "new" and PHONE.encode() not in bytes(row["ciphertext"])
    for table in ("events", "gateway_registrations", "inbox", "notifications"):
        exists = await pg_pool.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
        found = exists and await pg_pool.fetchval(
            f"SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || $1 || '%'", PHONE
        )
        assert not found, table


async def test_contact_read_only_by_the_project_people_and_zone_operators(gw: Gateway) -> None:
    pid, r = await _register(gw)
    assert r.status_code == 201, r.text
    await wait_registered(gw, pid)
    for who in ("operator", "agent-li", "agent-wang", "lead-zhao"):
        got = await gw.http.get(f"/projects/{pid}/contact", headers=as_(who))
        assert got.status_code == 200 and got.json()["phone"] == PHONE, (who, got.text)
    for who in ("agent-zhang", "operator-xiangyuan", "dashboard", "portal-tunliu", "ecology"):
        got = await gw.http.get(f"/projects/{pid}/contact", headers=as_(who))
        record("beyond_role", f"contact read by {who}", got.status_code)
        assert got.status_code == 403 and PHONE not in got.text, (who, got.text)
    got = await gw.http.get(f"/projects/{pid}/contact")
    record("beyond_role", "contact read without a credential", got.status_code)
    assert got.status_code == 401
    # The project's view carries no contact.
    view = await gw.http.get(f"/projects/{pid}", headers=operator())
    assert PHONE not in view.text and ID_NUMBER not in view.text
    # Registering again: the same contact is the same registration, another one a 409 naming it.
    again = await gw.http.post("/projects", json=gw.project(project_id=pid, contact=CONTACT), headers=operator())
    assert again.status_code == 200, again.text
    other = {**CONTACT, "phone": "13800000000"}
    again = await gw.http.post("/projects", json=gw.project(project_id=pid, contact=other), headers=operator())
    assert again.status_code == 409 and again.json()["detail"][0]["loc"] == ["body", "contact"], again.text


async def test_contact_formats_are_checked(gw: Gateway) -> None:
    for field, value in (
        ("phone", "12345"),
        ("phone", "139123456789"),
        ("legal_rep_id_number", "110105194912310021"),  # wrong check character
        ("legal_rep_id_number", "11010519491331002X"),  # month 13
        ("person", "\u200b"),
    ):
        body = gw.project(contact={**CONTACT, field: value})
        r = await gw.http.post("/projects", json=body, headers=operator())
        named = r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == ["body", "contact", field]
        record("bad_input", f"contact {field}", r.status_code, named=named)
        assert r.status_code == 422, (field, value, r.text)
        assert r.json()["detail"][0]["loc"][:3] == ["body", "contact", field], r.text


async def test_keys_rotate(pg_server_dsn: str) -> None:
    # A database of its own: rekey re-encrypts every row, and the session's hold other tests' keys.
    async with fresh_database(pg_server_dsn, "daiban_rekey") as dsn:
        pool = await create_pool(dsn, max_size=2)
        try:
            await _keys_rotate(pool)
        finally:
            await pool.close()


async def _keys_rotate(pg_pool: asyncpg.Pool) -> None:
    old_only = ContactCipher.from_config({"old": CONTACT_KEYS["old"]}, None)
    both = ContactCipher.from_config(CONTACT_KEYS, None)
    assert old_only is not None and both is not None and both.current == "new"
    contact = EnterpriseContact.model_validate(CONTACT)
    await store_contact(pg_pool, old_only, "rotate-1", contact, "operator")
    assert await fetch_contact(pg_pool, both, "rotate-1") == contact  # any configured key decrypts
    assert await rekey(pg_pool, both) >= 1
    new_only = ContactCipher.from_config({"new": CONTACT_KEYS["new"]}, None)
    assert new_only is not None and await fetch_contact(pg_pool, new_only, "rotate-1") == contact
    assert PHONE not in repr(contact)  # a logged contact prints nothing personal
    bad = base64.b64encode(b"short").decode()
    with pytest.raises(ValueError, match="32 bytes"):
        ContactCipher.from_config({"k": bad}, None)


async def test_registering_again_tests_no_guess_of_another_principals_contact(gw: Gateway) -> None:
    """A registrar reads no contact: re-sending a registration with a guessed contact answers 409
    whether the guess is right or wrong, unless the caller stored that contact itself (its retry)."""
    body = gw.project(contact=CONTACT)
    r = await gw.http.post("/projects", json=body, headers=as_("portal-tunliu"))
    assert r.status_code == 201, r.text
    gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{body['project_id']}"))
    again = await gw.http.post("/projects", json=body, headers=as_("portal-tunliu"))
    assert again.status_code == 200, again.text  # the portal's own retry
    answers = []
    for guess in (CONTACT, {**CONTACT, "phone": "13800000000"}):  # right, then wrong
        r = await gw.http.post("/projects", json={**body, "contact": guess}, headers=as_("operator"))
        record("beyond_role", "a contact guessed by re-registering", r.status_code)
        answers.append((r.status_code, r.json()["detail"][0]["loc"]))
    assert answers == [(409, ["body", "contact"])] * 2, answers
