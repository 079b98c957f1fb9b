"""The gateway's one error map: exception type -> status (and ``Retry-After``), with its log line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from temporalio.service import RPCError

from interfaces.auth.verifying import AuthError
from interfaces.client import (
    CommandRejected,
    CommandRetryable,
    DaibanError,
    InvalidInput,
    InvalidQuery,
    NotReady,
    ProjectFinished,
    ProjectNotFound,
    RequestIdConflict,
    TemporalUnavailable,
)
from interfaces.usecases import RegistrationConflict
from legalclock import LegalClockError

log = structlog.get_logger("daiban.gateway")


class ErrorBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    detail: str


@dataclass(frozen=True)
class Rule:
    """How the gateway answers one exception type."""

    status: int | Callable[[Any], int]
    retry_after: int | None = None
    log: str | None = None  # a warning logged with the error, when the cause is not the caller's


def _auth_status(exc: AuthError) -> int:
    return exc.status


def _retryable_status(exc: CommandRetryable) -> int:
    # Temporal's limit on concurrent updates per project: too many requests; otherwise unavailable.
    return 429 if exc.throttled else 503


ERROR_MAP: dict[type[Exception], Rule] = {
    AuthError: Rule(_auth_status),
    RequestIdConflict: Rule(422),
    InvalidInput: Rule(422),
    RegistrationConflict: Rule(409),
    LegalClockError: Rule(422),
    InvalidQuery: Rule(400),
    ProjectNotFound: Rule(404),
    CommandRejected: Rule(409),
    ProjectFinished: Rule(409),
    NotReady: Rule(503, retry_after=1),
    # The outcome is open (timeout, in-flight limit, continue-as-new): the same request id is
    # applied at most once, so the caller resends it unchanged.
    CommandRetryable: Rule(_retryable_status, retry_after=1),
    TemporalUnavailable: Rule(503, retry_after=5, log="Temporal unavailable"),
    DaibanError: Rule(502, log="Temporal call failed"),
    RPCError: Rule(503, retry_after=5, log="Temporal unavailable"),
    OSError: Rule(503, retry_after=5, log="PostgreSQL unavailable"),
    asyncpg.PostgresConnectionError: Rule(503, retry_after=5, log="PostgreSQL unavailable"),
    asyncpg.InterfaceError: Rule(503, retry_after=5, log="PostgreSQL unavailable"),
}


class FieldError(BaseModel):
    """One refused field, as pydantic names it: ``loc`` is its path (``["body", "zone"]``)."""

    model_config = ConfigDict(frozen=True)

    type: str
    loc: list[str | int]
    msg: str


class Refusal(BaseModel):
    """A refused request: the field errors (each names its field), or one reason naming the field first."""

    model_config = ConfigDict(frozen=True)

    detail: list[FieldError] | str


# Documented answers of the routes (OpenAPI). Every refusal of input is a 4xx, never a 5xx.
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "a query Temporal refused (the reason names it)"},
    401: {"model": ErrorBody, "description": "missing or unknown bearer token"},
    403: {"model": ErrorBody, "description": "beyond the principal's role or scope (the reason says which)"},
    422: {"model": Refusal, "description": "a parameter out of its bounds (each error names the field)"},
    502: {"model": ErrorBody, "description": "Temporal answered with an error"},
    503: {"model": ErrorBody, "description": "project still registering, or a dependency is down; retry"},
}
ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    401: {"model": ErrorBody, "description": "missing or invalid credential"},
    403: {"model": ErrorBody, "description": "beyond the principal's role or scope, or `by` names someone else"},
    404: {"model": ErrorBody, "description": "no such project"},
    409: {"model": ErrorBody, "description": "refused by the project (reason names the field) or replayed"},
    413: {"model": ErrorBody, "description": "request body over DAIBAN_GATEWAY_MAX_BODY_BYTES"},
    422: {
        "model": Refusal,
        "description": "a field out of its bounds, a duplicate JSON key, two request ids (each error names the field)",
    },
}
REGISTRATION_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {
        "model": Refusal,
        "description": "the project id is registered with other values (the fields that differ), or has finished",
    },
    422: {"model": Refusal, "description": "a field out of its bounds or an unknown zone (each names the field)"},
}
DEPARTMENT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": ErrorBody, "description": "signed by another department"},
}


def _detail(exc: Exception) -> Any:
    if isinstance(exc, RequestIdConflict):  # like pydantic's field errors: the field is named
        return [{"type": "value_error", "loc": ["body", exc.field], "msg": str(exc), "input": None}]
    if isinstance(exc, InvalidInput):
        return [{**e, "loc": ["body", *e["loc"]]} for e in exc.errors]
    if isinstance(exc, RegistrationConflict):
        msg = f"differs from the registration of project {exc.project_id}"
        return [{"type": "conflict", "loc": ["body", field], "msg": msg} for field in exc.fields]
    if isinstance(exc, RPCError):
        return f"Temporal: {exc.message}"
    if isinstance(exc, OSError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError):
        return f"PostgreSQL: {exc}"
    return str(exc)


def _handler(rule: Rule) -> Callable[[Request, Exception], Any]:
    async def reply(request: Request, exc: Exception) -> JSONResponse:
        status = rule.status if isinstance(rule.status, int) else rule.status(exc)
        headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after else {}
        where = {"method": request.method, "path": request.url.path}
        if isinstance(exc, AuthError):
            log.warning("gateway request rejected", status=status, reason=exc.reason, **where, **exc.context)
            if status == 401:
                headers["WWW-Authenticate"] = exc.scheme
        elif isinstance(exc, CommandRejected):
            log.info("command refused by the project", **where, reason=str(exc))
        elif isinstance(exc, CommandRetryable):
            log.info("command outcome open; caller retries", **where, request_id=exc.request_id)
        elif rule.log:
            log.warning(rule.log, **where, error=str(exc))
        return JSONResponse({"detail": _printable(_detail(exc))}, status_code=status, headers=headers or None)

    return reply


def _printable(value: Any) -> Any:
    """``value`` encodable as UTF-8 JSON (a lone surrogate the caller sent is escaped, not echoed raw)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    return value


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 with pydantic's field errors, without echoing the input (it may be large, or not encodable)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [{k: _printable(jsonable_encoder(v)) for k, v in e.items() if k not in ("input", "url")} for e in errors]
    log.info("request refused", method=request.method, path=_printable(request.url.path), fields=len(detail))
    return JSONResponse({"detail": detail}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's HTTP errors as usual, but a 405 lists in ``Allow`` every method of the path (its
    routes are separate, and Starlette names only the first one's)."""
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        methods: set[str] = set()
        for route in request.app.routes:
            if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
                methods |= route.methods
        headers["Allow"] = ", ".join(sorted(methods))
    return await http_exception_handler(request, StarletteHTTPException(exc.status_code, exc.detail, headers))


def install(app: FastAPI) -> None:
    """Answer every exception of ``ERROR_MAP`` as it says (the most specific type wins), and field
    errors as 422 without echoing what was sent."""
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for exc_type, rule in ERROR_MAP.items():
        app.add_exception_handler(exc_type, _handler(rule))
