"""JSON Schemas of the project workflow's contract, for services written in other languages.

``python -m interfaces.contracts`` writes ``contracts/`` from the models of ``schemas/``: the updates
are the commands of ``schemas.commands`` (a new row shows up here by itself), the workflow's input
and result, its signals and its queries are read from the annotations of ``ProjectWorkflow``'s
methods (``SIGNALS``, ``QUERIES``); ``--check`` only compares and exits 1 on drift. A test fails
when the checked-in files differ from what this generates.

Files: ``workflow.ProjectWorkflow.input.json`` / ``.result.json``, ``update.<name>.input.json`` /
``.result.json`` for each update, ``signal.<name>.input.json``, ``query.<name>.result.json`` (and
``.input.json`` for a query with an argument), and
``index.json`` naming the workflow type, task queue, workflow id format, search attributes and each
message's schema files.

The workflow input's ``carried`` and ``carried_zlib`` fields (the state handed over by
continue-as-new, readable before patch ``carried-apart``, compressed since) are internal and
left out of the published schema (``index.json``: ``internal_input_fields``), and so is the input
payload's metadata reserved for the carried state (``internal_input_metadata``:
``workflows.start.CARRIED_METADATA``): a starter sends ``{"registration": {...}}`` only. Inputs are
published in pydantic's validation mode (what daiban accepts: defaults may be omitted, unknown
fields are refused), results in serialization mode (what daiban sends: every field present).
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas import commands, visibility
from schemas.project import workflow_id_for
from workflows.project import ProjectInput, ProjectWorkflow
from workflows.start import CARRIED_METADATA

CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "contracts"
DEFAULT_TASK_QUEUE = "daiban"
# Fields of the workflow input that only daiban itself sets.
INTERNAL_INPUT_FIELDS = ("carried", "carried_zlib")
# Keys of the input payload's metadata that only daiban itself sets (a start carrying one is refused).
INTERNAL_INPUT_METADATA = (CARRIED_METADATA,)
# The workflow's signals and queries, published under their methods' names (its updates are the
# commands of ``schemas.commands``).
SIGNALS: tuple[Callable[..., Any], ...] = (ProjectWorkflow.calendar_updated,)
QUERIES: tuple[Callable[..., Any], ...] = (
    ProjectWorkflow.state,
    ProjectWorkflow.clock_ledger,
    ProjectWorkflow.migration_preview,
)


def _schema(model: Any, mode: str, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{model!r} is not a pydantic model; every message of the contract must be one")
    schema = model.model_json_schema(mode=mode)  # type: ignore[arg-type]
    for name in drop:
        schema.get("properties", {}).pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    _prune_defs(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _prune_defs(schema: dict[str, Any]) -> None:
    """Drop the ``$defs`` no longer reachable from the root (after dropping internal fields)."""
    defs = schema.get("$defs")
    if not defs:
        return
    reachable: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name not in reachable:
                    reachable.add(name)
                    walk(defs.get(name))
            for key, value in node.items():
                if key != "$defs":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    schema["$defs"] = {k: v for k, v in defs.items() if k in reachable}
    if not schema["$defs"]:
        del schema["$defs"]


def _hints(method: Callable[..., Any]) -> tuple[list[Any], Any]:
    """A workflow method's argument types and its result type, from its annotations."""
    hints = typing.get_type_hints(method)
    result = hints.pop("return", None)
    return list(hints.values()), result


