"""The workflow's own check of its raw start (``workflows.start``), as plain code.

A new start meets today's rules; a run continued as new keeps the registration it was accepted
with (``schemas.bounded.KEPT``), so no running project stops on a rule that came after it.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter

from tests import support as sp
from tests.harness import registration
from workflows.start import ProjectInput, decode_input, decode_start


def _raw(value: Any) -> RawValue:
    return RawValue(pydantic_data_converter.payload_converter.to_payloads([value])[0])


def _legacy() -> dict[str, Any]:
    # What the rules before issue 14 accepted and kept: a name on two lines, 10^16 yuan.
    reg = registration().model_dump(mode="json")
    return {"registration": {**reg, "name": "厂房\n二期", "investment_yuan": 10**16}}


def test_a_new_start_meets_todays_rules() -> None:
    inp, errors = decode_input(_raw(_legacy()))
    assert inp is None
    assert sorted(".".join(e["loc"]) for e in errors) == ["registration.investment_yuan", "registration.name"]


def test_a_run_continued_as_new_keeps_what_was_accepted_then() -> None:
    inp, errors = decode_input(_raw(_legacy()), kept=True)
    assert errors == [] and inp is not None
    assert (inp.registration.name, inp.registration.investment_yuan) == ("厂房\n二期", 10**16)
    # Types and lengths are still checked.
    bad = _legacy()
    bad["registration"]["investment_yuan"] = "1"
    assert decode_input(_raw(bad), kept=True)[1]


def test_carried_state_only_in_a_run_continued_as_new() -> None:
    start = {"registration": registration().model_dump(mode="json"), "carried": None}
    assert decode_start(_raw(start), continued=False)[1] == []
    inp, errors = decode_input(_raw({**start, "carried": {"stage": "registered"}}))
    assert inp is None and errors and errors[0]["loc"][0] == "carried"


def test_the_carried_state_travels_without_its_defaults_and_reads_back_the_same() -> None:
    m = sp.at_approval_land("yanhu")
    m.execute("decide", sp.decision("eia", decision_id="eco-1"), sp.T0)
    inp = ProjectInput(registration=m.state.registration, carried=m.state)
    whole = len(inp.model_dump_json(exclude={"carried"})) + len(m.state.model_dump_json())
    sent = pydantic_data_converter.payload_converter.to_payloads([inp])[0]
    print(f"continue-as-new input: {len(sent.data)} bytes (with every default: {whole})")
    assert len(sent.data) < whole * 0.8
    back, errors = decode_start(RawValue(sent), continued=True)
    assert not errors and back == inp
