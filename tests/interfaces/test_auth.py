"""Department authorization: signed envelopes, replay protection, operator tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest

from interfaces.auth import EXPIRES_HEADER, SIGNATURE_HEADER, canonical_envelope, sign_envelope, signed_headers
from interfaces.auth.verifying import AuthError, Authorizer
from interfaces.gateway import create_app
from tests.interfaces.conftest import AGENT_TOKEN, DEPARTMENT_KEYS, Gateway, decision, operator, wait_registered


@pytest.fixture
async def project(gw: Gateway) -> str:
    """A new project whose agent applied for its enterprise registration: market's to decide (an instant
    matter, 即办件: accepted and decided in one step)."""
    pid = await gw.register()
    await wait_registered(gw, pid)
    ack = await gw.apply(pid, "enterprise-registration")
    assert ack["request_id"] and "received" in ack["message"], ack
    return pid


def _registration() -> dict[str, Any]:
    return decision("enterprise-registration", "market", instant=True)


# ---- signing, no server ----------------------------------------------------------------------------


def test_envelope_is_canonical_json_that_other_languages_can_rebuild() -> None:
    body = b'{"decision_id":"d-1","department":"ecology"}'
    fields = {"department": "ecology", "project_id": "p-1", "matter_code": "eia", "decision_id": "d-1"}
    env = canonical_envelope(**fields, expires_at=1_800_000_000, body=body)
    assert (
        env
        == (
            '{"body_sha256":"' + hashlib.sha256(body).hexdigest() + '","decision_id":"d-1","department":"ecology",'
            '"expires_at":1800000000,"matter_code":"eia","project_id":"p-1"}'
        ).encode()
    )
    sig = sign_envelope("s3cret", **fields, expires_at=1_800_000_000, body=body)
    assert sig == hmac.new(b"s3cret", env, hashlib.sha256).hexdigest()


def test_authorizer_checks_headers_before_the_body() -> None:
    auth = Authorizer({"ecology": "k"}, {"operator": "t"}, max_ttl_seconds=600)
    now = 1_800_000_000.0
    cases = {
        (None, "1", "s"): "missing X-Daiban-Department",
        ("ecology", None, None): "missing X-Daiban-Expires, X-Daiban-Signature",
        ("nobody", "1", "s"): "unknown department",
        ("ecology", "soon", "s"): "unix seconds",
        ("ecology", str(int(now) - 1), "s"): "expired",
        ("ecology", str(int(now) + 601), "s"): "more than 600 s ahead",
        # Issue 14: malformed headers are refused before anything is compared (never a 500).
        ("ecology", str(int(now) + 60), "s"): "64 hex digits",
        ("ecology", str(int(now) + 60), "é" * 64): "64 hex digits",
        ("ecology", "１８" * 5, "ab" * 32): "unix seconds",
    }
    for args, reason in cases.items():
        with pytest.raises(AuthError, match=reason) as info:
            auth.department(*args, now=now)
        assert info.value.status == 401
    assert auth.department("ecology", str(int(now) + 60), "AB" * 32, now=now).signature == "ab" * 32
    assert auth.operator("t") == "operator"
    for token in (None, "", "t2"):
        with pytest.raises(AuthError):
            auth.operator(token)


# ---- through the gateway ------------------------------------------------------------------------------


async def test_a_signed_decision_is_accepted_and_retried_idempotently(gw: Gateway, project: str) -> None:
    d = decision("enterprise-registration", "market", instant=True, decision_id="er-signed")
    first = await gw.decide(project, d)
    assert first.status_code == 200 and first.json()["state"] == "approved", first.text
    # The same decision, re-signed with a new expiry and formatted differently: an honest retry.
    body = json.dumps(d, indent=2, sort_keys=True).encode()
    headers = signed_headers(DEPARTMENT_KEYS["market"], "market", project, body, ttl=120)
    retry = await gw.http.post(
        f"/projects/{project}/decisions", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert retry.status_code == 200 and retry.json() == {**first.json(), "duplicate": True}
    # The very same request replayed verbatim changes nothing either.
    replay = await gw.http.post(
        f"/projects/{project}/decisions", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert replay.status_code == 200 and replay.json()["duplicate"] is True


async def test_a_used_decision_id_with_another_payload_is_a_replay(gw: Gateway, project: str) -> None:
    d = decision("eia", "ecology", "reject", reasons=["noise"], decision_id="replayed-id")
    first = await gw.decide(project, d)
    assert first.status_code == 409, "eia is not pending yet: refused by the workflow"
    # Refused by the workflow, the id was released: the corrected decision may reuse it.
    d2 = {**_registration(), "decision_id": "replayed-id"}
    assert (await gw.decide(project, d2)).status_code == 200
    other = {**d2, "kind": "reject", "instant": False, "reasons": ["changed my mind"]}
    r = await gw.decide(project, other)
    assert r.status_code == 409 and "already used for another decision" in r.json()["detail"], r.text

    # A captured signature on a modified body does not verify.
    body = json.dumps(d2).encode()
    headers = signed_headers(DEPARTMENT_KEYS["market"], "market", project, body)
    tampered = json.dumps({**d2, "decided_by": "someone else"}).encode()
    r = await gw.http.post(
        f"/projects/{project}/decisions", content=tampered, headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 401 and "signature does not match" in r.json()["detail"]
    # Nor on another project.
    r = await gw.http.post(
        "/projects/another-project/decisions", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 401


async def test_replay_protection_is_shared_by_gateway_replicas(gw: Gateway, project: str) -> None:
    d = {**_registration(), "decision_id": "replica-id"}
    first = await gw.decide(project, d)
    assert first.status_code == 200, first.text
    # A second gateway process (a replica, or this one after a restart) sees the same claims.
    app = create_app(gw.settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replica") as http,
    ):
        body = json.dumps({**d, "kind": "reject", "instant": False, "reasons": ["x"]}).encode()
        headers = signed_headers(DEPARTMENT_KEYS["market"], "market", project, body)
        r = await http.post(
            f"/projects/{project}/decisions", content=body, headers={**headers, "Content-Type": "application/json"}
        )
    assert r.status_code == 409 and "replay" in r.json()["detail"]


async def test_department_rejections(gw: Gateway, project: str) -> None:
    d = {**_registration(), "decision_id": "rejections"}
    # Signed by ecology with ecology's own key, but the decision claims to be market's: 403.
    r = await gw.decide(project, d, signer="ecology")
    assert r.status_code == 403 and "signed by ecology" in r.json()["detail"]
    # Forged: market's name, someone else's key.
    r = await gw.decide(project, d, secret="guessed")
    assert r.status_code == 401 and "signature" in r.json()["detail"]
    assert r.headers["WWW-Authenticate"] == "Daiban-Envelope"
    # Expired, and valid for too long.
    r = await gw.decide(project, d, now=time.time() - 3600)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    r = await gw.decide(project, d, ttl=86_400)
    assert r.status_code == 401 and "ahead" in r.json()["detail"]
    # Unknown department, and no signature at all.
    r = await gw.decide(project, {**d, "department": "tax"}, signer="tax", secret="whatever")
    assert r.status_code == 401 and "unknown department 'tax'" in r.json()["detail"]
    r = await gw.http.post(f"/projects/{project}/decisions", json=d)
    assert r.status_code == 401 and "missing X-Daiban-Department" in r.json()["detail"]
    body = json.dumps(d).encode()
    headers = signed_headers(DEPARTMENT_KEYS["market"], "market", project, body)
    r = await gw.http.post(
        f"/projects/{project}/decisions",
        content=body,
        headers={**headers, EXPIRES_HEADER: str(int(headers[EXPIRES_HEADER]) + 1), "Content-Type": "application/json"},
    )
    assert r.status_code == 401, "the expiry is signed"
    r = await gw.http.post(
        f"/projects/{project}/decisions",
        content=body,
        headers={**headers, SIGNATURE_HEADER: "0" * 64, "Content-Type": "application/json"},
    )
    assert r.status_code == 401
    # Correctly signed by housing for housing, on market's matter: the workflow's validator refuses.
    r = await gw.decide(project, {**d, "department": "housing", "decision_id": "housing-tries"})
    assert r.status_code == 409 and "belongs to market, not housing" in r.json()["detail"]


async def test_operator_writes_need_a_token(gw: Gateway, project: str) -> None:
    body = gw.project()
    for headers in ({}, operator("wrong-token"), {"Authorization": "Basic abc"}):
        r = await gw.http.post("/projects", json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
    r = await gw.http.post(f"/projects/{project}/withdrawal", json={"reason": "x", "by": "agent-li"})
    assert r.status_code == 401 and r.json()["detail"].startswith("missing bearer token")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    # An application is the agent's: a bearer token, not a department's envelope.
    application = {"matter_code": "project-filing", "by": "agent-li", "materials": ["备案表"]}
    r = await gw.http.post(f"/projects/{project}/submit-application", json=application)
    assert r.status_code == 401 and r.json()["detail"].startswith("missing bearer token")
    # Nothing was started by the refused registration.
    assert all(p["project_id"] != body["project_id"] for p in (await gw.http.get("/projects")).json())
    # Agents hold tokens too; a department envelope is no operator credential.
    r = await gw.http.post(
        f"/projects/{project}/agent",
        headers=operator(AGENT_TOKEN),
        json={"to_agent": "agent-li", "by": "agent-li", "reason": "already mine"},
    )
    assert r.status_code == 409 and r.json()["detail"].startswith("to_agent:")
    # Reads need nothing.
    assert (await gw.http.get(f"/projects/{project}")).status_code == 200
