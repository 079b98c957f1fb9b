"""Reports from the read models: overdue clocks, per department, per zone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from eventstore import figures, queries
from interfaces.auth.principals import check_zone_filter, readable_zones
from interfaces.auth.verifying import AuthError
from interfaces.gateway.deps import Caller, DepartmentFilter, EnterpriseFilter, Svc, ZoneFilter
from interfaces.gateway.errors import READ_ERRORS

router = APIRouter(tags=["reports"])


@router.get("/overdue", response_model=list[queries.OverdueItem], responses=READ_ERRORS)
async def overdue(
    svc: Svc, principal: Caller, zone: ZoneFilter = None, department: DepartmentFilter = None
) -> list[queries.OverdueItem]:
    """Every open clock past its deadline, earliest first (a zone's reader: its zone): how late in
    working days and office hours past the deadline (``late_working_days``, ``late_working_hours``:
    the legal clock on the calendar in force, 行政许可法 §82) and whether the breach rests on a
    provisional deadline (``provisional``: a year without the State Council's holiday notice)."""
    zone = check_zone_filter(principal, zone)
    return await queries.overdue(svc.pool, zone=zone, department=department)


@router.get("/reports/departments", response_model=list[queries.DepartmentReport], responses=READ_ERRORS)
async def department_report(
    svc: Svc, principal: Caller, department: DepartmentFilter = None, zone: ZoneFilter = None
) -> list[queries.DepartmentReport]:
    """Per zone and department: decisions, on-time rate, approval days, open work, breaches (every zone's readers)."""
    if readable_zones(principal) is not None:
        raise AuthError(
            403,
            "department reports span every zone: an operator or reader of every zone",
            scheme="Bearer",
            principal=principal.name,
        )
    return await queries.department_report(svc.pool, department, zone)


@router.get("/reports/credit", response_model=list[queries.CreditRecord], responses=READ_ERRORS)
async def credit_report(
    svc: Svc, principal: Caller, zone: ZoneFilter = None, enterprise: EnterpriseFilter = None
) -> list[queries.CreditRecord]:
    """The credit record: commitments (告知承诺) found untrue on verification (国办发〔2020〕42号)."""
    zone = check_zone_filter(principal, zone)
    return await queries.credit_records(svc.pool, zone, enterprise)


@router.get("/reports/zone", response_model=list[queries.ZoneReport], responses=READ_ERRORS)
async def zone_report(svc: Svc, principal: Caller, zone: ZoneFilter = None) -> list[queries.ZoneReport]:
    """Per zone: projects by stage, investment, working days saved by the reforms."""
    zone = check_zone_filter(principal, zone)
    return await queries.zone_report(svc.pool, zone)


PeriodQuery = Annotated[
    str,
    Query(
        pattern=figures.PERIOD_PATTERN,
        description="A year (2026), a quarter (2026-Q1) or a month (2026-03), Beijing time.",
    ),
]


@router.get("/reports/satisfaction", response_model=figures.SatisfactionReport, responses=READ_ERRORS)
async def satisfaction_report(
    svc: Svc, principal: Caller, period: PeriodQuery, zone: ZoneFilter = None
) -> figures.SatisfactionReport:
    """好差评 per zone, department and agent over the period: grades, satisfaction rate, callbacks and fixes."""
    zone = check_zone_filter(principal, zone)
    return await figures.satisfaction(svc.pool, period, zone)


@router.get("/reports/figures", response_model=figures.FiguresReport, responses=READ_ERRORS)
async def figures_report(
    svc: Svc, principal: Caller, period: PeriodQuery, zone: ZoneFilter = None
) -> figures.FiguresReport:
    """The zone's honest figures over the period (see ``eventstore.figures`` for how each is computed)."""
    zone = check_zone_filter(principal, zone)
    return await figures.figures(svc.pool, period, zone)
