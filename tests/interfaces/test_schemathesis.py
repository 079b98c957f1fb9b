"""Schemathesis against the gateway's OpenAPI (issue 14): every check, positive and negative data,
the stateful phase, NUL bytes allowed, finding nothing.

The gateway runs for real (uvicorn on loopback, its own lifespan: Temporal dev server, PostgreSQL,
a worker), and schemathesis's own runner (``st run``) drives it as an outside caller would, with an
operator's token. ``DAIBAN_SCHEMATHESIS_MAX_TIME`` (seconds, default 90) bounds the run.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

import asyncpg
import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

from interfaces.gateway import create_app
from tests.harness import running_worker
from tests.interfaces.conftest import OPERATOR_TOKEN, gateway_settings
from tests.interfaces.tally import NOTES

BIN = Path(sys.executable).parent
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_TIME = int(os.environ.get("DAIBAN_SCHEMATHESIS_MAX_TIME", "90"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Served:
    """The gateway app under uvicorn in a thread of its own (its own event loop, its own lifespan)."""

    def __init__(self, app: object, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    # DAIBAN_SCHEMATHESIS_REPORT: keep the report (JUnit and the runner's output) there.
    path = Path(os.environ.get("DAIBAN_SCHEMATHESIS_REPORT") or tmp_path / "schemathesis")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.timeout(MAX_TIME + 240)
async def test_schemathesis_finds_nothing(
    dev_env: WorkflowEnvironment, pg_dsn: str, pg_pool: asyncpg.Pool, report_dir: Path
) -> None:
    task_queue = f"tq-st-{os.getpid()}-{time.monotonic_ns()}"
    port = _free_port()
    async for harness in running_worker(dev_env, task_queue, pg_pool):
        app = create_app(gateway_settings(dev_env, pg_dsn, task_queue))
        with _Served(app, port):
            proc = await asyncio.create_subprocess_exec(
                str(BIN / "st"),
                "--config-file",
                str(CONFIG),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--header",
                f"Authorization: Bearer {OPERATOR_TOKEN}",
                "--max-time",
                str(MAX_TIME),
                "--report",
                "junit",
                "--report-dir",
                str(report_dir),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await proc.communicate()
        # The projects schemathesis registered: end them so the next tests' server stays light.
        async for wf in harness.client.list_workflows(f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"):
            await harness.client.get_workflow_handle(wf.id).terminate("schemathesis finished")
    text = out.decode("utf-8", "replace")
    (report_dir / "output.txt").write_text(text, encoding="utf-8")
    # The run's own count of generated requests, for the edge figures (tests.interfaces.tally).
    counted = [line.strip() for line in text.splitlines() if re.search(r"\d+ generated", line)]
    NOTES.extend(f"schemathesis: {line}" for line in counted[-3:])
    assert proc.returncode == 0, text[-20_000:]
