"""Agent and operator commands (bearer token): one route per unsigned command of ``schemas.commands``.

The route is the command's name with dashes (``supply_materials`` -> ``POST
/projects/{id}/supply-materials``), its body the command's request model, its answer the command's
answer; ``DaibanClient.send`` sends it. A new row of the table gets its route here by itself (a
signed one in ``routers/departments.py``). The paths of version 1 stay as deprecated aliases
(``ALIASES``).
"""

# No ``from __future__ import annotations``: the routes' annotations are built at run time.

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from interfaces.auth.principals import Principal, check_by, check_command
from interfaces.client import with_request_id
from interfaces.gateway.deps import ID_PATTERN, Caller, IdempotencyKey, ProjectId, Svc, project_team
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


def _endpoint(command: Command[Any, Any]) -> Callable[..., Awaitable[Any]]:
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
