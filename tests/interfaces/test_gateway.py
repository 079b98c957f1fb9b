"""The HTTP gateway against the dev server, PostgreSQL and a real worker: every endpoint once."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError

from eventstore.projector import Projector
from interfaces.gateway import create_app
from legalclock import CST
from schemas import commands
from tests.interfaces.conftest import AGENT_TOKEN, Gateway, as_, decision, operator, wait_registered

# Request and response models of each write: the gateway must name our schemas, not copies.
# Each command's route is its update's name with dashes; version 1's path stays, deprecated.
COMMANDS = {
    "decide": ("/decisions", "Decision", "DecisionResult"),
    "verify": ("/verifications", "Verification", "DecisionResult"),
    "submit_application": (None, "SubmitApplication", "Ack"),
    "supply_materials": ("/materials", "SupplyMaterials", "Ack"),
    "resubmit": ("/resubmissions", "Resubmit", "Ack"),
    "stop_clock": ("/clock/stop", "StopClock", "Ack"),
    "resume_clock": ("/clock/resume", "ResumeClock", "Ack"),
    "extend_limit": ("/extensions", "ExtendLimit", "Ack"),
    "reassign_agent": ("/agent", "ReassignAgent", "Ack"),
    "report_progress": ("/progress", "ProgressReport", "Ack"),
    "resolve_meeting": ("/meetings/{meeting_id}/resolution", "ResolveMeeting", "Ack"),
    "withdraw": ("/withdrawal", "Withdraw", "Ack"),
    "confirm_deadline": (None, "ConfirmDeadline", "Ack"),
    "retry_faulted": (None, "RetryFaulted", "Ack"),
    "extend_permit": (None, "PermitExtension", "DecisionResult"),
    "migrate_content": (None, "MigrateContent", "Ack"),
    "adopt_calendar": (None, "AdoptCalendar", "Ack"),
    "rate": (None, "Rate", "Ack"),
    "record_callback": (None, "RecordCallback", "Ack"),
    "record_fix": (None, "RecordFix", "Ack"),
}
# The table above lists every command the workflow has (schemas/commands.py is the one source).
assert set(COMMANDS) == {c.name for c in commands.ALL}, sorted(set(COMMANDS) ^ {c.name for c in commands.ALL})
# A registration through the gateway: RegisterProject and the enterprise's contact (kept out of Temporal).
WRITES = {"/projects": ("Registration", {"201": "Registered", "200": "Registered"})}
DEPRECATED = set()
for _update, (_old, _request, _result) in COMMANDS.items():
    WRITES[f"/projects/{{project_id}}/{_update.replace('_', '-')}"] = (_request, {"200": _result})
    if _old:
        WRITES[f"/projects/{{project_id}}{_old}"] = (_request, {"200": _result})
        DEPRECATED.add(f"/projects/{{project_id}}{_old}")
READS = {
    "/projects": "ProjectSummary",
    "/projects/{project_id}": "ProjectView",
    "/projects/{project_id}/timeline": "TimelineEntry",
    "/projects/{project_id}/licences": "LicenceView",
    "/projects/{project_id}/contact": "EnterpriseContact",
    "/projects/{project_id}/checklist": "Guide",
    "/departments/{code}/inbox": "InboxItem",
    "/overdue": "OverdueItem",
    "/reports/departments": "DepartmentReport",
    "/reports/zone": "ZoneReport",
    "/reports/credit": "CreditRecord",
    "/reports/satisfaction": "SatisfactionReport",
    "/reports/figures": "FiguresReport",
}


def _ref(schema: dict[str, Any]) -> str:
    """The model a response or request schema names (through ``array`` items too)."""
    target = schema.get("items", schema)
    return str(target.get("$ref", "")).removeprefix("#/components/schemas/")


async def test_openapi_names_our_models_and_every_ref_resolves(gw: Gateway) -> None:
    r = await gw.http.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert spec["openapi"].startswith("3.")
    components = spec["components"]["schemas"]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.removeprefix("#/components/schemas/") in components, f"dangling {ref}"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    for path, (request, responses) in WRITES.items():
        op = spec["paths"][path]["post"]
        assert _ref(op["requestBody"]["content"]["application/json"]["schema"]) == request, path
        for status, model in responses.items():
            assert _ref(op["responses"][status]["content"]["application/json"]["schema"]) == model, (path, status)
        assert "422" in op["responses"], f"{path} documents its field errors"
        assert op.get("deprecated", False) == (path in DEPRECATED), path
    for path, model in READS.items():
        op = spec["paths"][path]["get"]
        assert _ref(op["responses"]["200"]["content"]["application/json"]["schema"]) == model, path
    # The request models keep their rules: unknown fields are refused.
    assert components["Decision"]["additionalProperties"] is False
    assert components["Decision"]["required"] == ["decision_id", "department", "matter_code", "kind", "decided_by"]
    docs = await gw.http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_register_twice_is_the_same_project(gw: Gateway) -> None:
    body = gw.project()
    first = await gw.http.post("/projects", json=body, headers=operator())
    assert first.status_code == 201, first.text
    gw.harness.started.append(gw.harness.client.get_workflow_handle(first.json()["workflow_id"]))
    again = await gw.http.post("/projects", json=body, headers=operator())
    assert again.status_code == 200, again.text
    assert first.json() == {**again.json(), "created": True}
    assert again.json()["workflow_id"] == f"project-{body['project_id']}" and not again.json()["created"]
    listed = await gw.http.get(
        "/projects", headers=operator(), params={"query": f"DaibanProjectId = '{body['project_id']}'"}
    )
    assert listed.status_code == 200
    assert [p["project_id"] for p in listed.json()] == [body["project_id"]]
    bad_query = await gw.http.get("/projects", headers=operator(), params={"query": "NoSuchAttribute = 1"})
    assert bad_query.status_code == 400 and bad_query.json()["detail"].startswith("query:")


async def test_every_endpoint_on_one_project(gw: Gateway, pg_pool: Any) -> None:
    pid = await gw.register()
    view = await wait_registered(gw, pid)
    assert view["stage"] == "establishment" and view["project_id"] == pid

    # Nothing runs against a department before the agent applies (受理, 行政许可法 §32).
    assert {m["code"]: m["state"] for m in view["matters"]}["enterprise-registration"] == "to_apply"
    ack = await gw.apply(pid, "enterprise-registration", materials=["设立登记申请书", "章程"])
    assert ack["stage"] == "establishment" and ack["duplicate"] is False, ack
    # The application reaches market's inbox to accept, with the batch that records it.
    row = await gw.inbox("market", pid, "enterprise-registration", "acceptance")
    assert row["deadline"] and row["accepted_at"] is None, row
    to_accept = await gw.http.get("/departments/market/inbox", headers=operator(), params={"phase": "acceptance"})
    assert any(i["project_id"] == pid for i in to_accept.json())
    to_decide = await gw.http.get("/departments/market/inbox", headers=operator(), params={"phase": "decision"})
    assert all(i["project_id"] != pid for i in to_decide.json())

    # An instant matter (即办件) is accepted and decided in one step.
    d = decision("enterprise-registration", "market", instant=True)
    r = await gw.decide(pid, d)
    assert r.status_code == 200, r.text
    answer = r.json()
    # The answer says what is pending next: the next stage's first step, no state read needed.
    assert ("project-filing", "apply", "agent-li") in {
        (x["matter_code"], x["awaited"], x["by"]) for x in answer.pop("pending")
    }
    assert answer == {
        "decision_id": d["decision_id"],
        "matter_code": "enterprise-registration",
        "state": "approved",
        "duplicate": False,
        "stage": "approval_land",
        "pending_more": 0,
    }
    # A retry of the same decision (re-signed, e.g. after a timeout) gets the first answer.
    again = await gw.decide(pid, d)
    assert again.status_code == 200 and again.json()["duplicate"] is True

    # Approval & land stage: the project filing comes first, complete on receipt of its information
    # (备案, 企业投资项目核准和备案管理条例 §13): nothing for the department to accept or decide.
    await gw.apply(pid, "project-filing")
    filed = {m["code"]: m for m in (await gw.http.get(f"/projects/{pid}", headers=operator())).json()["matters"]}
    assert (filed["project-filing"]["state"], filed["project-filing"]["approval_mode"]) == ("approved", "filed")

    # Then the rest in parallel; in tunliu, energy review is approved on receipt of the signed
    # commitment (告知承诺), and verified afterwards.
    signed = {"text_version": "cn-2026-1", "signed_by": "法定代表人 张三", "signed_at": "2026-01-05T09:00:00+08:00"}
    await gw.apply(pid, "energy-review", commitment=signed)
    r = await gw.decide(
        pid,
        {
            "decision_id": "energy-check",
            "department": "approval",
            "matter_code": "energy-review",
            "passed": True,
            "by": "inspector",
        },
        path="verify",
    )
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text

    # The EIA's application lacks something: one completion notice; supply-materials completes it
    # and it is received again. Accepted, it goes back once more for correction (补正).
    await gw.apply(pid, "eia")
    r = await gw.decide(pid, decision("eia", "ecology", "request_completion", items=["environmental report form"]))
    assert r.status_code == 200 and r.json()["state"] == "incomplete", r.text
    r = await gw.http.post(
        f"/projects/{pid}/supply-materials",
        headers=as_("agent-li"),
        json={"matter_code": "eia", "by": "agent-li", "items": ["environmental report form"]},
    )
    assert r.status_code == 200 and "received again" in r.json()["message"], r.text
    r = await gw.decide(pid, decision("eia", "ecology", "accept"))
    assert r.status_code == 200 and r.json()["state"] == "pending", r.text
    r = await gw.decide(pid, decision("eia", "ecology", "request_correction", items=["noise monitoring data"]))
    assert r.status_code == 200 and r.json()["state"] == "correction", r.text
    r = await gw.http.post(
        f"/projects/{pid}/supply-materials",
        headers=as_("agent-li"),
        json={"matter_code": "eia", "by": "agent-li", "items": ["noise monitoring data"]},
    )
    assert r.status_code == 200, r.text

    # The land-use planning permit follows the land transfer contract (城乡规划法 §38).
    await gw.apply(pid, "land-contract")
    r = await gw.decide(pid, decision("land-contract", "resources", "accept"))
    assert r.status_code == 200 and r.json()["state"] == "pending", r.text
    # Accepted (a signed decision too), it moves to the department's "to decide" list and its clock
    # runs: it stops and resumes; an extension is refused (行政许可法 §42 extends a licence's
    # statutory limit, and the contract runs on the zone's promise alone).
    row = await gw.inbox("resources", pid, "land-contract", "decision")
    assert row["accepted_at"] is not None, row
    clock = {"matter_code": "land-contract", "department": "resources"}
    r = await gw.http.post(
        f"/projects/{pid}/stop-clock",
        headers=as_("resources"),
        json={**clock, "kind": "expert_review", "reason": "expert panel", "expected_days": 10},
    )
    assert r.status_code == 200, r.text
    r = await gw.http.post(f"/projects/{pid}/resume-clock", headers=as_("resources"), json=clock)
    assert r.status_code == 200, r.text
    r = await gw.http.post(
        f"/projects/{pid}/extend-limit",
        headers=as_("resources"),
        json={**clock, "days": 10, "approved_by": "bureau head", "reason": "complex case"},
    )
    assert r.status_code == 409 and "§42" in r.json()["detail"], r.text
    r = await gw.decide(pid, decision("land-contract", "resources"))
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    await gw.apply(pid, "land-use-planning-permit")
    r = await gw.decide(pid, decision("land-use-planning-permit", "resources", "accept"))
    assert r.status_code == 200 and r.json()["state"] == "pending", r.text
    r = await gw.http.post(  # a licence's statutory limit: extended once (行政许可法 §42)
        f"/projects/{pid}/extend-limit",
        headers=as_("resources"),
        json={
            "matter_code": "land-use-planning-permit",
            "department": "resources",
            "days": 10,
            "approved_by": "bureau head",
            "reason": "complex case",
        },
    )
    assert r.status_code == 200, r.text
    r = await gw.decide(pid, decision("land-use-planning-permit", "resources", "reject", reasons=["red line"]))
    assert r.status_code == 200 and r.json()["state"] == "rejected", r.text
    r = await gw.http.post(
        f"/projects/{pid}/resubmit",
        headers=as_("agent-li"),
        json={"matter_code": "land-use-planning-permit", "by": "agent-li", "note": "fixed"},
    )
    assert r.status_code == 200 and "applied for again" in r.json()["message"], r.text
    # Applied for again, it is the department's to accept once more.
    await gw.inbox("resources", pid, "land-use-planning-permit", "acceptance")

    r = await gw.http.post(
        f"/projects/{pid}/reassign-agent",
        headers=as_("lead-zhao"),
        json={"to_agent": "agent-wang", "by": "lead-zhao", "reason": "AB岗"},
    )
    assert r.status_code == 200, r.text

    # Refused by the project: 409 with the reason, naming the field.
    r = await gw.http.post(
        f"/projects/{pid}/report-progress", headers=as_("agent-wang"), json={"percent": 10, "by": "agent-wang"}
    )
    assert r.status_code == 409 and "progress" in r.json()["detail"], r.text
    r = await gw.http.post(
        f"/projects/{pid}/resolve-meeting",
        headers=as_("lead-zhao"),
        json={"meeting_id": "m-1", "resolution": "go ahead", "by": "lead-zhao"},
    )
    assert r.status_code == 409 and r.json()["detail"].startswith("meeting_id:"), r.text
    # Version 1's path still answers (deprecated), checking the meeting in the path.
    r = await gw.http.post(
        f"/projects/{pid}/meetings/m-1/resolution",
        headers=as_("lead-zhao"),
        json={"meeting_id": "m-1", "resolution": "go ahead", "by": "lead-zhao"},
    )
    assert r.status_code == 409 and r.json()["detail"].startswith("meeting_id:"), r.text
    r = await gw.http.post(
        f"/projects/{pid}/meetings/m-1/resolution",
        headers=as_("lead-zhao"),
        json={"meeting_id": "m-2", "resolution": "go ahead", "by": "lead-zhao"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "meeting_id"]

    view = (await gw.http.get(f"/projects/{pid}", headers=operator())).json()
    assert view["stage"] == "approval_land" and view["agent"] == "agent-wang"
    states = {m["code"]: m["state"] for m in view["matters"]}
    assert states["eia"] == "pending" and states["land-use-planning-permit"] == "received"
    assert states["soil-water-conservation"] == "to_apply" and states["energy-review"] == "approved"

    # The workflow records events right after each update: wait for the last one to land.
    expected = {
        "ApplicationReceived",
        "ApplicationAccepted",
        "CompletionRequested",
        "MatterApproved",
        "CorrectionRequested",
        "MatterRejected",
        "ClockStopped",
        "LimitExtended",
        "AgentReassigned",
    }
    for _ in range(50):
        timeline = await gw.http.get(f"/projects/{pid}/timeline", headers=operator())
        assert timeline.status_code == 200
        kinds = [e["event_type"] for e in timeline.json()]
        if expected <= set(kinds):
            break
        await asyncio.sleep(0.1)
    assert kinds[0] == "ProjectRegistered" and expected <= set(kinds), kinds
    assert all(e["summary"] for e in timeline.json())

    await Projector(pg_pool).run_once()
    overdue = await gw.http.get("/overdue", headers=operator(), params={"zone": "tunliu"})
    assert overdue.status_code == 200 and isinstance(overdue.json(), list)
    report = await gw.http.get(
        "/reports/departments", headers=operator(), params={"department": "ecology", "zone": "tunliu"}
    )
    assert report.status_code == 200
    # One row per zone and department (a zone's ecology bureau is its own).
    assert [(row["zone"], row["department"]) for row in report.json()] == [("tunliu", "ecology")]
    zone = await gw.http.get("/reports/zone", headers=operator(), params={"zone": "tunliu"})
    assert zone.status_code == 200 and zone.json()[0]["projects"] >= 1
    # The energy commitment was verified as true: nothing in the credit record for this project.
    credit = await gw.http.get("/reports/credit", headers=operator(), params={"zone": "tunliu"})
    assert credit.status_code == 200 and all(row["project_id"] != pid for row in credit.json())
    rated = await gw.http.post(
        f"/projects/{pid}/rate", headers=operator(), json={"target": "agent", "grade": "very_good", "by": "operator"}
    )
    assert rated.status_code == 200 and "非常满意" in rated.json()["message"]
    for _ in range(50):  # the batch is stored a moment after the update returned
        timeline = await gw.http.get(f"/projects/{pid}/timeline", headers=operator())
        if "RatingGiven" in {e["event_type"] for e in timeline.json()}:
            break
        await asyncio.sleep(0.1)
    await Projector(pg_pool).run_once()
    # The years the rating was given and the project registered in (Beijing time; the dev server
    # runs on the wall clock, and a run may cross a New Year's midnight).
    events = {e["event_type"]: e for e in timeline.json()}
    year = str(datetime.fromisoformat(events["RatingGiven"]["occurred_at"]).astimezone(CST).year)
    sat = await gw.http.get("/reports/satisfaction", headers=operator(), params={"zone": "tunliu", "period": year})
    assert sat.status_code == 200 and any(r["key"] == "tunliu" and r["ratings"] >= 1 for r in sat.json()["rows"])
    year = str(datetime.fromisoformat(events["ProjectRegistered"]["occurred_at"]).astimezone(CST).year)
    figures = await gw.http.get("/reports/figures", headers=operator(), params={"zone": "tunliu", "period": year})
    assert figures.status_code == 200 and figures.json()["shares"][0]["projects"] >= 1
    bad = await gw.http.get("/reports/figures", headers=operator(), params={"period": "2026-Q5"})
    assert bad.status_code == 422 and "period" in bad.text

    r = await gw.http.post(
        f"/projects/{pid}/withdraw", headers=as_("agent-wang"), json={"reason": "investor withdrew", "by": "agent-wang"}
    )
    assert r.status_code == 200 and r.json()["stage"] == "withdrawn", r.text
    final = (await gw.http.get(f"/projects/{pid}", headers=operator())).json()
    assert final["stage"] == "withdrawn"
    # A finished project's id is never reused.
    await gw.harness.client.get_workflow_handle(f"project-{pid}").result()
    r = await gw.http.post("/projects", json=gw.project(project_id=pid), headers=operator())
    assert r.status_code == 409, r.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"surprise": 1}, "surprise"),
        ({"investment_yuan": -5}, "investment_yuan"),
        ({"project_id": "bad id!"}, "project_id"),
        ({"zone": None}, "zone"),
        ({"eia_category": "big"}, "eia_category"),
        ({"pollutant_permit": "some"}, "pollutant_permit"),
    ],
)
async def test_malformed_registration_names_the_field_and_starts_nothing(
    gw: Gateway,
    change: dict[str, Any],
    field: str,
) -> None:
    body = gw.project(**change)
    r = await gw.http.post("/projects", json=body, headers=operator())
    assert r.status_code == 422, r.text
    assert any(e["loc"][:2] == ["body", field] for e in r.json()["detail"]), r.json()
    project_id = body["project_id"] if field != "project_id" else "bad id!"
    with pytest.raises(RPCError):
        await gw.harness.client.get_workflow_handle(f"project-{project_id}").describe()


async def test_registration_facts_choose_the_checklist(gw: Gateway) -> None:
    pid = await gw.register(eia_category="report", special_construction=True, water_abstraction=True)
    r = await gw.http.get(f"/projects/{pid}", headers=operator())
    assert r.status_code == 200, r.text
    codes = {c["matter_code"] for c in r.json()["checklist"]}
    assert {"eia-report", "fire-design-review", "water-abstraction-permit"} <= codes
    assert not {"eia", "fire-acceptance-filing", "lightning-design-review"} & codes


async def test_errors_map_to_statuses(gw: Gateway) -> None:
    r = await gw.http.get("/projects/no-such-project", headers=operator())
    assert r.status_code == 404 and r.json()["detail"].startswith("project_id:")
    assert (await gw.http.get("/projects/no-such-project/timeline", headers=operator())).status_code == 404
    assert (await gw.http.get("/projects/not%20an%20id", headers=operator())).status_code == 422
    r = await gw.decide("no-such-project", decision("eia", "ecology"))
    assert r.status_code == 404, r.text
    r = await gw.http.post(
        "/projects/no-such-project/withdraw", headers=as_("agent-li"), json={"reason": "x", "by": "agent-li"}
    )
    assert r.status_code == 404
    # A malformed decision: field errors, and the extra field is named.
    body = {**decision("eia", "ecology"), "surprise": True}
    r = await gw.decide("no-such-project", body)
    assert r.status_code == 422 and any(e["loc"] == ["body", "surprise"] for e in r.json()["detail"])
    r = await gw.decide("no-such-project", decision("eia", "ecology", "reject"))
    assert r.status_code == 422 and "reasons" in r.text
    # Over the size limit: 413 before anything is parsed.
    r = await gw.http.post("/projects", content=b"{" + b" " * 20_000 + b"}", headers=operator())
    assert r.status_code == 413

    async def streamed() -> Any:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b" " * 1_000

    r = await gw.http.post("/projects", content=streamed(), headers=operator())
    assert r.status_code == 413 and "over 16384 bytes" in r.json()["detail"]


async def test_health_readiness_and_metrics(gw: Gateway) -> None:
    assert (await gw.http.get("/healthz")).json() == {"status": "ok"}
    r = await gw.http.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready", "checks": {"temporal": "ok", "postgres": "ok"}}
    await gw.http.get("/projects/no-such-project", headers=operator())
    text = (await gw.http.get("/metrics")).text
    assert 'daiban_gateway_requests_total{method="GET",route="/projects/{project_id}",status="404"}' in text
    assert 'daiban_gateway_request_duration_seconds_count{method="GET",route="/readyz"}' in text


async def test_not_ready_when_dependencies_are_down(gw: Gateway) -> None:
    # Nobody listens on port 9: the gateway still starts, answers /healthz, and says why it is not ready.
    settings = gw.settings.model_copy(
        update={"temporal_address": "127.0.0.1:9", "database_url": "postgresql://postgres@127.0.0.1:9/x"}
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http,
    ):
        assert (await http.get("/healthz")).status_code == 200
        r = await asyncio.wait_for(http.get("/readyz"), 10)
    assert r.status_code == 503 and r.json()["status"] == "not ready"
    checks = r.json()["checks"]
    assert checks["temporal"].startswith("unreachable at 127.0.0.1:9"), checks
    assert checks["postgres"].startswith("unreachable"), checks


async def test_old_paths_and_idempotency_key(gw: Gateway) -> None:
    pid = await gw.register()
    await wait_registered(gw, pid)
    # The Idempotency-Key header is the request id of the agent's application too.
    key = {**operator(AGENT_TOKEN), "Idempotency-Key": "apply-er-1"}
    application = {"matter_code": "enterprise-registration", "by": "agent-li", "materials": ["申请表"]}
    first = await gw.http.post(f"/projects/{pid}/submit-application", json=application, headers=key)
    assert first.status_code == 200 and first.json()["request_id"] == "apply-er-1", first.text
    again = await gw.http.post(f"/projects/{pid}/submit-application", json=application, headers=key)
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}, again.text
    changed = {**application, "materials": ["申请表", "章程"]}
    r = await gw.http.post(f"/projects/{pid}/submit-application", json=changed, headers=key)
    assert r.status_code == 409 and r.json()["detail"].startswith("request_id:"), r.text
    r = await gw.decide(pid, decision("enterprise-registration", "market", instant=True), path="decisions")
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    body = {"to_agent": "agent-wang", "by": "lead-zhao", "reason": "AB岗"}
    # The Idempotency-Key header is the request id when the body has none: a retry gets the first answer.
    first = await gw.http.post(
        f"/projects/{pid}/reassign-agent", json=body, headers={**as_("lead-zhao"), "Idempotency-Key": "reassign-1"}
    )
    assert first.status_code == 200 and first.json()["request_id"] == "reassign-1", first.text
    again = await gw.http.post(
        f"/projects/{pid}/agent",
        json=body,  # version 1's path, same command
        headers={**as_("lead-zhao"), "Idempotency-Key": "reassign-1"},
    )
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}
    # Both given and different: 422 naming the field; nothing sent.
    r = await gw.http.post(
        f"/projects/{pid}/reassign-agent",
        json={**body, "request_id": "reassign-2"},
        headers={**as_("lead-zhao"), "Idempotency-Key": "reassign-3"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "request_id"], r.text
    # Both given and equal is fine.
    r = await gw.http.post(
        f"/projects/{pid}/reassign-agent",
        json={**body, "request_id": "reassign-1"},
        headers={**as_("lead-zhao"), "Idempotency-Key": "reassign-1"},
    )
    assert r.status_code == 200 and r.json()["duplicate"] is True
    r = await gw.http.post(f"/projects/{pid}/retry-faulted", json={"by": "operator"}, headers=operator())
    assert r.status_code == 409 and "not faulted" in r.json()["detail"], r.text
