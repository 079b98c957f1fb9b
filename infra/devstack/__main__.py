"""``make run``: the whole platform on one machine, with state that survives a restart.

Starts, in order: the Temporal dev server with its Web UI (SQLite file under the state folder,
every search attribute registered), PostgreSQL (embedded unless ``DATABASE_URL`` is set), the
migrations, the worker, and a few demo projects. Ctrl-C (or SIGTERM) stops everything it started,
in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from infra import migrate
from infra.db import create_pool, redact
from infra.devstack.pgserver import EmbeddedPostgres, port_in_use
from infra.devstack.temporalserver import dev_server_command
from infra.process import TEMPORAL_LOST, exit_now
from infra.settings import ConfigError, Settings, load_settings
from schemas import visibility

# The repository root: this file is infra/devstack/__main__.py.
ROOT = Path(__file__).resolve().parents[2]


def say(message: str) -> None:
    print(f"[daiban] {message}", flush=True)


class Stack:
    """The processes ``make run`` owns."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = settings.state_dir.resolve()
        self.temporal: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.gateway: subprocess.Popen[bytes] | None = None  # daiban: HTTP gateway
        self.pg: EmbeddedPostgres | None = None

    def check_ports(self) -> None:
        s = self.settings
        for port, var in (
            (s.temporal_port, "DAIBAN_TEMPORAL_PORT"),
            (s.ui_port, "DAIBAN_UI_PORT"),
            (s.gateway_port, "DAIBAN_GATEWAY_PORT"),
        ):
            if port_in_use(port):
                raise ConfigError(
                    f"port {port} is in use (another Temporal server or `make run`?); stop it or set {var}"
                )

    def start_temporal(self) -> None:
        s = self.settings
        log = open(self.state / "temporal.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.temporal = subprocess.Popen(
            dev_server_command(
                self.state / "temporal.db",
                s.temporal_port,
                "--ui-port",
                str(s.ui_port),
                "--ui-disable-news-fetch",
                *([] if s.temporal_namespace == "default" else ["--namespace", s.temporal_namespace]),
                *visibility.cli_flags(),
            ),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not port_in_use(s.temporal_port):
            if self.temporal.poll() is not None:
                tail = (self.state / "temporal.log").read_text(errors="replace").strip().splitlines()[-3:]
                raise ConfigError(f"the Temporal dev server exited: {' | '.join(tail)}")
            if time.monotonic() > deadline:
                raise ConfigError(f"the Temporal dev server did not listen on {s.temporal_port} within 60 s")
            time.sleep(0.3)

    def start_postgres(self) -> str:
        if self.settings.database_url:
            return self.settings.database_url
        self.pg = EmbeddedPostgres(self.state / "pgdata", self.settings.embedded_pg_port)
        self.pg.start()
        return self.pg.dsn

    def start_worker(self, dsn: str) -> None:
        env = dict(os.environ, DATABASE_URL=dsn, DAIBAN_TEMPORAL_ADDRESS=f"127.0.0.1:{self.settings.temporal_port}")
        self.worker = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env)

    # ---- daiban: HTTP gateway (interfaces/gateway.py) ----
    def start_gateway(self, dsn: str) -> None:
        """The gateway, with development credentials unless the environment configures them."""
        from interfaces.auth import dev_credentials_env

        env = dict(os.environ, DATABASE_URL=dsn, DAIBAN_TEMPORAL_ADDRESS=f"127.0.0.1:{self.settings.temporal_port}")
        if not (self.settings.department_keys and self.settings.operator_tokens):
            dev = dev_credentials_env(self.state)
            env.update({k: v for k, v in dev.items() if not os.environ.get(k)})
        self.gateway = subprocess.Popen([sys.executable, "-m", "interfaces.gateway"], env=env, cwd=ROOT)

    # ---- end HTTP gateway ----

    def stop(self) -> None:
        for proc, name in ((self.gateway, "gateway"), (self.worker, "worker"), (self.temporal, "Temporal dev server")):
            if proc is not None and proc.poll() is None:
                say(f"stopping the {name}")
                proc.send_signal(signal.SIGINT if proc is self.temporal else signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if self.pg is not None:
            say("stopping PostgreSQL")
            self.pg.stop()


async def _migrate(dsn: str) -> list[str]:
    pool = await create_pool(dsn, max_size=2)
    try:
        return await migrate.apply(pool)
    finally:
        await pool.close()


async def _schedules(settings: Settings) -> dict[str, str]:
    """The zone's schedules (``daiban setup schedules``), on the dev server."""
    from infra.schedules import ensure_schedules
    from infra.temporal import connect

    client = await connect(settings, address=f"127.0.0.1:{settings.temporal_port}")
    return await ensure_schedules(client, settings.task_queue)


def run() -> int:
    """Start the stack, start the demo, wait for Ctrl-C, stop the stack."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"daiban: {exc}", file=sys.stderr)
        return 2
    stack = Stack(settings)
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.state.mkdir(parents=True, exist_ok=True)
        stack.check_ports()
        say(f"starting the Temporal dev server (state: {stack.state / 'temporal.db'})")
        stack.start_temporal()
        say("starting PostgreSQL" + (" (embedded)" if not settings.database_url else ""))
        dsn = stack.start_postgres()
        applied = asyncio.run(_migrate(dsn))
        say(f"database {redact(dsn)}: {len(applied)} migrations applied")
        stack.start_worker(dsn)
        stack.start_gateway(dsn)  # daiban: HTTP gateway
        made = asyncio.run(_schedules(settings))
        say(f"zone schedules: {', '.join(made)} (the UI's Schedules page)")
        if settings.demo:
            from infra.devstack.demo import run_demo

            say("starting the demo projects")
            try:
                asyncio.run(run_demo(settings))
            except Exception as exc:  # the demo is a convenience; the platform runs without it
                say(f"demo skipped: {type(exc).__name__}: {exc}")
        ui = f"http://127.0.0.1:{settings.ui_port}"
        say("")
        say(f"Temporal UI:   {ui}/namespaces/{settings.temporal_namespace}/workflows")
        say(f"Temporal gRPC: 127.0.0.1:{settings.temporal_port}   PostgreSQL: {redact(dsn)}")
        say(
            f"HTTP gateway:  http://{settings.gateway_host}:{settings.gateway_port}/docs   "
            f"(dev credentials: {stack.state / 'dev-credentials.json'})"
        )  # daiban: HTTP gateway
        say(f"Try: .venv/bin/daiban project list     (state kept in {stack.state})")
        say("Press Ctrl-C to stop everything.")
        while not stop["now"]:
            for proc, name in (
                (stack.gateway, "gateway"),
                (stack.worker, "worker"),
                (stack.temporal, "Temporal dev server"),
            ):
                if proc is stack.worker and proc is not None and proc.poll() == TEMPORAL_LOST:
                    say("the worker lost Temporal and exited for a fresh start; restarting it")
                    stack.start_worker(dsn)
                elif proc is not None and proc.poll() is not None:
                    raise ConfigError(f"the {name} exited with code {proc.returncode}; see the lines above")
            time.sleep(0.5)
        return 0
    except ConfigError as exc:
        print(f"daiban: {exc}", file=sys.stderr)
        return 2
    finally:
        with contextlib.suppress(Exception):
            stack.stop()
        say("stopped")


if __name__ == "__main__":
    exit_now(run())
