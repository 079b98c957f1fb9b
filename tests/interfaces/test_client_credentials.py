"""The typed client's service credentials (issue 14): roles enforced in the client, as at the gateway.

A ``DaibanClient`` with a principal (``DAIBAN_TOKEN``, one of ``DAIBAN_PRINCIPALS``) checks every
registration and command against the principal's roles before anything is sent, refuses a ``by``
or ``decided_by`` naming someone else, with the gateway's error (``AuthError``, 403) and message,
and logs each refusal with the principal and the reason. The enterprise's contact goes through
the client to PostgreSQL, encrypted, and never reaches Temporal's history.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest
import structlog

from eventstore.contacts import ContactBook, ContactCipher
from infra.settings import Settings
from interfaces.auth.principals import Principal, from_config
from interfaces.auth.service import principal_for
from interfaces.auth.verifying import AuthError
from interfaces.client import CommandRejected, DaibanClient
from schemas import project as p
from schemas.contact import EnterpriseContact
from tests.interfaces.conftest import CONTACT_KEYS, PRINCIPALS, TOKENS, Gateway, decision, wait_registered
from tests.interfaces.tally import record

PRINCIPAL_CONFIG = {name: {"token": TOKENS[name], **scope} for name, scope in PRINCIPALS.items()}
CONTACT = EnterpriseContact(person="李四", phone="13712345678", legal_rep_id_number="11010519491231002X")


def _principal(name: str) -> Principal:
    found = principal_for(Settings(principals=PRINCIPAL_CONFIG), TOKENS[name])
    assert found is not None and found.name == name
    return found


def _client(gw: Gateway, name: str | None, pool: asyncpg.Pool | None = None) -> DaibanClient:
    cipher = ContactCipher.from_config(CONTACT_KEYS, None)
    assert cipher is not None
    book = ContactBook(pool, cipher) if pool is not None else None
    principal = _principal(name) if name else None
    return DaibanClient(gw.harness.client, gw.harness.task_queue, principal=principal, contacts=book)


@pytest.fixture(scope="module")
async def project(gw: Gateway) -> str:
    """A tunliu project of agent-li (backup agent-wang, lead lead-zhao), land contract accepted."""
    return await gw.at_land_contract()


def _rid() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


async def test_the_client_refuses_beyond_role_before_sending(gw: Gateway, project: str) -> None:
    attempts = [
        ("agent-zhang", p.Withdraw(reason="gone", by="agent-zhang"), "withdraw"),
        ("agent-zhang", p.ReassignAgent(to_agent="agent-zhang", by="agent-zhang", reason="mine"), "reassign_agent"),
        ("agent-li", p.RetryFaulted(by="agent-li"), "retry_faulted"),
        ("operator-xiangyuan", p.Withdraw(reason="gone", by="operator-xiangyuan"), "withdraw"),
        ("dashboard", p.Withdraw(reason="gone", by="dashboard"), "withdraw"),
        (
            "ecology",
            p.ExtendLimit(
                matter_code="land-contract", department="resources", days=365, approved_by="head", reason="r"
            ),
            "extend_limit",
        ),
        (
            "agent-li",
            p.StopClock(
                matter_code="land-contract", department="resources", kind="hearing", reason="r", expected_days=5
            ),
            "stop_clock",
        ),
        (
            "agent-li",
            p.Decision.model_validate(decision("land-contract", "resources", decided_by="agent-li")),
            "decide",
        ),
    ]
    with structlog.testing.capture_logs() as logs:
        for who, cmd, name in attempts:
            with pytest.raises(AuthError) as refused:
                await _client(gw, who).command(name, project, cmd)
            record("beyond_role", f"typed client: {name} by {who}", refused.value.status)
            assert refused.value.status == 403, (who, name)
            assert refused.value.context["principal"] == who
    logged = [e for e in logs if e["event"] == "client command refused"]
    assert [(e["principal"], e["command"]) for e in logged] == [(w, n) for w, _, n in attempts]
    assert all(e["reason"] for e in logged)
    # Nothing was sent: the project runs on, with its agent.
    view = await _client(gw, None).state(project)
    assert view.agent == "agent-li" and view.stage != "withdrawn"


async def test_by_and_decided_by_are_the_principal(gw: Gateway, project: str) -> None:
    agent = _client(gw, "agent-li")
    with pytest.raises(AuthError, match=r"^by: authenticated as agent-li, the body claims agent-wang"):
        await agent.report_progress(project, p.ProgressReport(percent=5, by="agent-wang"))
    record("beyond_role", "typed client: agent-li claims by agent-wang", 403)
    resources = _client(gw, "resources")
    clerk = p.Decision.model_validate(decision("land-contract", "resources", "approve"))  # decided_by resources-clerk
    with pytest.raises(AuthError, match=r"^decided_by: authenticated as resources"):
        await resources.decide(project, clerk)
    record("beyond_role", "typed client: resources claims decided_by resources-clerk", 403)


async def test_each_principal_acts_within_its_role_through_the_client(gw: Gateway, project: str) -> None:
    resources = _client(gw, "resources")
    ack = await resources.stop_clock(
        project,
        p.StopClock(
            matter_code="land-contract", department="resources", kind="expert_review", reason="panel", expected_days=3
        ),
    )
    assert "stopped" in ack.message
    await resources.resume_clock(project, p.ResumeClock(matter_code="land-contract", department="resources"))
    lead = _client(gw, "lead-zhao")
    with pytest.raises(CommandRejected, match="meeting_id"):  # authorized; the project has no such meeting
        await lead.resolve_meeting(project, p.ResolveMeeting(meeting_id="m-x", resolution="go", by="lead-zhao"))
    # A registration in the principal's zone only.
    reg = p.RegisterProject.model_validate({**gw.project(), "zone": "tunliu"})
    with pytest.raises(AuthError, match="may not register"):
        await _client(gw, "operator-xiangyuan").register(reg)
    record("beyond_role", "typed client: register in tunliu by operator-xiangyuan", 403)
    run_id = await _client(gw, "portal-tunliu").register(reg)
    gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{reg.project_id}"))
    assert run_id


async def test_connect_takes_the_credential_from_daiban_token(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    target = gw.harness.client.service_client.config.target_host
    monkeypatch.setenv("DAIBAN_PRINCIPALS", json.dumps(PRINCIPAL_CONFIG))
    monkeypatch.setenv("DAIBAN_TOKEN", TOKENS["agent-zhang"])
    client = await DaibanClient.connect(target, gw.harness.client.namespace, gw.harness.task_queue)
    assert client.principal is not None and client.principal.name == "agent-zhang"
    assert client.principal.roles == frozenset({"agent"})
    monkeypatch.setenv("DAIBAN_TOKEN", "not-a-token-of-anyone")
    from infra.settings import ConfigError

    with pytest.raises(ConfigError, match="DAIBAN_TOKEN"):
        await DaibanClient.connect(target, gw.harness.client.namespace, gw.harness.task_queue)
    assert from_config({}) == {}


async def test_the_contact_through_the_client_never_reaches_temporal(gw: Gateway, pg_pool: asyncpg.Pool) -> None:
    reg = p.RegisterProject.model_validate(gw.project())
    portal = _client(gw, "operator", pg_pool)
    await portal.register(reg, CONTACT)
    gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{reg.project_id}"))
    await wait_registered(gw, reg.project_id)
    assert await _client(gw, "agent-li", pg_pool).contact(reg.project_id) == CONTACT
    with pytest.raises(AuthError):
        await _client(gw, "agent-zhang", pg_pool).contact(reg.project_id)
    record("beyond_role", "typed client: contact read by agent-zhang", 403)
    # Another contact is refused unless replaced; the agent replaces it.
    other = CONTACT.model_copy(update={"phone": "13700000000"})
    with pytest.raises(CommandRejected, match="contact"):
        await _client(gw, "agent-li", pg_pool).set_contact(reg.project_id, other)
    await _client(gw, "agent-li", pg_pool).set_contact(reg.project_id, other, replace=True)
    assert await _client(gw, None, pg_pool).contact(reg.project_id) == other
    stored_by = await pg_pool.fetchval(
        "SELECT stored_by FROM enterprise_contacts WHERE project_id = $1", reg.project_id
    )
    assert stored_by == "agent-li"
    await asyncio.sleep(0.5)  # the first batch has run: its payloads are in the history
    history = await gw.harness.client.get_workflow_handle(f"project-{reg.project_id}").fetch_history()
    raw = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
    assert reg.enterprise.encode() in raw
    for secret in (CONTACT.phone, other.phone, CONTACT.legal_rep_id_number, CONTACT.person):
        assert secret.encode() not in raw, f"{secret} in the Temporal history"
