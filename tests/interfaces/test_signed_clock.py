"""A department's clock commands signed with its key (issue 14), as its decisions are signed.

``stop_clock``, ``resume_clock`` and ``extend_limit`` take the department's signed envelope (the
envelope's ``decision_id`` is the command's ``request_id``) or the department's principal; the
principal path is in ``test_scoped_credentials.py``. Here: the signed path, and its refusals:
another department's key, a forged signature, an unsigned request without a principal, a signed
body without a request id, a request id reused for another command.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from interfaces.auth import signed_headers
from tests.interfaces.conftest import DEPARTMENT_KEYS, Gateway, as_, decision
from tests.interfaces.tally import record


@pytest.fixture(scope="module")
async def project(gw: Gateway) -> str:
    """A tunliu project whose land contract (resources) and EIA (ecology) are accepted: their clocks run."""
    pid = await gw.at_land_contract()
    await gw.apply(pid, "eia")
    assert (await gw.decide(pid, decision("eia", "ecology", "accept"))).status_code == 200
    return pid


@pytest.fixture(scope="module")
async def licence(gw: Gateway) -> str:
    """A tunliu project whose land use planning permit (resources; 行政许可法 §42's own limit) is accepted."""
    pid = await gw.at_land_contract()
    assert (await gw.decide(pid, decision("land-contract", "resources"))).status_code == 200
    await gw.apply(pid, "land-use-planning-permit")
    assert (await gw.decide(pid, decision("land-use-planning-permit", "resources", "accept"))).status_code == 200
    return pid


CLOCK = {"matter_code": "land-contract", "department": "resources"}
STOP = {**CLOCK, "kind": "expert_review", "reason": "expert panel", "expected_days": 10}
EXTEND = {**CLOCK, "days": 10, "approved_by": "head", "reason": "complex site"}
# An approval's statutory limit (行政许可法 §42); the land contract, on the zone's promise alone, has none,
# nor has EIA, whose limit is its own law's (环境影响评价法 §22), which provides none.
EXTEND_LICENCE = {**EXTEND, "matter_code": "land-use-planning-permit"}
EXTEND_EIA = {**EXTEND, "matter_code": "eia", "department": "ecology"}


def _rid() -> str:
    return f"sig-{uuid.uuid4().hex[:10]}"


async def _signed(
    gw: Gateway,
    pid: str,
    route: str,
    body: dict[str, Any],
    *,
    signer: str = "resources",
    secret: str | None = None,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = signed_headers(secret or DEPARTMENT_KEYS[signer], signer, pid, raw)
    return await gw.http.post(
        f"/projects/{pid}/{route}",
        content=raw,
        headers={**headers, **(extra or {}), "Content-Type": "application/json"},
    )


async def test_a_department_stops_resumes_and_extends_its_clock_signed(gw: Gateway, project: str, licence: str) -> None:
    stop = {**STOP, "request_id": _rid()}
    r = await _signed(gw, project, "stop-clock", stop)
    assert r.status_code == 200 and r.json()["duplicate"] is False, r.text
    # An honest retry (same body, signed again) is the first answer, applied once.
    again = await _signed(gw, project, "stop-clock", stop)
    assert again.status_code == 200 and again.json()["duplicate"] is True, again.text
    r = await _signed(gw, project, "resume-clock", {**CLOCK, "request_id": _rid()})
    assert r.status_code == 200, r.text
    r = await _signed(gw, project, "extend-limit", {**EXTEND, "request_id": _rid()})
    assert r.status_code == 409 and "§42" in r.json()["detail"], r.text
    r = await _signed(gw, project, "extend-limit", {**EXTEND_EIA, "request_id": _rid()}, signer="ecology")
    assert r.status_code == 409 and "环境影响评价法" in r.json()["detail"], r.text
    r = await _signed(gw, licence, "extend-limit", {**EXTEND_LICENCE, "request_id": _rid()})
    assert r.status_code == 200, r.text
    view = (await gw.http.get(f"/projects/{licence}", headers=as_("operator"))).json()
    assert next(m["clock"] for m in view["matters"] if m["code"] == "land-use-planning-permit")["extended"]
    view = (await gw.http.get(f"/projects/{project}", headers=as_("operator"))).json()
    clock = next(m["clock"] for m in view["matters"] if m["code"] == "land-contract")
    assert clock["paused"] is False
    kinds: dict[str, list[str]] = {}
    for _ in range(50):  # the batches recording them may still be in flight
        for pid in (project, licence):
            timeline = (await gw.http.get(f"/projects/{pid}/timeline", headers=as_("operator"))).json()
            kinds[pid] = [e["event_type"] for e in timeline]
        if "LimitExtended" in kinds[licence] and "ClockResumed" in kinds[project]:
            break
        await asyncio.sleep(0.1)
    assert {"ClockStopped", "ClockResumed"} <= set(kinds[project]) and "LimitExtended" in kinds[licence], kinds


# (what, how the request is made, expected status, a word the reason holds)
async def test_refusals_of_the_signed_path(gw: Gateway, project: str) -> None:
    cases: list[tuple[str, httpx.Response, int, str]] = []
    # Another department's key, signing the body naming resources: 403 naming the department.
    body = {**STOP, "request_id": _rid()}
    cases.append(
        (
            "ecology signs resources' stop",
            await _signed(gw, project, "stop-clock", body, signer="ecology"),
            403,
            "department",
        )
    )
    # ecology signs a body naming itself on resources' matter: the workflow refuses (409, names resources).
    body = {**EXTEND, "department": "ecology", "request_id": _rid()}
    cases.append(
        (
            "ecology on resources' matter",
            await _signed(gw, project, "extend-limit", body, signer="ecology"),
            409,
            "resources",
        )
    )
    # resources' header, ecology's secret: a forged signature, 401.
    body = {**STOP, "request_id": _rid()}
    forged = await _signed(gw, project, "stop-clock", body, secret=DEPARTMENT_KEYS["ecology"])
    cases.append(("forged signature", forged, 401, "signature"))
    # Unsigned and without a principal: 401 naming both ways.
    r = await gw.http.post(f"/projects/{project}/extend-limit", json={**EXTEND, "request_id": _rid()})
    cases.append(("unsigned, no principal", r, 401, "signature"))
    # A signature and a bearer token at once: 401.
    both = await _signed(gw, project, "resume-clock", {**CLOCK, "request_id": _rid()}, extra=as_("resources"))
    cases.append(("signature and token", both, 401, "not both"))
    # A signed body without a request id: 422 naming request_id (a replay would have nothing to repeat).
    r = await _signed(gw, project, "stop-clock", dict(STOP))
    cases.append(("no request id", r, 422, "request_id"))
    # A request id reused for another signed command of resources: 409 (replay refused).
    rid = _rid()
    first = await _signed(gw, project, "stop-clock", {**STOP, "request_id": rid})
    assert first.status_code == 200, first.text
    reused = await _signed(gw, project, "resume-clock", {**CLOCK, "request_id": rid})
    cases.append(("request id reused", reused, 409, "request_id"))
    # A body changed after signing: 401.
    raw = json.dumps({**STOP, "request_id": _rid()}).encode()
    headers = signed_headers(DEPARTMENT_KEYS["resources"], "resources", project, raw)
    tampered = raw.replace(b'"expected_days": 10', b'"expected_days": 99')
    r = await gw.http.post(
        f"/projects/{project}/stop-clock", content=tampered, headers={**headers, "Content-Type": "application/json"}
    )
    cases.append(("body changed after signing", r, 401, "signature"))
    for what, response, status, word in cases:
        assert response.status_code == status, (what, response.text)
        assert word in response.text, (what, response.text)
        record("beyond_role" if status in (401, 403) else "bad_input", what, response.status_code, named=True)
    timeline = (await gw.http.get(f"/projects/{project}/timeline", headers=as_("operator"))).json()
    assert not any(e["event_type"] == "ClockStopped" and "99" in e["summary"] for e in timeline)
