"""Operations: liveness, readiness (Temporal, PostgreSQL; the projector's quarantine reported), metrics."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from eventstore.projector import quarantined_count
from infra.metrics import latest
from interfaces.gateway.deps import Services, Svc

log = structlog.get_logger("daiban.gateway")
router = APIRouter(tags=["operations"])


class Readiness(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: str
    checks: dict[str, str]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz", response_model=Readiness, responses={503: {"model": Readiness, "description": "a dependency is down"}}
)
async def readyz(svc: Svc) -> JSONResponse:
    """Temporal answers its health check and PostgreSQL ``SELECT 1`` (503 with the reasons otherwise).

    While the read-model projector holds events in quarantine the gateway is still ready (200,
    ``status`` "degraded", ``checks.projection`` names how many; the key is present only then):
    commands and state reads go to Temporal, only the read models (inboxes, reports, figures) miss
    those events. A load balancer that took every replica out for it would cut the zone off from
    Temporal over a read model; ``daiban_projection_quarantined`` is what alerts.
    """
    temporal, postgres = await asyncio.gather(_temporal_ok(svc), _postgres_ok(svc))
    checks = {"temporal": temporal, "postgres": postgres}
    ready = all(v == "ok" for v in checks.values())
    if postgres == "ok":
        projection = await _projection_ok(svc)
        if projection != "ok":
            checks["projection"] = projection
    status = ("ready" if len(checks) == 2 else "degraded") if ready else "not ready"
    body = Readiness(status=status, checks=checks)
    if status != "ready":
        log.warning(status, **checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    data, content_type = latest()
    return Response(data, media_type=content_type)


async def _temporal_ok(svc: Services) -> str:
    try:
        ok = await svc.daiban.client.service_client.check_health(timeout=timedelta(seconds=2))
    except Exception as exc:  # the SDK raises RuntimeError or RPCError when it cannot connect
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"unreachable at {svc.daiban.client.service_client.config.target_host}: {reason}"
    return "ok" if ok else "health check failed"


async def _postgres_ok(svc: Services) -> str:
    try:
        await asyncio.wait_for(svc.pool.fetchval("SELECT 1"), timeout=2)
        await svc.check_schema()
    except Exception as exc:  # any failure means not ready; say which
        return f"unreachable: {type(exc).__name__}: {exc}"
    return "ok"


async def _projection_ok(svc: Services) -> str:
    try:
        held = await asyncio.wait_for(quarantined_count(svc.pool), timeout=2)
    except Exception as exc:  # any failure means not ready; say which
        return f"unknown: {type(exc).__name__}: {exc}"
    if not held:
        return "ok"
    return (
        f"{held} event{'s' if held > 1 else ''} quarantined by the projector, missing from the read models: "
        "`daiban projector quarantine` lists them, `daiban projector retry` re-applies them once fixed"
    )
