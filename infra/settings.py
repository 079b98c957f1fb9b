"""Settings for every daiban process, read from the environment (prefix ``DAIBAN_``).

``DATABASE_URL`` is read without the prefix because it is the name every PostgreSQL host,
platform and CI sets. When it is empty, ``make run`` starts an embedded PostgreSQL.

One connection story: the worker, the CLI, the gateway, the auth helper and the demo all read
these settings and Temporal's own (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, profiles: see
``infra.temporal``). ``make run`` writes the values of its stack to ``<state dir>/env``
(``stack_env``); sourcing it (``. .daiban/env``) points every tool, the ``temporal`` CLI
included, at that stack.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _http_url(v: str) -> str:
    """An http(s) URL, kept as the text given (a bad one fails at start, not at the first delivery)."""
    _HTTP_URL.validate_python(v)
    return v


WebhookUrl = Annotated[str, Field(max_length=2_000), AfterValidator(_http_url)]
Port = Annotated[int, Field(ge=1, le=65_535)]
# A credential an attacker cannot guess: at least 16 characters (README "Authorization").
Token = Annotated[SecretStr, Field(min_length=16, max_length=512)]


class _Group(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DAIBAN_", extra="ignore")


class TemporalSettings(_Group):
    """Where Temporal is (``infra.temporal`` also reads ``TEMPORAL_*`` / profiles) and which queue."""

    temporal_address: str = Field(default="127.0.0.1:7233", min_length=1, max_length=500)
    temporal_namespace: str = Field(default="default", min_length=1, max_length=255)
    task_queue: str = Field(default="daiban", min_length=1, max_length=200)


class DatabaseSettings(_Group):
    """daiban's own PostgreSQL (events, read models, inbox, outbox ...)."""

    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "DAIBAN_DATABASE_URL"))


class LoggingSettings(_Group):
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"


_QUEUES = r"^\s*(orchestration|adapters)(\s*,\s*(orchestration|adapters))*\s*$"
# A worker deployment's name and a build id, as Temporal takes them (its version is written
# ``<deployment>.<build id>``, so the name holds no dot).
_DEPLOYMENT = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
BUILD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"


