"""``make run``: the whole platform on one machine, with state that survives a restart.

Starts, in order: the Temporal dev server with its Web UI (SQLite file under the state folder,
every search attribute registered), PostgreSQL (embedded unless ``DATABASE_URL`` is set), the
migrations, the worker, the gateway and a few demo projects. It writes ``<state dir>/env``
(``infra.settings.stack_env``: ``TEMPORAL_ADDRESS``, ``DATABASE_URL`` ...) and prints the one line
that points a shell at the stack (``. .daiban/env``); the worker's and the gateway's logs go to
``worker.log`` and ``gateway.log`` there, so the banner is the last thing printed, once the
gateway answers ready. Ctrl-C (or SIGTERM) stops everything it started, in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

from infra import migrate
from infra.db import create_pool, redact
from infra.devstack.pgserver import EmbeddedPostgres, port_in_use
from infra.devstack.temporalserver import dev_server_command
from infra.process import TEMPORAL_LOST, exit_now
from infra.settings import ENV_FILE, ConfigError, Settings, load_settings, stack_env
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

    def embedded(self) -> EmbeddedPostgres:
        return EmbeddedPostgres(self.state / "pgdata", self.settings.embedded_pg_port)

    def start_postgres(self) -> str:
        # A shell that sourced this stack's env file names the embedded PostgreSQL: start it anyway.
        if self.settings.database_url and self.settings.database_url != self.embedded().dsn:
            return self.settings.database_url
        self.pg = self.embedded()
        self.pg.start()
        return self.pg.dsn

    def env(self, dsn: str) -> dict[str, str]:
        """The environment of the worker and the gateway: this stack's, over the caller's."""
        env = dict(os.environ, **stack_env(self.settings, dsn))
        for own in ("DAIBAN_TEMPORAL_ADDRESS", "DAIBAN_TEMPORAL_NAMESPACE"):  # would win over TEMPORAL_*
            env.pop(own, None)
        return env

    def write_env_file(self, dsn: str) -> Path:
        """``<state dir>/env``: one ``export`` per variable of ``stack_env``, for ``. .daiban/env``
        (mode 600: ``DATABASE_URL`` may hold a password)."""
        path = self.state / ENV_FILE
        lines = [
            "# Written by `make run`: `. .daiban/env` points daiban's tools and the temporal CLI at this stack.",
            *(f"export {k}={shlex.quote(v)}" for k, v in stack_env(self.settings, dsn).items()),
        ]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _log(self, name: str) -> BinaryIO:
        return open(self.state / f"{name}.log", "ab")

    def start_worker(self, dsn: str) -> None:
        log = self._log("worker")
        self.worker = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")], env=self.env(dsn), stdout=log, stderr=log
        )

    # ---- daiban: HTTP gateway (interfaces/gateway.py) ----
    def start_gateway(self, dsn: str) -> None:
        """The gateway, with development credentials unless the environment configures them."""
        from interfaces.auth import dev_credentials_env

        env = self.env(dsn)
        if not (self.settings.department_keys and (self.settings.principals or self.settings.operator_tokens)):
            dev = dev_credentials_env(self.state)
            env.update({k: v for k, v in dev.items() if not os.environ.get(k)})
        log = self._log("gateway")
        self.gateway = subprocess.Popen(
            [sys.executable, "-m", "interfaces.gateway"], env=env, cwd=ROOT, stdout=log, stderr=log
        )

    def wait_ready(self, timeout: float = 60) -> str:
        """Wait until the gateway's ``/readyz`` answers 200 (Temporal and PostgreSQL answer); its last answer."""
        import httpx

        url = stack_env(self.settings, "")["DAIBAN_GATEWAY_URL"] + "/readyz"
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                r = httpx.get(url, timeout=2)
                if r.status_code == 200:
                    return "ready"
                last = r.text
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            for proc, name in ((self.gateway, "gateway"), (self.worker, "worker")):
                if proc is not None and proc.poll() is not None:
                    raise ConfigError(f"the {name} exited with code {proc.returncode}; see {self.state / name}.log")
            time.sleep(0.5)
        return f"not ready after {timeout:g} s ({last}); see {self.state}/worker.log and gateway.log"

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
        env_file = stack.write_env_file(dsn)
        say(f"starting the worker and the gateway (logs: {stack.state / 'worker.log'}, gateway.log)")
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
        ready = stack.wait_ready()
        ui = f"http://127.0.0.1:{settings.ui_port}"
        env = stack_env(settings, dsn)
        say("")
        say(f"Temporal UI:   {ui}/namespaces/{settings.temporal_namespace}/workflows")
        say(f"Temporal gRPC: {env['TEMPORAL_ADDRESS']}   PostgreSQL: {redact(dsn)}")
        say(
            f"HTTP gateway:  {env['DAIBAN_GATEWAY_URL']}/docs   "
            f"(dev credentials: {stack.state / 'dev-credentials.json'})"
        )  # daiban: HTTP gateway
        say(f"Logs:          {stack.state / 'worker.log'}, {stack.state / 'gateway.log'}")
        say(f"In another shell, point every command at this stack:   . {_shown(env_file)}")
        say("Then try:      .venv/bin/daiban project list")
        say(
            f"Dashboard:     http://{settings.gateway_host}:{settings.gateway_port}/dashboard   "
            "(sign in with: .venv/bin/python -m interfaces.auth token)"
        )
        say(f"Stack {ready}. Press Ctrl-C to stop everything.")
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
                    log = stack.state / ("temporal.log" if proc is stack.temporal else f"{name}.log")
                    raise ConfigError(f"the {name} exited with code {proc.returncode}; see {log}")
            time.sleep(0.5)
        return 0
    except ConfigError as exc:
        print(f"daiban: {exc}", file=sys.stderr)
        return 2
    finally:
        with contextlib.suppress(Exception):
            stack.stop()
        say("stopped")


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it (``.daiban/env``), else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    exit_now(run())
