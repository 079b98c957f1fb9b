"""The official calendar: an operator publishes a newly announced year (``usecases.publish_calendar``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Body, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict

from catalog.models import ZonePolicy
from eventstore.calendars import current_calendar
from eventstore.versions import current_zone
from interfaces.auth.principals import check_operator
from interfaces.client import DaibanClient
from interfaces.gateway.deps import ID_PATTERN, Caller, Svc
from interfaces.gateway.errors import ERRORS
from interfaces.usecases import CalendarPublished, publish_calendar
from legalclock import CST, MAX_YEAR, MIN_YEAR, Clock, seasonal_deadline

log = structlog.get_logger("daiban.gateway")
router = APIRouter(tags=["agents and operators"])

_EXAMPLE = {"years": {"2027": {"holidays": {"2027-10-01": "国庆节"}, "workdays": {"2027-10-09": "国庆节调休"}}}}


@router.post("/calendar", response_model=CalendarPublished, responses=ERRORS)
async def calendar(
    request: Request,
    svc: Svc,
    principal: Caller,
    content: Annotated[dict[str, Any], Body(description="A calendar or notice file.", examples=[_EXAMPLE])],
    dry_run: Annotated[bool, Query(description="Only validate and say what would change.")] = False,
) -> CalendarPublished:
    """Load a newly published official calendar: store it and recompute running projects' deadlines.

    The same as ``daiban calendar load``; a file the calendar refuses answers 422 naming the date.
    """

    check_operator(principal, "publishing the official calendar")

    async def client() -> DaibanClient:
        return svc.daiban

    text = (await request.body()).decode()
    result = await publish_calendar(svc.pool, client, text, principal.name, dry_run=dry_run)
    log.info("calendar published", by=principal.name, version=result.version, stored=result.stored)
    return result


class YearView(BaseModel):
    """A year of the calendar in force: official (the State Council's notice) or provisional."""

    model_config = ConfigDict(frozen=True)

    year: int
    official: bool
    calendar_version: str
    holidays: dict[date, str]
    workdays: dict[date, str]


class DeadlineAnswer(BaseModel):
    """A limit of ``days`` working days (or calendar days, ``counted``) accepted at ``start``, on the
    calendar in force."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    days: float
    counted: Literal["working_days", "days"] = "working_days"
    deadline: datetime | None
    provisional: bool
    calendar_version: str
    zone: str


def _local(at: datetime) -> datetime:
    return at.replace(tzinfo=CST) if at.tzinfo is None else at


async def _policy(svc: Svc, zone: str) -> ZonePolicy:
    """The zone's policy in force (``eventstore.versions``)."""
    found = await current_zone(svc.pool, zone)
    if found is None:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "zone"), "input": zone, "msg": f"unknown zone {zone!r}"}]
        )
    return found[1]


@router.get("/calendar/deadline", response_model=DeadlineAnswer, tags=["calendar"], responses=ERRORS)
async def deadline(
    svc: Svc,
    _principal: Caller,
    start: Annotated[datetime, Query(description="Acceptance instant (ISO 8601; no offset: Beijing time).")],
    days: Annotated[float, Query(ge=0, le=365, multiple_of=0.5, description="Working days (halves allowed).")],
    zone: Annotated[
        str, Query(pattern=ID_PATTERN, description="Zone whose office hours (by season) count.")
    ] = "tunliu",
    counted: Annotated[
        Literal["working_days", "days"],
        Query(description="working_days (行政许可法 §82), or days (日) of another law: 民法典 §201-§203."),
    ] = "working_days",
) -> DeadlineAnswer:
    """The deadline calculator: where a limit of N working days (or N days, 日) ends (README: how
    deadlines are counted)."""
    if counted == "days" and (days < 1 or not days.is_integer()):
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "days"),
                    "input": days,
                    "msg": "a limit in days (日) is a whole number of days, at least 1",
                }
            ]
        )
    calendar = await current_calendar(svc.pool)
    policy = await _policy(svc, zone)
    clock = Clock(accepted_at=_local(start), limit_days=days, counted=counted)
    if policy.seasonal_hours is not None:  # summer and winter hours: the last day closes on its own
        at = seasonal_deadline(clock, calendar, policy.seasonal_hours)
    else:
        at = clock.deadline(calendar, policy.office_hours)
    return DeadlineAnswer(
        start=_local(start),
        days=days,
        counted=counted,
        deadline=at.at,
        provisional=at.provisional,
        calendar_version=at.calendar_version,
        zone=zone,
    )


@router.get("/calendar/{year}", response_model=YearView, tags=["calendar"], responses=ERRORS)
async def year(svc: Svc, _principal: Caller, year: Annotated[int, PathParam(ge=MIN_YEAR, le=MAX_YEAR)]) -> YearView:
    """Holidays and make-up working days of a year in the calendar in force (provisional years included)."""
    calendar = await current_calendar(svc.pool)
    data = calendar.year_view(year)
    return YearView(
        year=year,
        official=calendar.is_official(year),
        calendar_version=calendar.version,
        holidays=dict(sorted(data.holidays.items())),
        workdays=dict(sorted(data.workdays.items())),
    )
