"""The fault suite's own stack: a Temporal dev server, an embedded PostgreSQL, N workers.

Everything lives in one temporary folder (SQLite file, PostgreSQL data, one log per process) and
on free ports, so the suite never touches ``make run``'s state or another server. Every process is
started in its own session and stopped by its pid (``close`` is safe to call twice and from a
``finally``); the embedded PostgreSQL is stopped with ``pg_ctl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from infra.devstack.pgserver import EmbeddedPostgres, port_in_use
from infra.devstack.temporalserver import dev_server_command

INCODE = Path(__file__).with_name("incode.py")
TASK_QUEUE = "daiban"


_RUNTIME: list[Runtime] = []


def quiet_runtime() -> Runtime:
    """The SDK core warns on every retried call while a server is down; the suite counts those itself."""
    if not _RUNTIME:
        _RUNTIME.append(
            Runtime(
                telemetry=TelemetryConfig(
                    logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
                )
            )
        )
    return _RUNTIME[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StackError(Exception):
    """A process of the stack would not start."""


@dataclass
class Worker:
    """One worker slot: the process currently in it and how many processes it has had."""

    slot: int
    proc: subprocess.Popen[bytes] | None = None
    generation: int = 0
    # Set while the injector owns the slot (stopping or restarting it); the supervisor keeps off.
    busy: bool = False
    crashes: int = 0


@dataclass
class Stack:
    root: Path
    code: Path
    workers_wanted: int
    grace_seconds: float = 3.0
    temporal_port: int = field(default_factory=free_port)
    pg_port: int = field(default_factory=free_port)
    temporal: subprocess.Popen[bytes] | None = None
    pg: EmbeddedPostgres | None = None
    workers: list[Worker] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)
    _flags: list[str] = field(default_factory=list)

    # ---- paths and environment ---------------------------------------------------------------

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def dsn(self) -> str:
        assert self.pg is not None
        return self.pg.dsn

    def log_path(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def _log(self, name: str) -> IO[bytes]:
        path = self.log_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "ab")  # noqa: SIM115 - closed in close()
        self._logs.append(f)
        return f

    def code_env(self) -> dict[str, str]:
        """Environment of a process running the code under test."""
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.code)
        env.pop("PYTHONSTARTUP", None)
        return env

    def incode(self, *args: str, timeout: float = 600) -> str:
        """Run ``incode.py`` inside the code under test; return the last line of its stdout."""
        proc = subprocess.run(
            [sys.executable, str(INCODE), *args],
            cwd=self.code,
            env=self.code_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            raise StackError(f"incode {args[0]} failed ({proc.returncode}): {tail}")
        # The JSON answer is the last line (libraries may log to stdout before it).
        lines = proc.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    # ---- Temporal ----------------------------------------------------------------------------

    def start_temporal(self) -> None:
        if not self._flags:
            self._flags = json.loads(self.incode("flags"))
        log = self._log("temporal")
        log.write(f"==== start {time.strftime('%H:%M:%S')}\n".encode())
        log.flush()
        self.temporal = subprocess.Popen(
            dev_server_command(self.root / "temporal.db", self.temporal_port, "--headless", *self._flags),
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def kill_temporal(self) -> None:
        """SIGKILL the dev server (no chance to flush anything)."""
        if self.temporal is not None and self.temporal.poll() is None:
            self.temporal.kill()
            self.temporal.wait(timeout=30)
        deadline = time.monotonic() + 15
        while port_in_use(self.temporal_port) and time.monotonic() < deadline:
            time.sleep(0.1)

    async def wait_temporal(self, within: float = 90) -> Client:
        """A client once the dev server answers on its port with the default namespace."""
        deadline = time.monotonic() + within
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.temporal is not None and self.temporal.poll() is not None:
                raise StackError(
                    f"the Temporal dev server exited ({self.temporal.returncode}); see {self.log_path('temporal')}"
                )
            if port_in_use(self.temporal_port):
                try:
                    client = await Client.connect(
                        self.address, data_converter=pydantic_data_converter, runtime=quiet_runtime()
                    )
                    await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=5))
                    return client
                except Exception as exc:
                    last = exc
            await asyncio.sleep(0.3)
        raise StackError(
            f"the Temporal dev server did not answer within {within:.0f} s ({last}); see {self.log_path('temporal')}"
        )

    # ---- PostgreSQL --------------------------------------------------------------------------

    def start_pg(self) -> None:
        if self.pg is None:
            while port_in_use(self.pg_port):  # taken since it was picked (tests running beside)
                self.pg_port = free_port()
            self.pg = EmbeddedPostgres(self.root / "pgdata", self.pg_port, durable=True)
        self.pg.start()

    def stop_pg(self) -> None:
        if self.pg is not None:
            self.pg.stop()

    def migrate(self) -> list[str]:
        return list(json.loads(self.incode("migrate", self.dsn)))

    # ---- workers -----------------------------------------------------------------------------

    def worker_env(self) -> dict[str, str]:
        env = self.code_env()
        env.update(
            DATABASE_URL=self.dsn,
            DAIBAN_TEMPORAL_ADDRESS=self.address,
            DAIBAN_TEMPORAL_NAMESPACE="default",
            DAIBAN_TASK_QUEUE=TASK_QUEUE,
            DAIBAN_LOG_FORMAT="json",
            DAIBAN_LOG_LEVEL="info",
            DAIBAN_SHUTDOWN_GRACE_SECONDS=str(self.grace_seconds),
            DAIBAN_METRICS_PORT="0",
        )
        for var in ("DAIBAN_NOTIFY_WEBHOOK", "DAIBAN_DEPARTMENT_WEBHOOKS"):
            env.pop(var, None)
        return env

    def spawn_worker(self, w: Worker) -> None:
        w.generation += 1
        log = self._log(f"worker-{w.slot}")
        log.write(f"==== generation {w.generation} start {time.strftime('%H:%M:%S')}\n".encode())
        log.flush()
        w.proc = subprocess.Popen(
            [sys.executable, str(self.code / "worker.py")],
            cwd=self.code,
            env=self.worker_env(),
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def start_workers(self) -> None:
        while len(self.workers) < self.workers_wanted:
            self.workers.append(Worker(slot=len(self.workers)))
        for w in self.workers:
            if w.proc is None or w.proc.poll() is not None:
                self.spawn_worker(w)

    def live_workers(self) -> list[Worker]:
        return [w for w in self.workers if not w.busy and w.proc is not None and w.proc.poll() is None]

    def stop_workers(self, timeout: float = 30) -> None:
        for w in self.workers:
            w.busy = True  # keeps the supervisor from restarting it
            if w.proc is not None and w.proc.poll() is None:
                w.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for w in self.workers:
            if w.proc is None:
                continue
            try:
                w.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait(timeout=10)

    # ---- everything --------------------------------------------------------------------------

    def logs(self) -> list[Path]:
        found = sorted((self.root / "logs").glob("*.log"))
        if self.pg is not None:
            found.append(self.pg.data_dir / "server.log")
        return found

    def close(self) -> None:
        """Stop every process this stack started (by pid), workers first; safe to repeat."""
        for w in self.workers:
            if w.proc is not None and w.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    w.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    w.proc.wait(timeout=10)
        if self.temporal is not None and self.temporal.poll() is None:
            self.temporal.send_signal(signal.SIGINT)
            try:
                self.temporal.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.temporal.kill()
                self.temporal.wait(timeout=10)
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.stop()
            self._kill_leftover_postmaster()
        for f in self._logs:
            with contextlib.suppress(Exception):
                f.close()
        self._logs.clear()

    def _kill_leftover_postmaster(self) -> None:
        """If ``pg_ctl stop`` did not manage, the postmaster of our data folder (and only it)."""
        assert self.pg is not None
        pidfile = self.pg.data_dir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)
