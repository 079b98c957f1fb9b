"""Whatever the schemas accept, every edge keeps (issue 14's property test), through the real services.

Hypothesis generates values from the bounded models themselves (``strategy_for``: each field's
JSON schema as the OpenAPI shows it, its pattern, length, range, enum and list bounds, the free
text drawn from any Unicode the types let through; what a model's own validators refuse is
filtered out). Then:

- every command of ``schemas.commands``: the typed client's check passes (``checked``, within
  ``MAX_MESSAGE_BYTES``), the pydantic data converter encodes it into a Temporal payload within the
  limit and decodes it unchanged, and the gateway accepts its JSON as input (any answer but a 422
  or a 5xx: the project does not exist, or the caller is not the body's ``by``);
- registrations with any name and enterprise the types accept, and a withdrawal with any reason:
  registered through the gateway and started as a real workflow (not wedged: it leaves
  registration and answers its state), stored as domain events in PostgreSQL, projected into the
  read models, shown by the CLI's human output (``project show``, ``project timeline``) and the
  gateway's JSON, and sent to Temporal (the start input's payload within the limit).

``tests/eventstore/test_bounded_inputs.py`` drives the same kind of values through the pure lifecycle
(carried state, several commands) without servers.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from temporalio.client import WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter

from eventstore import queries
from eventstore.projector import Projector
from interfaces.auth import signed_headers
from interfaces.cli import common
from interfaces.cli.project import render_view
from interfaces.client import checked
from schemas import bounded, commands
from schemas.project import ProjectView, RegisterProject
from tests.eventstore.test_bounded_inputs import names
from tests.interfaces.conftest import DEPARTMENT_KEYS, Gateway, operator, wait_registered
from tests.interfaces.tally import record

# Free text: any code point but surrogates and NUL, then what the field's type refuses is filtered out.
_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def _from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of one JSON schema (the subset pydantic writes for daiban's bounded types)."""
    if "$ref" in schema:
        return _from_schema(defs[schema["$ref"].split("/")[-1]], defs)
    if "anyOf" in schema:
        return st.one_of(*(_from_schema(s, defs) for s in schema["anyOf"]))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**63)), schema.get("maximum", 2**63 - 1))
    if kind == "number":
        low, high = schema.get("minimum", schema.get("exclusiveMinimum", 0)), schema.get("maximum", 10**6)
        step = schema.get("multipleOf")
        if step:
            return st.integers(int(low / step), int(high / step)).map(lambda n: n * step)
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if kind == "string":
        if schema.get("format") == "date-time":
            return st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat())
        if "pattern" in schema:
            pattern = schema["pattern"].removeprefix("^").removesuffix("$")
            return st.from_regex(re.compile(pattern), fullmatch=True).filter(
                lambda v: schema.get("minLength", 0) <= len(v) <= schema.get("maxLength", 10**6)
            )
        return st.text(_CHARS, min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 200), 400))
    if kind == "array":
        return st.lists(
            _from_schema(schema.get("items", {}), defs),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 5), 5),
        )
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", []))
        fields = {
            name: _from_schema(sub, defs) if name in required else st.none() | _from_schema(sub, defs)
            for name, sub in schema["properties"].items()
        }
        return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not None})
    return st.just(None)


def strategy_for(model: type[BaseModel]) -> st.SearchStrategy[BaseModel]:
    """Instances of ``model`` drawn from its JSON schema; what its validators refuse is filtered out."""
    schema = model.model_json_schema()

    def build(data: dict[str, Any]) -> BaseModel | None:
        try:
            return model.model_validate(data)
        except ValidationError:
            return None

    return _from_schema(schema, schema.get("$defs", {})).map(build).filter(lambda m: m is not None)  # type: ignore[return-value]


def _payload_size(value: Any) -> int:
    payload = pydantic_data_converter.payload_converter.to_payloads([value])[0]
    return len(payload.SerializeToString())


COMMAND_EXAMPLES = 8
_SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def examples(model: type[BaseModel], n: int) -> list[BaseModel]:
    """``n`` instances of ``model`` drawn by hypothesis (``strategy_for``)."""
    drawn: list[BaseModel] = []

    @settings(_SETTINGS, max_examples=n)
    @given(strategy_for(model))
    def collect(value: BaseModel) -> None:
        drawn.append(value)

    collect()
    return drawn


