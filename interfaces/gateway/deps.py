"""What every router shares: the per-process services, principals, department callers, parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from eventstore.contacts import ContactCipher
from infra import migrate
from infra.settings import Settings
from interfaces.auth.principals import Principal, ProjectTeam
from interfaces.auth.signing import DEPARTMENT_HEADER, EXPIRES_HEADER, SIGNATURE_HEADER
from interfaces.auth.verifying import Authorizer, DepartmentCaller
from interfaces.client import DaibanClient
from schemas import bounded

# The identifier grammar of ``schemas.bounded`` (matched over the whole value).
ID_PATTERN = bounded.ID_PATTERN
# A query's text: printable, one line (PostgreSQL and Temporal refuse NUL; nothing needs a control character).
PRINTABLE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass
class Services:
    """What the lifespan opens: one Temporal client and one pool per process."""

    settings: Settings
    daiban: DaibanClient
    pool: asyncpg.Pool
    auth: Authorizer
    contacts: ContactCipher | None = None
    schema_current: bool = False

    async def check_schema(self) -> None:
        """Read-only: every migration applied (``daiban db migrate``), else ``ConfigError``."""
        if not self.schema_current:
            await migrate.require_current(self.pool)
            self.schema_current = True


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


Svc = Annotated[Services, Depends(services)]
_bearer = HTTPBearer(
    auto_error=False, description="A principal's token (DAIBAN_PRINCIPALS; interfaces.auth.principals)."
)


async def bearer_principal(
    svc: Svc, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The authenticated principal of a request (401 without a known bearer token)."""
    return svc.auth.principal(credentials.credentials if credentials else None)


async def optional_principal(
    svc: Svc, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal | None:
    """The principal of a request that may instead be signed (401 for an unknown token; None without one)."""
    return svc.auth.principal(credentials.credentials) if credentials else None


async def operator_principal(principal: Annotated[Principal, Depends(bearer_principal)]) -> str:
    """The name of the principal of a write (401 without a known bearer token)."""
    return principal.name


async def project_team(svc: Services, project_id: str) -> ProjectTeam:
    """The project's zone and people, for authorization (``DaibanClient.project_team``; 404 / 503 as it answers)."""
    return await svc.daiban.project_team(project_id)


async def department_caller(
    svc: Svc,
    department: Annotated[str | None, Header(alias=DEPARTMENT_HEADER, description="Signing department's code.")] = None,
    expires: Annotated[str | None, Header(alias=EXPIRES_HEADER, description="Envelope expiry, unix seconds.")] = None,
    signature: Annotated[
        str | None, Header(alias=SIGNATURE_HEADER, description="Hex HMAC-SHA256 of the canonical envelope.")
    ] = None,
) -> DepartmentCaller:
    """The signing department, before the body is read (401 on missing, unknown or expired)."""
    return svc.auth.department(department, expires, signature)


async def optional_department(
    svc: Svc,
    department: Annotated[
        str | None,
        Header(alias=DEPARTMENT_HEADER, description="Signing department's code (instead of a bearer token)."),
    ] = None,
    expires: Annotated[str | None, Header(alias=EXPIRES_HEADER, description="Envelope expiry, unix seconds.")] = None,
    signature: Annotated[
        str | None, Header(alias=SIGNATURE_HEADER, description="Hex HMAC-SHA256 of the canonical envelope.")
    ] = None,
) -> DepartmentCaller | None:
    """The signing department when any envelope header is sent (401 when one is missing, unknown or expired)."""
    if department is None and expires is None and signature is None:
        return None
    return svc.auth.department(department, expires, signature)


async def refuse_duplicate_keys(request: Request) -> None:
    """422 for a JSON body with a key twice (which one wins differs between parsers: refuse both).

    Raises:
        RequestValidationError: naming the key (``loc``: ``["body", key]``).
    """
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    body = await request.body()
    if not body:
        return
    try:
        bounded.loads(body)
    except bounded.DuplicateKey as exc:
        msg = f"the key {exc.key!r} appears twice in one object; send it once"
        raise RequestValidationError([{"type": "duplicate_key", "loc": ("body", exc.key), "msg": msg}]) from None
    except ValueError:
        return  # not JSON: the route's own parsing answers it


Operator = Annotated[str, Depends(operator_principal)]
Caller = Annotated[Principal, Depends(bearer_principal)]
Department = Annotated[DepartmentCaller, Depends(department_caller)]
MaybeCaller = Annotated[Principal | None, Depends(optional_principal)]
MaybeDepartment = Annotated[DepartmentCaller | None, Depends(optional_department)]
ProjectId = Annotated[
    str,
    PathParam(pattern=ID_PATTERN, max_length=bounded.ID_MAX, description="The project id (workflow id project-{id})."),
]
Code = Annotated[str, PathParam(pattern=ID_PATTERN, max_length=bounded.ID_MAX)]
# Filters of the reports: identifiers, as the schemas have them.
ZoneFilter = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=bounded.ID_MAX, description="A zone code.")]
EnterpriseFilter = Annotated[
    str | None,
    Query(max_length=bounded.NAME_MAX, pattern=PRINTABLE_PATTERN, description="An enterprise's name."),
]
DepartmentFilter = Annotated[
    str | None, Query(pattern=ID_PATTERN, max_length=bounded.ID_MAX, description="A department code.")
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        pattern=ID_PATTERN,
        description="The command's request id when the body has none (422 if the body names another).",
    ),
]
