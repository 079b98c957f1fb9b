"""The official calendar: an operator publishes a newly announced year (``usecases.publish_calendar``)."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Query, Request

from interfaces.client import DaibanClient
from interfaces.gateway.deps import Operator, Svc
from interfaces.gateway.errors import ERRORS
from interfaces.usecases import CalendarPublished, publish_calendar

log = structlog.get_logger("daiban.gateway")
router = APIRouter(tags=["agents and operators"])

_EXAMPLE = {"years": {"2027": {"holidays": {"2027-10-01": "国庆节"}, "workdays": {"2027-10-09": "国庆节调休"}}}}


@router.post("/calendar", response_model=CalendarPublished, responses={**ERRORS, 422: ERRORS[409]})
async def calendar(
    request: Request,
    svc: Svc,
    principal: Operator,
    content: Annotated[dict[str, Any], Body(description="A calendar or notice file.", examples=[_EXAMPLE])],
    dry_run: Annotated[bool, Query(description="Only validate and say what would change.")] = False,
) -> CalendarPublished:
    """Load a newly published official calendar: store it and recompute running projects' deadlines.

    The same as ``daiban calendar load``; a file the calendar refuses answers 422 naming the date.
    """

    async def client() -> DaibanClient:
        return svc.daiban

    text = (await request.body()).decode()
    result = await publish_calendar(svc.pool, client, text, principal, dry_run=dry_run)
    log.info("calendar published", by=principal, version=result.version, stored=result.stored)
    return result
