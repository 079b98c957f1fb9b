"""What every ``daiban`` command shares: connecting (``run``, ``read``), printing (``emit``), failing.

Exit codes: 0 success; 2 bad input or configuration; 1 refused by the project.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from infra.settings import ConfigError, Settings, load_settings
from infra.temporal import connect
from interfaces.client import CommandRejected, DaibanClient, DaibanError, InvalidInput, NotReady, ProjectNotFound
from schemas.commands import Command

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

out = Console()
RequestIdOpt = Annotated[
    str | None,
    typer.Option(help="Idempotency key: resend a command with the same id and it is applied once (default: a new id)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``daiban: message`` on stderr; raise the returned ``typer.Exit`` to end with ``code``."""
    print(f"daiban: {message}", file=sys.stderr)
    return typer.Exit(code)


def field_error(exc: ValidationError) -> str:
    """The first field error as one line: ``field: message``."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "input"
    return f"{where}: {err['msg']}"


def build(model: type[M], **fields: Any) -> M:
    """Validate command-line input into a schema model, or exit naming the bad field."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise fail(field_error(exc)) from None


@dataclass(frozen=True)
class Opt:
    """An option of an update's command: ``--name`` (or ``decls``), filling the field ``field`` (default: name)."""

    name: str
    type: Any = str
    help: str | None = None
    field: str = ""
    default: Any = inspect.Parameter.empty
    decls: tuple[str, ...] = ()

    def parameter(self) -> inspect.Parameter:
        option = Annotated[self.type, typer.Option(*self.decls, help=self.help)]  # type: ignore[name-defined]  # built at run time
        return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, default=self.default, annotation=option)


def update_command(update: Command[Any, Any], doc: str, *options: Opt) -> Callable[..., None]:
    """The verb that sends ``update`` (a row of ``schemas.commands``, named as it): ``PROJECT_ID``,
    ``options`` filling its request model, then ``--request-id`` (when the model has one) and
    ``--json``; it prints the answer."""
    model = update.request

    def command(project_id: str, as_json: bool = False, request_id: str | None = None, **values: Any) -> None:
        cmd = build(model, request_id=request_id, **{o.field or o.name: values[o.name] for o in options})
        acknowledge(project_id, lambda c: c.send(update, project_id, cmd), as_json)

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("project_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str),
        *(o.parameter() for o in options),
        *(
            [inspect.Parameter("request_id", keyword, default=None, annotation=RequestIdOpt)]
            if "request_id" in model.model_fields
            else []
        ),
        inspect.Parameter("as_json", keyword, default=False, annotation=JsonOpt),
    ]
    command.__name__ = update.name
    command.__doc__ = doc
    command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
    command.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]  # read by typer
    return command


def database_url(s: Settings) -> str:
    if not s.database_url:
        raise ConfigError("DATABASE_URL is not set; point it at daiban's PostgreSQL")
    return s.database_url


def run(fn: Callable[[DaibanClient], Awaitable[T]]) -> T:
    """Connect to Temporal with the environment's settings and run ``fn``; errors become one line."""

    async def main() -> T:
        s = load_settings()
        return await fn(DaibanClient(await connect(s), s.task_queue))

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except (ProjectNotFound, InvalidInput) as exc:
        raise fail(str(exc)) from None
    except (CommandRejected, NotReady) as exc:
        raise fail(f"refused: {exc}", 1) from None
    except DaibanError as exc:
        raise fail(str(exc), 1) from None


def read(fn: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run ``fn`` with a pool on ``DATABASE_URL``; errors become one line."""
    from infra.db import create_pool

    async def main() -> T:
        pool = await create_pool(database_url(load_settings()), max_size=2)
        try:
            return await fn(pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        raise fail(str(exc)) from None


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    """Print ``data`` as JSON (models, lists of models, plain data) or call ``render`` for a human."""
    if not as_json:
        render()
    elif isinstance(data, BaseModel):
        print(data.model_dump_json(indent=2))
    elif isinstance(data, list) and all(isinstance(r, BaseModel) for r in data):
        print(json.dumps([r.model_dump(mode="json") for r in data], indent=2, ensure_ascii=False))
    else:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def table(rows: Sequence[BaseModel], columns: list[str]) -> None:
    """A table of ``rows``' ``columns``."""
    t = Table(*columns)
    for r in rows:
        d = r.model_dump()
        t.add_row(*("" if d.get(c) is None else str(d.get(c)) for c in columns))
    out.print(t)


def acknowledge(project_id: str, call: Callable[[DaibanClient], Awaitable[BaseModel]], as_json: bool) -> None:
    """Send a command and print its answer (``Ack`` or ``DecisionResult``)."""
    result = run(call)
    emit(
        result,
        as_json,
        lambda: out.print(f"{project_id}: {json.dumps(result.model_dump(mode='json'), ensure_ascii=False)}"),
    )
