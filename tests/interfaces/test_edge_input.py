"""Edge security, input half (issue 14): nothing accepted that cannot be kept, every refusal a 4xx.

Every input the issue quotes is here with its right answer: a 422 naming the field (nothing
started, nothing claimed), 401 for a malformed credential, 409 for another body under a known id;
never a 5xx. Registrations are exact under concurrency; decision ids are each department's own;
the typed client refuses an oversized command before sending anything.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from temporalio.service import RPCError

from eventstore import envelopes
from interfaces.client import DaibanClient, InvalidInput
from schemas.project import Decision
from tests.interfaces.conftest import Gateway, decision, operator
from tests.interfaces.tally import record

NUL = "\u0000"

# (what, change to a valid registration, the field the 422 names)
BAD_REGISTRATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("NUL in the name", {"name": f"厂房{NUL}"}, "name"),
    ("NUL in the enterprise", {"enterprise": f"{NUL}"}, "enterprise"),
    ("NUL in the agent", {"agent": f"agent{NUL}li"}, "agent"),
    ("investment over bigint", {"investment_yuan": 10000000000000000000}, "investment_yuan"),
    ("investment over the bound", {"investment_yuan": 10**15 + 1}, "investment_yuan"),
    ("negative investment", {"investment_yuan": -1}, "investment_yuan"),
    ("investment true", {"investment_yuan": True}, "investment_yuan"),
    ("investment as a string", {"investment_yuan": "150000000"}, "investment_yuan"),
    ("investment as a float", {"investment_yuan": 1.5}, "investment_yuan"),
    ("standard_land_parcel 'yes'", {"standard_land_parcel": "yes"}, "standard_land_parcel"),
    ("standard_land_parcel 1", {"standard_land_parcel": 1}, "standard_land_parcel"),
    ("whitespace-only name", {"name": " \t "}, "name"),
    ("ideographic-space-only name", {"name": "\u3000\u3000"}, "name"),
    ("zero-width-only name", {"name": "\u200b\u200c\u200d\ufeff"}, "name"),
    ("newline in the name", {"name": "厂房\n二期"}, "name"),
    ("name over 200 characters", {"name": "厂" * 201}, "name"),
    ("trailing newline in the project id", {"project_id": "p-1\n"}, "project_id"),
    ("non-ASCII project id", {"project_id": "项目1"}, "project_id"),
    ("misspelled zone", {"zone": "tunlu"}, "zone"),
    ("zone as a number", {"zone": 7}, "zone"),
    ("project_type unknown", {"project_type": "huge"}, "project_type"),
    ("eleven regional assessments", {"regional_assessments": [{}] * 11}, "regional_assessments"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_REGISTRATIONS, ids=[c[0] for c in BAD_REGISTRATIONS])
async def test_a_bad_registration_is_422_naming_the_field_and_starts_nothing(
    gw: Gateway, pg_pool: asyncpg.Pool, case: str, change: dict[str, Any], field: str
) -> None:
    body = gw.project(**change)
    r = await gw.http.post("/projects", json=body, headers=operator())
    record("bad_input", case, r.status_code, named=_names(r, "body", field))
    assert r.status_code == 422, (case, r.text)
    assert any(e["loc"][:2] == ["body", field] for e in r.json()["detail"]), (case, r.json())
    project_id = str(body["project_id"])
    with pytest.raises(RPCError):
        await gw.harness.client.get_workflow_handle(f"project-{project_id}").describe()
    claimed = await pg_pool.fetchval("SELECT count(*) FROM gateway_registrations WHERE project_id = $1", project_id)
    assert claimed == 0


async def test_a_lone_surrogate_is_422(gw: Gateway) -> None:
    body = json.dumps(gw.project(name="PLACEHOLDER")).replace("PLACEHOLDER", "\\ud800厂房")
    r = await gw.http.post("/projects", content=body, headers={**operator(), "Content-Type": "application/json"})
    record("bad_input", "lone surrogate", r.status_code, named=_names(r, "body", "name"))
    assert r.status_code == 422, r.text
    assert any(e["loc"][:2] == ["body", "name"] for e in r.json()["detail"])


@pytest.mark.parametrize(("first", "last"), [("tunliu", "tunlu"), ("tunlu", "tunliu")])
async def test_a_duplicate_json_key_is_422_and_the_corrected_registration_is_accepted(
    gw: Gateway, first: str, last: str
) -> None:
    body = gw.project()
    text = json.dumps(body, ensure_ascii=False).replace('"zone": "tunliu"', f'"zone": "{first}", "zone": "{last}"')
    r = await gw.http.post(
        "/projects", content=text.encode(), headers={**operator(), "Content-Type": "application/json"}
    )
    record("bad_input", f"duplicate key zone {first}/{last}", r.status_code, named=_names(r, "body", "zone"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "zone"]
    # The corrected registration is not refused forever.
    r = await gw.http.post("/projects", json=body, headers=operator())
    assert r.status_code == 201, r.text
    gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{body['project_id']}"))


async def test_a_misspelled_zone_then_the_corrected_registration(gw: Gateway) -> None:
    body = gw.project(zone="tunlu")
    r = await gw.http.post("/projects", json=body, headers=operator())
    record("bad_input", "misspelled zone", r.status_code, named=_names(r, "body", "zone"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "zone"], r.text
    assert "known:" in r.json()["detail"][0]["msg"]
    r = await gw.http.post("/projects", json={**body, "zone": "tunliu"}, headers=operator())
    assert r.status_code == 201, r.text
    gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{body['project_id']}"))


async def test_regional_assessments_are_checked_against_the_zones_data(gw: Gateway) -> None:
    fit = {
        "assessment": "energy",
        "area": "开发区规划范围",
        "project_kind": "industrial",
        "commitment": "按区域评估结论及其管控要求建设",
        "signed_by": "法定代表人",
    }
    # Tunliu made no regional assessment: the claim names the field, nothing starts.
    body = gw.project(zone="tunliu", regional_assessments=[fit])
    r = await gw.http.post("/projects", json=body, headers=operator())
    record(
        "bad_input",
        "regional assessment of another zone",
        r.status_code,
        named=_names(r, "body", "regional_assessments"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "regional_assessments", 0, "assessment"]
    # Xiangyuan made it: registered (on land of its own: it supplies no standard land).
    r = await gw.http.post(
        "/projects", json={**body, "zone": "xiangyuan", "standard_land_parcel": False}, headers=operator()
    )
    assert r.status_code == 201, r.text
    gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{body['project_id']}"))


async def test_standard_land_and_factories_only_where_the_zone_supplies_them(gw: Gateway) -> None:
    """A standard-land parcel skips the land pre-review, a standard-factory tenant the land and
    planning matters: in a zone that supplies neither, such a claim named the field, not a shorter
    checklist."""
    for claim, field in (
        ({"zone": "xiangyuan", "standard_land_parcel": True}, "standard_land_parcel"),
        ({"zone": "tunliu", "project_type": "standard_factory_tenant", "standard_land_parcel": False}, "project_type"),
    ):
        r = await gw.http.post("/projects", json=gw.project(**claim), headers=operator())
        record("bad_input", f"{field} the zone does not supply", r.status_code, named=_names(r, "body", field))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text
        assert f"zone {claim['zone']} " in r.json()["detail"][0]["msg"]


# Commands with what PostgreSQL or Temporal cannot keep: (route, body, field). The project does not
# need to exist: the body is refused first.
BAD_COMMANDS: list[tuple[str, dict[str, Any], str]] = [
    ("reassign-agent", {"to_agent": "agent-wang", "by": "agent-li", "reason": f"away{NUL}"}, "reason"),
    ("reassign-agent", {"to_agent": "agent-wang\n", "by": "agent-li", "reason": "away"}, "to_agent"),
    ("withdraw", {"by": "agent-li", "reason": "\u200b"}, "reason"),
    ("report-progress", {"by": "agent-li", "percent": True}, "percent"),
    ("report-progress", {"by": "agent-li", "percent": "50"}, "percent"),
    ("report-progress", {"by": "agent-li", "percent": 101}, "percent"),
    ("report-progress", {"by": "agent-li", "percent": 50, "note": f"half{NUL}"}, "note"),
    (
        "stop-clock",
        {"matter_code": "eia", "department": "ecology", "kind": "hearing", "reason": "r", "expected_days": -5},
        "expected_days",
    ),
    (
        "stop-clock",
        {"matter_code": "eia", "department": "ecology", "kind": "hearing", "reason": "r", "expected_days": "10"},
        "expected_days",
    ),
    (
        "extend-limit",
        {"matter_code": "eia", "department": "ecology", "days": 1e308, "approved_by": "head", "reason": "r"},
        "days",
    ),
    ("submit-application", {"matter_code": "eia", "by": "agent-li", "materials": ["表"] * 101}, "materials"),
    ("submit-application", {"matter_code": "eia", "by": "agent-li", "materials": ["表" * 201]}, "materials"),
    ("resubmit", {"matter_code": "eia", "by": "agent-li", "note": "x" * 2001}, "note"),
    ("supply-materials", {"matter_code": "eia", "by": "agent-li", "items": ["件"] * 51}, "items"),
]


@pytest.mark.parametrize(("route", "body", "field"), BAD_COMMANDS, ids=[f"{c[0]}-{c[2]}" for c in BAD_COMMANDS])
async def test_a_bad_command_is_422_naming_the_field(gw: Gateway, route: str, body: dict[str, Any], field: str) -> None:
    r = await gw.http.post(f"/projects/no-such-project/{route}", json=body, headers=operator())
    record("bad_input", f"{route} {field}", r.status_code, named=_names(r, "body", field))
    assert r.status_code == 422, r.text
    assert any(e["loc"][:2] == ["body", field] for e in r.json()["detail"]), r.json()


BAD_DECISIONS: list[tuple[dict[str, Any], str]] = [
    ({"decided_by": f"clerk{NUL}"}, "decided_by"),
    ({"decided_by": "   "}, "decided_by"),
    ({"kind": "reject", "reasons": [f"no{NUL}"]}, "reasons"),
    ({"kind": "request_correction", "items": ["件"] * 51}, "items"),
    ({"kind": "reject", "reasons": ["理由"] * 21}, "reasons"),
    ({"instant": "yes"}, "instant"),
    ({"decision_id": "d-1\n"}, "decision_id"),
]


@pytest.mark.parametrize(("change", "field"), BAD_DECISIONS, ids=[c[1] + str(i) for i, c in enumerate(BAD_DECISIONS)])
async def test_a_bad_signed_decision_is_422_naming_the_field(gw: Gateway, change: dict[str, Any], field: str) -> None:
    r = await gw.decide("no-such-project", {**decision("eia", "ecology"), **change})
    record("bad_input", f"decision {field}", r.status_code, named=_names(r, "body", field))
    assert r.status_code == 422, r.text
    assert any(e["loc"][:2] == ["body", field] for e in r.json()["detail"]), r.json()


@pytest.mark.parametrize(
    "path",
    [
        "/overdue?zone=%00",
        "/overdue?department=%00",
        "/overdue?zone=tunliu%0A",
        "/reports/departments?department=%00",
        "/reports/zone?zone=%00",
        "/reports/zone?zone=%FF%FE",
        "/projects?query=%00",
        "/projects?query=DaibanOverdue%20%3D%20true%0A%00",
        "/departments/%00/inbox",
        "/projects/p-1%0A",
        "/projects/p-1%00/timeline",
        "/projects/%E9%A1%B9%E7%9B%AE/licences",
    ],
)
async def test_bad_bytes_in_a_query_or_path_are_422_never_5xx(gw: Gateway, path: str) -> None:
    r = await gw.http.get(path, headers=operator())
    record("bad_input", path, r.status_code, named=_names(r))
    assert r.status_code == 422, (path, r.status_code, r.text)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Daiban-Signature", "é" * 64),
        ("X-Daiban-Signature", "zz"),
        ("X-Daiban-Expires", "１２３"),
        ("X-Daiban-Expires", "1e10"),
        ("X-Daiban-Department", "ecologyé"),
    ],
)
async def test_a_malformed_envelope_header_is_401_never_5xx(gw: Gateway, header: str, value: str) -> None:
    body = json.dumps(decision("eia", "ecology")).encode()
    headers: dict[str, Any] = {
        "X-Daiban-Department": "ecology",
        "X-Daiban-Expires": "9999999999",
        "X-Daiban-Signature": "0" * 64,
        "Content-Type": "application/json",
    }
    headers[header] = value.encode("utf-8")
    r = await gw.http.post("/projects/no-such-project/decide", content=body, headers=headers)
    record("bad_input", f"header {header}", r.status_code, named=_names(r))
    assert r.status_code == 401, r.text


async def test_a_non_ascii_bearer_token_is_401(gw: Gateway) -> None:
    r = await gw.http.post(
        "/projects/no-such-project/withdraw",
        json={"by": "agent-li", "reason": "r"},
        headers={b"Authorization": "Bearer tökén".encode()},
    )
    record("bad_input", "non-ASCII bearer token", r.status_code, named=_names(r))
    assert r.status_code == 401, r.text


async def test_concurrent_registrations_of_one_id_get_one_201_and_the_same_run(gw: Gateway) -> None:
    body = gw.project()
    answers = await asyncio.gather(*(gw.http.post("/projects", json=body, headers=operator()) for _ in range(50)))
    gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{body['project_id']}"))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 49 + [201], statuses
    assert sum(r.json()["created"] for r in answers) == 1
    assert len({r.json()["run_id"] for r in answers}) == 1
    # Another body for the known id: 409 naming what differs, and the project keeps its registration.
    r = await gw.http.post("/projects", json={**body, "name": "另一个项目", "investment_yuan": 1}, headers=operator())
    record("bad_input", "another body for a known id", r.status_code, named=_names(r, "body", "name"))
    assert r.status_code == 409, r.text
    assert sorted(e["loc"][1] for e in r.json()["detail"]) == ["investment_yuan", "name"]
    again = await gw.http.post("/projects", json=body, headers=operator())
    assert again.status_code == 200 and again.json()["run_id"] == answers[0].json()["run_id"]


async def test_decision_ids_are_claimed_per_department(pg_pool: asyncpg.Pool) -> None:
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    claim = {"project_id": project_id, "decision_id": "2026-001", "operation": "decide", "signature": "0" * 64}
    first = await envelopes.claim_envelope(
        pg_pool, **claim, department="ecology", matter_code="eia", digest="a", expires_at=2e9
    )
    other = await envelopes.claim_envelope(
        pg_pool, **claim, department="water", matter_code="soil-water-conservation", digest="b", expires_at=2e9
    )
    replay = await envelopes.claim_envelope(
        pg_pool, **claim, department="ecology", matter_code="eia", digest="c", expires_at=2e9
    )
    assert (first, other, replay) == (1, 1, None)


async def test_the_typed_client_refuses_a_1_2_mb_correction_request_before_sending(gw: Gateway) -> None:
    # Through the models: refused at construction, naming the field.
    huge = ["材料" * 100] * 6_000  # about 1.2 MB of JSON
    with pytest.raises(ValueError, match=r"reasons|items"):
        Decision(
            decision_id="big-1",
            department="ecology",
            matter_code="eia",
            kind="request_correction",
            decided_by="clerk",
            items=huge,
            reasons=huge,
        )
    # Past the models (model_construct): the client checks again and sends nothing (the project
    # does not exist, so anything sent would have answered ProjectNotFound).
    bogus = Decision.model_construct(
        decision_id="big-1",
        department="ecology",
        matter_code="eia",
        kind="request_correction",
        decided_by="clerk",
        instant=False,
        reasons=[],
        items=huge,
        first_notice_incomplete=False,
    )
    client = DaibanClient(gw.harness.client, gw.harness.task_queue)
    with pytest.raises(InvalidInput) as caught:
        await client.decide("no-such-project", bogus)
    record("bad_input", "1.2 MB correction request (typed client)", 422, named=True)
    assert caught.value.errors and caught.value.errors[0]["loc"] == []
    assert "over the limit" in caught.value.errors[0]["msg"]
    small_but_bad = Decision.model_construct(**{**bogus.__dict__, "items": ["件"] * 51})
    with pytest.raises(InvalidInput) as caught:
        await client.decide("no-such-project", small_but_bad)
    record("bad_input", "51 items past the model (typed client)", 422, named=caught.value.errors[0]["loc"] == ["items"])
    assert caught.value.errors[0]["loc"] == ["items"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/projects", b'{"name": "\xff\xfe"}'),
        ("/projects", b"\xef\xbb\xbf{}"),
        ("/projects", b"[" * 8_000 + b"]" * 8_000),
        ("/projects", b'{"a":' * 3_000 + b"1" + b"}" * 3_000),
        ("/projects", b"NaN"),
        ("/projects", b'{"investment_yuan": 1e400}'),
        ("/projects/no-such-project/withdraw", b'{"by": "agent-li", "reason": "\\ud800"}'),
        ("/calendar?dry_run=true", b'{"years": {"2027": {"holidays": {"2027-10-01": "\xff"}}}}'),
        ("/calendar?dry_run=true", b'{"years": {"2027": {"holidays": {"2027-10-01": "\\u0000"}}}}'),
    ],
)
async def test_any_bytes_in_a_body_are_a_4xx(gw: Gateway, path: str, body: bytes) -> None:
    r = await gw.http.post(path, content=body, headers={**operator(), "Content-Type": "application/json"})
    record("bad_input", f"bytes {body[:20]!r}", r.status_code, named=_names(r))
    assert 400 <= r.status_code < 500, (path, body[:40], r.status_code, r.text[:300])


def _names(r: Any, *loc: str | int) -> bool:
    """Whether a refusal names what it refuses: a field error at ``loc`` (its start), or a reason."""
    try:
        detail = r.json()["detail"]
    except (ValueError, KeyError):
        return False
    if isinstance(detail, str):
        return bool(detail.strip())
    return bool(detail) and (not loc or any(tuple(e["loc"][: len(loc)]) == loc for e in detail))
