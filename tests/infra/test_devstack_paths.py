"""The dev stack starts the worker and the gateway from the repository root (a move of the dev
stack's own files once left `make run` without a worker while it printed nothing alarming)."""

from __future__ import annotations

import importlib


def test_the_dev_stack_finds_the_worker_and_the_gateway() -> None:
    devstack = importlib.import_module("infra.devstack.__main__")
    assert (devstack.ROOT / "worker.py").is_file()
    assert (devstack.ROOT / "interfaces" / "gateway" / "__main__.py").is_file()
