"""Log lines a person reads: uvicorn's coloured copy of each message (``color_message``) is dropped."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging
from infra.logs import configure_logging
configure_logging("console", "info")
logging.getLogger("uvicorn.error").info(
    "Uvicorn running on %s", "http://127.0.0.1:8080", extra={"color_message": "Uvicorn running on \\x1b[1m%s\\x1b[0m"}
)
"""


def test_uvicorn_lines_carry_no_color_message() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60)
    assert "Uvicorn running on http://127.0.0.1:8080" in done.stderr, done.stderr
    assert "color_message" not in done.stderr and "\x1b" not in done.stderr, done.stderr
