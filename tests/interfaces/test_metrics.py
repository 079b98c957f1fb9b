"""The worker's Prometheus endpoint: SDK runtime metrics and daiban's counters on one port."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from typing import cast

import httpx
from temporalio.common import MetricAttributes, MetricMeter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

import worker
from infra.metrics import _Counters
from infra.settings import Settings
from interfaces.client import DaibanClient
from schemas.events import EventEnvelope
from schemas.project import Decision, SubmitApplication
from tests.conftest import _free_port
from tests.harness import registration


def _value(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if m and all(f'{k}="{v}"' in (m.group(1) or "") for k, v in labels.items()):
            total += float(m.group(2))
    return total


async def test_worker_serves_sdk_metrics_and_daiban_counters(dev_env: WorkflowEnvironment, pg_dsn: str) -> None:
    port = _free_port()
    settings = Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_namespace=dev_env.client.namespace,
        task_queue=f"tq-metrics-{uuid.uuid4().hex[:8]}",
        database_url=pg_dsn,
        metrics_port=port,
        shutdown_grace_seconds=1,
    )
    stop = asyncio.Event()
    serving = asyncio.create_task(worker.serve(settings, stop))
    client = DaibanClient(dev_env.client, settings.task_queue)
    reg = registration()
    try:
        await client.register(reg)
        await client.state(reg.project_id)
        # The agent applies; enterprise registration (即办件) is accepted and approved in one step, the
        # project filing is complete on receipt (备案: nothing for the department to decide).
        steps: tuple[tuple[str, str, list[str]], ...] = (
            ("enterprise-registration", "market", ["approve"]),
            ("project-filing", "approval", []),
        )
        for code, dept, kinds in steps:
            application = SubmitApplication(matter_code=code, by=reg.agent, materials=["申请表"])
            await client.submit_application(reg.project_id, application)
            for kind in kinds:
                await client.decide(
                    reg.project_id,
                    Decision(
                        decision_id=f"m-{code}-{kind}",
                        department=dept,
                        matter_code=code,
                        kind=kind,
                        decided_by="clerk",
                        instant=kind == "approve" and len(kinds) == 1,
                    ),
                )
        text = ""
        async with httpx.AsyncClient() as http:
            for _ in range(50):  # events are recorded (and counted) right after each update
                text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                if _value(text, "daiban_decisions", outcome="approved", task_queue=settings.task_queue) >= 2:
                    break
                await asyncio.sleep(0.1)
        q = settings.task_queue
        # Two approvals (one instant, one filed on receipt); events count once each.
        assert _value(text, "daiban_decisions", outcome="approved", task_queue=q) == 2, text
        assert _value(text, "daiban_events_recorded", event_type="ApplicationReceived", task_queue=q) == 2, text
        assert _value(text, "daiban_events_recorded", event_type="ProjectRegistered", task_queue=q) == 1
        assert _value(text, "temporal_activity_execution_latency_count", task_queue=q) > 0, "SDK metrics too"
    finally:
        with contextlib.suppress(RPCError):
            await client.handle(reg.project_id).terminate("test finished")
        stop.set()
        await asyncio.wait_for(serving, 30)


class _FakeCounter:
    def __init__(self, name: str, seen: list[tuple[str, dict[str, str]]]) -> None:
        self.name, self.seen = name, seen

    def add(self, value: int, attributes: MetricAttributes | None = None) -> None:
        self.seen.extend([(self.name, dict(attributes or {}))] * value)  # type: ignore[arg-type]


class _FakeMeter:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []

    def create_counter(self, name: str, description: str | None = None, unit: str | None = None) -> _FakeCounter:
        return _FakeCounter(name, self.seen)


def test_breaches_and_escalations_are_counted_by_kind() -> None:
    def event(event_type: str, **payload: object) -> EventEnvelope:
        return EventEnvelope(
            event_id=event_type,
            stream_id="p",
            version=1,
            event_type=event_type,
            occurred_at="2026-01-05T09:00:00+08:00",
            payload=payload,
        )

    meter = _FakeMeter()
    _Counters(cast(MetricMeter, meter)).count(
        [
            event("DeadlineBreached", scope="matter", limit="promised"),
            event("DeadlineBreached", scope="matter"),
            event("EscalatedToLead"),
            event("JointMeetingConvened"),
            event("MatterRejected"),
            event("CorrectionRequested"),
            event("StageStarted"),
        ]
    )
    counted = [(name, attrs) for name, attrs in meter.seen if name != "daiban_events_recorded"]
    assert counted == [
        # The zone's promise missed is no legal breach; an event without the field is a statutory one.
        ("daiban_deadline_breaches", {"scope": "matter", "limit": "promised"}),
        ("daiban_deadline_breaches", {"scope": "matter", "limit": "statutory"}),
        ("daiban_escalations", {"level": "lead"}),
        ("daiban_escalations", {"level": "joint_meeting"}),
        ("daiban_decisions", {"outcome": "rejected"}),
        ("daiban_decisions", {"outcome": "correction_requested"}),
    ]
    assert sum(name == "daiban_events_recorded" for name, _ in meter.seen) == 7
