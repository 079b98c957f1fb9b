"""The Temporal dev server's command line, shared by ``make run`` and the fault suite's stack."""

from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def dev_server_command(db_file: Path, port: int, *options: str, log_level: str = "warn") -> list[str]:
    """``temporal server start-dev`` on 127.0.0.1:``port``, state in ``db_file``, logging from
    ``log_level`` up; ``options`` add the rest (UI or headless, namespace, search attributes)."""
    return [
        str(BIN / "temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        log_level,
        *options,
    ]
