"""The typed Python client other services import to run projects on daiban.

Every call is retry-safe: registration is idempotent on the project id, every command on its
request id (decisions and verifications: their decision id). A command without a request id gets
a fresh one here, returned in its ``Ack``. Failures are typed exceptions carrying the workflow's
reason:

- ``CommandRejected``: the project refused the command; nothing was applied.
- ``CommandRetryable``: the outcome is not known (a timeout, Temporal's limit on concurrent
  updates, an update aborted by continue-as-new), or the command was still queued behind this
  process's own commands to the project when ``wait`` ran out (``interfaces.admission``: at most
  5 in flight per project). Send the same command with the same request id again: it is applied
  at most once.
- ``NotReady``: the project is still registering after ``wait`` seconds (the workflow refuses
  updates with the typed failure ``NotReady`` until its first activity ran); try again.
- ``InvalidInput``: the input is not one daiban can keep (``schemas.bounded``: a field out of
  bounds, a message over ``MAX_MESSAGE_BYTES``); ``errors`` name the fields, and nothing was sent.
- ``ProjectNotFound``, ``InvalidQuery``, ``DaibanError``: no such project; a visibility query
  Temporal refused; anything else.
- ``AuthError`` (``interfaces.auth.verifying``, the gateway's own, ``status`` 403): with a service
  credential, a command beyond the principal's roles or a ``by`` naming someone else; nothing was
  sent.

Service credentials. ``DaibanClient(..., principal=...)`` (or ``connect()`` with ``DAIBAN_TOKEN``,
the token of one of ``DAIBAN_PRINCIPALS``: ``interfaces.auth.service``) acts as that principal:
every registration and command is checked against its roles before it is sent, with the gateway's
checks and messages (``interfaces.auth.principals``: ``check_register``, ``check_command``), ``by``
and ``decided_by`` must be its name, and each refusal is logged (``client command refused``) with
the principal and the reason. A client without one reaches Temporal as one of the zone's trusted
services (the gateway itself, the worker's schedules, an operator's shell): only the workflow's
validators check it (the department owning a matter, a present ``by``).

The enterprise's contact (personal data) never goes through Temporal: ``register(reg, contact)``,
``set_contact`` and ``contact`` store and read it encrypted in PostgreSQL (``eventstore.contacts``,
``contacts=ContactBook(pool, cipher)``).

Commands are the rows of ``schemas.commands``: ``send(commands.X, project_id, cmd)`` sends one,
typed, and each has a method named exactly as the workflow's update (``decide``,
``supply_materials``, ...); the CLI's verbs and the gateway's routes are the same names with dashes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar, overload

import structlog
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, FailureError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from eventstore.contacts import ContactBook, fetch_contact, store_contact
from interfaces.admission import THROTTLED_CAP_S, QueuedTooLong, backoff, gate_of
from interfaces.auth.principals import (
    Principal,
    ProjectTeam,
    check_by,
    check_command,
    check_contact,
    check_register,
    team_of,
)
from interfaces.auth.verifying import AuthError
from schemas import commands, visibility
from schemas import project as p
from schemas.bounded import MAX_MESSAGE_BYTES
from schemas.commands import Command
from schemas.contact import EnterpriseContact
from workflows.clocks import ClockLedger
from workflows.project import CONTENT_NOT_LOADED, NOT_READY, ProjectInput, ProjectWorkflow
from workflows.start import START_REFUSALS

R = TypeVar("R", bound=BaseModel)
C = TypeVar("C", bound=BaseModel)
log = structlog.get_logger("daiban.client")
# The fields naming who acts, checked against a service credential's principal.
_BY_FIELDS = ("by", "decided_by")


class DaibanError(Exception):
    """Base of the client's errors."""


class TemporalUnavailable(DaibanError):
    """Temporal did not answer in time or is unreachable (overloaded, restarting): retry later."""


class ProjectNotFound(DaibanError):
    """No project with that id."""


class ProjectFinished(DaibanError):
    """The project has finished: its id is never reused for another registration."""


class CommandRejected(DaibanError):
    """The project refused the command; the message says why (field first)."""


