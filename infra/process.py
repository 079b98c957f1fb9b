"""Ending a process that used a Temporal client."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

# A worker's exit code when Temporal stopped answering (EX_TEMPFAIL): restart it, with an empty
# workflow cache (``worker.py``).
TEMPORAL_LOST = 75


def exit_now(code: int) -> NoReturn:
    """Flush and exit without interpreter teardown.

    The Temporal client's Rust threads can crash CPython's teardown at random
    (temporalio/sdk-python#300: "PyGILState_Release ... finalizing"), turning a clean exit into
    134 or 139. Callers close their resources first; nothing is left for teardown to do.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
