"""``daiban setup``: prepare a cluster for daiban, each step idempotent (the deployment's setup job).

``daiban setup all`` applies the migrations (``daiban db migrate``), registers the namespace
(``DAIBAN_TEMPORAL_NAMESPACE``) when missing, adds the missing search attributes, creates or
updates the zone schedules and, with worker versioning (``DAIBAN_WORKER_DEPLOYMENT`` and
``DAIBAN_BUILD_ID``), makes this release's workers the ones that take the tasks; running it again
changes nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer
from temporalio.client import Client

from infra import cluster, migrate, schedules
from infra.settings import BUILD_ID_PATTERN, ConfigError, Settings, load_settings
from interfaces.cli.common import JsonOpt, database_url, emit, fail, out

app = typer.Typer(help="Prepare a Temporal cluster and PostgreSQL for daiban (idempotent).", no_args_is_help=True)

T = TypeVar("T")
RetentionOpt = Annotated[
    int, typer.Option(min=1, max=3650, help="Days Temporal keeps a closed project's history (new namespace only).")
]


def _temporal(fn: Callable[[Client, Settings], Awaitable[T]]) -> T:
    """Run ``fn`` with a Temporal client (envconfig and settings); errors become one line."""
    from infra.temporal import connect

    async def go() -> T:
        s = load_settings()
        return await fn(await connect(s), s)

    try:
        return asyncio.run(go())
    except (ConfigError, ValueError) as exc:
        raise fail(str(exc)) from None


async def _namespace(client: Client, s: Settings, retention_days: int) -> bool:
    ns = client.namespace
    if ns != s.temporal_namespace and "temporal_namespace" in s.model_fields_set:
        raise ConfigError(f"DAIBAN_TEMPORAL_NAMESPACE: client is on {ns}")
    return await cluster.ensure_namespace(client, ns, timedelta(days=retention_days))


@app.command("namespace")
def setup_namespace(retention_days: RetentionOpt = 90, as_json: JsonOpt = False) -> None:
    """Register the namespace daiban runs in (DAIBAN_TEMPORAL_NAMESPACE / TEMPORAL_NAMESPACE) when missing."""
    created = _temporal(lambda c, s: _namespace(c, s, retention_days))
    emit({"registered": created}, as_json, lambda: out.print("namespace registered" if created else "namespace exists"))


@app.command("search-attributes")
def setup_search_attributes(as_json: JsonOpt = False) -> None:
    """Add daiban's search attributes (schemas/visibility.py) missing from the namespace."""
    added = _temporal(lambda c, s: cluster.ensure_search_attributes(c, c.namespace))
    emit({"added": added}, as_json, lambda: out.print(f"search attributes added: {', '.join(added) or '-'}"))


@app.command("schedules")
def setup_schedules(as_json: JsonOpt = False) -> None:
    """Create or update the zone's schedules (daily overdue digest, weekly zone report, November calendar reminder)."""
    done = _temporal(lambda c, s: schedules.ensure_schedules(c, s.task_queue))
    emit(done, as_json, lambda: out.print(" ".join(f"{k}={v}" for k, v in done.items())))


async def _current_version(client: Client, s: Settings, build_id: str | None = None) -> dict[str, Any] | None:
    """This release (or ``build_id``) made the current version of its worker deployment (None: versioning
    not configured)."""
    build = build_id or s.build_id
    if not (s.worker_deployment and build):
        return None
    changed = await cluster.make_current_version(client, s.worker_deployment, build)
    return {"deployment": s.worker_deployment, "build_id": build, "changed": changed}


def _build_id(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(BUILD_ID_PATTERN, value):
        raise typer.BadParameter(f"not a build id (letters, digits, '.', '_', '+', '-'): {value!r}")
    return value


BuildIdOpt = Annotated[
    str | None,
    typer.Option(
        "--build-id",
        callback=_build_id,
        help="The release to make current instead of DAIBAN_BUILD_ID (a rollback, or a switch run from any pod).",
    ),
]


@app.command("current-version")
def setup_current_version(build_id: BuildIdOpt = None, as_json: JsonOpt = False) -> None:
    """Make DAIBAN_BUILD_ID (or --build-id) the current version of DAIBAN_WORKER_DEPLOYMENT once its workers poll
    (waits up to 10 minutes): only its workers take tasks from then on. Run it in a worker pod, which has the
    deployment's settings: kubectl -n daiban exec deploy/daiban-worker -- daiban setup current-version --build-id V."""
    done = _temporal(lambda c, s: _current_version(c, s, build_id))
    if done is None:
        raise fail("DAIBAN_WORKER_DEPLOYMENT and DAIBAN_BUILD_ID: not set (worker versioning is off)")
    emit(
        done,
        as_json,
        lambda: out.print(
            f"{done['deployment']}.{done['build_id']} " + ("made current" if done["changed"] else "is current already")
        ),
    )


@app.command("all")
def setup_all(retention_days: RetentionOpt = 90, as_json: JsonOpt = False) -> None:
    """Migrations, namespace, search attributes, schedules and (worker versioning) the current version, in that
    order; safe to repeat."""
    from infra.db import create_pool

    async def go(client: Client, s: Settings) -> dict[str, Any]:
        pool = await create_pool(database_url(s), max_size=2)
        try:
            applied = await migrate.apply(pool)
        except migrate.MigrationError as exc:
            raise ConfigError(str(exc)) from None
        finally:
            await pool.close()
        registered = await _namespace(client, s, retention_days)
        added = await cluster.ensure_search_attributes(client, client.namespace)
        made = await schedules.ensure_schedules(client, s.task_queue)
        return {
            "migrations_applied": applied,
            "namespace_registered": registered,
            "search_attributes_added": added,
            "schedules": made,
            "current_version": await _current_version(client, s),
        }

    result = _temporal(go)
    emit(result, as_json, lambda: out.print(" ".join(f"{k}={v}" for k, v in result.items())))


def install(root: typer.Typer) -> None:
    root.add_typer(app, name="setup")
