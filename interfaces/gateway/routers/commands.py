"""Agent and operator commands (bearer token): one route per unsigned command of ``schemas.commands``.

The route is the command's name with dashes (``supply_materials`` -> ``POST
/projects/{id}/supply-materials``), its body the command's request model, its answer the command's
answer; ``DaibanClient.send`` sends it. A new row of the table gets its route here by itself (a
signed one in ``routers/departments.py``). The paths of version 1 stay as deprecated aliases
(``ALIASES``).

A department's clock commands (``stop_clock``, ``resume_clock``, ``extend_limit``:
``DEPARTMENT_COMMANDS``) take either the department's principal (bearer token) or the department's
signed envelope, the headers its decisions carry (``interfaces.auth``), so a department system
sends them as it sends decisions; either way only the department named in the body.
"""

# No ``from __future__ import annotations``: the routes' annotations are built at run time.

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from eventstore import envelopes
from interfaces.auth.principals import DEPARTMENT_COMMANDS, Principal, check_by, check_command
from interfaces.auth.verifying import AuthError, DepartmentCaller, decision_digest
from interfaces.client import CommandRejected, ProjectNotFound, with_request_id
from interfaces.gateway.deps import (
    ID_PATTERN,
    Caller,
    IdempotencyKey,
    MaybeCaller,
    MaybeDepartment,
    ProjectId,
    Svc,
    project_team,
)
from interfaces.gateway.errors import ERRORS
from schemas import commands
from schemas.commands import Command
from schemas.project import Ack, ResolveMeeting

log = structlog.get_logger("daiban.gateway")
router = APIRouter(prefix="/projects/{project_id}", tags=["agents and operators"])

# Version 1's paths, kept as deprecated aliases (resolve_meeting's is its own route, below).
ALIASES = {
    "supply_materials": "/materials",
    "resubmit": "/resubmissions",
    "stop_clock": "/clock/stop",
    "resume_clock": "/clock/resume",
    "extend_limit": "/extensions",
    "reassign_agent": "/agent",
    "report_progress": "/progress",
    "withdraw": "/withdrawal",
}


async def _send(svc: Any, command: Command[Any, Any], project_id: str, cmd: BaseModel, principal: Principal) -> Any:
    """Authorize (``interfaces.auth.principals``: ``by`` is the principal, the project in its scope), then send."""
    if "by" in type(cmd).model_fields:
        check_by(principal, getattr(cmd, "by", None))
    team = await project_team(svc, project_id)
    check_command(principal, command.name, team, getattr(cmd, "department", None))
    log.info("operator command", command=command.name, project_id=project_id, principal=principal.name)
    return await svc.daiban.send(command, project_id, cmd)


async def _send_signed(
    svc: Any, command: Command[Any, Any], project_id: str, cmd: BaseModel, signer: DepartmentCaller, body: bytes
) -> Any:
    """A department's clock command under its signed envelope (as its decisions are signed).

    The envelope's ``decision_id`` is the command's ``request_id`` (required: it is what a replay would
    repeat); the signature covers the exact body (401), the body's department must be the signer (403),
    and the id is claimed in ``gateway_envelopes`` like a decision's (409 for another command under it;
    given back when the project refuses the command).
    """
    request_id = getattr(cmd, "request_id", None)
    if request_id is None:
        msg = "a signed command names its request_id (the envelope's decision_id) or an Idempotency-Key"
        raise RequestValidationError([{"type": "missing", "loc": ("body", "request_id"), "msg": msg}])
    department, matter = str(getattr(cmd, "department", "")), str(getattr(cmd, "matter_code", ""))
    svc.auth.check_signed(signer, project_id, request_id, matter, department, body)
    digest = decision_digest(command.name, cmd)
    claim = {"project_id": project_id, "decision_id": request_id, "department": department, "digest": digest}
    uses = await envelopes.claim_envelope(
        svc.pool,
        **claim,
        operation=command.name,
        matter_code=matter,
        signature=signer.signature,
        expires_at=signer.expires_at,
    )
    if uses is None:
        raise AuthError(
            409,
            f"request_id: {request_id} was already used for another signed command of {department} on this project "
            "(replay refused); use a new request id",
            department=department,
            project_id=project_id,
            decision_id=request_id,
        )
    log.info(
        "department envelope accepted",
        operation=command.name,
        department=department,
        project_id=project_id,
        request_id=request_id,
        retry=uses > 1,
    )
    try:
        return await svc.daiban.send(command, project_id, cmd)
    except (CommandRejected, ProjectNotFound):
        await envelopes.release_envelope(svc.pool, **claim)
        raise


def _department_endpoint(command: Command[Any, Any]) -> Callable[..., Awaitable[Any]]:
    """A department clock command: the department's signed envelope, or its principal's bearer token."""

    async def endpoint(
        project_id: ProjectId,
        body: BaseModel,
        request: Request,
        svc: Svc,
        principal: MaybeCaller,
        signer: MaybeDepartment,
        key: IdempotencyKey = None,
    ) -> Any:
        cmd = with_request_id(body, key)
        if signer is not None:
            if principal is not None:
                raise AuthError(401, "send the department's signature or a bearer token, not both")
            return await _send_signed(svc, command, project_id, cmd, signer, await request.body())
        if principal is None:
            raise AuthError(
                401, f"{command.name} needs the department's signature (X-Daiban-*) or its principal's bearer token"
            )
        return await _send(svc, command, project_id, cmd, principal)

    endpoint.__annotations__["body"] = command.request
    endpoint.__name__ = command.name
    endpoint.__doc__ = (
        f"{command.description} Only the department named in the body: signed with its key as its decisions "
        "are (the envelope's decision_id is the request_id), or with its principal's bearer token."
    )
    return endpoint


def _endpoint(command: Command[Any, Any]) -> Callable[..., Awaitable[Any]]:
    if command.name in DEPARTMENT_COMMANDS:
        return _department_endpoint(command)

    async def endpoint(
        project_id: ProjectId, body: BaseModel, svc: Svc, principal: Caller, key: IdempotencyKey = None
    ) -> Any:
        return await _send(svc, command, project_id, with_request_id(body, key), principal)

    endpoint.__annotations__["body"] = command.request  # the command's own model, in the OpenAPI too
    endpoint.__name__ = command.name
    endpoint.__doc__ = command.description
    return endpoint


def _install() -> None:
    for command in sorted(commands.ALL, key=lambda c: c.name):
        if command.signed:
            continue
        endpoint = _endpoint(command)
        shape: dict[str, Any] = {"methods": ["POST"], "response_model": command.answer, "responses": ERRORS}
        router.add_api_route(f"/{command.dashed}", endpoint, **shape)
        if command.name in ALIASES:
            router.add_api_route(ALIASES[command.name], endpoint, deprecated=True, **shape)


_install()


@router.post("/meetings/{meeting_id}/resolution", response_model=Ack, responses=ERRORS, deprecated=True)
async def resolve_meeting_v1(
    project_id: ProjectId,
    meeting_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
    body: ResolveMeeting,
    svc: Svc,
    principal: Caller,
    key: IdempotencyKey = None,
) -> Ack:
    """Record a joint meeting's (联席会议) resolution (version 1's path: use ``resolve-meeting``)."""
    if body.meeting_id != meeting_id:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "meeting_id"),
                    "input": body.meeting_id,
                    "msg": f"must match the meeting in the path ({meeting_id})",
                }
            ]
        )
    ack: Ack = await _send(svc, commands.RESOLVE_MEETING, project_id, with_request_id(body, key), principal)
    return ack
