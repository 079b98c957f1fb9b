"""Scoped credentials at the gateway (issue 14): each principal acts within its role, ``by`` is the caller.

The quoted cases, each with its right answer: one agent's token reassigning or withdrawing
another agent's project (403), naming someone else in ``by`` (403 naming ``by``), extending another
department's clock (403), reading without a credential (401); and the rest of the roles' limits.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.interfaces.conftest import Gateway, as_
from tests.interfaces.tally import record


@pytest.fixture(scope="module")
async def project(gw: Gateway) -> str:
    """A tunliu project of agent-li (backup agent-wang, lead lead-zhao), land contract accepted (its clock runs)."""
    return await gw.at_land_contract()


CLOCK = {"matter_code": "land-contract", "department": "resources"}
STOP = {**CLOCK, "kind": "expert_review", "reason": "expert panel", "expected_days": 10}
EXTEND = {**CLOCK, "days": 365, "approved_by": "head", "reason": "r"}


async def _post(gw: Gateway, pid: str, route: str, body: dict[str, Any], who: str) -> Any:
    return await gw.http.post(f"/projects/{pid}/{route}", json=body, headers=as_(who))


# (route, body, principal, why it is beyond the principal's role)
BEYOND_ROLE = [
    ("reassign-agent", {"to_agent": "agent-zhang", "by": "agent-zhang", "reason": "mine now"}, "agent-zhang", "agent"),
    ("withdraw", {"reason": "gone", "by": "agent-zhang"}, "agent-zhang", "agent"),
    ("report-progress", {"percent": 10, "by": "agent-zhang"}, "agent-zhang", "agent"),
    ("supply-materials", {"matter_code": "eia", "by": "agent-zhang", "items": ["x"]}, "agent-zhang", "agent"),
    ("withdraw", {"reason": "gone", "by": "operator-xiangyuan"}, "operator-xiangyuan", "zone"),
    ("retry-faulted", {"by": "agent-li"}, "agent-li", "operator"),
    ("adopt-calendar", {"version": "cn-6ac710c280c3", "by": "agent-li"}, "agent-li", "operator"),
    ("confirm-deadline", {"clock_id": "process", "by": "lead-zhao", "reason": "r"}, "lead-zhao", "operator"),
    ("resolve-meeting", {"meeting_id": "m-1", "resolution": "go", "by": "agent-li"}, "agent-li", "lead"),
    ("withdraw", {"reason": "gone", "by": "dashboard"}, "dashboard", "reader"),
    ("withdraw", {"reason": "gone", "by": "portal-tunliu"}, "portal-tunliu", "registrar"),
    ("extend-limit", EXTEND, "ecology", "another department's clock"),
    ("stop-clock", STOP, "ecology", "another department's clock"),
    ("resume-clock", CLOCK, "ecology", "another department's clock"),
    ("extend-limit", EXTEND, "agent-li", "an agent's token on a department clock"),
    ("stop-clock", STOP, "operator", "an operator's token on a department clock"),
]


@pytest.mark.parametrize(("route", "body", "who", "why"), BEYOND_ROLE, ids=[f"{r}-{w}" for r, _, w, _ in BEYOND_ROLE])
async def test_beyond_role_is_refused(
    gw: Gateway, project: str, route: str, body: dict[str, Any], who: str, why: str
) -> None:
    r = await _post(gw, project, route, body, who)
    record("beyond_role", f"{route} by {who}", r.status_code)
    assert r.status_code == 403, (why, r.text)
    assert who in r.json()["detail"] or r.json()["detail"].startswith(("department:", "stop_clock", "extend_limit")), (
        r.text
    )


async def test_a_department_cannot_extend_another_department_clock_even_naming_itself(
    gw: Gateway, project: str
) -> None:
    # ecology's principal, body naming ecology, on resources' matter: the workflow refuses (409).
    r = await _post(gw, project, "extend-limit", {**EXTEND, "department": "ecology", "days": 1}, "ecology")
    record("beyond_role", "ecology extends resources' clock naming itself", r.status_code)
    assert r.status_code == 409 and "resources" in r.json()["detail"], r.text


async def test_by_is_the_authenticated_principal(gw: Gateway, project: str) -> None:
    # agent-li's token claiming agent-wang (the backup, who could act himself): 403 naming by.
    r = await _post(gw, project, "report-progress", {"percent": 5, "by": "agent-wang"}, "agent-li")
    record("beyond_role", "agent-li claims by agent-wang", r.status_code)
    assert r.status_code == 403 and r.json()["detail"].startswith("by:"), r.text
    # An operator may not write in an agent's name either.
    r = await _post(gw, project, "withdraw", {"reason": "x", "by": "agent-li"}, "operator")
    record("beyond_role", "operator claims by agent-li", r.status_code)
    assert r.status_code == 403 and r.json()["detail"].startswith("by:"), r.text
    # The timeline records the real caller.
    r = await _post(
        gw, project, "supply-materials", {"matter_code": "eia", "by": "agent-wang", "items": ["x"]}, "agent-wang"
    )
    assert r.status_code in (200, 409), r.text  # 409: eia asks for nothing; no by check failed


async def test_each_role_acts_within_its_scope(gw: Gateway, project: str) -> None:
    # The department stops, resumes and extends its own clock.
    assert (await _post(gw, project, "stop-clock", STOP, "resources")).status_code == 200
    assert (await _post(gw, project, "resume-clock", CLOCK, "resources")).status_code == 200
    # Authorized; refused by the law: the land transfer contract is on the zone's promise alone and
    # 行政许可法 §42 extends only a licence's statutory limit (promise-only rule 2).
    r = await _post(gw, project, "extend-limit", {**EXTEND, "days": 10}, "resources")
    assert r.status_code == 409 and r.json()["detail"].startswith("matter_code: land-contract is a contract"), r.text
    # The backup agent and the lead act on the project.
    r = await _post(gw, project, "report-progress", {"percent": 5, "by": "agent-wang"}, "agent-wang")
    assert r.status_code in (200, 409), r.text  # 409 when the project is not under construction: authorized
    assert r.status_code != 403
    r = await _post(
        gw, project, "resolve-meeting", {"meeting_id": "m-x", "resolution": "go", "by": "lead-zhao"}, "lead-zhao"
    )
    assert r.status_code == 409 and r.json()["detail"].startswith("meeting_id:"), r.text  # authorized, no such meeting


async def test_registration_in_the_principal_zone_only(gw: Gateway) -> None:
    body = gw.project()
    for who in ("agent-li", "dashboard", "ecology", "operator-xiangyuan"):
        r = await gw.http.post("/projects", json=body, headers=as_(who))
        record("beyond_role", f"register in tunliu by {who}", r.status_code)
        assert r.status_code == 403, (who, r.text)
    r = await gw.http.post("/projects", json=body, headers=as_("portal-tunliu"))
    assert r.status_code == 201, r.text
    gw.harness.started.append(gw.harness.client.get_workflow_handle(r.json()["workflow_id"]))


async def test_reads_need_a_read_credential(gw: Gateway, project: str) -> None:
    reads = [
        f"/projects/{project}",
        f"/projects/{project}/timeline",
        f"/projects/{project}/licences",
        "/projects",
        "/departments/resources/inbox",
        "/overdue",
        "/reports/departments",
        "/reports/zone",
        "/reports/credit",
        "/calendar/2026",
        "/calendar/deadline?start=2026-03-02T09:00:00&days=1",
    ]
    for path in reads:
        r = await gw.http.get(path)
        record("beyond_role", f"read {path} without a credential", r.status_code)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        r = await gw.http.get(path, headers=as_("dashboard"))
        assert r.status_code == 200, (path, r.text)
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
        assert (await gw.http.get(path)).status_code in (200, 503), path
    # Scoped readers: the project's people and its zone's readers, nobody else.
    for who in ("agent-li", "agent-wang", "lead-zhao", "portal-tunliu", "operator", "resources"):
        assert (await gw.http.get(f"/projects/{project}", headers=as_(who))).status_code == 200, who
    for who in ("agent-zhang", "operator-xiangyuan"):
        r = await gw.http.get(f"/projects/{project}", headers=as_(who))
        record("beyond_role", f"read the project by {who}", r.status_code)
        assert r.status_code == 403, who
    # A zone's reader lists and reports its zone only.
    listed = await gw.http.get("/projects", headers=as_("operator-xiangyuan"))
    assert listed.status_code == 200 and all(p["zone"] == "xiangyuan" for p in listed.json())
    r = await gw.http.get("/overdue?zone=tunliu", headers=as_("operator-xiangyuan"))
    record("beyond_role", "another zone's overdue list", r.status_code)
    assert r.status_code == 403
    assert (await gw.http.get("/overdue", headers=as_("operator-xiangyuan"))).status_code == 200
    r = await gw.http.get("/reports/departments", headers=as_("portal-tunliu"))
    record("beyond_role", "a zone reader's department report of every zone", r.status_code)
    assert r.status_code == 403
    # An inbox is its department's (or every zone's operators' and readers').
    assert (await gw.http.get("/departments/resources/inbox", headers=as_("resources"))).status_code == 200
    for path, who in (("/departments/resources/inbox", "ecology"), ("/projects", "agent-li")):
        r = await gw.http.get(path, headers=as_(who))
        record("beyond_role", f"{path} by {who}", r.status_code)
        assert r.status_code == 403, (path, who)


async def test_every_refusal_is_logged_with_principal_and_reason(gw: Gateway, project: str, capsys: Any) -> None:
    import structlog

    with structlog.testing.capture_logs() as logs:
        await _post(gw, project, "withdraw", {"reason": "x", "by": "agent-zhang"}, "agent-zhang")
        await gw.http.get(f"/projects/{project}")
    refused = [e for e in logs if e["event"] == "gateway request rejected"]
    assert [e["status"] for e in refused] == [403, 401], logs
    assert refused[0]["principal"] == "agent-zhang" and "withdraw" in refused[0]["reason"]
    assert "missing bearer token" in refused[1]["reason"]


async def test_the_dashboard_takes_a_read_credential_of_every_zone(gw: Gateway) -> None:
    from tests.interfaces.conftest import TOKENS

    for who, status in (("dashboard", 303), ("operator", 303), ("agent-li", 403), ("portal-tunliu", 403)):
        r = await gw.http.post(
            "/dashboard/login",
            content=f"token={TOKENS[who]}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status == 403:
            record("beyond_role", f"dashboard login by {who}", r.status_code)
        assert r.status_code == status, (who, r.status_code)


async def test_a_dashboard_cookie_is_only_as_good_as_its_principals_right_to_read_every_zone(gw: Gateway) -> None:
    """Any principal can sign a session cookie with its own token: every page checks the principal
    again (an operator or reader of every zone), and no cookie lasts longer than a session."""
    import time

    from interfaces.dashboard import session
    from tests.interfaces.conftest import TOKENS

    def page(cookie: str) -> Any:
        return gw.http.get("/dashboard", headers={"Cookie": f"{session.COOKIE}={cookie}"})

    assert (await page(session.issue("dashboard", TOKENS["dashboard"]))).status_code == 200
    for who in ("agent-li", "portal-tunliu", "market", "operator-xiangyuan"):
        r = await page(session.issue(who, TOKENS[who]))
        record("beyond_role", f"dashboard cookie signed by {who}", r.status_code)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/login", (who, r.status_code)
    forever = int(time.time()) + 10 * 365 * 86400
    cookie = f"dashboard.{forever}.{session._sign(TOKENS['dashboard'], 'dashboard', forever)}"
    r = await page(cookie)
    record("beyond_role", "dashboard cookie valid for ten years", r.status_code)
    assert r.status_code == 303


async def test_a_zone_reader_cannot_query_its_way_out_of_its_zones(gw: Gateway) -> None:
    """``GET /projects?query=`` is narrowed to the caller's zones by wrapping the query; one that
    would close that parenthesis (and OR another zone in) is refused, 400."""
    escape = "DaibanZone = 'tunliu') OR (DaibanZone = 'xiangyuan'"
    r = await gw.http.get("/projects", params={"query": escape}, headers=as_("portal-tunliu"))
    record("beyond_role", "a zone filter escaped by the query", r.status_code)
    assert r.status_code == 400 and "parenthes" in r.text, r.text
    for query in ("DaibanAgent = 'a)b'", "(DaibanOverdue = true OR DaibanOverdue = false)"):  # balanced: fine
        r = await gw.http.get("/projects", params={"query": query}, headers=as_("portal-tunliu"))
        assert r.status_code == 200 and all(p["zone"] == "tunliu" for p in r.json()), (query, r.text)


async def test_a_registration_held_in_another_zone_is_compared_on_zone_alone(gw: Gateway) -> None:
    """A registrar probing a project id of another zone learns it is held elsewhere, never which of
    its values it guessed right."""
    held = gw.project(zone="xiangyuan", standard_land_parcel=False)  # Xiangyuan supplies no standard land
    r = await gw.http.post("/projects", json=held, headers=as_("operator"))
    assert r.status_code == 201, r.text
    gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{held['project_id']}"))
    probe = {**held, "zone": "tunliu", "investment_yuan": held["investment_yuan"] + 1}
    r = await gw.http.post("/projects", json=probe, headers=as_("portal-tunliu"))
    record("beyond_role", "another zone's registration probed", r.status_code)
    assert r.status_code == 409 and [d["loc"] for d in r.json()["detail"]] == [["body", "zone"]], r.text


async def test_a_ratings_callback_is_the_departments_or_the_leads(gw: Gateway, project: str) -> None:
    body = {"rating_id": "agent:agent-li", "note": "已电话回访", "by": "operator"}
    r = await _post(gw, project, "record-callback", body, "operator")
    record("beyond_role", "a rating's callback by an operator", r.status_code)
    assert r.status_code == 403 and "record_callback" in r.json()["detail"], r.text
