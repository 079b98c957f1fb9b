"""A batch on the wire (``schemas.effects.Batch``): its events leave out what the batch implies and
read back the same, whatever they hold; a full envelope (as batches were sent before) reads as before."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from temporalio.contrib.pydantic import pydantic_data_converter

from schemas.effects import Batch
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
        payload = {"project_id": pid, "n": draw(st.integers())}
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
    return Batch(project_id=pid, events=events, after_version=draw(st.integers(0, 5)))


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
    assert all("stream_id" not in e and "event_id" not in e for e in json.loads(lean)["events"])
    assert Batch.model_validate_json(full) == b
