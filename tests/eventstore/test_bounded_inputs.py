"""Whatever the schemas accept can be kept (issue 14): stored, projected, shown and sent to Temporal.

Hypothesis generates registrations and commands from the bounded types (``schemas.bounded``):
any length within bounds, any Unicode the types let through (4-byte characters, format
characters inside visible text, noncharacters), any number in range. Each one is driven through
the pure lifecycle, its events appended to PostgreSQL and projected into the read models with
nothing quarantined, shown (timeline, project row, the workflow's view), and encoded as the
Temporal payloads that carry it (start input, carried state, update) and decoded back unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter

from eventstore import queries
from eventstore.projector import Projector
from eventstore.store import append
from schemas import bounded
from schemas.project import (
    Decision,
    ReassignAgent,
    RegisterProject,
    Withdraw,
)
from tests import support as sp
from workflows.start import ProjectInput, decode_input

_NAME = TypeAdapter(bounded.Name)
# Every code point but the ones a text can never hold (C0/C1 controls, surrogates): what is left
# is filtered by the type itself.
_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def _valid(adapter: TypeAdapter[Any]) -> Any:
    def check(value: str) -> bool:
        try:
            adapter.validate_python(value)
        except ValidationError:
            return False
        return True

    return check


names = st.one_of(
    st.text(_CHARS, min_size=1, max_size=bounded.NAME_MAX),
    st.text(st.sampled_from("项目厂房\U0001f3ed\u200b\ufeff \ufffe\uffffA"), min_size=1, max_size=bounded.NAME_MAX),
).filter(_valid(_NAME))
identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)


@st.composite
def registrations(draw: st.DrawFn) -> RegisterProject:
    agent = draw(identifiers)
    backup = draw(identifiers.filter(lambda a: a != agent))
    return RegisterProject(
        project_id=draw(identifiers),
        name=draw(names),
        enterprise=draw(names),
        zone=draw(st.sampled_from(sorted(sp.lifecycle_zones()))),
        project_type=draw(st.sampled_from(["general", "key"])),
        investment_yuan=draw(st.integers(0, bounded.YUAN_MAX)),
        standard_land_parcel=draw(st.booleans()),
        special_construction=draw(st.booleans()),
        agent=agent,
        backup_agent=backup,
        project_lead=draw(identifiers),
    )


def _round_trip(value: Any) -> Any:
    """``value`` as Temporal carries it: encoded by daiban's converter, decoded by the same."""
    payload = pydantic_data_converter.payload_converter.to_payloads([value])[0]
    assert len(payload.data) < bounded.MAX_MESSAGE_BYTES * 8
    return payload


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(reg=registrations(), text=names, reasons=st.lists(names, min_size=1, max_size=20))
async def test_what_the_schemas_accept_is_stored_projected_shown_and_sent(
    pg_pool: asyncpg.Pool, reg: RegisterProject, text: str, reasons: list[str]
) -> None:
    # A fresh project id per example: hypothesis may draw the same one twice.
    reg = reg.model_copy(update={"project_id": f"{reg.project_id[:40]}-{sp.rid()}"})
    m = sp.machine(reg.zone, reg=reg, clear=False)
    at = sp.T0
    pending = next(code for code, matter in m.state.matters.items() if matter.state == "pending")
    commands: list[tuple[str, Any]] = [
        (
            "decide",
            Decision(
                decision_id=sp.rid(),
                department=sp.department_of(pending),
                matter_code=pending,
                kind="reject",
                decided_by=text,
                reasons=reasons,
            ),
        ),
        ("reassign_agent", ReassignAgent(to_agent=reg.backup_agent, by=reg.agent, reason=text, request_id=sp.rid())),
        ("withdraw", Withdraw(reason=text, by=reg.agent, request_id=sp.rid())),
    ]
    for name, cmd in commands:
        # Sent to Temporal as an update: encodes, and decodes to the same command.
        payload = _round_trip(cmd)
        assert type(cmd).model_validate_json(payload.data) == cmd
        m.check(name, cmd, at)
        m.execute(name, cmd, at)

    # Stored: every event the project produced, in PostgreSQL.
    events = list(m.state.pending_events)
    assert {"ProjectRegistered", "MatterRejected", "AgentReassigned", "ProjectWithdrawn"} <= {
        e.event_type for e in events
    }
    assert await append(pg_pool, events) == len(events)
    # Projected, with nothing quarantined.
    projector = Projector(pg_pool)
    while await projector.run_once():
        pass
    quarantined = await pg_pool.fetchval(
        "SELECT count(*) FROM projection_quarantine WHERE stream_id = $1 AND resolved_at IS NULL", reg.project_id
    )
    assert quarantined == 0
    # Shown: the project row, its timeline, the workflow's view.
    row = await queries.get_project(pg_pool, reg.project_id)
    assert row is not None and row.name == reg.name and row.investment_yuan == reg.investment_yuan
    assert len(await queries.project_timeline(pg_pool, reg.project_id)) == len(events)
    view = m.view(datetime.now(tz=sp.T0.tzinfo))
    view.model_dump_json()
    # Sent to Temporal: the start input and the carried state decode back unchanged.
    carried = ProjectInput(registration=reg, carried=m.state)
    for inp in (ProjectInput(registration=reg), carried):
        decoded, errors = decode_input(RawValue(_round_trip(inp)))
        assert errors == [] and decoded == inp
