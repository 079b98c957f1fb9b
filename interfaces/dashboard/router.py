"""The dashboard's pages (read-only): login, the zone overview, a project's page, its flowchart.

``GET /dashboard`` (``?zone=CODE`` for one zone): the chart panels (``panels.PANELS``), the overdue
board (how late in working days past the deadline, a breach on a provisional deadline marked) and
the projects; ``GET /dashboard/projects/{id}``: the project's matters, Gantt, standard
flowchart, licences and timeline; ``GET /dashboard/projects/{id}/flowchart.svg``: the flowchart alone.
Without a session every page redirects (303) to ``/dashboard/login``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from catalog.flowchart import STAGE_NAMES, flowchart_svg
from eventstore import pictures, queries
from interfaces.auth.verifying import AuthError
from interfaces.dashboard import charts, session
from interfaces.dashboard.panels import PANELS
from interfaces.gateway.deps import ProjectId, Svc
from legalclock import CST

log = structlog.get_logger("daiban.dashboard")
router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _cst(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(CST).strftime("%Y-%m-%d %H:%M")


templates.env.filters["cst"] = _cst
templates.env.globals["stage_name"] = lambda s: STAGE_NAMES.get(s, s)


def _tokens(svc: Svc) -> dict[str, str]:
    return svc.auth.operator_tokens


def _principal(request: Request, svc: Svc) -> str | None:
    """The session's principal when it may read the dashboard now: an operator or reader of every
    zone (as at login; checked on every request, since any principal can sign a cookie for itself
    with its own token, and its roles may have changed since it logged in)."""
    name = session.verify(request.cookies.get(session.COOKIE), _tokens(svc))
    if name is None:
        return None
    found = svc.auth.principals.get(name)
    if found is None:
        return None
    who = found[1]
    return name if (who.has("operator") or who.has("reader")) and who.all_zones else None


def _to_login() -> RedirectResponse:
    return RedirectResponse("/dashboard/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    """The login form: a read credential of every zone (an operator's or reader's token, ``DAIBAN_PRINCIPALS``)."""
    return templates.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, svc: Svc) -> Response:
    """Check the token of the form (``application/x-www-form-urlencoded``, field ``token``); on success
    a session cookie (HttpOnly, SameSite=Strict) and a redirect to the overview, else the form, 401."""
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    try:
        found = svc.auth.principal(token)
    except AuthError:
        return templates.TemplateResponse(
            request, "login.html", {"error": "Unknown token: use a read credential of this gateway."}, status_code=401
        )
    # The dashboard shows every zone: an operator or reader of every zone (interfaces.auth.principals).
    if not ((found.has("operator") or found.has("reader")) and found.all_zones):
        log.warning(
            "gateway request rejected",
            status=403,
            principal=found.name,
            path="/dashboard/login",
            reason="the dashboard shows every zone: an operator or reader of every zone",
        )
        return templates.TemplateResponse(
            request, "login.html", {"error": "This credential may not read every zone."}, status_code=403
        )
    principal = found.name
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        session.COOKIE,
        session.issue(principal, token),
        max_age=session.SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/dashboard",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    """End the session."""
    response = _to_login()
    response.delete_cookie(session.COOKIE, path="/dashboard")
    return response


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, svc: Svc, zone: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """The zone overview: funnel, overdue board, department rates, projects."""
    principal = _principal(request, svc)
    if principal is None:
        return _to_login()
    zone = zone or None
    now = datetime.now(UTC)
    zones = [z.zone for z in await queries.zone_report(svc.pool)]
    panels = [(p, await p.svg(svc.pool, zone, now)) for p in PANELS]
    late = await queries.overdue(svc.pool, now=now, zone=zone)
    return templates.TemplateResponse(
        request,
        "overview.html",
        {
            "principal": principal,
            "zone": zone,
            "zones": zones,
            "panels": panels,
            # Each item says how late in working days (OverdueItem.late_by) and whether its breach
            # rests on a provisional deadline.
            "overdue": late,
            "projects": await pictures.project_rows(svc.pool, zone),
            "now": now,
        },
    )


@router.get("/projects/{project_id}", response_class=HTMLResponse)
async def project_page(request: Request, svc: Svc, project_id: ProjectId) -> Response:
    """A project's page: matters, Gantt of its matters, standard flowchart, licences, timeline."""
    principal = _principal(request, svc)
    if principal is None:
        return _to_login()
    project = await queries.get_project(svc.pool, project_id)
    if project is None:
        return templates.TemplateResponse(
            request, "missing.html", {"principal": principal, "project_id": project_id}, status_code=404
        )
    now = datetime.now(UTC)
    inputs = await pictures.flowchart_inputs(svc.pool, project_id)
    flow = (
        flowchart_svg(inputs.catalog, inputs.checklist, zone=inputs.zone)
        if inputs is not None
        else "<p>No registration in the event store.</p>"
    )
    return templates.TemplateResponse(
        request,
        "project.html",
        {
            "principal": principal,
            "p": project,
            "gantt": charts.svg(charts.gantt_chart(await pictures.project_gantt(svc.pool, project_id), now)),
            "flowchart": flow,
            "licences": await queries.project_licences(svc.pool, project_id),
            "timeline": await queries.project_timeline(svc.pool, project_id),
            "now": now,
        },
    )


@router.get("/projects/{project_id}/flowchart.svg")
async def flowchart(request: Request, svc: Svc, project_id: ProjectId) -> Response:
    """The project's standard flowchart (全事项办理标准流程图) as an SVG document."""
    if _principal(request, svc) is None:
        return _to_login()
    inputs = await pictures.flowchart_inputs(svc.pool, project_id)
    if inputs is None:
        return Response(f"project_id: no project {project_id!r}", status_code=404, media_type="text/plain")
    return Response(flowchart_svg(inputs.catalog, inputs.checklist, zone=inputs.zone), media_type="image/svg+xml")
