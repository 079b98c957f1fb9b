"""What every ``daiban`` command shares: connecting (``run``, ``read``), printing (``emit``), failing.

Exit codes: 0 success; 2 bad input or configuration; 1 refused by the project, or by the roles of
the service credential (``DAIBAN_TOKEN``: ``daiban: forbidden: <reason>``). Every error is one
line on stderr starting ``daiban:`` (``fail``). Human output: tables keep ids and codes whole and
wrap the other columns (``show_table``), also when piped; times are Beijing time with their offset,
to the second (``when``); ``--json`` keeps ISO 8601 with the offset.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from pydantic import BaseModel, ValidationError
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from infra.settings import ConfigError, Settings, load_settings
from infra.temporal import connect
from interfaces.auth.verifying import AuthError
from interfaces.client import (
    CommandRejected,
    DaibanClient,
    DaibanError,
    InvalidInput,
    InvalidQuery,
    NotReady,
    ProjectNotFound,
)
from legalclock import CST
from schemas.commands import Command

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# Piped (no terminal, no COLUMNS), tables take their natural width up to 160 columns, not 80.
out = Console() if Console().is_terminal or os.environ.get("COLUMNS") else Console(width=160)
# Plain help (click's): every option with its help, flags as --x / --no-x, nothing cut at 80 columns.
HELP_STYLE: dict[str, Any] = {"rich_markup_mode": None, "pretty_exceptions_enable": False}
RequestIdOpt = Annotated[
    str | None,
    typer.Option(help="Idempotency key: resend a command with the same id and it is applied once (default: a new id)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ProjectArg = Annotated[str, typer.Argument(help="The project's id, e.g. p-2026-001.")]


# Help of the options the commands share, where a command gives none (every flag is documented).
OPTION_HELP = {
    "matter": "Matter code, e.g. eia.",
    "department": "The department's code, e.g. ecology.",
    "by": "Who does it (recorded).",
    "reason": "Why (recorded).",
    "note": "A note (recorded).",
    "days": "Working days.",
    "approved_by": "Who approved it (the agency head).",
    "percent": "Construction progress in percent (0-100).",
    "meeting": "The joint meeting's id.",
    "resolution": "What the meeting resolved.",
    "decision_id": "Unique id of this decision (retry-safe).",
    "findings": "What the verification found.",
    "passed": "Whether the verification passed.",
    "kind": "The kind (see the README).",
}


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``daiban: message`` on stderr; raise the returned ``typer.Exit`` to end with ``code``."""
    print(f"daiban: {message}", file=sys.stderr)
    return typer.Exit(code)


