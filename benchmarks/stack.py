"""The servers and processes of ``make bench``, and their CPU from the processes' own accounting.

A Temporal dev server (the ``temporal`` binary of the venv, on a free port, daiban's search
attributes registered, its SQLite file in a temporary folder, the dynamic config values given with
``--dynamic-config``), a PostgreSQL database (a fresh throwaway database on ``DATABASE_URL``'s
server, or on an embedded PostgreSQL of its own), and the worker processes
(``benchmarks.bench_worker``). Everything is stopped by its pid in ``close``.

CPU seconds are user + system time read with psutil:
- a worker: its process;
- the Temporal server: its process (and children, it has none);
- an embedded PostgreSQL: the postmaster with the time of its reaped children plus every live
  child (backends, WAL writer, checkpointer ...): the whole server;
- a shared ``DATABASE_URL`` server: only the backends serving the bench's database (by their pids
  in ``pg_stat_activity``, on this machine), without the bench driver's own connections; a backend
  that ended inside a window is missed, the server's shared processes are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncpg
import psutil
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from benchmarks.baseline import TABLE_DDL
from infra import migrate
from infra.db import create_pool
from infra.devstack.pgserver import EmbeddedPostgres, port_in_use
from infra.devstack.temporalserver import dev_server_command
from schemas import visibility

DRIVER_APP = "daiban-bench-driver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu(p: psutil.Process, children: bool = False) -> float:
    t = p.cpu_times()
    return float(t.user + t.system + ((t.children_user + t.children_system) if children else 0.0))


@dataclass
class CpuSnapshot:
    worker: float
    server: float
    postgres: dict[int, float]  # pid -> seconds (embedded: one entry, the whole server)


@dataclass
class WorkerProc:
    variant: str
    task_queue: str
    proc: asyncio.subprocess.Process
    ps: psutil.Process

    def cpu(self) -> float:
        return _cpu(self.ps)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)


@dataclass
class Stack:
    """What one bench run starts; ``start``, then ``close`` (safe from a ``finally``)."""

    database_url: str | None
    unsandboxed: bool
    # The dev server's dynamic config values, "KEY=JSON_VALUE" each (``dynamic_config_value``).
    dynamic_config: tuple[str, ...] = ()
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="daiban-bench-")))
    temporal_port: int = field(default_factory=free_port)
    temporal: subprocess.Popen[bytes] | None = None
    pg: EmbeddedPostgres | None = None
    server_url: str = ""
    dsn: str = ""
    db_name: str = field(default_factory=lambda: f"daiban_bench_{uuid.uuid4().hex[:8]}")
    client: Client | None = None
    pool: asyncpg.Pool | None = None
    workers: list[WorkerProc] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for kv in self.dynamic_config:  # a bad one is named here, not found in the dev server's log
            dynamic_config_value(kv)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def embedded(self) -> bool:
        return self.pg is not None

    def _log(self, name: str) -> IO[bytes]:
        f = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - closed in close()
        self._logs.append(f)
        return f

    async def start(self) -> None:
        # PostgreSQL: a throwaway database on DATABASE_URL's server, or an embedded server.
        if self.database_url:
            self.server_url = self.database_url
        else:
            self.pg = EmbeddedPostgres(self.root / "pgdata", free_port(), durable=False)
            await asyncio.to_thread(self.pg.start)
            self.server_url = self.pg.dsn
        admin = await asyncpg.connect(self.server_url)
        try:
            await admin.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            await admin.close()
        base, _, query = self.server_url.partition("?")
        scheme, rest = base.split("://", 1)
        self.dsn = f"{scheme}://{rest.split('/', 1)[0]}/{self.db_name}" + (f"?{query}" if query else "")
        self.pool = await create_pool(self.dsn, max_size=4, server_settings={"application_name": DRIVER_APP})
        await migrate.apply(self.pool)
        await self.pool.execute(TABLE_DDL)
        # Temporal: the dev server with daiban's search attributes.
        log = self._log("temporal")
        self.temporal = subprocess.Popen(  # noqa: ASYNC220 - returns at once, as the dev stack starts it
            dev_server_command(
                self.root / "temporal.db",
                self.temporal_port,
                "--headless",
                *visibility.cli_flags(),
                *(flag for kv in self.dynamic_config for flag in ("--dynamic-config-value", kv)),
                log_level="error",
            ),
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while True:
            if self.temporal.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited; see {self.root / 'temporal.log'}")
            if port_in_use(self.temporal_port):
                try:
                    self.client = await Client.connect(self.address, data_converter=pydantic_data_converter)
                    # The search attributes are registered once the namespace answers a list.
                    await self.client.count_workflows()
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
            await asyncio.sleep(0.3)

    async def spawn_worker(self, variant: str, task_queue: str, max_cached: int) -> WorkerProc:
        """A worker process; returns once it polls (it printed ``ready``)."""
        args = [
            sys.executable,
            "-m",
            "benchmarks.bench_worker",
            variant,
            "--address",
            self.address,
            "--dsn",
            self.dsn,
            "--task-queue",
            task_queue,
            "--max-cached",
            str(max_cached),
        ]
        if self.unsandboxed:
            args.append("--unsandboxed")
        env = {**os.environ, "DAIBAN_LOG_LEVEL": "warning"}
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log(f"worker-{task_queue}"),
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        w = WorkerProc(variant, task_queue, proc, psutil.Process(proc.pid))
        self.workers.append(w)
        assert proc.stdout is not None
        log = self._log(f"worker-{task_queue}.out")
        deadline = time.monotonic() + 180
        while True:  # libraries may log to stdout before the worker says it polls
            line = await asyncio.wait_for(proc.stdout.readline(), max(1.0, deadline - time.monotonic()))
            if line.strip() == b"ready":
                break
            if not line:
                raise RuntimeError(f"worker {variant} did not start; see {self.root}/worker-{task_queue}*.log")
            log.write(line)
            log.flush()
        # Whatever it prints later goes to the same log (a full pipe would block the worker).
        asyncio.get_running_loop().create_task(self._drain(proc.stdout, log))
        return w

    async def _drain(self, stream: asyncio.StreamReader, log: IO[bytes]) -> None:
        with contextlib.suppress(Exception):
            while line := await stream.readline():
                log.write(line)
                log.flush()

    async def stop_worker(self, w: WorkerProc) -> None:
        if w.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                w.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(w.proc.wait(), 30)
            except TimeoutError:
                w.proc.kill()
                await w.proc.wait()
        if w in self.workers:
            self.workers.remove(w)

    # ---- CPU ---------------------------------------------------------------------------------

    async def _postgres_cpu(self) -> dict[int, float]:
        if self.pg is not None:
            pid = int((self.pg.data_dir / "postmaster.pid").read_text().splitlines()[0])
            master = psutil.Process(pid)
            total = _cpu(master, children=True)
            for child in master.children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += _cpu(child)
            return {pid: total}
        assert self.pool is not None
        pids = await self.pool.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name <> $2",
            self.db_name,
            DRIVER_APP,
        )
        out: dict[int, float] = {}
        for r in pids:
            with contextlib.suppress(psutil.Error):
                out[r["pid"]] = _cpu(psutil.Process(r["pid"]))
        return out

    async def snapshot(self, worker: WorkerProc) -> CpuSnapshot:
        assert self.temporal is not None
        return CpuSnapshot(
            worker=worker.cpu(),
            server=_cpu(psutil.Process(self.temporal.pid), children=True),
            postgres=await self._postgres_cpu(),
        )

    @staticmethod
    def cpu_delta(a: CpuSnapshot, b: CpuSnapshot) -> dict[str, float]:
        pg = sum(v - a.postgres.get(pid, 0.0) for pid, v in b.postgres.items())
        d = {"worker": b.worker - a.worker, "server": b.server - a.server, "postgres": pg}
        d["total"] = d["worker"] + d["server"] + d["postgres"]
        return d

    def postgres_scope(self) -> str:
        if self.embedded:
            return "embedded PostgreSQL: the whole server (postmaster and every child)"
        return (
            "shared DATABASE_URL server: only the backends serving the bench's database (not the "
            "server's shared processes; a backend that ended inside a window is missed)"
        )

    # ---- teardown ----------------------------------------------------------------------------

    async def close(self) -> None:
        for w in list(self.workers):
            with contextlib.suppress(Exception):
                await self.stop_worker(w)
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await self.pool.close()
        if self.temporal is not None and self.temporal.poll() is None:
            self.temporal.send_signal(signal.SIGINT)
            try:
                self.temporal.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.temporal.kill()
                self.temporal.wait(timeout=10)
        if self.server_url:
            with contextlib.suppress(Exception):
                admin = await asyncpg.connect(self.server_url)
                try:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
                finally:
                    await admin.close()
        if self.pg is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.pg.stop)
        for f in self._logs:
            with contextlib.suppress(Exception):
                f.close()
        self._logs.clear()
        # The logs stay (they say why a run failed); the servers' data goes.
        shutil.rmtree(self.root / "pgdata", ignore_errors=True)
        for db in self.root.glob("temporal.db*"):
            db.unlink(missing_ok=True)


DYNAMIC_CONFIG_MAX = 1000  # characters of one KEY=JSON_VALUE


def dynamic_config_value(text: str) -> str:
    """``KEY=JSON_VALUE`` for the dev server's ``--dynamic-config-value`` (e.g.
    ``history.visibilityProcessorMaxPollRPS=1``; at most ``DYNAMIC_CONFIG_MAX`` characters),
    checked: ``ValueError`` naming what is wrong."""
    if len(text) > DYNAMIC_CONFIG_MAX:
        raise ValueError(f"{text[:40]!r}...: longer than {DYNAMIC_CONFIG_MAX} characters")
    key, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+", key):
        raise ValueError(f"{text!r}: expected KEY=JSON_VALUE with a dotted key such as history.visibilityTaskBatchSize")
    try:
        json.loads(value)
    except ValueError:
        raise ValueError(f"{text!r}: the value is not JSON (a string needs quotes)") from None
    return text


def dynamic_config_line(values: Sequence[str]) -> str:
    """The line a report prints under its header for the dev server's dynamic config values."""
    return f"the dev server ran with dynamic config: {'; '.join(values)}"


def add_dynamic_config_argument(parser: argparse.ArgumentParser) -> None:
    """``--dynamic-config KEY=JSON_VALUE``, repeatable: values for the bench's dev server, checked
    by ``dynamic_config_value`` (a bad one is a usage error naming it)."""

    def checked(text: str) -> str:
        try:
            return dynamic_config_value(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parser.add_argument(
        "--dynamic-config",
        type=checked,
        action="append",
        default=[],
        metavar="KEY=JSON_VALUE",
        help="a dynamic config value for the dev server (repeatable), e.g. history.visibilityProcessorMaxPollRPS=1",
    )


def rss_settled(w: WorkerProc, seconds: float = 1.0) -> int:
    """The worker's RSS after ``seconds`` of quiet."""
    time.sleep(seconds)
    return w.rss()


def describe_machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_average_1m": os.getloadavg()[0],
    }
