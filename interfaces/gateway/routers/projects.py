"""Projects: register, list, show, timeline, e-licences."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict

from catalog.guide import Guide, guide_html
from eventstore import queries
from eventstore.contacts import contact_stored_by, fetch_contact, store_contact
from eventstore.guides import project_guide
from interfaces.auth.principals import (
    check_contact,
    check_read_project,
    check_register,
    readable_zones,
    team_of,
    zone_clause,
)
from interfaces.auth.verifying import AuthError
from interfaces.client import InvalidQuery, ProjectNotFound
from interfaces.gateway.deps import PRINTABLE_PATTERN, Caller, ProjectId, Svc, project_team
from interfaces.gateway.errors import ERRORS, READ_ERRORS, REGISTRATION_ERRORS
from interfaces.usecases import RegistrationConflict, register_project
from schemas import visibility
from schemas.contact import EnterpriseContact
from schemas.project import ProjectSummary, ProjectView, RegisterProject, workflow_id_for

log = structlog.get_logger("daiban.gateway")
router = APIRouter(prefix="/projects", tags=["projects"])


class Registration(RegisterProject):
    """A registration through the gateway: ``RegisterProject`` and, optionally, the enterprise's
    ``contact`` (personal data: stored encrypted in PostgreSQL, never sent to Temporal)."""

    contact: EnterpriseContact | None = None


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
async def register(body: Registration, response: Response, svc: Svc, principal: Caller) -> Registered:
    """Register a project (签约入库): 201 for the one call that started it; the same registration
    again (or concurrently) is answered 200 with the same run; another body for a known project id
    is refused (409) naming the fields that differ (only ``zone`` when it is held in a zone outside
    the caller's); an unknown zone is refused (422). The contact, when given, is stored encrypted
    with the registration; for a known project id it is 409 unless the caller stored that same
    contact (another's contact is read and changed through ``/projects/{id}/contact``)."""
    check_register(principal, body.zone)
    reg = RegisterProject.model_validate(body.model_dump(exclude={"contact"}))
    if body.contact is not None and svc.contacts is None:
        raise AuthError(403, "contact: no DAIBAN_CONTACT_KEYS configured: personal data is not stored in plaintext")
    done = await register_project(svc.pool, svc.daiban, reg, principal.name, covers=principal.covers)
    if body.contact is not None and svc.contacts is not None:
        stored = await store_contact(svc.pool, svc.contacts, reg.project_id, body.contact, principal.name)
        # Only the principal that stored the contact learns whether a contact it sends again is the
        # same (its own retry): to anyone else, whose registrar role does not read contacts, a match
        # and a mismatch answer alike, or a registration would test guesses of personal data.
        if stored != body.contact or await contact_stored_by(svc.pool, reg.project_id) != principal.name:
            raise RegistrationConflict(reg.project_id, ["contact"])
    if done.created:
        log.info("project registered", project_id=reg.project_id, by=principal.name)
    else:
        response.status_code = 200
    workflow_id = workflow_id_for(reg.project_id)
    return Registered(project_id=reg.project_id, workflow_id=workflow_id, run_id=done.run_id, created=done.created)


@router.get("", response_model=list[ProjectSummary], responses=READ_ERRORS)
async def list_projects(
    svc: Svc,
    principal: Caller,
    query: Annotated[
        str,
        Query(description="Visibility query, e.g. DaibanOverdue = true", max_length=2000, pattern=PRINTABLE_PATTERN),
    ] = "",
) -> list[ProjectSummary]:
    """Projects matching a visibility query, newest first (an operator's or reader's zones only)."""
    zones = readable_zones(principal)
    if zones is not None:
        # The caller's query goes inside parentheses after the zone clause: it must not close them
        # (``x) OR (DaibanZone = 'other'`` would list another zone's projects).
        bad = visibility.self_contained(query)
        if bad is not None:
            raise InvalidQuery(f"query: {bad}: a filter stays within its own parentheses")
        query = f"({zone_clause(zones)})" + (f" AND ({query})" if query.strip() else "")
    return await svc.daiban.list_projects(query)


@router.get("/{project_id}", response_model=ProjectView, responses=ERRORS)
async def show(project_id: ProjectId, svc: Svc, principal: Caller) -> ProjectView:
    """The project's full state: stage, matters, clocks, obligations, meetings."""
    view = await svc.daiban.state(project_id, wait=5.0)
    check_read_project(principal, team_of(view))
    return view


@router.get("/{project_id}/timeline", response_model=list[queries.TimelineEntry], responses=ERRORS)
async def timeline(project_id: ProjectId, svc: Svc, principal: Caller) -> list[queries.TimelineEntry]:
    """The project's events from the event store, one readable line each."""
    check_read_project(principal, await project_team(svc, project_id))
    rows = await queries.project_timeline(svc.pool, project_id)
    if not rows and await svc.daiban.existing_run(project_id) is None:
        raise ProjectNotFound(f"project_id: no project {project_id!r}")
    return rows


@router.get("/{project_id}/licences", response_model=list[queries.LicenceView], responses=ERRORS)
async def licences(project_id: ProjectId, svc: Svc, principal: Caller) -> list[queries.LicenceView]:
    """The project's e-licences with their status: valid, suspended (owed materials overdue under
    tolerance, 国办发〔2019〕11号), lapsed (construction not started, 建筑法 §9) or revoked."""
    check_read_project(principal, await project_team(svc, project_id))
    rows = await queries.project_licences(svc.pool, project_id)
    if not rows and await svc.daiban.existing_run(project_id) is None:
        raise ProjectNotFound(f"project_id: no project {project_id!r}")
    return rows


@router.get("/{project_id}/contact", response_model=EnterpriseContact, responses=ERRORS)
async def contact(project_id: ProjectId, svc: Svc, principal: Caller) -> EnterpriseContact:
    """The enterprise's contact (personal data): the project's agent, backup, lead or an operator of
    its zone only; each read is logged with the principal (not the values). 404 when none is stored."""
    check_contact(principal, await project_team(svc, project_id))
    found = None if svc.contacts is None else await fetch_contact(svc.pool, svc.contacts, project_id)
    if found is None:
        raise ProjectNotFound(f"contact: no contact stored for {project_id!r}")
    log.info("contact read", project_id=project_id, principal=principal.name)
    return found


@router.get("/{project_id}/checklist", response_model=Guide, responses=ERRORS)
async def checklist(project_id: ProjectId, svc: Svc, principal: Caller) -> Guide:
    """The one-time checklist (一次性告知清单): per matter the process, legal basis, conditions,
    materials, statutory and promised limits (working days), fee and the department's contact,
    from the catalog and zone versions the project registered under."""
    check_read_project(principal, await project_team(svc, project_id))
    guide = await project_guide(svc.pool, project_id)
    if guide is None:
        raise ProjectNotFound(f"project_id: no registration for {project_id!r}")
    return guide


# The page's errors are JSON like every other answer's (documented so, beside the page's text/html).
_PAGE_ERRORS = {code: {**spec, "content": {"application/json": {}}} for code, spec in ERRORS.items()}


@router.get("/{project_id}/checklist.html", response_class=HTMLResponse, responses=_PAGE_ERRORS)
async def checklist_page(project_id: ProjectId, svc: Svc, principal: Caller) -> HTMLResponse:
    """The one-time checklist as a printable page (server-rendered, no external assets)."""
    return HTMLResponse(guide_html(await checklist(project_id, svc, principal)))
