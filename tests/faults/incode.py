"""Work the fault suite does with the code under test, run as a script inside that code.

``python tests/faults/incode.py COMMAND ...`` with ``PYTHONPATH`` (and the working directory) set
to the tree under test, so a suite run against an older checkout migrates, replays and rebuilds
with that checkout's code, not with the tree the suite lives in. Commands:

- ``flags``: the ``temporal server start-dev`` flags registering the platform's search attributes.
- ``migrate DSN``: apply the migrations.
- ``replay DIR OUT DSN``: load the content a worker loads (shipped files, PostgreSQL), replay every
  ``*.json`` history of ``DIR`` on ``ProjectWorkflow``; write ``{file: error or null}`` to ``OUT``.
- ``rebuild DSN OUT``: catch the projector up, copy the live read models, rebuild them from the
  events, and write the rows that differ (per table, both ways) to ``OUT``.

Nothing here is imported by the suite itself; each command prints one JSON document or writes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any


def _flags() -> None:
    from schemas import visibility

    print(json.dumps(visibility.cli_flags()))


async def _migrate(dsn: str) -> None:
    from infra import migrate
    from infra.db import create_pool

    pool = await create_pool(dsn, max_size=2)
    try:
        print(json.dumps(await migrate.apply(pool)))
    finally:
        await pool.close()


def _read_all(folder: Path) -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def _write(out: Path, document: Any) -> None:
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")


def _in_tree(module: str) -> bool:
    """Whether the tree under test (the working directory) has ``module``.

    Only that tree counts: the venv's editable install finds a module missing from an older
    checkout in the tree the suite lives in.
    """
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return False
    return Path(spec.origin).resolve().is_relative_to(Path.cwd().resolve())


async def _load_content(dsn: str) -> None:
    """What a worker loads before it runs workflows: the content versions histories name.

    Code that carries catalog, zone policy and calendar by version (``activities.content``) needs
    them in its registry, from the shipped files and PostgreSQL, exactly as ``worker.py`` does;
    older code carries them in the workflow's state and has no such module.
    """
    if not _in_tree("activities.content"):
        return
    from activities import content
    from infra.db import create_pool

    content.load_shipped()
    pool = await create_pool(dsn, max_size=2)
    try:
        await content.load_stored(pool)
    finally:
        await pool.close()


async def _replay(folder: Path, out: Path, dsn: str) -> None:
    from temporalio.client import WorkflowHistory
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Replayer

    from workflows.project import ProjectWorkflow

    await _load_content(dsn)

    replayer = Replayer(workflows=[ProjectWorkflow], data_converter=pydantic_data_converter)
    results: dict[str, str | None] = {}
    for path, text in _read_all(folder):
        try:
            # Files are named WORKFLOW_ID.runN.json; the workflow checks its id against its input.
            history = WorkflowHistory.from_json(path.stem.rsplit(".run", 1)[0], text)
            result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
            failure = result.replay_failure
            results[path.name] = None if failure is None else f"{type(failure).__name__}: {failure}"
        except Exception as exc:  # a history the replayer cannot even read is unreplayable too
            results[path.name] = f"{type(exc).__name__}: {exc}"
    _write(out, results)


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


async def _rebuild(dsn: str, out: Path) -> None:
    from eventstore.projector import READ_MODEL_TABLES, Projector
    from infra.db import create_pool

    pool = await create_pool(dsn, max_size=2)
    try:
        projector = Projector(pool)
        await projector.run_once()
        for table in READ_MODEL_TABLES:
            await pool.execute(f"DROP TABLE IF EXISTS faults_live_{table}")
            await pool.execute(f"CREATE TABLE faults_live_{table} AS TABLE {table}")
        replayed = await projector.rebuild()
        diffs: dict[str, Any] = {"events_replayed": replayed, "tables": {}}
        for table in READ_MODEL_TABLES:
            live, rebuilt = f"faults_live_{table}", table
            only_live = await pool.fetch(f"TABLE {live} EXCEPT ALL TABLE {rebuilt}")
            only_rebuilt = await pool.fetch(f"TABLE {rebuilt} EXCEPT ALL TABLE {live}")
            diffs["tables"][table] = {
                "rows": await pool.fetchval(f"SELECT count(*) FROM {rebuilt}"),
                "only_live": [{k: _plain(v) for k, v in dict(r).items()} for r in only_live],
                "only_rebuilt": [{k: _plain(v) for k, v in dict(r).items()} for r in only_rebuilt],
            }
        _write(out, diffs)
    finally:
        await pool.close()


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "flags":
        _flags()
    elif command == "migrate":
        asyncio.run(_migrate(args[0]))
    elif command == "replay":
        asyncio.run(_replay(Path(args[0]), Path(args[1]), args[2]))
    elif command == "rebuild":
        asyncio.run(_rebuild(args[0], Path(args[1])))
    else:
        print(f"incode: unknown command {command}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # The answer is written; skip the interpreter's teardown, where the Temporal core's native
    # threads once aborted it (SIGABRT, no Python frame) after replaying 190 histories whose
    # results were all in the answer already.
    os._exit(status)
