"""The README's examples run as written: every ``sh`` and ``python`` block, in order, against a
running stack started the way ``make run`` starts it (``python -m infra.devstack``) on
non-default ports, in a shell that sourced the one line ``make run`` prints (``. .daiban/env``).

The blocks are extracted from README.md, so the prose around them may change freely; a block
that cannot run here is listed in ``CANNOT_RUN`` (keyed by a piece of its text) with the reason.
``curl`` runs with ``--fail-with-body``, so a 4xx or 5xx answer fails its block.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import fresh_database

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# A piece of a block's text -> why it does not run here.
CANNOT_RUN = {
    "make run    #": "the stack itself (this test starts it) and the suite (this test is part of it)",
    "SECRET=...": "needs a department's own secret; `python -m interfaces.auth sign` signs the same request below",
    "docker compose -f infra/deploy/compose.yaml": "needs a container engine; tests/infra/test_deploy.py validates the "
    "compose file and manifests against their schemas instead",
    "kubectl apply -f infra/deploy/k8s/00-namespace.yaml": "needs a Kubernetes cluster; tests/infra/test_deploy.py "
    "validates the manifests against Kubernetes' schemas and resolves every setting their pods get",
}


@dataclass(frozen=True)
class Block:
    index: int
    lang: str
    line: int
    text: str

    @property
    def id(self) -> str:
        first = next((x for x in self.text.splitlines() if x.strip() and not x.startswith("#")), "")
        return f"{self.index:02d}-L{self.line}-{self.lang}-{re.sub(r'[^A-Za-z0-9]+', '-', first)[:40]}"


def readme_blocks() -> list[Block]:
    """The fenced ``sh`` / ``python`` blocks of README.md, in order (indented ones included)."""
    blocks: list[Block] = []
    fence = re.compile(r"^(\s*)```(\w*)\s*$")
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = fence.match(lines[i])
        if m and m.group(2) in ("sh", "python"):
            indent, lang, start = len(m.group(1)), m.group(2), i + 1
            body: list[str] = []
            i += 1
            while not fence.match(lines[i]):
                body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
                i += 1
            blocks.append(Block(len(blocks), lang, start, "\n".join(body) + "\n"))
        i += 1
    return blocks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    workdir: Path
    env_file: Path
    output: list[str]


@pytest.fixture(scope="module")
async def readme_dsn(pg_server_dsn: str) -> AsyncIterator[str]:
    """A fresh, empty database of its own: the stack's new Temporal cluster binds it (the session's
    database is bound to the session's Temporal server already), and ``make run`` migrates it."""
    async with fresh_database(pg_server_dsn, "daiban_readme", migrated=False) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def stack(readme_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """``make run`` (no demo) on free ports, with its own database; stopped with Ctrl-C (SIGINT)."""
    pg_dsn = readme_dsn
    workdir = tmp_path_factory.mktemp("newcomer")
    # `.venv/bin/...` in the README: this interpreter's virtualenv, whichever Python runs the suite.
    (workdir / ".venv").symlink_to(Path(sys.prefix))
    # The rest as in a clone (the README's examples name shipped files, e.g. catalog/data/zones.json).
    for entry in ROOT.iterdir():
        if entry.name not in {".venv", ".venv-py313", ".daiban", ".git"} and not (workdir / entry.name).exists():
            (workdir / entry.name).symlink_to(entry)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "DAIBAN_")) and k != "DATABASE_URL"}
    env |= {
        "DATABASE_URL": pg_dsn,
        "DAIBAN_DEMO": "false",
        "DAIBAN_STATE_DIR": str(workdir / ".daiban"),
        "DAIBAN_TEMPORAL_PORT": str(_free_port()),
        "DAIBAN_UI_PORT": str(_free_port()),
        "DAIBAN_GATEWAY_PORT": str(_free_port()),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.devstack"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + 90
    try:
        while not any("Press Ctrl-C" in x for x in output):
            line = proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                logs = [workdir / ".daiban" / f"{n}.log" for n in ("worker", "gateway")]
                tails = "".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in logs if p.exists())
                raise AssertionError("make run ended or hung:\n" + "".join(output) + tails)
            output.append(line)
        sourced = [x for x in output if "point every command at this stack" in x]
        assert sourced and sourced[0].rstrip().endswith(". .daiban/env"), output
        # The banner is last and says the stack is ready.
        assert "Stack ready." in output[-1], output
        yield Stack(workdir, workdir / ".daiban" / "env", output)
    finally:
        proc.send_signal(2)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


BLOCKS = readme_blocks()


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 8 and {b.lang for b in BLOCKS} == {"sh", "python"}
    for piece in CANNOT_RUN:
        assert any(piece in b.text for b in BLOCKS), f"CANNOT_RUN names a block no longer in README: {piece}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block_runs_as_written(block: Block, stack: Stack) -> None:
    reason = next((why for piece, why in CANNOT_RUN.items() if piece in block.text), None)
    if reason:
        pytest.skip(f"README line {block.line}: {reason}")
    script = stack.workdir / f"block-{block.index:02d}.{'py' if block.lang == 'python' else 'sh'}"
    script.write_text(block.text, encoding="utf-8")
    run = f"python {script.name}" if block.lang == "python" else f"set -euo pipefail\n. ./{script.name}"
    # Only what `. .daiban/env` sets: nothing of the suite's own environment leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "DAIBAN_")) and k != "DATABASE_URL"}
    env["PATH"] = f"{stack.workdir / '.venv' / 'bin'}:{env['PATH']}"
    shell = (
        f". {stack.env_file}\n"
        'curl() { command curl --fail-with-body "$@"; }\n'  # a 4xx / 5xx answer fails the block
        f"{run}\n"
    )
    done = subprocess.run(
        ["bash", "-c", shell], cwd=stack.workdir, env=env, capture_output=True, text=True, timeout=280, check=False
    )
    assert done.returncode == 0, (
        f"README line {block.line} failed (exit {done.returncode}):\n{block.text}\n"
        f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )
    assert "Traceback" not in done.stderr, done.stderr
