"""The HTTP gateway: daiban's typed client and read models over JSON, for services in any language.

Run it with ``python -m interfaces.gateway`` (settings from the environment, see
``infra.settings``); ``make run`` starts it on ``DAIBAN_GATEWAY_PORT`` (8080). OpenAPI at
``/openapi.json``, interactive docs at ``/docs``.

- Writes go through ``interfaces.client.DaibanClient`` and are retry-safe like it: registering a
  project id again answers 200 with the same project (201 the first time); a decision id sent
  again gets the first answer. Request and response bodies are the models of ``schemas``.
- Department decisions and verifications carry a signed envelope, every other write an operator
  or agent bearer token, reads nothing (see ``interfaces.auth``).
- Errors: 422 with pydantic's field errors (unknown fields included), 413 over
  ``DAIBAN_GATEWAY_MAX_BODY_BYTES``, 401/403 authentication and authorization, 404 no such
  project, 409 refused by the project (the reason names the field) or a replayed decision id,
  503 with ``Retry-After`` while a project is still registering or a dependency is down.
- ``/healthz``: the process answers; ``/readyz``: Temporal and PostgreSQL answer (503 with the
  reasons otherwise); ``/metrics``: request counts and latencies per route and status.

One Temporal client and one asyncpg pool per process, opened in the lifespan and closed on
shutdown; both connect lazily, so the gateway starts (and says it is not ready) while a
dependency is still down.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

import asyncpg
import structlog
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from eventstore import queries
from infra import migrate
from infra.db import create_pool
from infra.metrics import RequestMetrics, latest
from infra.settings import ConfigError, Settings, load_settings
from infra.temporal import connect_config
from interfaces.auth import (
    DEPARTMENT_HEADER,
    EXPIRES_HEADER,
    SIGNATURE_HEADER,
    AuthError,
    Authorizer,
    DepartmentCaller,
    Operation,
    claim_envelope,
    release_envelope,
)
from interfaces.client import (
    CommandRejected,
    CommandRetryable,
    DaibanClient,
    DaibanError,
    NotReady,
    ProjectNotFound,
)
from schemas.project import (
    Ack,
    Decision,
    DecisionResult,
    ExtendLimit,
    ProgressReport,
    ProjectView,
    ReassignAgent,
    RegisterProject,
    ResolveMeeting,
    Resubmit,
    ResumeClock,
    StopClock,
    SupplyMaterials,
    Verification,
    Withdraw,
    workflow_id_for,
)

log = structlog.get_logger("daiban.gateway")

T = TypeVar("T")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ProjectId = Annotated[str, PathParam(pattern=ID_PATTERN, description="The project id (workflow id project-{id}).")]


# ---- gateway-only response models (everything else is a model of schemas/ or eventstore) -------


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Registered(_Out):
    """A registration's answer: 201 when this request started the project, 200 when it was running."""

    project_id: str
    workflow_id: str
    run_id: str
    created: bool


class ProjectSummary(_Out):
    """A project as the visibility store lists it (its search attributes)."""

    project_id: str
    status: str
    zone: str | None
    stage: str | None
    agent: str | None
    open_departments: list[str]
    overdue: bool
    next_deadline: datetime | None


class ErrorBody(_Out):
    detail: str


class Readiness(_Out):
    status: str
    checks: dict[str, str]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or invalid credential"},
    404: {"model": ErrorBody, "description": "no such project"},
    409: {"model": ErrorBody, "description": "refused by the project (reason names the field) or replayed"},
    503: {"model": ErrorBody, "description": "project still registering, or a dependency is down; retry"},
}
DEPARTMENT_ERRORS = {**ERRORS, 403: {"model": ErrorBody, "description": "signed by another department"}}


# ---- per-process services --------------------------------------------------------------------------


@dataclass
class Services:
    """What the lifespan opens: one Temporal client and one pool per process."""

    settings: Settings
    daiban: DaibanClient
    pool: asyncpg.Pool
    auth: Authorizer
    schema_current: bool = False

    async def check_schema(self) -> None:
        """Read-only: every migration applied (``daiban db migrate``), else ``ConfigError``."""
        if not self.schema_current:
            await migrate.require_current(self.pool)
            self.schema_current = True


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


