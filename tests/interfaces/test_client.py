"""The typed client's pure parts, and what a department needs to import: no server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from interfaces.client import RequestIdConflict, request_id_field, with_request_id
from schemas.project import Decision, ReassignAgent


def test_idempotency_key_fills_the_request_id_and_refuses_another() -> None:
    cmd = ReassignAgent(to_agent="agent-wang", by="lead-zhao", reason="AB岗")
    assert with_request_id(cmd, None) is cmd
    assert with_request_id(cmd, "k-1").request_id == "k-1"
    assert with_request_id(with_request_id(cmd, "k-1"), "k-1").request_id == "k-1"
    with pytest.raises(RequestIdConflict, match="request_id: 'k-1' differs") as info:
        with_request_id(with_request_id(cmd, "k-1"), "k-2")
    assert info.value.field == "request_id"
    d = Decision(decision_id="d-1", department="market", matter_code="eia", kind="approve", decided_by="x")
    assert request_id_field(Decision) == "decision_id"
    with pytest.raises(RequestIdConflict, match="decision_id"):
        with_request_id(d, "d-2")


def test_signing_needs_neither_fastapi_nor_asyncpg() -> None:
    code = (
        "import sys; from interfaces.auth.signing import signed_headers; import interfaces.auth; "
        "print(sorted(m for m in ('fastapi', 'asyncpg', 'temporalio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
