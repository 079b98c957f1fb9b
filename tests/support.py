"""Small factories shared by the tests."""

from __future__ import annotations

import uuid


def rid() -> str:
    """A fresh request id for a command."""
    return f"t-{uuid.uuid4().hex[:16]}"
