"""The ``faults`` marker: ``pytest -m 'not faults'`` leaves the fault suite's small run out."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: runs the fault suite's small version (deselect with -m 'not faults')")