class NotReady(DaibanError):
    """The project is still registering, or its worker has not loaded a content version just stored;
    try again in a moment."""


class InvalidInput(DaibanError):
    """An input daiban cannot keep; ``errors`` are field errors as pydantic gives them (``loc``, ``msg``, ``type``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = [{"type": e.get("type", "value_error"), "loc": list(e["loc"]), "msg": e["msg"]} for e in errors]
        super().__init__("; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'body'}: {e['msg']}" for e in self.errors))


class InvalidQuery(DaibanError):
    """Temporal refused a visibility query (the message says why)."""


class RequestIdConflict(DaibanError):
    """A command names two different request ids (its body and an ``Idempotency-Key``)."""

    def __init__(self, field: str, in_body: str, key: str) -> None:
        super().__init__(f"{field}: {in_body!r} differs from the Idempotency-Key {key!r}; send one, or the same")
        self.field = field


class CommandRetryable(DaibanError):
    """The command's outcome is unknown: send it again with the same ``request_id``.

    ``throttled`` is true when Temporal refused it for its limit on concurrent updates per project.
    """

    def __init__(self, message: str, request_id: str, *, throttled: bool = False) -> None:
        super().__init__(f"{message}; retry with the same request id {request_id}")
        self.request_id = request_id
        self.throttled = throttled


@dataclass(frozen=True)
class ExistingRun:
    """A project's current run, as Temporal describes it."""

    run_id: str
    running: bool


# Temporal answers that leave an update's outcome open: retry with the same request id.
_RETRYABLE_RPC = {
    RPCStatusCode.RESOURCE_EXHAUSTED,  # e.g. the limit on concurrent in-flight updates per workflow
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.CANCELLED,
}


def checked(model: C) -> C:
    """``model`` validated again from its JSON, the way the workflow will decode it, and bounded.

    Catches what construction let through (``model_construct``, a mutated copy) and a message over
    ``MAX_MESSAGE_BYTES`` (Temporal refuses payloads over 2 MB and the events a command produces
    travel in the same history).

    Raises:
        InvalidInput: the field errors; nothing was sent.
    """
    try:
        data = model.model_dump_json()
    except (PydanticSerializationError, UnicodeError, ValueError) as exc:
        raise InvalidInput([{"loc": [], "msg": f"not encodable as JSON: {exc}"}]) from None
    size = len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise InvalidInput([{"loc": [], "msg": f"{size} bytes encoded, over the limit of {MAX_MESSAGE_BYTES}"}])
    try:
        return type(model).model_validate_json(data)
    except ValidationError as exc:
        raise InvalidInput([dict(e) for e in exc.errors(include_url=False, include_input=False)]) from None


def new_request_id() -> str:
    """A fresh request id for a command (keep it to retry the command safely)."""
    return f"req-{uuid.uuid4().hex}"


def request_id_field(model: type[BaseModel]) -> str | None:
    """The field a command is idempotent on: ``decision_id`` (decisions), ``request_id``, or none."""
    return next((f for f in ("decision_id", "request_id") if f in model.model_fields), None)


def with_request_id(cmd: C, key: str | None) -> C:
    """``cmd`` with ``key`` (e.g. an HTTP ``Idempotency-Key``) as its request id when it has none.

    Raises:
        RequestIdConflict: the command already carries another id.
    """
    field = request_id_field(type(cmd))
    if key is None or field is None:
        return cmd
    current = getattr(cmd, field)
    if current is None:
        return cmd.model_validate({**cmd.model_dump(), field: key})
    if current != key:
        raise RequestIdConflict(field, current, key)
    return cmd


# The query's refusal while the project registers. A failed query carries only its message (no
# failure type, unlike updates, which are refused with the typed ``NotReady``), so ``state()``
# recognises it by this text, here and nowhere else. A typed answer would need the query to return
# a minimal "registering" view instead of failing: a change of the workflow's contract.
_QUERY_NOT_READY = "still registering"


