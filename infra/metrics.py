"""Metrics: the worker's Prometheus endpoint and daiban counters, the gateway's request metrics.

Worker. ``prometheus_runtime(port)`` builds the Temporal runtime whose Prometheus exporter serves
the SDK's own metrics (task latencies, polls, failures) at ``http://<host>:<port>/metrics``; the
daiban counters go through the same exporter, created on the activity's metric meter by
``EventMetricsInterceptor``, so one scrape target has both:

- ``daiban_events_recorded{event_type}``: every domain event newly written to the event store;
- ``daiban_decisions{outcome}``: ``approved`` / ``rejected`` / ``correction_requested``;
- ``daiban_deadline_breaches{scope, limit}``: matter, stage, obligation or process clocks breached;
  ``limit`` ``statutory`` (the law's: a legal breach) or ``promised`` (the zone's promise missed,
  督办 only; every breach of a contract under promise-only rule 2);
- ``daiban_escalations{level}``: ``lead`` (督办) and ``joint_meeting`` (联席会议);
- ``daiban_project_faults``: batches the storage refused for good (the project is parked and
  marked ``DaibanFaulted``; see ``activities.project.record_fault``).

They are counted when ``apply_batch`` returns: the activity reports how many events of its
batch were new (a retried batch writes nothing twice), and the new ones are taken to be the
batch's tail. That holds for every batch the workflow sends (a batch is written in one
transaction, and a batch overlapping what is stored overlaps with its head); it is the one
approximation here. A worker that dies after the append and before counting loses those counts,
it never counts twice.

Projector. ``daiban_projection_quarantined{event_type, reason}`` counts the events the read-model
projector set aside (``reason``: ``failed`` or ``held_back`` behind a failed event of the same
stream; see ``eventstore.projector``). It is a ``prometheus_client`` counter (served by any
process that serves the default registry) and, in a worker with metrics on, also a counter of
the worker's Temporal runtime, so it shows on ``DAIBAN_METRICS_PORT`` too.

Gateway. ``RequestMetrics`` is an ASGI middleware counting requests and observing their latency
per route template (not per raw path, to bound the label set) and status; ``/metrics`` serves the
``prometheus_client`` default registry.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from temporalio import activity
from temporalio.common import MetricCounter, MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from infra.settings import ConfigError

if TYPE_CHECKING:
    from eventstore.quarantine import QuarantinedEvent

# ---- worker ----------------------------------------------------------------------------------

DECISION_OUTCOMES = {
    "MatterApproved": "approved",
    "MatterRejected": "rejected",
    "CorrectionRequested": "correction_requested",
}
ESCALATION_LEVELS = {"EscalatedToLead": "lead", "JointMeetingConvened": "joint_meeting"}


def prometheus_runtime(port: int | None, host: str = "127.0.0.1") -> Runtime | None:
    """A Temporal runtime exporting Prometheus metrics on ``host:port``; None when ``port`` is off.

    Create it once per process: it binds the port. Raises ``ConfigError`` when it cannot.
    """
    global _quarantined_on_runtime
    if not port:
        return None
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{port}")))
    except Exception as exc:  # the core raises RuntimeError when it cannot bind
        raise ConfigError(
            f"cannot serve metrics on {host}:{port} ({exc}); free the port or change "
            "DAIBAN_METRICS_PORT (0 turns metrics off) or DAIBAN_METRICS_HOST"
        ) from None
    _quarantined_on_runtime = runtime.metric_meter.create_counter(
        "daiban_projection_quarantined", "Events the read-model projector quarantined"
    )
    return runtime


class _Counters:
    """The daiban counters on one metric meter."""

    def __init__(self, meter: MetricMeter) -> None:
        self.events = meter.create_counter("daiban_events_recorded", "Domain events newly recorded")
        self.decisions = meter.create_counter("daiban_decisions", "Department decisions by outcome")
        self.breaches = meter.create_counter(
            "daiban_deadline_breaches", "Deadlines breached by clock scope and limit (statutory or promised)"
        )
        self.escalations = meter.create_counter("daiban_escalations", "Escalations to the lead and joint meetings")

    def count(self, events: Sequence[Any]) -> None:
        for e in events:
            kind: str = e.event_type
            _add(self.events, event_type=kind)
            if kind in DECISION_OUTCOMES:
                _add(self.decisions, outcome=DECISION_OUTCOMES[kind])
            elif kind == "DeadlineBreached":
                limit = str(e.payload.get("limit", "statutory"))  # the event's default
                _add(self.breaches, scope=str(e.payload.get("scope", "unknown")), limit=limit)
            elif kind in ESCALATION_LEVELS:
                _add(self.escalations, level=ESCALATION_LEVELS[kind])


def _add(counter: MetricCounter, **attributes: str) -> None:
    counter.add(1, dict(attributes))


class _CountRecordedEvents(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await super().execute_activity(input)
        kind = activity.info().activity_type
        if kind == "record_fault":
            _add(activity.metric_meter().create_counter("daiban_project_faults", "Batches refused for good"))
        if kind == "apply_batch" and isinstance(result, int) and result > 0:
            events = list(getattr(input.args[0], "events", []))
            # The activity's meter carries namespace, task queue and activity type as labels.
            _Counters(activity.metric_meter()).count(events[max(len(events) - result, 0) :])
        return result


class EventMetricsInterceptor(Interceptor):
    """Counts decisions, breaches and escalations as ``apply_batch`` writes them, and faults."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountRecordedEvents(next)


# ---- projector -------------------------------------------------------------------------------

PROJECTION_QUARANTINED = Counter(
    "daiban_projection_quarantined", "Events the read-model projector quarantined", ["event_type", "reason"]
)
# The same counter on the worker's Temporal runtime, once prometheus_runtime() created one.
_quarantined_on_runtime: MetricCounter | None = None


def count_quarantined(event_type: str, reason: str) -> None:
    """Count one event quarantined by the projector (``reason``: ``failed`` or ``held_back``)."""
    PROJECTION_QUARANTINED.labels(event_type, reason).inc()
    if _quarantined_on_runtime is not None:
        _add(_quarantined_on_runtime, event_type=event_type, reason=reason)


def observe_quarantined(event: QuarantinedEvent) -> None:
    """``Projector(on_quarantine=...)``: count an event the projector quarantined."""
    count_quarantined(event.event_type, event.reason)


# ---- gateway ---------------------------------------------------------------------------------

GATEWAY_REQUESTS = Counter(
    "daiban_gateway_requests", "HTTP requests answered by the gateway", ["method", "route", "status"]
)
GATEWAY_LATENCY = Histogram(
    "daiban_gateway_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def latest() -> tuple[bytes, str]:
    """The default registry in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class RequestMetrics:
    """ASGI middleware: count and time every HTTP request by route template and status."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            # The router puts the matched route in the scope; unmatched paths share one label.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            GATEWAY_REQUESTS.labels(method, route, str(status)).inc()
            GATEWAY_LATENCY.labels(method, route).observe(time.perf_counter() - start)
