"""A whole project from registration to production through the HTTP gateway alone: every matter
applied for by the agent, accepted (受理) and decided by its department's signed decision, a filing
complete on receipt, construction reported, the joint acceptance opinion issued."""

from __future__ import annotations

from typing import Any

from tests.interfaces.conftest import Gateway, as_, decision, operator

SIGNED = {"text_version": "cn-2026-1", "signed_by": "法定代表人 张三", "signed_at": "2026-01-05T09:00:00+08:00"}


async def view(gw: Gateway, pid: str) -> dict[str, Any]:
    r = await gw.http.get(f"/projects/{pid}", headers=operator())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def step(gw: Gateway, pid: str, v: dict[str, Any]) -> bool:
    """One round of what the agent and the departments do next; False when nothing was left to do."""
    acted = False
    for m in v["matters"]:
        code, dept = m["code"], m["department"]
        if m["state"] == "to_apply":
            await gw.apply(pid, code, **({"commitment": SIGNED} if m["mode"] == "commitment" else {}))
        elif m["state"] == "received":
            r = await gw.decide(pid, decision(code, dept, "accept"))
            assert r.status_code == 200 and r.json()["state"] == "pending", r.text
        elif m["state"] == "pending":
            r = await gw.decide(pid, decision(code, dept))
            assert r.status_code == 200 and r.json()["state"] == "approved", r.text
        else:
            continue
        acted = True
    if v["stage"] == "construction":
        r = await gw.http.post(
            f"/projects/{pid}/report-progress", headers=as_("agent-li"), json={"percent": 100, "by": "agent-li"}
        )
        assert r.status_code == 200, r.text
        acted = True
    return acted


async def test_a_project_runs_to_production_through_the_gateway(gw: Gateway) -> None:
    pid = await gw.register(zone="yanhu", standard_land_parcel=False)
    for _ in range(40):
        v = await view(gw, pid)
        if v["stage"] == "in_production":
            break
        assert await step(gw, pid, v), f"nothing to do in {v['stage']}: {v['waiting_for']}"
    v = await view(gw, pid)
    assert v["stage"] == "in_production", v["waiting_for"]
    modes = {m["code"]: (m["state"], m["approval_mode"]) for m in v["matters"]}
    assert all(state in ("approved", "exempt") for state, _ in modes.values()), modes
    assert modes["project-filing"] == ("approved", "filed") and modes["completion-filing"] == ("approved", "filed")
    r = await gw.http.get(f"/projects/{pid}/timeline", headers=operator())
    assert r.status_code == 200, r.text
    kinds = [e["event_type"] for e in r.json()]
    accepted = kinds.count("ApplicationAccepted")
    decided = sum(1 for _, mode in modes.values() if mode not in (None, "filed"))
    assert accepted >= decided, "every decision followed its acceptance (受理)"
    assert kinds.count("JointAcceptanceOpinionIssued") == 1 and "FilingPeriodOpened" in kinds