class _Method(Generic[C, R]):
    """A typed method of ``DaibanClient`` sending one command of the table: ``client.X(project_id, cmd)``."""

    def __init__(self, command: Command[C, R]) -> None:
        self.command = command
        self.__doc__ = command.description

    @overload
    def __get__(self, client: None, owner: type[DaibanClient]) -> _Method[C, R]: ...

    @overload
    def __get__(self, client: DaibanClient, owner: type[DaibanClient]) -> Callable[[str, C], Awaitable[R]]: ...

    def __get__(
        self, client: DaibanClient | None, owner: type[DaibanClient]
    ) -> _Method[C, R] | Callable[[str, C], Awaitable[R]]:
        if client is None:
            return self
        command = self.command

        def send(project_id: str, cmd: C) -> Awaitable[R]:
            return client.send(command, project_id, cmd)

        send.__name__ = command.name
        send.__doc__ = command.description
        return send


class DaibanClient:
    """Register projects, send decisions and commands, read state."""

    # A new project's continue-as-new threshold in history events (None: the workflow's own,
    # ``workflows.project``); the time-skipping simulation sets a long one (``benchmarks.simulate``).
    history_limit: int | None = None

    def __init__(
        self,
        client: Client,
        task_queue: str = "daiban",
        *,
        principal: Principal | None = None,
        contacts: ContactBook | None = None,
    ) -> None:
        """``principal``: the service credential every command is checked against (None: a trusted
        service); ``contacts``: where the enterprise contacts are kept (PostgreSQL and the keys)."""
        self.client = client
        self.task_queue = task_queue
        self.principal = principal
        self.contacts = contacts

    @classmethod
    async def connect(
        cls,
        address: str | None = None,
        namespace: str | None = None,
        task_queue: str | None = None,
        *,
        principal: Principal | None = None,
        contacts: ContactBook | None = None,
    ) -> DaibanClient:
        """A client as every daiban tool connects (``infra.temporal.connect``: ``TEMPORAL_ADDRESS``,
        ``TEMPORAL_NAMESPACE``, profiles, ``DAIBAN_*``), unless ``address`` / ``namespace`` say
        otherwise; acting as ``principal``, else as ``DAIBAN_TOKEN``'s principal when it is set
        (``interfaces.auth.service``). Raises ``infra.settings.ConfigError`` (one line) when Temporal
        cannot be reached or the token is no principal's."""
        from infra.settings import load_settings
        from infra.temporal import connect
        from interfaces.auth.service import principal_for

        s = load_settings()
        if namespace is not None:
            s = s.model_copy(update={"temporal_namespace": namespace})
            s.model_fields_set.add("temporal_namespace")
        acting = principal or principal_for(s)
        return cls(await connect(s, address=address), task_queue or s.task_queue, principal=acting, contacts=contacts)

    def _refused(self, exc: AuthError, action: str, project_id: str) -> AuthError:
        """Log a refusal of the service credential (as the gateway logs its own) and return it."""
        log.warning(
            "client command refused",
            principal=self.principal.name if self.principal else None,
            reason=exc.reason,
            command=action,
            project_id=project_id,
        )
        return exc

    def _as_principal(self, cmd: C, action: str, project_id: str) -> C:
        """``cmd`` with ``by`` / ``decided_by`` the principal's name (filled when empty; 403 when another)."""
        if self.principal is None:
            return cmd
        filled: dict[str, str] = {}
        try:
            for name in (n for n in _BY_FIELDS if n in type(cmd).model_fields):
                claimed = getattr(cmd, name)
                check_by(self.principal, claimed, name)
                if claimed is None:
                    filled[name] = self.principal.name
        except AuthError as exc:
            raise self._refused(exc, action, project_id) from None
        return cmd.model_validate({**cmd.model_dump(), **filled}) if filled else cmd

    async def authorize(self, command: Command[Any, Any], project_id: str, cmd: C) -> C:
        """``cmd`` as the service credential may send it (``by`` its principal), or ``AuthError`` (403, logged).

        Without a principal, ``cmd`` as it is (a trusted service).
        """
        if self.principal is None:
            return cmd
        cmd = self._as_principal(cmd, command.name, project_id)
        team = await self.project_team(project_id)
        try:
            check_command(self.principal, command.name, team, getattr(cmd, "department", None))
        except AuthError as exc:
            raise self._refused(exc, command.name, project_id) from None
        return cmd

    async def project_team(self, project_id: str) -> ProjectTeam:
        """The project's zone and people, what authorization needs (from ``state``).

        Raises:
            ProjectNotFound: no such project, or its run failed before it had a team (a refused start).
        """
        try:
            return team_of(await self.state(project_id, wait=5.0))
        except WorkflowFailureError:
            raise ProjectNotFound(f"project_id: {project_id} failed at its start; it has no team to act for") from None

    def handle(self, project_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(p.workflow_id_for(project_id))

    async def register(self, reg: p.RegisterProject, contact: EnterpriseContact | None = None) -> str:
        """Start a project's lifecycle; registering the same project id again is a no-op.

        Returns the workflow's run id (the same one on a repeat, also once the project has ended:
        a finished project's id is never reused for another).

        ``contact``: the enterprise's contact, stored encrypted in PostgreSQL (``set_contact``) and
        never sent to Temporal; another contact for a known project is refused (``CommandRejected``).

        The zone is checked by the workflow (``UnknownZone``, at once); such a refused start does not
        keep the id from being registered again. The gateway checks it before starting
        (``interfaces.usecases.register_project``, against the zones in force in PostgreSQL).

        Raises:
            InvalidInput: a field daiban cannot keep; nothing was started.
            AuthError: the service credential may not register in the zone (403); nothing was started.
        """
        reg = checked(reg)
        if self.principal is not None:
            try:
                check_register(self.principal, reg.zone)
            except AuthError as exc:
                raise self._refused(exc, "register", reg.project_id) from None
        if contact is not None:
            await self._store_contact(reg.project_id, contact, None, replace=False)
        try:
            return await self._start(reg, WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError as exc:
            if not await self.start_refused(reg.project_id):
                return exc.run_id or ""
        # The id's only run was a start refused before it registered anything (another caller's
        # bad input, or a start naming this project's workflow id for another): register for real.
        try:
            return await self._start(reg, WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY)
        except WorkflowAlreadyStartedError as exc:
            return exc.run_id or ""

    async def _start(self, reg: p.RegisterProject, reuse: WorkflowIDReusePolicy) -> str:
        handle = await self.client.start_workflow(
            "ProjectWorkflow",  # by name: the workflow takes its input raw and checks it itself
            ProjectInput(registration=reg, history_limit=self.history_limit),
            result_type=p.ProjectResult,
            id=p.workflow_id_for(reg.project_id),
            task_queue=self.task_queue,
            # A running project answers a repeated registration; a finished one is never reused.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=reuse,
            memo={"name": reg.name, "enterprise": reg.enterprise, "investment_yuan": reg.investment_yuan},
            search_attributes=visibility.initial(reg),
            static_summary=f"{reg.name} · {reg.enterprise} · zone {reg.zone}",
        )
        return handle.result_run_id or ""

    async def start_refused(self, project_id: str) -> bool:
        """Whether the project's last run failed as a refused start (``workflows.start.START_REFUSALS``)."""
        handle = self.handle(project_id)
        try:
            if (await handle.describe()).status != WorkflowExecutionStatus.FAILED:
                return False
            await handle.result(follow_runs=False)
        except WorkflowFailureError as exc:
            cause: BaseException | None = exc.cause
            while isinstance(cause, FailureError) and not isinstance(cause, ApplicationError):
                cause = cause.cause  # e.g. the activity error around UnknownZone
            return isinstance(cause, ApplicationError) and cause.type in START_REFUSALS
        except RPCError:
            return False
        return False

    async def send(self, command: Command[C, R], project_id: str, cmd: C, *, wait: float = 30.0) -> R:
        """Send ``command`` (a row of ``schemas.commands``); retry what leaves the outcome open for ``wait`` seconds.

        Retries reuse the request id, so the project applies the command at most once.
        """
        arg: BaseModel = await self.authorize(command, project_id, checked(cmd))
        if "request_id" in type(arg).model_fields and getattr(arg, "request_id", None) is None:
            arg = with_request_id(arg, new_request_id())
        field = request_id_field(type(arg))
        rid = str(getattr(arg, field) if field else "")
        loop = asyncio.get_running_loop()
        until, attempt = loop.time() + wait, 0
        while True:
            attempt += 1
            try:
                async with gate_of(self.client).slot(project_id, deadline=until):
                    answer: R = await self.handle(project_id).execute_update(
                        command.name, arg, result_type=command.answer
                    )
                return answer
            except QueuedTooLong as exc:  # behind this process's own commands to the project
                raise CommandRetryable(str(exc), rid) from None
            except WorkflowUpdateFailedError as exc:
                cause = exc.cause
                if not isinstance(cause, ApplicationError):
                    raise DaibanError(str(cause or exc)) from None
                if cause.type not in (NOT_READY, CONTENT_NOT_LOADED):
                    # A payload that did not decode carries pydantic's field errors one level down.
                    inner = cause.cause if isinstance(cause.cause, ApplicationError) else None
                    raise CommandRejected(inner.message if inner else cause.message) from None
                retry: DaibanError = NotReady(
                    f"project_id: {project_id} is still registering" if cause.type == NOT_READY else cause.message
                )
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                retry = CommandRetryable("the project did not answer in time", rid)
            except RPCError as exc:
                if exc.status not in _RETRYABLE_RPC and "aborted" not in exc.message:
                    raise _translate(exc, project_id) from None
                throttled = exc.status == RPCStatusCode.RESOURCE_EXHAUSTED
                retry = CommandRetryable(f"Temporal: {exc.message}", rid, throttled=throttled)
            # Refused for the limit on updates in flight (other processes' commands): spread out
            # more, each refusal costs the project its in-flight work (``interfaces.admission``).
            throttled = isinstance(retry, CommandRetryable) and retry.throttled
            delay = backoff(attempt, first=0.2 if throttled else 0.1, cap=THROTTLED_CAP_S if throttled else 2.0)
            if loop.time() + delay > until:
                raise retry
            await asyncio.sleep(delay)

    async def command(self, update: str, project_id: str, cmd: BaseModel) -> BaseModel:
        """Send the command named ``update`` (``send`` and the typed methods below are its shortcuts).

        Raises:
            DaibanError: no command has that name, or ``cmd`` is not its request model.
        """
        command = commands.BY_NAME.get(update)
        if command is None or not isinstance(cmd, command.request):
            raise DaibanError(f"update: ProjectWorkflow has no update {update!r} taking {type(cmd).__name__}")
        answer: BaseModel = await self.send(command, project_id, cmd)
        return answer

    # One typed method per command, named as its update: ``await client.decide(project_id, decision)``.
    decide = _Method(commands.DECIDE)
    verify = _Method(commands.VERIFY)
    submit_application = _Method(commands.SUBMIT_APPLICATION)
    supply_materials = _Method(commands.SUPPLY_MATERIALS)
    resubmit = _Method(commands.RESUBMIT)
    stop_clock = _Method(commands.STOP_CLOCK)
    resume_clock = _Method(commands.RESUME_CLOCK)
    extend_limit = _Method(commands.EXTEND_LIMIT)
    reassign_agent = _Method(commands.REASSIGN_AGENT)
    report_progress = _Method(commands.REPORT_PROGRESS)
    resolve_meeting = _Method(commands.RESOLVE_MEETING)
    withdraw = _Method(commands.WITHDRAW)
    confirm_deadline = _Method(commands.CONFIRM_DEADLINE)
    retry_faulted = _Method(commands.RETRY_FAULTED)
    extend_permit = _Method(commands.EXTEND_PERMIT)
    migrate_content = _Method(commands.MIGRATE_CONTENT)
    adopt_calendar = _Method(commands.ADOPT_CALENDAR)
    rate = _Method(commands.RATE)
    record_callback = _Method(commands.RECORD_CALLBACK)
    record_fix = _Method(commands.RECORD_FIX)

    async def complete_construction(self, project_id: str, by: str, note: str = "") -> p.Ack:
        """Construction is finished: request the joint completion acceptance (联合验收)."""
        cmd = p.ProgressReport(percent=100, by=by, note=note or "construction complete; joint acceptance requested")
        return await self.report_progress(project_id, cmd)

    def _book(self) -> ContactBook:
        if self.contacts is None:
            raise DaibanError(
                "contact: no contact store (DATABASE_URL, DAIBAN_CONTACT_KEYS): personal data is not kept in plaintext"
            )
        return self.contacts

    async def _store_contact(
        self, project_id: str, contact: EnterpriseContact, by: str | None, *, replace: bool
    ) -> EnterpriseContact:
        book = self._book()
        contact = checked(contact)
        stored_by = by or "trusted-service"
        if self.principal is not None:
            try:
                stored_by = check_by(self.principal, by)
            except AuthError as exc:
                raise self._refused(exc, "set_contact", project_id) from None
        stored = await store_contact(book.db, book.cipher, project_id, contact, stored_by, replace=replace)
        if stored != contact:
            raise CommandRejected(f"contact: {project_id} has another contact stored; replace it to change it")
        log.info("contact stored", project_id=project_id, by=stored_by, replaced=replace)
        return stored

    async def set_contact(
        self, project_id: str, contact: EnterpriseContact, *, by: str | None = None, replace: bool = False
    ) -> EnterpriseContact:
        """Store the enterprise's contact of a registered project, encrypted in PostgreSQL (never in Temporal).

        With a service credential: the project's agent, backup, lead or an operator of its zone, and
        ``by`` is the principal. ``replace``: overwrite a stored contact (else another one is refused).

        Raises:
            CommandRejected: another contact is stored and ``replace`` is false.
            AuthError: beyond the credential's role (403, logged).
            ProjectNotFound: no such project.
        """
        team = await self.project_team(project_id)
        if self.principal is not None:
            try:
                check_contact(self.principal, team)
            except AuthError as exc:
                raise self._refused(exc, "set_contact", project_id) from None
        return await self._store_contact(project_id, contact, by, replace=replace)

    async def contact(self, project_id: str) -> EnterpriseContact | None:
        """The enterprise's contact, decrypted (None when none is stored); each read is logged (not the values).

        With a service credential: the project's agent, backup, lead or an operator of its zone.
        """
        book = self._book()
        if self.principal is not None:
            team = await self.project_team(project_id)
            try:
                check_contact(self.principal, team)
            except AuthError as exc:
                raise self._refused(exc, "contact", project_id) from None
        found = await fetch_contact(book.db, book.cipher, project_id)
        log.info("contact read", project_id=project_id, principal=self.principal.name if self.principal else None)
        return found

    async def clock_ledger(self, project_id: str) -> list[ClockLedger]:
        """The project's open clocks with their legal ledgers (to preview a calendar change).

        Empty while the project is registering (it takes the calendar in force when it registers).
        """
        try:
            answer = await self.handle(project_id).query(
                ProjectWorkflow.clock_ledger, rpc_timeout=timedelta(seconds=10)
            )
        except WorkflowQueryFailedError:
            return []
        except RPCError as exc:
            raise _translate(exc, project_id) from None
        return answer.clocks

    async def migration_preview(self, project_id: str, cmd: p.MigrateContent) -> p.MigrationPreview:
        """What ``migrate_content`` would do to the project: the deadlines it would move (nothing changes).

        Raises:
            CommandRejected: the migration would be refused (the reason names the field).
            ProjectNotFound: no such project.
        """
        try:
            return await self.handle(project_id).query(
                ProjectWorkflow.migration_preview, cmd, rpc_timeout=timedelta(seconds=10)
            )
        except WorkflowQueryFailedError as exc:
            raise CommandRejected(exc.message) from None
        except RPCError as exc:
            raise _translate(exc, project_id) from None

    async def calendar_updated(self, project_id: str, update: p.CalendarUpdate) -> None:
        """Signal a newly loaded official calendar (its content version) to a running project.

        Unchecked: a version no worker ever holds stalls the project, so send only a version just
        stored (as ``interfaces.usecases.publish_calendar`` does); otherwise use ``adopt_calendar``,
        which refuses such a version before history."""
        try:
            await self.handle(project_id).signal(ProjectWorkflow.calendar_updated, update)
        except RPCError as exc:
            raise _translate(exc, project_id) from None

    async def existing_run(self, project_id: str) -> ExistingRun | None:
        """The project's current run, or None when no project has that id."""
        try:
            desc = await self.handle(project_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return None
            raise _translate(exc, project_id) from None
        return ExistingRun(desc.run_id, desc.status == WorkflowExecutionStatus.RUNNING)

    async def state(self, project_id: str, *, wait: float = 10.0) -> p.ProjectView:
        """The project's full state; waits up to ``wait`` seconds while it is registering.

        One call: the ``state`` query (a closed project answers it from its history). Only while the
        project answers that it is still registering is its run described, to tell a run that
        ended before registering (its failure raised, as ``result`` raises it) from one still at it.
        """
        handle = self.client.get_workflow_handle_for(ProjectWorkflow.run, p.workflow_id_for(project_id))
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        while True:
            try:
                try:
                    return await handle.query(ProjectWorkflow.state)
                except WorkflowQueryFailedError as exc:
                    if _QUERY_NOT_READY not in exc.message:
                        raise DaibanError(str(exc)) from None
                if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                    await handle.result()  # the run ended before it registered: its failure
                    raise DaibanError(f"project_id: {project_id} ended before it registered")
            except RPCError as exc:
                raise _translate(exc, project_id) from None
            if loop.time() > until:
                raise NotReady(f"project_id: {project_id} is still registering")
            await asyncio.sleep(0.2)

    async def list_projects(self, query: str = "") -> list[p.ProjectSummary]:
        """Projects matching a visibility query, newest first, with their search attributes.

        Raises:
            InvalidQuery: Temporal refused the query (unknown attribute, bad syntax).
        """
        # A run that continued as new is the same project: only its latest run is listed.
        base = "WorkflowType = 'ProjectWorkflow' AND ExecutionStatus != 'ContinuedAsNew'"
        # The query is wrapped in parentheses after daiban's own clause: it must not close them.
        bad = visibility.self_contained(query)
        if bad is not None:
            raise InvalidQuery(f"query: {bad}: a filter stays within its own parentheses")
        rows = []
        try:
            async for wf in self.client.list_workflows(f"{base} AND ({query})" if query else base):
                sa = wf.typed_search_attributes
                rows.append(
                    p.ProjectSummary(
                        project_id=sa.get(visibility.PROJECT_ID) or wf.id.removeprefix("project-"),
                        status=wf.status.name.lower() if wf.status else "unknown",
                        zone=sa.get(visibility.ZONE),
                        stage=sa.get(visibility.STAGE),
                        agent=sa.get(visibility.AGENT),
                        open_departments=list(sa.get(visibility.OPEN_DEPARTMENTS) or []),
                        overdue=bool(sa.get(visibility.OVERDUE)),
                        next_deadline=sa.get(visibility.NEXT_DEADLINE),
                    )
                )
        except RPCError as exc:
            if exc.status == RPCStatusCode.INVALID_ARGUMENT:
                raise InvalidQuery(f"query: {exc.message}") from None
            raise
        return rows


def _translate(exc: RPCError, project_id: str) -> DaibanError:
    if exc.status == RPCStatusCode.NOT_FOUND and "already completed" in exc.message:
        # A command or signal to a run that has ended: the project exists (``daiban project show``).
        return ProjectFinished(f"project_id: project {project_id!r} has ended; it takes no more commands")
    if exc.status == RPCStatusCode.NOT_FOUND:
        return ProjectNotFound(f"project_id: no project {project_id!r}")
    if exc.status in _UNAVAILABLE or "no poller seen" in exc.message:  # (no worker on its queue right now)
        return TemporalUnavailable(f"Temporal: {exc.message}")
    return DaibanError(f"Temporal: {exc.message}")


# Answers of an overloaded, restarting or unreachable server: the request may be retried as it is.
_UNAVAILABLE = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.UNKNOWN,
    }
)