def _only_arg(method: Callable[..., Any]) -> Any:
    """A message's one typed argument (the style: one frozen model per message)."""
    arg_types, _ = _hints(method)
    if len(arg_types) != 1:
        raise TypeError(f"{method.__name__}: expected exactly one typed argument, got {arg_types!r}")
    return arg_types[0]


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def generate(task_queue: str = DEFAULT_TASK_QUEUE) -> dict[str, str]:
    """Every contract file: name -> content."""
    files: dict[str, Any] = {}
    wf = f"workflow.{ProjectWorkflow.__name__}"
    files[f"{wf}.input.json"] = _schema(ProjectInput, "validation", INTERNAL_INPUT_FIELDS)
    files[f"{wf}.result.json"] = _schema(_hints(ProjectWorkflow.run)[1], "serialization")
    index: dict[str, Any] = {
        "generated_by": "python -m interfaces.contracts (do not edit by hand)",
        "payloads": "JSON (Temporal encoding json/plain); datetimes as ISO 8601 strings with offset",
        "workflow": {
            "type": ProjectWorkflow.__name__,
            "task_queue": task_queue,
            "workflow_id": workflow_id_for("{project_id}"),
            "id_conflict_policy": "USE_EXISTING: registering a running project again is a no-op",
            "id_reuse_policy": "REJECT_DUPLICATE: a finished project's id is never reused",
            "input": f"{wf}.input.json",
            "result": f"{wf}.result.json",
            "internal_input_fields": list(INTERNAL_INPUT_FIELDS),
            "internal_input_metadata": list(INTERNAL_INPUT_METADATA),
            "search_attributes": {k.name: k.indexed_value_type.name for k in visibility.ALL},
        },
        "updates": {},
        "signals": {},
        "queries": {},
    }
    for command in sorted(commands.ALL, key=lambda c: c.name):
        name = command.name
        files[f"update.{name}.input.json"] = _schema(command.request, "validation")
        files[f"update.{name}.result.json"] = _schema(command.answer, "serialization")
        index["updates"][name] = {"input": f"update.{name}.input.json", "result": f"update.{name}.result.json"}
    for signal in sorted(SIGNALS, key=lambda s: s.__name__):
        name = signal.__name__
        files[f"signal.{name}.input.json"] = _schema(_only_arg(signal), "validation")
        index["signals"][name] = {"input": f"signal.{name}.input.json"}
    for query in sorted(QUERIES, key=lambda q: q.__name__):
        name = query.__name__
        files[f"query.{name}.result.json"] = _schema(_hints(query)[1], "serialization")
        index["queries"][name] = {"input": None, "result": f"query.{name}.result.json"}
        if _hints(query)[0]:  # a query with an argument (``migration_preview``) publishes its input
            files[f"query.{name}.input.json"] = _schema(_only_arg(query), "validation")
            index["queries"][name]["input"] = f"query.{name}.input.json"
    files["index.json"] = index
    return {name: _dump(content) for name, content in files.items()}


def drift(directory: Path = CONTRACTS_DIR) -> list[str]:
    """What differs between ``directory`` and the generated files (empty when in sync)."""
    expected = generate()
    present = {p.name for p in directory.glob("*.json")} if directory.is_dir() else set()
    problems = [f"{name}: missing" for name in sorted(set(expected) - present)]
    problems += [f"{name}: not generated any more (stale)" for name in sorted(present - set(expected))]
    problems += [
        f"{name}: differs"
        for name in sorted(set(expected) & present)
        if (directory / name).read_text(encoding="utf-8") != expected[name]
    ]
    return problems


def write(directory: Path = CONTRACTS_DIR) -> list[str]:
    """Write the generated files into ``directory`` and remove stale ones; return what changed."""
    changed = drift(directory)
    directory.mkdir(parents=True, exist_ok=True)
    expected = generate()
    for stale in set(p.name for p in directory.glob("*.json")) - set(expected):
        (directory / stale).unlink()
    for name, content in expected.items():
        (directory / name).write_text(content, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interfaces.contracts", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when contracts/ drifted")
    parser.add_argument("--dir", type=Path, default=CONTRACTS_DIR)
    args = parser.parse_args(argv)
    if args.check:
        problems = drift(args.dir)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print("contracts/ is out of date: run `python -m interfaces.contracts`", file=sys.stderr)
        return 1 if problems else 0
    changed = write(args.dir)
    print(f"{args.dir}: {len(changed)} files changed" + "".join(f"\n  {c}" for c in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