async def test_every_command_the_schemas_accept_is_checked_encoded_and_taken_by_the_gateway(gw: Gateway) -> None:
    answers: dict[int, int] = {}
    for command in commands.ALL:
        drawn = examples(command.request, COMMAND_EXAMPLES)
        assert drawn, command.name
        for cmd in drawn:
            # The typed client's own check passes, and Temporal's payload carries it unchanged.
            assert checked(cmd) == cmd
            assert _payload_size(cmd) < bounded.MAX_MESSAGE_BYTES
            payload = pydantic_data_converter.payload_converter.to_payloads([cmd])[0]
            assert command.request.model_validate_json(payload.data) == cmd
            # The gateway takes it as input: whatever it answers, never a 422 or a 5xx.
            body = cmd.model_dump_json().encode()
            headers = {**operator(), "Content-Type": "application/json"}
            if command.signed:
                department = str(getattr(cmd, "department", ""))
                secret = DEPARTMENT_KEYS.get(department, "unknown-department")
                headers = {
                    **signed_headers(secret, department, "no-such-project", body),
                    "Content-Type": "application/json",
                }
            r = await gw.http.post(f"/projects/no-such-project/{command.dashed}", content=body, headers=headers)
            answers[r.status_code] = answers.get(r.status_code, 0) + 1
            assert r.status_code != 422 and r.status_code < 500, (command.name, cmd, r.status_code, r.text)
    assert sum(answers.values()) >= len(commands.ALL), answers


@st.composite
def registrations(draw: st.DrawFn) -> tuple[RegisterProject, str]:
    reg = draw(strategy_for(RegisterProject))
    data = reg.model_dump()
    # The zone and the people from the gateway's data (the zone is checked against PostgreSQL's
    # zones; the caller must be the withdrawal's by); any name and enterprise the types accept.
    data.update(zone="tunliu", agent="agent-li", backup_agent="agent-wang", project_lead="lead-zhao")
    data.update(name=draw(names), enterprise=draw(names), regional_assessments=[], project_type="general")
    data["project_id"] = f"{data['project_id'][:40]}-{draw(st.uuids()).hex[:8]}"
    return RegisterProject.model_validate(data), draw(names)


@settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(drawn=registrations())
async def test_registrations_the_schemas_accept_are_started_stored_projected_and_shown(
    gw: Gateway, pg_pool: asyncpg.Pool, drawn: tuple[RegisterProject, str]
) -> None:
    reg, reason = drawn
    pid = reg.project_id
    # Sent to Temporal: the gateway starts the real workflow; the start input is within the limit.
    body = json.dumps(reg.model_dump(mode="json"), ensure_ascii=False).encode()
    r = await gw.http.post("/projects", content=body, headers={**operator(), "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    handle = gw.harness.client.get_workflow_handle(f"project-{pid}")
    gw.harness.started.append(handle)
    view = ProjectView.model_validate(await wait_registered(gw, pid))  # not wedged: it left registration
    assert (view.name, view.enterprise) == (reg.name, reg.enterprise)
    r = await gw.http.post(f"/projects/{pid}/withdraw", json={"reason": reason, "by": "operator"}, headers=operator())
    assert r.status_code == 200, r.text
    # Stored: the events in PostgreSQL, read back through the gateway's timeline (JSON).
    timeline: list[dict[str, Any]] = []
    for _ in range(100):
        t = await gw.http.get(f"/projects/{pid}/timeline", headers=operator())
        assert t.status_code == 200, t.text
        timeline = t.json()
        if any(e["event_type"] == "ProjectWithdrawn" for e in timeline):
            break
        await asyncio.sleep(0.1)
    assert {"ProjectRegistered", "ProjectWithdrawn"} <= {e["event_type"] for e in timeline}, timeline
    # Projected into the read models, nothing quarantined.
    projector = Projector(pg_pool)
    while await projector.run_once():
        pass
    row = await queries.get_project(pg_pool, pid)
    assert row is not None and row.name == reg.name and row.enterprise == reg.enterprise
    quarantined = await pg_pool.fetchval(
        "SELECT count(*) FROM projection_quarantine WHERE stream_id = $1 AND resolved_at IS NULL", pid
    )
    assert quarantined == 0
    # Shown: the gateway's JSON of the project and the CLI's human output of show and timeline.
    shown = await gw.http.get(f"/projects/{pid}", headers=operator())
    assert shown.status_code == 200 and shown.json()["name"] == reg.name
    final = ProjectView.model_validate(shown.json())
    with common.out.capture() as captured:
        render_view(final)
        common.table(await queries.project_timeline(pg_pool, pid), ["version", "occurred_at", "event_type", "summary"])
    text = captured.get()
    assert pid in text and "ProjectWithdrawn" in text
    # Sent to Temporal: the start's payload as stored in the history, within the limit; the run is
    # not wedged (no workflow task failing), the withdrawal ended it.
    history = await handle.fetch_history()
    start = history.events[0].workflow_execution_started_event_attributes
    assert 0 < start.input.payloads[0].ByteSize() < bounded.MAX_MESSAGE_BYTES
    assert not any(e.HasField("workflow_task_failed_event_attributes") for e in history.events)
    description = await handle.describe()
    assert description.status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED)
    record("accepted", f"generated registration {pid}", 201, generated=True)
