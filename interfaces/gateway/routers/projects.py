"""Projects: register, list, show, timeline, e-licences."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict

from catalog.guide import Guide, guide_html
from eventstore import queries
from eventstore.guides import project_guide
from interfaces.client import ProjectFinished, ProjectNotFound
from interfaces.gateway.deps import Operator, ProjectId, Svc
from interfaces.gateway.errors import ERRORS
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
    responses={200: {"model": Registered, "description": "already registered: the same project"}, **ERRORS},
)
async def register(reg: RegisterProject, response: Response, svc: Svc, principal: Operator) -> Registered:
    """Register a project (签约入库); the same project id again is a no-op answered with 200."""
    workflow_id = workflow_id_for(reg.project_id)
    existing = await svc.daiban.existing_run(reg.project_id)
    if existing is not None:
        if not existing.running:
            raise ProjectFinished("project_id: this project has finished; a project id is never reused")
        response.status_code = 200
        return Registered(project_id=reg.project_id, workflow_id=workflow_id, run_id=existing.run_id, created=False)
    run_id = await svc.daiban.register(reg)
    log.info("project registered", project_id=reg.project_id, by=principal)
    return Registered(project_id=reg.project_id, workflow_id=workflow_id, run_id=run_id, created=True)


@router.get("", response_model=list[ProjectSummary])
async def list_projects(
    svc: Svc,
    query: Annotated[str, Query(description="Visibility query, e.g. DaibanOverdue = true", max_length=2000)] = "",
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


@router.get("/{project_id}/checklist", response_model=Guide, responses=ERRORS)
async def checklist(project_id: ProjectId, svc: Svc) -> Guide:
    """The one-time checklist (一次性告知清单): per matter the process, legal basis, conditions,
    materials, statutory and promised limits (working days), fee and the department's contact,
    from the catalog and zone versions the project registered under."""
    guide = await project_guide(svc.pool, project_id)
    if guide is None:
        raise ProjectNotFound(f"project_id: no registration for {project_id!r}")
    return guide


@router.get("/{project_id}/checklist.html", response_class=HTMLResponse, responses=ERRORS)
async def checklist_page(project_id: ProjectId, svc: Svc) -> HTMLResponse:
    """The one-time checklist as a printable page (server-rendered, no external assets)."""
    return HTMLResponse(guide_html(await checklist(project_id, svc)))
