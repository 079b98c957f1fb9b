"""Reports from the read models: overdue clocks, per department, per zone."""

from __future__ import annotations

from fastapi import APIRouter

from eventstore import queries
from interfaces.gateway.deps import Svc

router = APIRouter(tags=["reports"])


@router.get("/overdue", response_model=list[queries.OverdueItem])
async def overdue(svc: Svc, zone: str | None = None, department: str | None = None) -> list[queries.OverdueItem]:
    """Every open clock past its deadline, earliest first."""
    return await queries.overdue(svc.pool, zone=zone, department=department)


@router.get("/reports/departments", response_model=list[queries.DepartmentReport])
async def department_report(
    svc: Svc, department: str | None = None, zone: str | None = None
) -> list[queries.DepartmentReport]:
    """Per zone and department: decisions, on-time rate, approval days, open work, breaches."""
    return await queries.department_report(svc.pool, department, zone)


@router.get("/reports/credit", response_model=list[queries.CreditRecord])
async def credit_report(svc: Svc, zone: str | None = None, enterprise: str | None = None) -> list[queries.CreditRecord]:
    """The credit record: commitments (告知承诺) found untrue on verification (国办发〔2020〕42号)."""
    return await queries.credit_records(svc.pool, zone, enterprise)


@router.get("/reports/zone", response_model=list[queries.ZoneReport])
async def zone_report(svc: Svc, zone: str | None = None) -> list[queries.ZoneReport]:
    """Per zone: projects by stage, investment, working days saved by the reforms."""
    return await queries.zone_report(svc.pool, zone)
