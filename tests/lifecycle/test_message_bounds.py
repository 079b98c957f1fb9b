"""Payloads bounded (issue 14): the largest message each model allows fits ``MAX_MESSAGE_BYTES``, and
the events and effects the largest command produces stay far below Temporal's payload limits.

Every string at its maximum length in 4-byte characters (the most UTF-8 a character takes), every
list at its maximum length: if a bound is ever raised past what Temporal can carry, this fails.
"""

from __future__ import annotations

from datetime import datetime

from temporalio.contrib.pydantic import pydantic_data_converter

from legalclock import CST
from schemas.bounded import ID_MAX, LONG_TEXT, MAX_MESSAGE_BYTES, NAME_MAX
from schemas.effects import Batch
from schemas.project import (
    MAX_ITEMS,
    MAX_MATERIALS,
    MAX_REASONS,
    AssessmentFit,
    Commitment,
    Decision,
    ProgressReport,
    RegisterProject,
    Resubmit,
    SubmitApplication,
    SupplyMaterials,
    Verification,
)
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle.base import LINE_KEPT
from workflows.lifecycle.state import BRIEF_CHARS, BRIEF_TEXTS

WIDE = "\U0001f3ed"  # 4 bytes in UTF-8
# Temporal warns at 512 KB and refuses a payload over 2 MB.
TEMPORAL_WARN_BYTES = 512 * 1024


def name(n: int = NAME_MAX) -> str:
    return WIDE * n


def ident(n: int = ID_MAX) -> str:
    return "a" * n


def encoded_size(value: object) -> int:
    return len(pydantic_data_converter.payload_converter.to_payloads([value])[0].data)


def test_the_largest_registration_fits() -> None:
    fit = AssessmentFit(
        assessment=ident(), area=name(), project_kind=name(), commitment=WIDE * LONG_TEXT, signed_by=name()
    )
    reg = RegisterProject(
        project_id=ident(),
        name=name(),
        enterprise=name(),
        zone=ident(),
        investment_yuan=10**15,
        agent=ident(),
        backup_agent="b" * ID_MAX,
        project_lead=ident(),
        regional_assessments=[fit.model_copy(update={"assessment": f"{i}" + "a" * 63}) for i in range(10)],
    )
    assert encoded_size(reg) <= MAX_MESSAGE_BYTES


def test_the_largest_commands_fit() -> None:
    commitment = Commitment(text_version=ident(), signed_by=name(), signed_at=datetime(2026, 1, 5, tzinfo=CST))
    largest = [
        Decision(
            decision_id=ident(),
            department=ident(),
            matter_code=ident(),
            kind="request_correction",
            decided_by=name(),
            reasons=[name()] * MAX_REASONS,
            items=[name()] * MAX_ITEMS,
        ),
        SubmitApplication(
            request_id=ident(),
            matter_code=ident(),
            by=ident(),
            materials=[name()] * MAX_MATERIALS,
            commitment=commitment,
        ),
        SupplyMaterials(request_id=ident(), matter_code=ident(), by=ident(), items=[name()] * MAX_ITEMS),
        Verification(
            decision_id=ident(), department=ident(), matter_code=ident(), passed=False, by=name(), findings=name(2000)
        ),
        Resubmit(request_id=ident(), matter_code=ident(), by=ident(), note=name(2000)),
        ProgressReport(request_id=ident(), percent=100, note=name(2000), by=ident()),
    ]
    for cmd in largest:
        assert encoded_size(cmd) <= MAX_MESSAGE_BYTES, type(cmd).__name__


def test_what_the_largest_correction_request_produces_fits_one_payload() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    d = Decision(
        decision_id=ident(),
        department="approval",
        matter_code="project-filing",
        kind="request_correction",
        decided_by=name(),
        reasons=[name()] * MAX_REASONS,
        items=[name()] * MAX_ITEMS,
    )
    m.execute("decide", d, sp.T0)
    batch = Batch(project_id=m.pid, events=list(m.state.pending_events), effects=list(m.state.effects))
    assert batch.events
    assert encoded_size(batch) < TEMPORAL_WARN_BYTES
    # The carried state, with this decision kept in its matter and its answer, too.
    assert encoded_size(m.state) < TEMPORAL_WARN_BYTES


def test_the_carried_state_after_the_largest_correction_stays_small() -> None:
    """Issue 14/17: once texts are kept out (patch ``texts-out``), the largest correction request adds a
    bounded summary to the carried state, not its texts (they are in the event store)."""
    d = Decision(
        decision_id=ident(),
        department="approval",
        matter_code="project-filing",
        kind="request_correction",
        decided_by=name(),
        reasons=[name()] * MAX_REASONS,
        items=[name()] * MAX_ITEMS,
    )
    grown = {}
    for texts_out in (False, True):
        m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
        if texts_out:
            m.keep_texts_out()
        before = encoded_size(m.state)
        m.execute("decide", d, sp.T0)
        m.state.pending_events.clear()  # stored by the batch, as before a continue-as-new
        m.state.effects.clear()
        grown[texts_out] = encoded_size(m.state) - before
    print(f"carried state grown by the largest correction: {grown[False]} bytes whole, {grown[True]} kept out")
    # The bound, from the schema (4 bytes a character at most): the decision's record (its ids and
    # name, ``brief`` reasons and items, ``+N more`` each), the clock's stop with its reason cut to
    # ``LINE_KEPT``, and the first answer (ids, fingerprint, state); 200-300 bytes of JSON keys each.
    brief_bytes = 2 * (BRIEF_TEXTS * BRIEF_CHARS * 4 + 32)
    record_bytes = 3 * ID_MAX + NAME_MAX * 4 + 200
    stop_bytes = LINE_KEPT * 4 + 300
    answer_bytes = 2 * ID_MAX + 64 + 300
    assert grown[True] <= brief_bytes + record_bytes + stop_bytes + answer_bytes
    assert grown[False] > MAX_REASONS * NAME_MAX * 4, "whole, the texts were carried"
