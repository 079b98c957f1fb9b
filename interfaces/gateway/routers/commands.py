"""Agent and operator commands (bearer token): one route per update of ``ProjectWorkflow``.

The route is the update's name with dashes (``supply_materials`` -> ``POST
/projects/{id}/supply-materials``), its body the update's input model, its answer the update's
result; ``DaibanClient.command`` sends it (the typed method of the same name is its shortcut).
A new update of the workflow gets its route here by itself. The paths of version 1 stay as
deprecated aliases (``ALIASES``).
"""

# No ``from __future__ import annotations``: the routes' annotations are built at run time.

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from temporalio import workflow

from interfaces.client import with_request_id
from interfaces.gateway.deps import ID_PATTERN, IdempotencyKey, Operator, ProjectId, Svc
from interfaces.gateway.errors import ERRORS
from schemas.project import Ack, ResolveMeeting
from workflows.project import ProjectWorkflow

log = structlog.get_logger("daiban.gateway")
router = APIRouter(prefix="/projects/{project_id}", tags=["agents and operators"])

# Updates a department sends, signed (routers/departments.py).
DEPARTMENT_UPDATES = ("decide", "verify")
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


def path_of(update: str) -> str:
    """The route of update ``update``: its name with dashes."""
    return "/" + update.replace("_", "-")


async def _send(svc: Any, update: str, project_id: str, cmd: BaseModel, principal: str) -> Any:
    log.info("operator command", command=update, project_id=project_id, by=principal)
    return await svc.daiban.command(update, project_id, cmd)


def _endpoint(update: str, model: type[BaseModel], description: str) -> Callable[..., Awaitable[Any]]:
    async def endpoint(
        project_id: ProjectId, body: BaseModel, svc: Svc, principal: Operator, key: IdempotencyKey = None
    ) -> Any:
        return await _send(svc, update, project_id, with_request_id(body, key), principal)

    endpoint.__annotations__["body"] = model  # the update's own input model, in the OpenAPI too
    endpoint.__name__ = update
    endpoint.__doc__ = description
    return endpoint


def _install() -> None:
    defn = workflow._Definition.must_from_class(ProjectWorkflow)
    for update, u in sorted(defn.updates.items()):
        if not update or update in DEPARTMENT_UPDATES or not u.arg_types:
            continue
        endpoint = _endpoint(update, u.arg_types[0], u.description or update)
        shape: dict[str, Any] = {"methods": ["POST"], "response_model": u.ret_type, "responses": ERRORS}
        router.add_api_route(path_of(update), endpoint, **shape)
        if update in ALIASES:
            router.add_api_route(ALIASES[update], endpoint, deprecated=True, **shape)


_install()


@router.post("/meetings/{meeting_id}/resolution", response_model=Ack, responses=ERRORS, deprecated=True)
async def resolve_meeting_v1(
    project_id: ProjectId,
    meeting_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
    body: ResolveMeeting,
    svc: Svc,
    principal: Operator,
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
    ack: Ack = await _send(svc, "resolve_meeting", project_id, with_request_id(body, key), principal)
    return ack