class WorkerSettings(_Group):
    """The worker: department adapters, the messaging gateway, shutdown, metrics."""

    # Department code -> URL that receives each submitted application (JSON POST), for
    # departments with their own system. Set as JSON: DAIBAN_DEPARTMENT_WEBHOOKS='{"housing": "..."}'
    department_webhooks: dict[str, WebhookUrl] = {}
    # The zone's messaging gateway: every notification (warning, escalation, meeting...) is POSTed
    # there as JSON. Unset or empty: notifications stay in the outbox table (`daiban notifications`).
    notify_webhook: WebhookUrl | None = None
    # Seconds running activities get to finish after SIGTERM/SIGINT before they are cancelled.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=3_600)
    # Worker's Prometheus endpoint (SDK runtime metrics and daiban counters); 0 or unset: off.
    metrics_port: int | None = Field(default=None, ge=0, le=65_535)
    # The address it listens on: this machine only unless set (e.g. 0.0.0.0 for a scraper elsewhere).
    metrics_host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    # When Temporal has not answered a health check for this many seconds, the worker exits with
    # code 75 so its supervisor starts a fresh one with an empty workflow cache. 0 (the default):
    # never. An option, not a cure: the fault suite's stuck projects (tests/faults/evidence) also
    # happen far from any server restart.
    temporal_lost_exit_seconds: float = Field(default=0.0, ge=0, le=600)
    # Which task queues this worker polls, comma-separated: ``orchestration`` (the project
    # workflows, their batches and the zone's periodic work, on ``DAIBAN_TASK_QUEUE``) and
    # ``adapters`` (calls to department systems, on ``DAIBAN_TASK_QUEUE``-adapters), so adapters
    # scale and fail apart from orchestration. Default: both (``make run``, one worker).
    worker_queues: str = Field(default="orchestration,adapters", pattern=_QUEUES)
    # Whether this worker runs the projector (read models from the event store). On (the default,
    # ``make run``'s one worker): one projector per deployment projects at a time anyway (an
    # advisory lock; the others stand by and take over when it stops); off on workers that never should.
    run_projector: bool = True
    # Whether workflow code runs in Temporal's sandbox. On: off saves a quarter of the worker's CPU
    # (`make bench`: 1.73 s per lifecycle sandboxed, 1.31 s without), but the fault suite's first
    # run without it left one history that did not replay (README "Workflow sandbox").
    workflow_sandbox: bool = True
    # Sizing of each Temporal worker of this process (README "Sizing"; the SDK's defaults).
    # Project runs kept in memory between their workflow tasks (the sticky cache): a task of a run
    # not kept replays the run's history first. 0: none kept (every task replays; a test setting).
    max_cached_workflows: int = Field(default=1_000, ge=0, le=100_000)
    # Workflow tasks run at once (at least 2, as the SDK needs with a cache).
    max_concurrent_workflow_tasks: int = Field(default=100, ge=2, le=10_000)
    # Activities run at once per queue polled: batches on orchestration, department calls on
    # adapters (each holds its slot until the department's system answers).
    max_concurrent_activities: int = Field(default=100, ge=1, le=10_000)
    # The name this worker gives in histories (each task's worker identity). Unset: the Temporal
    # client's, process id@host name (a pod's name on Kubernetes).
    worker_identity: str | None = Field(default=None, min_length=1, max_length=200)
    # Temporal's worker versioning (worker deployments), for a cluster: with both set, this worker
    # polls as build ``DAIBAN_BUILD_ID`` (the release) of deployment ``DAIBAN_WORKER_DEPLOYMENT``,
    # and Temporal hands a project's tasks only to the deployment's current version's workers, so a
    # release never shares projects with one it cannot follow (README "Upgrading running
    # projects"). Unset (``make run``, the tests): unversioned, every worker of the queue takes tasks.
    worker_deployment: str | None = Field(default=None, max_length=100, pattern=_DEPLOYMENT)
    build_id: str | None = Field(default=None, max_length=100, pattern=BUILD_ID_PATTERN, validate_default=True)

    @field_validator("build_id", mode="after")
    @classmethod
    def _build_id_with_its_deployment(cls, v: str | None, info: ValidationInfo) -> str | None:
        if (v is None) != (info.data.get("worker_deployment") is None):
            raise ValueError("set with DAIBAN_WORKER_DEPLOYMENT (both or neither: the version is the pair)")
        return v

    # A file the worker writes once it serves, for a readiness probe (``test -f``): unversioned, as
    # soon as its workers poll; with worker versioning, once its build is the deployment's current
    # version (the setup step's switch), so a rolling update keeps the old release's pods until the
    # new release serves (``infra.cluster.serve_readiness``). Removed when the worker stops. Unset: none.
    ready_file: Path | None = None

    @field_validator("notify_webhook", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        return None if v == "" else v

    def polled_queues(self) -> set[str]:
        """The kinds of queue this worker polls (``orchestration``, ``adapters``)."""
        return {q.strip() for q in self.worker_queues.split(",")}


class PrincipalConfig(BaseModel):
    """One gateway principal (``DAIBAN_PRINCIPALS``): its bearer token, roles and scope.

    ``roles``: ``agent``, ``lead``, ``operator``, ``department``, ``registrar``, ``reader``
    (``interfaces.auth.principals``); ``zones``: the zones an operator, registrar or reader covers
    (``"*"``: every zone); ``department``: a department principal's department code.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr = Field(min_length=16)
    roles: list[Literal["agent", "lead", "operator", "department", "registrar", "reader"]] = Field(min_length=1)
    zones: list[str] = []
    department: str | None = None

    @model_validator(mode="after")
    def _scoped(self) -> PrincipalConfig:
        if "department" in self.roles and not self.department:
            raise ValueError("a department principal names its department")
        if {"operator", "registrar", "reader"} & set(self.roles) and not self.zones:
            raise ValueError('operators, registrars and readers name their zones ("*": every zone)')
        return self


class GatewaySettings(_Group):
    """The HTTP gateway and department authorization (``interfaces/gateway``, ``interfaces/auth``)."""

    # Department code -> shared secret signing its decision envelopes (HMAC-SHA256), as JSON:
    # DAIBAN_DEPARTMENT_KEYS='{"ecology": "..."}'. Empty: the gateway accepts no decisions.
    department_keys: dict[str, Token] = {}
    # Principal name -> {"token", "roles", "zones", "department"} (``PrincipalConfig``), as JSON:
    # DAIBAN_PRINCIPALS='{"agent-li": {"token": "...", "roles": ["agent"]}, "portal-tunliu":
    # {"token": "...", "roles": ["registrar", "reader"], "zones": ["tunliu"]}}'.
    principals: dict[str, PrincipalConfig] = {}
    # The typed client's and the CLI's service credential: the token of one of DAIBAN_PRINCIPALS
    # (``interfaces.auth.service``). Set, every command is checked against that principal's roles
    # before it is sent and ``by`` must be its name; unset, the client is a trusted service.
    token: SecretStr | None = None
    # Version 1's principal -> bearer token map: each is an operator of every zone (unscoped; the
    # gateway warns at start). Prefer DAIBAN_PRINCIPALS.
    operator_tokens: dict[str, Token] = {}
    # The enterprise contacts' encryption keys (``eventstore.contacts``): key id -> 32 bytes in
    # base64, as JSON; DAIBAN_CONTACT_KEY_ID names the one new writes use (default: the last).
    # Empty: registrations carrying a contact are refused (nothing is stored in plaintext).
    contact_keys: dict[str, SecretStr] = {}
    contact_key_id: str | None = None

    @model_validator(mode="after")
    def _principals_apart(self) -> GatewaySettings:
        # A department principal is named by its department code: the event store records its name
        # as ``by``, and the workflow matches ``by`` to the matter's department (a rating's callback
        # and fix, 好差评).
        for name, c in self.principals.items():
            if "department" in c.roles and c.department != name:
                raise ValueError(f"DAIBAN_PRINCIPALS[{name}]: a department principal is named by its department code")
        # One token, one principal: a shared token would make the caller ambiguous.
        seen: dict[str, str] = {}
        for name, token in [(n, c.token) for n, c in self.principals.items()] + list(self.operator_tokens.items()):
            other = seen.setdefault(token.get_secret_value(), name)
            if other != name:
                raise ValueError(f"DAIBAN_PRINCIPALS: {other} and {name} share a token; give each its own")
        return self

    # A signed envelope may not claim to stay valid longer than this (bounds a replay window).
    envelope_max_ttl_seconds: int = Field(default=900, ge=1, le=86_400)
    gateway_host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    gateway_port: Port = 8080
    gateway_max_body_bytes: int = Field(default=65_536, ge=1_024, le=16 * 1_048_576)


class DevStackSettings(_Group):
    """The dev-only stack of ``make run`` (``infra/devstack``)."""

    state_dir: Path = Path(".daiban")
    temporal_port: Port = 7233
    ui_port: Port = 8233
    embedded_pg_port: Port = 5433
    demo: bool = True


class Settings(TemporalSettings, DatabaseSettings, LoggingSettings, WorkerSettings, GatewaySettings, DevStackSettings):
    """Every group at once, as the worker, the gateway, the CLI and the dev stack read them."""

    model_config = SettingsConfigDict(env_prefix="DAIBAN_", extra="ignore")


ENV_FILE = "env"


def stack_env(settings: Settings, database_url: str) -> dict[str, str]:
    """The variables that point every tool at ``make run``'s stack (written to ``<state dir>/env``).

    ``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE`` (read by daiban and the ``temporal`` CLI),
    ``DATABASE_URL``, ``DAIBAN_STATE_DIR`` (absolute: the dev credentials are found from any
    folder) and ``DAIBAN_GATEWAY_URL`` (the README's ``$GW``).
    """
    host = "127.0.0.1" if settings.gateway_host in ("0.0.0.0", "") else settings.gateway_host
    return {
        "TEMPORAL_ADDRESS": f"127.0.0.1:{settings.temporal_port}",
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "DATABASE_URL": database_url,
        "DAIBAN_STATE_DIR": str(settings.state_dir.resolve()),
        "DAIBAN_GATEWAY_URL": f"http://{host}:{settings.gateway_port}",
    }


def load_settings() -> Settings:
    """Read settings from the environment; raise a ``ConfigError`` naming the bad variable."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings()
    except SettingsError as exc:  # a JSON setting that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        name = f"DAIBAN_{found[1].upper()}" if found else "a DAIBAN_ setting"
        raise ConfigError(f"{name}: not valid JSON ({exc.__cause__ or exc})") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        if not err["loc"]:  # a check across settings: its message names them
            raise ConfigError(str(err["msg"]).removeprefix("Value error, ")) from None
        field, *inside = (str(p) for p in err["loc"])
        name = "DATABASE_URL" if field == "database_url" else f"DAIBAN_{field.upper()}"
        # A JSON setting's entry as written: DAIBAN_DEPARTMENT_WEBHOOKS[housing], DAIBAN_PRINCIPALS[portal].token
        where = "".join(f"[{p}]" if i == 0 else f".{p}" for i, p in enumerate(inside))
        raise ConfigError(f"{name}{where}: {err['msg']}") from None


class ConfigError(Exception):
    """Bad configuration or an unreachable dependency: one line saying what and how to fix it."""
