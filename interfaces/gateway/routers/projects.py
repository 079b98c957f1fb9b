"""Projects: register, list, show, timeline, e-licences."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from eventstore import queries
from interfaces.client import ProjectNotFound
from interfaces.gateway.deps import PRINTABLE_PATTERN, Operator, ProjectId, Svc
from interfaces.gateway.errors import ERRORS, READ_ERRORS, REGISTRATION_ERRORS
from interfaces.usecases import register_project
from schemas.project import ProjectSummary, ProjectView, RegisterProject, workflow_id_for

log = structlog.get_logger("daiban.gateway")
router = APIRouter(prefix="/projects", tags=["projects"])


class Registered(BaseModel):
    """A registration's answer: 201 when this request started the project, 200 when it was running."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    workflow_id: str
    run_id: str
    created: bool


@router.post(
    "",
    status_code=201,
    response_model=Registered,
    responses={
        200: {"model": Registered, "description": "already registered: the same project"},
        **REGISTRATION_ERRORS,
    },
)
async def register(reg: RegisterProject, response: Response, svc: Svc, principal: Operator) -> Registered:
    """Register a project (签约入库): 201 for the one call that started it; the same registration
    again (or concurrently) is answered 200 with the same run; another body for a known project id
    is refused (409) naming the fields that differ; an unknown zone is refused (422)."""
    done = await register_project(svc.pool, svc.daiban, reg, principal)
    if done.created:
        log.info("project registered", project_id=reg.project_id, by=principal)
    else:
        response.status_code = 200
    workflow_id = workflow_id_for(reg.project_id)
    return Registered(project_id=reg.project_id, workflow_id=workflow_id, run_id=done.run_id, created=done.created)


@router.get("", response_model=list[ProjectSummary], responses=READ_ERRORS)
async def list_projects(
    svc: Svc,
    query: Annotated[
        str,
        Query(description="Visibility query, e.g. DaibanOverdue = true", max_length=2000, pattern=PRINTABLE_PATTERN),
    ] = "",
) -> list[ProjectSummary]:
    """Projects matching a visibility query, newest first."""
    return await svc.daiban.list_projects(query)


@router.get("/{project_id}", response_model=ProjectView, responses=ERRORS)
async def show(project_id: ProjectId, svc: Svc) -> ProjectView:
    """The project's full state: stage, matters, clocks, obligations, meetings."""
    return await svc.daiban.state(project_id, wait=5.0)


@router.get("/{project_id}/timeline", response_model=list[queries.TimelineEntry], responses=ERRORS)
async def timeline(project_id: ProjectId, svc: Svc) -> list[queries.TimelineEntry]:
    """The project's events from the event store, one readable line each."""
    rows = await queries.project_timeline(svc.pool, project_id)
    if not rows and await svc.daiban.existing_run(project_id) is None:
        raise ProjectNotFound(f"project_id: no project {project_id!r}")
    return rows


@router.get("/{project_id}/licences", response_model=list[queries.LicenceView], responses=ERRORS)
async def licences(project_id: ProjectId, svc: Svc) -> list[queries.LicenceView]:
    """The project's e-licences with their status: valid, suspended (owed materials overdue under
    tolerance, 国办发〔2019〕11号), lapsed (construction not started, 建筑法 §9) or revoked."""
    rows = await queries.project_licences(svc.pool, project_id)
    if not rows and await svc.daiban.existing_run(project_id) is None:
        raise ProjectNotFound(f"project_id: no project {project_id!r}")
    return rows
