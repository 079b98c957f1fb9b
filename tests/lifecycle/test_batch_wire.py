"""A batch on the wire (``schemas.effects.Batch``): its events and effects leave out what the batch
implies and read back the same, whatever they hold; a full envelope or effect (as batches were sent
before) reads as before."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from temporalio.contrib.pydantic import pydantic_data_converter

from schemas.effects import Batch, Effect, IssueLicense, Notify, license_number
from schemas.events import EventEnvelope
from tests import support as sp

CONVERTER = pydantic_data_converter.payload_converter
T0 = datetime(2027, 1, 4, 1, 0, tzinfo=UTC)


def _round_trip(b: Batch) -> tuple[Batch, bytes]:
    (payload,) = CONVERTER.to_payloads([b])
    (back,) = CONVERTER.from_payloads([payload], [Batch])
    return back, payload.data


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    pid = draw(st.sampled_from(["p-1", "p-2"]))
    events = []
    for i in range(draw(st.integers(0, 6))):
        version = draw(st.integers(1, 50)) + i * 100
        stream = draw(st.sampled_from([pid, pid, "p-other"]))
        event_id = draw(st.sampled_from([f"{stream}:{version}", f"{stream}:{version}", f"odd-{i}"]))
        at = T0 + timedelta(seconds=draw(st.integers(0, 2)))
        cause = draw(st.sampled_from([None, "r-1", "r-2"]))
        payload: dict[str, object] = {"n": draw(st.integers())}
        owner = draw(st.sampled_from([pid, pid, "p-other", None]))
        if owner is not None:
            payload["project_id"] = owner
        events.append(
            EventEnvelope(
                event_id=event_id,
                stream_id=stream,
                version=version,
                event_type="X",
                occurred_at=at,
                payload=payload,
                causation_id=cause,
            )
        )
    effects: list[Effect] = []
    for i in range(draw(st.integers(0, 4))):
        owner = draw(st.sampled_from([pid, pid, "p-other"]))
        code, n = draw(st.sampled_from(["eia", "fire-design"])), draw(st.integers(1, 3))
        number = draw(st.sampled_from([license_number(owner, code, n), license_number(pid, code, n), f"L-{i}"]))
        licence = IssueLicense(
            project_id=owner, license_no=number, matter_code=code, department="ecology", enterprise="E", submission=n
        )
        notice = Notify(project_id=owner, notification_id=f"n-{i}", notice="x", recipients=["a"], message="m")
        effects.append(licence if draw(st.booleans()) else notice)
    return Batch(project_id=pid, events=events, effects=effects, after_version=draw(st.integers(0, 5)))


@given(batches())
def test_any_batch_reads_back_the_same(b: Batch) -> None:
    back, _ = _round_trip(b)
    assert back == b


def test_a_flush_crosses_history_in_fewer_bytes_and_a_full_envelope_still_reads() -> None:
    m = sp.at_approval_land("yanhu")
    m.execute("decide", sp.decision("eia", decision_id="eco-1"), sp.T0)
    b = Batch(project_id=m.pid, events=list(m.state.pending_events), effects=list(m.state.effects))
    assert len(b.events) >= 2
    back, lean = _round_trip(b)
    full = json.dumps({**json.loads(lean), "events": [e.model_dump(mode="json") for e in b.events]}).encode()
    print(f"batch on the wire: {len(lean)} bytes; with full envelopes: {len(full)}")
    assert back == b and len(lean) < len(full)
    sent = json.loads(lean)
    assert all("stream_id" not in e and "event_id" not in e for e in sent["events"])
    assert all("project_id" not in e["payload"] for e in sent["events"])
    assert sent["effects"] and all("project_id" not in f for f in sent["effects"])
    assert Batch.model_validate_json(full) == b
    full_effects = json.dumps({**json.loads(full), "effects": [f.model_dump(mode="json") for f in b.effects]})
    assert Batch.model_validate_json(full_effects) == b
