"""Departments: signed decisions and verifications (``decide``, ``verify``), and their inboxes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from fastapi import APIRouter, Request

from eventstore import queries
from interfaces.auth.verifying import DepartmentCommand, Operation, claim_envelope, release_envelope
from interfaces.client import CommandRejected, ProjectNotFound, with_request_id
from interfaces.gateway.deps import Code, Department, IdempotencyKey, ProjectId, Services, Svc
from interfaces.gateway.errors import DEPARTMENT_ERRORS
from schemas.project import Decision, DecisionResult, Verification

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


async def decide(
    project_id: ProjectId,
    decision: Decision,
    request: Request,
    svc: Svc,
    caller: Department,
    key: IdempotencyKey = None,
) -> DecisionResult:
    """A department's decision on its matter; retry-safe by decision id."""
    decision = with_request_id(decision, key)
    await _admit(svc, request, caller, "decide", project_id, decision)
    return await _guarded(svc, "decide", project_id, decision, lambda: svc.daiban.decide(project_id, decision))


async def verify(
    project_id: ProjectId,
    verification: Verification,
    request: Request,
    svc: Svc,
    caller: Department,
    key: IdempotencyKey = None,
) -> DecisionResult:
    """A department's after-the-fact verification of a commitment-based approval."""
    verification = with_request_id(verification, key)
    await _admit(svc, request, caller, "verify", project_id, verification)
    return await _guarded(svc, "verify", project_id, verification, lambda: svc.daiban.verify(project_id, verification))


# The route is the update's name; the paths of version 1 stay, deprecated.
router.add_api_route("/projects/{project_id}/decide", decide, methods=["POST"], **_signed)
router.add_api_route("/projects/{project_id}/verify", verify, methods=["POST"], **_signed)
router.add_api_route("/projects/{project_id}/decisions", decide, methods=["POST"], deprecated=True, **_signed)
router.add_api_route("/projects/{project_id}/verifications", verify, methods=["POST"], deprecated=True, **_signed)


@router.get("/departments/{code}/inbox", response_model=list[queries.InboxItem], tags=["reports"])
async def inbox(code: Code, svc: Svc) -> list[queries.InboxItem]:
    """A department's open applications, oldest first."""
    return await queries.department_inbox(svc.pool, code)
