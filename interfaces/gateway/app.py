"""The gateway's FastAPI app: lifespan (one Temporal client, one pool), middleware, routers, entry point.

Both connections are lazy, so the gateway starts (and ``/readyz`` says it is not ready) while a
dependency is still down.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from infra.db import create_pool
from infra.metrics import RequestMetrics
from infra.settings import ConfigError, Settings, load_settings
from infra.temporal import connect_config
from interfaces.auth.verifying import Authorizer
from interfaces.client import DaibanClient
from interfaces.gateway import errors
from interfaces.gateway.deps import Services, refuse_duplicate_keys
from interfaces.gateway.limits import BodyLimit
from interfaces.gateway.routers import calendar, commands, departments, health, projects, reports

log = structlog.get_logger("daiban.gateway")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway's FastAPI app; the lifespan connects with ``settings`` (default: environment)."""
    cfg = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not cfg.database_url:
            raise ConfigError("DATABASE_URL is not set; point it at daiban's PostgreSQL")
        temporal = await Client.connect(**connect_config(cfg), data_converter=pydantic_data_converter, lazy=True)
        pool = await create_pool(cfg.database_url, min_size=0, max_size=10)
        auth = Authorizer(
            {k: v.get_secret_value() for k, v in cfg.department_keys.items()},
            {k: v.get_secret_value() for k, v in cfg.operator_tokens.items()},
            cfg.envelope_max_ttl_seconds,
        )
        svc = Services(cfg, DaibanClient(temporal, cfg.task_queue), pool, auth)
        try:
            await svc.check_schema()
        except Exception as exc:  # PostgreSQL down, or not migrated: start anyway, /readyz says why
            log.warning("database not ready; /readyz retries", error=str(exc))
        if not auth.department_keys:
            log.warning("no DAIBAN_DEPARTMENT_KEYS: every decision will be refused")
        if not auth.operator_tokens:
            log.warning("no DAIBAN_OPERATOR_TOKENS: every operator write will be refused")
        app.state.services = svc
        log.info(
            "gateway ready to serve",
            temporal=temporal.service_client.config.target_host,
            namespace=temporal.namespace,
            task_queue=cfg.task_queue,
            departments=sorted(auth.department_keys),
            operators=sorted(auth.operator_tokens),
        )
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(
        title="daiban gateway",
        version="1",
        summary="Full-agency approval of investment projects: register projects, send decisions, read state.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_duplicate_keys)],
    )
    app.add_middleware(BodyLimit, max_bytes=cfg.gateway_max_body_bytes)
    app.add_middleware(RequestMetrics)
    errors.install(app)
    for module in (projects, departments, commands, calendar, reports, health):
        app.include_router(module.router)
    return app


def main() -> int:
    """``python -m interfaces.gateway``: serve on ``DAIBAN_GATEWAY_HOST:DAIBAN_GATEWAY_PORT``."""
    import uvicorn

    from infra.logs import configure_logging

    try:
        settings = load_settings()
        if not settings.database_url:
            raise ConfigError("DATABASE_URL is not set; point it at daiban's PostgreSQL")
    except ConfigError as exc:
        print(f"daiban gateway: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        log_level=settings.log_level,
        server_header=False,
    )
    return 0


def serve() -> None:
    """Console-script entry point; exits without interpreter teardown (see ``infra.process``)."""
    from infra.process import exit_now

    exit_now(main())