Svc = Annotated[Services, Depends(services)]
_bearer = HTTPBearer(auto_error=False, description="Operator or agent token (DAIBAN_OPERATOR_TOKENS).")


async def operator_principal(
    svc: Svc, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The principal of an operator or agent write (401 without a known bearer token)."""
    return svc.auth.operator(credentials.credentials if credentials else None)


async def department_caller(
    svc: Svc,
    department: Annotated[str | None, Header(alias=DEPARTMENT_HEADER, description="Signing department's code.")] = None,
    expires: Annotated[str | None, Header(alias=EXPIRES_HEADER, description="Envelope expiry, unix seconds.")] = None,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER,
                                            description="Hex HMAC-SHA256 of the canonical envelope.")] = None,
) -> DepartmentCaller:
    """The signing department, before the body is read (401 on missing, unknown or expired)."""
    return svc.auth.department(department, expires, signature)


Operator = Annotated[str, Depends(operator_principal)]
Department = Annotated[DepartmentCaller, Depends(department_caller)]


# ---- the app ---------------------------------------------------------------------------------------


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway's FastAPI app; the lifespan connects with ``settings`` (default: environment)."""
    cfg = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not cfg.database_url:
            raise ConfigError("DATABASE_URL is not set; point it at daiban's PostgreSQL")
        temporal = await Client.connect(**connect_config(cfg), data_converter=pydantic_data_converter, lazy=True)
        pool = await create_pool(cfg.database_url, min_size=0, max_size=10)
        auth = Authorizer({k: v.get_secret_value() for k, v in cfg.department_keys.items()},
                          {k: v.get_secret_value() for k, v in cfg.operator_tokens.items()},
                          cfg.envelope_max_ttl_seconds)
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
        log.info("gateway ready to serve", temporal=cfg.temporal_address, task_queue=cfg.task_queue,
                 departments=sorted(auth.department_keys), operators=sorted(auth.operator_tokens))
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(
        title="daiban gateway",
        version="1",
        summary="Full-agency approval of investment projects: register projects, send decisions, read state.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=cfg.gateway_max_body_bytes)
    app.add_middleware(RequestMetrics)
    _errors(app)
    _routes(app)
    return app


def _errors(app: FastAPI) -> None:
    def reply(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        log.warning("gateway request rejected", status=exc.status, reason=exc.reason, method=request.method,
                    path=request.url.path, **exc.context)
        headers = {"WWW-Authenticate": exc.scheme} if exc.status == 401 else None
        return reply(request, exc.status, exc.reason, headers)

    @app.exception_handler(ProjectNotFound)
    async def _not_found(request: Request, exc: ProjectNotFound) -> JSONResponse:
        return reply(request, 404, str(exc))

    @app.exception_handler(CommandRejected)
    async def _rejected(request: Request, exc: CommandRejected) -> JSONResponse:
        log.info("command refused by the project", path=request.url.path, reason=str(exc))
        return reply(request, 409, str(exc))

    @app.exception_handler(NotReady)
    async def _not_ready(request: Request, exc: NotReady) -> JSONResponse:
        return reply(request, 503, str(exc), {"Retry-After": "1"})

    @app.exception_handler(CommandRetryable)
    async def _retryable(request: Request, exc: CommandRetryable) -> JSONResponse:
        # The outcome is open (timeout, in-flight limit, continue-as-new): the same request id is
        # applied at most once, so the caller resends it unchanged.
        log.info("command outcome open; caller retries", path=request.url.path, request_id=exc.request_id)
        status = 429 if "RESOURCE_EXHAUSTED" in str(exc) or "limit" in str(exc) else 503
        return reply(request, status, str(exc), {"Retry-After": "1"})

    @app.exception_handler(WorkflowAlreadyStartedError)
    async def _finished(request: Request, exc: WorkflowAlreadyStartedError) -> JSONResponse:
        return reply(request, 409, "project_id: this project has finished; a project id is never reused")

    @app.exception_handler(DaibanError)
    async def _daiban(request: Request, exc: DaibanError) -> JSONResponse:
        log.warning("Temporal call failed", path=request.url.path, error=str(exc))
        return reply(request, 502, str(exc))

    @app.exception_handler(RPCError)
    async def _rpc(request: Request, exc: RPCError) -> JSONResponse:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            return reply(request, 400, f"query: {exc.message}")
        log.warning("Temporal unavailable", path=request.url.path, error=exc.message)
        return reply(request, 503, f"Temporal: {exc.message}", {"Retry-After": "5"})

    async def _db_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("PostgreSQL unavailable", path=request.url.path, error=str(exc))
        return reply(request, 503, f"PostgreSQL: {exc}", {"Retry-After": "5"})

    for exc_type in (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
        app.add_exception_handler(exc_type, _db_down)


async def _guarded(svc: Services, operation: Operation, project_id: str, decision: Any,
                   call: Callable[[], Awaitable[T]]) -> T:
    """Run a department's update; give the decision id back if the project refused it."""
    try:
        return await call()
    except (CommandRejected, ProjectNotFound):
        await release_envelope(svc.pool, operation, project_id, decision)
        raise


async def _admit(svc: Services, request: Request, caller: DepartmentCaller, operation: Operation,
                 project_id: str, decision: Decision | Verification) -> None:
    svc.auth.check_envelope(caller, project_id, decision, await request.body())
    fresh = await claim_envelope(svc.pool, operation, project_id, decision, caller)
    log.info("department envelope accepted", operation=operation, department=caller.department,
             project_id=project_id, decision_id=decision.decision_id, retry=not fresh)


def _logged(command: str, project_id: str, principal: str) -> None:
    log.info("operator command", command=command, project_id=project_id, by=principal)


def _routes(app: FastAPI) -> None:
    # ---- projects ----

    @app.post("/projects", status_code=201, response_model=Registered, tags=["projects"],
              responses={200: {"model": Registered, "description": "already registered: the same project"},
                         **ERRORS})
    async def register(reg: RegisterProject, response: Response, svc: Svc, principal: Operator) -> Registered:
        """Register a project (签约入库); the same project id again is a no-op answered with 200."""
        workflow_id = workflow_id_for(reg.project_id)
        try:
            desc = await svc.daiban.handle(reg.project_id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        else:
            if desc.status != WorkflowExecutionStatus.RUNNING:
                raise WorkflowAlreadyStartedError(workflow_id, "ProjectWorkflow", run_id=desc.run_id)
            response.status_code = 200
            return Registered(project_id=reg.project_id, workflow_id=workflow_id, run_id=desc.run_id,
                              created=False)
        run_id = await svc.daiban.register(reg)
        log.info("project registered", project_id=reg.project_id, by=principal)
        return Registered(project_id=reg.project_id, workflow_id=workflow_id, run_id=run_id, created=True)

    @app.get("/projects", response_model=list[ProjectSummary], tags=["projects"])
    async def list_projects(
        svc: Svc,
        query: Annotated[str, Query(description="Visibility query, e.g. DaibanOverdue = true", max_length=2000)] = "",
    ) -> list[ProjectSummary]:
        """Projects matching a visibility query, newest first."""
        return [ProjectSummary.model_validate(r) for r in await svc.daiban.list_projects(query)]

    @app.get("/projects/{project_id}", response_model=ProjectView, tags=["projects"], responses=ERRORS)
    async def show(project_id: ProjectId, svc: Svc) -> ProjectView:
        """The project's full state: stage, matters, clocks, obligations, meetings."""
        return await svc.daiban.state(project_id, wait=5.0)

    @app.get("/projects/{project_id}/timeline", response_model=list[queries.TimelineEntry], tags=["projects"],
             responses=ERRORS)
    async def timeline(project_id: ProjectId, svc: Svc) -> list[queries.TimelineEntry]:
        """The project's events from the event store, one readable line each."""
        rows = await queries.project_timeline(svc.pool, project_id)
        if not rows:
            try:
                await svc.daiban.handle(project_id).describe()
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    raise ProjectNotFound(f"project_id: no project {project_id!r}") from None
                raise
        return rows

    # ---- department updates (signed envelopes) ----

    @app.post("/projects/{project_id}/decisions", response_model=DecisionResult, tags=["departments"],
              responses=DEPARTMENT_ERRORS)
    async def decide(project_id: ProjectId, decision: Decision, request: Request, svc: Svc,
                     caller: Department) -> DecisionResult:
        """A department's decision on its matter; retry-safe by decision id."""
        await _admit(svc, request, caller, "decide", project_id, decision)
        return await _guarded(svc, "decide", project_id, decision,
                              lambda: svc.daiban.decide(project_id, decision))

    @app.post("/projects/{project_id}/verifications", response_model=DecisionResult, tags=["departments"],
              responses=DEPARTMENT_ERRORS)
    async def verify(project_id: ProjectId, verification: Verification, request: Request, svc: Svc,
                     caller: Department) -> DecisionResult:
        """A department's after-the-fact verification of a commitment-based approval."""
        await _admit(svc, request, caller, "verify", project_id, verification)
        return await _guarded(svc, "verify", project_id, verification,
                              lambda: svc.daiban.verify(project_id, verification))

    # ---- operator and agent updates (bearer token) ----

    agents: dict[str, Any] = {"response_model": Ack, "tags": ["agents and operators"], "responses": ERRORS}

    @app.post("/projects/{project_id}/materials", **agents)
    async def supply_materials(project_id: ProjectId, body: SupplyMaterials, svc: Svc, principal: Operator) -> Ack:
        """The agent supplies correction (补正) or tolerance (容缺) materials."""
        _logged("supply_materials", project_id, principal)
        return await svc.daiban.supply_materials(project_id, body)

    @app.post("/projects/{project_id}/resubmissions", **agents)
    async def resubmit(project_id: ProjectId, body: Resubmit, svc: Svc, principal: Operator) -> Ack:
        """The agent resubmits a rejected or revoked matter."""
        _logged("resubmit", project_id, principal)
        return await svc.daiban.resubmit(project_id, body)

    @app.post("/projects/{project_id}/clock/stop", **agents)
    async def stop_clock(project_id: ProjectId, body: StopClock, svc: Svc, principal: Operator) -> Ack:
        """Stop a matter's clock for expert review, a hearing, testing or public notice."""
        _logged("stop_clock", project_id, principal)
        return await svc.daiban.stop_clock(project_id, body)

    @app.post("/projects/{project_id}/clock/resume", **agents)
    async def resume_clock(project_id: ProjectId, body: ResumeClock, svc: Svc, principal: Operator) -> Ack:
        """Restart a stopped clock."""
        _logged("resume_clock", project_id, principal)
        return await svc.daiban.resume_clock(project_id, body)

    @app.post("/projects/{project_id}/extensions", **agents)
    async def extend_limit(project_id: ProjectId, body: ExtendLimit, svc: Svc, principal: Operator) -> Ack:
        """Extend a matter's limit once, with the agency head's approval."""
        _logged("extend_limit", project_id, principal)
        return await svc.daiban.extend_limit(project_id, body)

    @app.post("/projects/{project_id}/agent", **agents)
    async def reassign_agent(project_id: ProjectId, body: ReassignAgent, svc: Svc, principal: Operator) -> Ack:
        """Hand the project to the backup agent (AB岗) or a new agent."""
        _logged("reassign_agent", project_id, principal)
        return await svc.daiban.reassign_agent(project_id, body)

    @app.post("/projects/{project_id}/progress", **agents)
    async def report_progress(project_id: ProjectId, body: ProgressReport, svc: Svc, principal: Operator) -> Ack:
        """Report construction progress; 100 starts the joint completion acceptance."""
        _logged("report_progress", project_id, principal)
        return await svc.daiban.report_progress(project_id, body)

    @app.post("/projects/{project_id}/withdrawal", **agents)
    async def withdraw(project_id: ProjectId, body: Withdraw, svc: Svc, principal: Operator) -> Ack:
        """Withdraw the project at any stage; open matters are closed."""
        _logged("withdraw", project_id, principal)
        return await svc.daiban.withdraw(project_id, body)

    @app.post("/projects/{project_id}/meetings/{meeting_id}/resolution", **agents)
    async def resolve_meeting(project_id: ProjectId,
                              meeting_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
                              body: ResolveMeeting, svc: Svc, principal: Operator) -> Ack:
        """Record a joint meeting's (联席会议) resolution."""
        if body.meeting_id != meeting_id:
            raise RequestValidationError([{
                "type": "value_error", "loc": ("body", "meeting_id"), "input": body.meeting_id,
                "msg": f"must match the meeting in the path ({meeting_id})",
            }])
        _logged("resolve_meeting", project_id, principal)
        return await svc.daiban.resolve_meeting(project_id, body)

    # ---- read models ----

    @app.get("/departments/{code}/inbox", response_model=list[queries.InboxItem], tags=["reports"])
    async def inbox(code: Annotated[str, PathParam(pattern=ID_PATTERN)], svc: Svc) -> list[queries.InboxItem]:
        """A department's open applications, oldest first."""
        return await queries.department_inbox(svc.pool, code)

    @app.get("/overdue", response_model=list[queries.OverdueItem], tags=["reports"])
    async def overdue(svc: Svc, zone: str | None = None, department: str | None = None) -> list[queries.OverdueItem]:
        """Every open clock past its deadline, earliest first."""
        return await queries.overdue(svc.pool, zone=zone, department=department)

    @app.get("/reports/departments", response_model=list[queries.DepartmentReport], tags=["reports"])
    async def department_report(svc: Svc, department: str | None = None) -> list[queries.DepartmentReport]:
        """Per department: decisions, on-time rate, approval days, open work, breaches."""
        return await queries.department_report(svc.pool, department)

    @app.get("/reports/zone", response_model=list[queries.ZoneReport], tags=["reports"])
    async def zone_report(svc: Svc, zone: str | None = None) -> list[queries.ZoneReport]:
        """Per zone: projects by stage, investment, working days saved by the reforms."""
        return await queries.zone_report(svc.pool, zone)

    # ---- operations ----

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=Readiness, tags=["operations"],
             responses={503: {"model": Readiness, "description": "a dependency is down"}})
    async def readyz(svc: Svc) -> JSONResponse:
        """Temporal answers its health check and PostgreSQL ``SELECT 1`` (503 with the reasons otherwise).

        Also 503 while the read-model projector holds events in quarantine (``checks.projection``
        names how many; the key is present only then): the read models miss them.
        """
        from eventstore.projector import quarantined_count

        checks = dict(zip(("temporal", "postgres"),
                          await asyncio.gather(_temporal_ok(svc), _postgres_ok(svc)), strict=True))
        if checks["postgres"] == "ok":
            try:
                held = await asyncio.wait_for(quarantined_count(svc.pool), timeout=2)
            except Exception as exc:  # any failure means not ready; say which
                checks["projection"] = f"unknown: {type(exc).__name__}: {exc}"
            else:
                if held:
                    checks["projection"] = (
                        f"{held} event{'s' if held > 1 else ''} quarantined by the projector, missing from the "
                        "read models: `daiban projector quarantine` lists them, `daiban projector retry` "
                        "re-applies them once fixed"
                    )
        ready = all(v == "ok" for v in checks.values())
        body = Readiness(status="ready" if ready else "not ready", checks=checks)
        if not ready:
            log.warning("not ready", **checks)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        data, content_type = latest()
        return Response(data, media_type=content_type)


async def _temporal_ok(svc: Services) -> str:
    try:
        ok = await svc.daiban.client.service_client.check_health(timeout=timedelta(seconds=2))
    except Exception as exc:  # the SDK raises RuntimeError or RPCError when it cannot connect
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"unreachable at {svc.settings.temporal_address}: {reason}"
    return "ok" if ok else "health check failed"


async def _postgres_ok(svc: Services) -> str:
    try:
        await asyncio.wait_for(svc.pool.fetchval("SELECT 1"), timeout=2)
        await svc.check_schema()
    except Exception as exc:  # any failure means not ready; say which
        return f"unreachable: {type(exc).__name__}: {exc}"
    return "ok"


# ---- request size limit ------------------------------------------------------------------------------


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        received = 0

        async def limited() -> dict[str, Any]:
            nonlocal received
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI passes an HTTPException from the body reader on as the response.
                    raise HTTPException(413, f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)

    async def _too_large(self, send: Any) -> None:
        response = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, status_code=413)
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


# ---- entry point -------------------------------------------------------------------------------------


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
    uvicorn.run(create_app(settings), host=settings.gateway_host, port=settings.gateway_port,
                log_config=None, log_level=settings.log_level, server_header=False)
    return 0


def serve() -> None:
    """Console-script entry point; exits without interpreter teardown (see ``infra.process``)."""
    from infra.process import exit_now

    exit_now(main())


if __name__ == "__main__":
    serve()
