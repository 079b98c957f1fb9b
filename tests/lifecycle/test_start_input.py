"""The workflow's own check of its raw start (``workflows.start``), as plain code.

A new start meets today's rules; a run continued as new keeps the registration it was accepted
with (``schemas.bounded.KEPT``), so no running project stops on a rule that came after it.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter

from tests import support as sp
from tests.harness import registration
from workflows.start import (
    CARRIED_MAX_BYTES,
    CARRIED_METADATA,
    ProjectInput,
    continued_input,
    decode_input,
    decode_start,
    encode_carried,
)


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


def test_the_compressed_carried_state_reads_back_the_same_in_a_third_of_the_bytes() -> None:
    # Patch carried-apart: what continue-as-new writes twice to history (its event, the next start).
    m = sp.at_approval_land("yanhu")
    m.execute("decide", sp.decision("eia", decision_id="eco-1"), sp.T0)
    readable = ProjectInput(registration=m.state.registration, carried=m.state)
    packed = ProjectInput(registration=m.state.registration, carried_zlib=encode_carried(m.state))
    before, after = (pydantic_data_converter.payload_converter.to_payloads([i])[0] for i in (readable, packed))
    print(f"continue-as-new input: {len(before.data)} bytes readable, {len(after.data)} compressed")
    assert len(after.data) < len(before.data) / 2.5
    # What a person sees in the UI: the registration, and the state only as an opaque string.
    shown = json.loads(after.data)
    assert set(shown) == {"registration", "carried_zlib"} and "checklist" not in after.data.decode()
    back, errors = decode_start(RawValue(after), continued=True)
    assert not errors and back is not None
    assert back.carried == m.state and back.carried_zlib is None
    assert back == decode_start(RawValue(before), continued=True)[0]


def test_a_compressed_carried_state_only_in_a_run_continued_as_new_and_only_well_formed() -> None:
    m = sp.at_approval_land("yanhu")
    good = {"registration": m.state.registration.model_dump(mode="json"), "carried_zlib": encode_carried(m.state)}
    inp, errors = decode_start(_raw(good), continued=False)
    assert inp is None and errors[0]["loc"] == ["carried_zlib"] and errors[0]["type"] == "forbidden"
    both = {
        **good,
        "carried": json.loads(ProjectInput(registration=m.state.registration, carried=m.state).model_dump_json())[
            "carried"
        ],
    }
    assert decode_start(_raw(both), continued=True)[1][0]["loc"] == ["carried"]
    bomb = base64.b64encode(zlib.compress(b" " * (CARRIED_MAX_BYTES + 1))).decode()
    spoiled = {
        "not base64": "%%%",
        "not zlib": base64.b64encode(b"plain text").decode(),
        "too large inflated": bomb,
        "not a state": base64.b64encode(zlib.compress(b'{"carried": {"stage": "nowhere"}}')).decode(),
    }
    for why, text in spoiled.items():
        inp, errors = decode_start(_raw({**good, "carried_zlib": text}), continued=True)
        assert inp is None and errors, why
        assert errors[0]["loc"][0] in ("carried", "carried_zlib"), (why, errors)


def test_the_carried_state_in_the_payloads_metadata_is_a_quarter_smaller_and_reads_back_the_same() -> None:
    # Since this release the compressed state travels as bytes in the metadata, where the releases since
    # carried-apart wrote it as base64 text in the JSON (continue-as-new writes it twice to history).
    m = sp.at_approval_land("yanhu")
    m.execute("decide", sp.decision("eia", decision_id="eco-1"), sp.T0)
    reg = m.state.registration
    apart = _raw(ProjectInput(registration=reg, carried_zlib=encode_carried(m.state), history_limit=300)).payload
    binary = continued_input(_raw(ProjectInput(registration=reg, history_limit=300)).payload, m.state).payload
    print(f"continue-as-new input: {apart.ByteSize()} bytes with base64, {binary.ByteSize()} with metadata")
    assert binary.ByteSize() < apart.ByteSize() * 0.82
    # What a person sees in the UI: the registration and the limit, nothing of the state.
    assert json.loads(binary.data) == {"registration": reg.model_dump(mode="json"), "history_limit": 300}
    back, errors = decode_start(RawValue(binary), continued=True)
    assert not errors and back is not None
    assert back.carried == m.state and back.carried_zlib is None and back.history_limit == 300
    assert back == decode_start(RawValue(apart), continued=True)[0]


def test_a_carried_state_in_the_metadata_only_in_a_run_continued_as_new_once_and_well_formed() -> None:
    m = sp.at_approval_land("yanhu")
    reg = m.state.registration
    good = continued_input(_raw(ProjectInput(registration=reg)).payload, m.state)
    inp, errors = decode_start(good, continued=False)
    assert inp is None and errors == [
        {"loc": [CARRIED_METADATA], "msg": "set only by continue-as-new, never by a start", "type": "forbidden"}
    ]
    twice = continued_input(_raw(ProjectInput(registration=reg, carried_zlib=encode_carried(m.state))).payload, m.state)
    inp, errors = decode_start(twice, continued=True)
    assert (
        inp is None and errors[0]["loc"] == ["carried"] and "carried_zlib and daiban-carried-zlib" in errors[0]["msg"]
    )
    spoiled = {
        "not zlib": b"plain text",
        "too large inflated": zlib.compress(b" " * (CARRIED_MAX_BYTES + 1)),
        "two streams": zlib.compress(b"{}") + zlib.compress(b"{}"),
        "not a state": zlib.compress(b'{"carried": {"stage": "nowhere"}}'),
    }
    for why, packed in spoiled.items():
        bad = RawValue(_raw(ProjectInput(registration=reg)).payload)
        bad.payload.metadata[CARRIED_METADATA] = packed
        inp, errors = decode_start(bad, continued=True)
        assert inp is None and errors, why
        assert errors[0]["loc"][0] in ("carried", CARRIED_METADATA), (why, errors)