def field_error(exc: ValidationError, options: dict[str, str] | None = None) -> str:
    """Every field error, on one line: ``field: message; field: message``.

    ``options`` maps a field to the command-line option that fills it (``reasons`` ->
    ``--reason``), so the message names what the person typed.
    """
    names = options or {}
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if where:
            head = str(err["loc"][0])
            where = names.get(head, head) + where[len(head) :]
        else:  # a rule over several fields; its message starts with the field it names
            field, sep, rest = msg.partition(": ")
            if sep and field in names:
                msg = f"{names[field]}: {rest}"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def build(model: type[M], options: dict[str, str] | None = None, **fields: Any) -> M:
    """Validate command-line input into a schema model, or exit naming every bad field (``field_error``)."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise fail(field_error(exc, options)) from None


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
        help_ = self.help or OPTION_HELP.get(self.name)
        option = Annotated[self.type, typer.Option(*self.decls, help=help_)]  # type: ignore[name-defined]  # built at run time
        return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, default=self.default, annotation=option)


def update_command(update: Command[Any, Any], doc: str, *options: Opt) -> Callable[..., None]:
    """The verb that sends ``update`` (a row of ``schemas.commands``, named as it): ``PROJECT_ID``,
    ``options`` filling its request model, then ``--request-id`` (when the model has one) and
    ``--json``; it prints the answer."""
    model = update.request

    # Field -> the option filling it, for errors (``reasons`` -> ``--reason``).
    names = {o.field or o.name: (o.decls or ("--" + o.name.replace("_", "-"),))[0].split("/")[0] for o in options}
    names["request_id"] = "--request-id"

    def command(project_id: str, as_json: bool = False, request_id: str | None = None, **values: Any) -> None:
        cmd = build(model, names, request_id=request_id, **{o.field or o.name: values[o.name] for o in options})
        acknowledge(project_id, lambda c: c.send(update, project_id, cmd), as_json)

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("project_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=ProjectArg),
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


def run(fn: Callable[[DaibanClient], Awaitable[T]], *, contacts: bool = False) -> T:
    """Connect to Temporal with the environment's settings and run ``fn``; errors become one line.

    The client acts as ``DAIBAN_TOKEN``'s principal when it is set (``interfaces.auth.service``:
    each command checked against its roles, ``by`` its name; a refusal exits 1 with the gateway's
    403 reason). ``contacts``: also open the enterprise contacts' store (``DATABASE_URL`` and the
    contact keys) for ``fn``.
    """
    from interfaces.auth.service import contact_cipher, principal_for

    async def main() -> T:
        s = load_settings()
        principal = principal_for(s)
        if not contacts:
            return await fn(DaibanClient(await connect(s), s.task_queue, principal=principal))
        from eventstore.contacts import ContactBook
        from infra.db import create_pool

        cipher = contact_cipher(s)
        if cipher is None:
            raise ConfigError("DAIBAN_CONTACT_KEYS is not set: the enterprise's contact is kept only encrypted")
        pool = await create_pool(database_url(s), min_size=0, max_size=2)
        try:
            book = ContactBook(pool, cipher)
            return await fn(DaibanClient(await connect(s), s.task_queue, principal=principal, contacts=book))
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except AuthError as exc:  # the service credential's role (the gateway's 403)
        raise fail(f"forbidden: {exc.reason}", 1) from None
    except ValidationError as exc:  # an answer the client could not read
        raise fail(field_error(exc), 1) from None
    except (ProjectNotFound, InvalidInput, InvalidQuery) as exc:  # bad input: 2, as the gateway's 400/404
        raise fail(str(exc)) from None
    except (CommandRejected, NotReady) as exc:
        raise fail(f"refused: {exc}", 1) from None
    except DaibanError as exc:
        raise fail(str(exc), 1) from None


def read(fn: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run ``fn`` with a pool on ``DATABASE_URL``; errors become one line."""
    from infra.db import create_pool, redact

    url = ""

    async def main() -> T:
        nonlocal url
        url = database_url(load_settings())
        pool = await create_pool(url, max_size=2)
        try:
            return await fn(pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except asyncpg.UndefinedTableError as exc:
        raise fail(
            f"the database {redact(url)} has no daiban tables ({exc}); point DATABASE_URL at daiban's "
            "database (`. .daiban/env` after make run) or create them with `daiban db migrate`"
        ) from None
    except (asyncpg.PostgresError, OSError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(f"PostgreSQL at {redact(url)}: {detail}") from None


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


# Columns a person copies into the next command: never cut, never wrapped.
ID_COLUMNS = frozenset(
    {"project", "project_id", "stream_id", "matter", "matter_code", "clock", "clock_id", "license_no",
     "decision_id", "request_id", "meeting_id"}
)  # fmt: skip
# Other columns wrap at spaces, and fold a longer word, but never get narrower than this.
_MIN_WIDTH = 6


def when(at: datetime) -> str:
    """A time for a person: Beijing time with its offset, to the second (``2026-03-02 09:00:15 +08:00``;
    ``2026-03-02 17:30 +08:00`` on a whole minute)."""
    local = at.astimezone(CST) if at.tzinfo else at.replace(tzinfo=CST)
    clock = f"{local:%H:%M}" if local.second == 0 else f"{local:%H:%M:%S}"
    return f"{local:%Y-%m-%d} {clock} {local.isoformat()[-6:]}"


def cell(value: Any) -> str:
    """A value as a table cell: times by ``when``, mappings as ``key: value`` lines, lists joined."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "\n".join(f"{k}: {cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    return str(value)


def show_table(t: Table, keep: Iterable[str] = ID_COLUMNS) -> None:
    """Print ``t`` so that the columns named in ``keep`` are never cut or wrapped (their widest cell
    sets their width) and the others wrap (a word longer than 6 folds when space is short) instead of being cut with
    an ellipsis; also when piped (``out``'s width)."""
    kept = set(keep)
    for column in t.columns:
        texts = [str(c) for c in column.cells]
        if str(column.header) in kept:
            column.no_wrap = True
            column.min_width = max([cell_len(x) for x in texts] + [cell_len(str(column.header))])
        else:
            words = [cell_len(w) for x in [*texts, str(column.header)] for w in x.split()]
            column.min_width = min(max(words, default=1), _MIN_WIDTH)
            column.overflow = "fold"
    # Wider than the console only when the kept columns and the others' minimum need it (the
    # terminal then wraps the lines): an id is never cut.
    needed = sum(c.min_width or 0 for c in t.columns) + 3 * len(t.columns) + 1
    out.print(t, width=max(out.width, needed), crop=False)


def table(rows: Sequence[BaseModel], columns: list[str]) -> None:
    """A table of ``rows``' ``columns`` (``cell`` formats each value)."""
    t = Table(*columns)
    for r in rows:
        d = r.model_dump()
        t.add_row(*(cell(d.get(c)) for c in columns))
    show_table(t)


def fields_table(data: BaseModel | dict[str, Any]) -> None:
    """One model (or mapping) as a two-column table of its fields that have a value."""
    d = data.model_dump() if isinstance(data, BaseModel) else data
    t = Table("field", "value", show_header=False)
    for k, v in d.items():
        if v not in (None, [], {}, ""):
            t.add_row(k, cell(v))
    show_table(t, keep={"field"})


def acknowledge(project_id: str, call: Callable[[DaibanClient], Awaitable[BaseModel]], as_json: bool) -> None:
    """Send a command and print its answer (``Ack`` or ``DecisionResult``) as a table of its fields."""
    result = run(call)

    def render() -> None:
        out.print(f"[bold]{project_id}[/]")
        d = result.model_dump()
        if d.get("pending"):  # one line per step the project now waits for
            d["pending"] = "\n".join(
                f"{x['by']}: {x['awaited']} {x['matter_code']}" + (f" until {when(x['until'])}" if x["until"] else "")
                for x in d["pending"]
            ) + (f"\n(+{d['pending_more']} more)" if d.get("pending_more") else "")
        fields_table(d)

    emit(result, as_json, render)
