"""Fixtures of the gateway tests: a real worker, the gateway app in-process, an HTTP client.

One worker (fresh task queue) and one gateway serve every test of this package: the dev server
and PostgreSQL are the session's, the app runs its real lifespan (Temporal client and pool),
and ``httpx`` talks to it through ASGI.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from catalog.load import default_catalog
from infra.settings import Settings
from interfaces.auth import signed_headers
from interfaces.gateway import create_app
from tests.harness import Harness, running_worker

DEPARTMENT_KEYS = {d.code: f"secret-of-{d.code}-{uuid.uuid4().hex[:8]}" for d in default_catalog().departments}
# The gateway's principals (``interfaces.auth.principals``): name -> roles and scope; TOKENS their tokens.
PRINCIPALS: dict[str, dict[str, Any]] = {
    "operator": {"roles": ["operator"], "zones": ["*"]},
    "operator-xiangyuan": {"roles": ["operator"], "zones": ["xiangyuan"]},
    "agent-li": {"roles": ["agent"]},
    "agent-wang": {"roles": ["agent"]},
    "agent-zhang": {"roles": ["agent"]},
    "lead-zhao": {"roles": ["lead"]},
    "portal-tunliu": {"roles": ["registrar", "reader"], "zones": ["tunliu"]},
    "dashboard": {"roles": ["reader"], "zones": ["*"]},
    **{d.code: {"roles": ["department"], "department": d.code} for d in default_catalog().departments},
}
# Two AES-256 keys for the enterprise contacts: "old" (to decrypt) and "new" (new writes).
CONTACT_KEYS = {"old": base64.b64encode(b"o" * 32).decode(), "new": base64.b64encode(b"n" * 32).decode()}
TOKENS = {name: f"tok-{name}-{uuid.uuid4().hex}" for name in PRINCIPALS}
OPERATOR_TOKEN = TOKENS["operator"]
AGENT_TOKEN = TOKENS["agent-li"]


def gateway_settings(env: WorkflowEnvironment, dsn: str, task_queue: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "temporal_address": env.client.service_client.config.target_host,
        "temporal_namespace": env.client.namespace,
        "task_queue": task_queue,
        "database_url": dsn,
        "department_keys": DEPARTMENT_KEYS,
        "principals": {name: {"token": TOKENS[name], **scope} for name, scope in PRINCIPALS.items()},
        "gateway_max_body_bytes": 16_384,
        "contact_keys": CONTACT_KEYS,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Gateway:
    """The HTTP client on the app, the worker's harness, and helpers to call it as others would."""

    http: httpx.AsyncClient
    harness: Harness
    settings: Settings

    def project(self, **overrides: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "project_id": f"gw-{uuid.uuid4().hex[:10]}",
            "name": "年产5万吨新材料项目",
            "enterprise": "山西示例新材料有限公司",
            "zone": "tunliu",
            "investment_yuan": 150_000_000,
            "standard_land_parcel": True,
            "agent": "agent-li",
            "backup_agent": "agent-wang",
            "project_lead": "lead-zhao",
        }
        data.update(overrides)
        return data

    async def register(self, **overrides: Any) -> str:
        body = self.project(**overrides)
        r = await self.http.post("/projects", json=body, headers=operator())
        assert r.status_code == 201, r.text
        self.harness.started.append(self.harness.client.get_workflow_handle(f"project-{body['project_id']}"))
        return str(body["project_id"])

    async def at_land_contract(self) -> str:
        """A registered tunliu project (agent-li) whose enterprise is registered, whose filing is complete
        and whose land contract (resources) is accepted: its clock runs."""
        pid = await self.register()
        await wait_registered(self, pid)
        await self.apply(pid, "enterprise-registration")
        r = await self.decide(pid, decision("enterprise-registration", "market", instant=True))
        assert r.status_code == 200, r.text
        await self.apply(pid, "project-filing")  # filed on receipt (备案): the land contract opens
        await self.apply(pid, "land-contract")
        r = await self.decide(pid, decision("land-contract", "resources", "accept"))
        assert r.status_code == 200, r.text
        return pid

    async def apply(self, project_id: str, matter: str, **fields: Any) -> dict[str, Any]:
        """The agent applies for ``matter`` (``POST .../submit-application``, agent's bearer token); the Ack."""
        body = {"matter_code": matter, "by": "agent-li", "materials": ["申请表"], **fields}
        r = await self.http.post(f"/projects/{project_id}/submit-application", json=body, headers=operator(AGENT_TOKEN))
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def inbox(self, department: str, project_id: str, matter: str, phase: str) -> dict[str, Any]:
        """The row of ``department``'s inbox for the project's ``matter`` once it shows in ``phase``
        (the batch that writes it may still be in flight)."""
        rows: list[dict[str, Any]] = []
        for _ in range(100):
            r = await self.http.get(f"/departments/{department}/inbox", headers=as_(department))
            assert r.status_code == 200, r.text
            rows = [i for i in r.json() if i["project_id"] == project_id and i["matter_code"] == matter]
            if any(i["phase"] == phase for i in rows):
                return next(i for i in rows if i["phase"] == phase)
            await asyncio.sleep(0.1)
        raise AssertionError(f"{project_id} {matter} never in {department}'s inbox to {phase}: {rows}")

    async def decide(
        self,
        project_id: str,
        decision: dict[str, Any],
        *,
        signer: str | None = None,
        secret: str | None = None,
        ttl: int = 300,
        now: float | None = None,
        path: str = "decisions",
    ) -> httpx.Response:
        """POST a decision signed by ``signer`` (default: the decision's department)."""
        body = json.dumps(decision, ensure_ascii=False).encode()
        dept = signer or decision["department"]
        headers = signed_headers(secret or DEPARTMENT_KEYS[dept], dept, project_id, body, ttl=ttl, now=now)
        return await self.http.post(
            f"/projects/{project_id}/{path}", content=body, headers={**headers, "Content-Type": "application/json"}
        )


def operator(token: str = OPERATOR_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_(principal: str) -> dict[str, str]:
    """The bearer header of one of ``PRINCIPALS``."""
    return operator(TOKENS[principal])


def decision(matter: str, department: str, kind: str = "approve", **fields: Any) -> dict[str, Any]:
    return {
        "decision_id": fields.pop("decision_id", f"{matter}-{uuid.uuid4().hex[:6]}"),
        "department": department,
        "matter_code": matter,
        "kind": kind,
        "decided_by": f"{department}-clerk",
        **fields,
    }


@pytest.fixture(scope="package")
async def gw(dev_env: WorkflowEnvironment, pg_dsn: str, pg_pool: asyncpg.Pool) -> AsyncIterator[Gateway]:
    task_queue = f"tq-gw-{uuid.uuid4().hex[:10]}"
    settings = gateway_settings(dev_env, pg_dsn, task_queue)
    async for harness in running_worker(dev_env, task_queue, pg_pool):
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=30) as http:
                yield Gateway(http, harness, settings)


async def wait_registered(gw: Gateway, project_id: str) -> dict[str, Any]:
    """The project's view once it has left registration."""
    deadline = time.monotonic() + 10
    while True:
        r = await gw.http.get(f"/projects/{project_id}", headers=operator())
        if r.status_code == 200 or time.monotonic() > deadline:
            assert r.status_code == 200, r.text
            return dict(r.json())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The edge figures of issue 14 (``tests.interfaces.tally``), when edge tests ran."""
    from tests.interfaces.tally import summary

    line = summary()
    if line is not None:
        terminalreporter.write_line(line)
