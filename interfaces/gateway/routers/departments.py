"""Departments: their signed commands (``decide``, ``verify``: ``signed`` in ``schemas.commands``), their inboxes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import structlog
from fastapi import APIRouter, Request

from eventstore import queries
from interfaces.auth.principals import check_inbox
from interfaces.auth.verifying import DepartmentCommand, Operation, claim_envelope, release_envelope
from interfaces.client import CommandRejected, ProjectNotFound, with_request_id
from interfaces.gateway.deps import Caller, Code, Department, IdempotencyKey, ProjectId, Services, Svc
from interfaces.gateway.errors import DEPARTMENT_ERRORS, READ_ERRORS
from schemas import commands
from schemas.commands import Command
from schemas.project import DecisionResult

log = structlog.get_logger("daiban.gateway")
router = APIRouter()
T = TypeVar("T")
_signed: dict[str, Any] = {"response_model": DecisionResult, "tags": ["departments"], "responses": DEPARTMENT_ERRORS}


async def _admit(
    svc: Services, request: Request, caller: Any, operation: Operation, project_id: str, decision: DepartmentCommand
) -> None:
    """Check the envelope over the exact body, then claim the decision id (409 on a replay)."""
    svc.auth.check_envelope(caller, project_id, decision, await request.body())
    fresh = await claim_envelope(svc.pool, operation, project_id, decision, caller)
    log.info(
        "department envelope accepted",
        operation=operation,
        department=caller.department,
        project_id=project_id,
        decision_id=decision.decision_id,
        retry=not fresh,
    )


async def _guarded(
    svc: Services, operation: Operation, project_id: str, decision: DepartmentCommand, call: Callable[[], Awaitable[T]]
) -> T:
    """Run a department's update; give the decision id back if the project refused it."""
    try:
        return await call()
    except (CommandRejected, ProjectNotFound):
        await release_envelope(svc.pool, operation, project_id, decision)
        raise


def _endpoint(command: Command[Any, DecisionResult]) -> Callable[..., Awaitable[DecisionResult]]:
    """The route of a signed command: check the envelope, claim the decision id, send it."""

    async def endpoint(
        project_id: ProjectId,
        body: DepartmentCommand,
        request: Request,
        svc: Svc,
        caller: Department,
        key: IdempotencyKey = None,
    ) -> DecisionResult:
        decision = with_request_id(body, key)
        await _admit(svc, request, caller, command.name, project_id, decision)
        return await _guarded(
            svc, command.name, project_id, decision, lambda: svc.daiban.send(command, project_id, decision)
        )

    endpoint.__annotations__["body"] = command.request  # the command's own model, in the OpenAPI too
    endpoint.__name__ = command.name
    endpoint.__doc__ = command.description
    return endpoint


# Version 1's paths, kept as deprecated aliases.
ALIASES = {"decide": "/decisions", "verify": "/verifications"}


def _install() -> None:
    """One route per signed command of ``schemas.commands``: its name with dashes."""
    for command in (c for c in commands.ALL if c.signed):
        endpoint = _endpoint(command)
        shape: dict[str, Any] = {"methods": ["POST"], **_signed}
        router.add_api_route(f"/projects/{{project_id}}/{command.dashed}", endpoint, **shape)
        if command.name in ALIASES:
            router.add_api_route(f"/projects/{{project_id}}{ALIASES[command.name]}", endpoint, deprecated=True, **shape)


_install()


@router.get(
    "/departments/{code}/inbox", response_model=list[queries.InboxItem], tags=["reports"], responses=READ_ERRORS
)
async def inbox(
    code: Code, svc: Svc, principal: Caller, phase: Literal["acceptance", "decision"] | None = None
) -> list[queries.InboxItem]:
    """A department's open applications, oldest first: ``phase=acceptance`` those to accept (受理,
    within the matter's period to accept from receipt), ``phase=decision`` those accepted and to
    decide; both without it.
    Read by the department's own principal, or an operator or reader of every zone."""
    check_inbox(principal, code)
    rows = await queries.department_inbox(svc.pool, code)
    return [r for r in rows if phase is None or r.phase == phase]
