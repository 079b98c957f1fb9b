"""Reads behind the dashboard's pictures that ``queries`` does not give: a project's Gantt of matters
and the inputs of its standard flowchart (全事项办理标准流程图).

The Gantt is folded from the project's event stream (``gantt_bars``, pure) rather than from
``rm_matters``, which keeps only a matter's latest deadline and none of its stops.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from catalog.load import default_catalog
from catalog.models import Catalog, ZonePolicy
from eventstore.codec import to_domain
from eventstore.content import stored_contents
from eventstore.store import Executor, StoredEvent, read_stream
from eventstore.versions import checklist_in_force, current_catalog, current_zone
from schemas import events as ev
from schemas.clocks import matter_clock_id


class Stop(BaseModel):
    """A stop of a matter's decision clock (补正, expert review ...: 行政许可法 §45); ``end`` None: still stopped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    start: datetime
    end: datetime | None


class GanttBar(BaseModel):
    """One submission of a matter on the project's timeline.

    ``start``: when the decision clock started (acceptance, 受理; or submission for events recorded
    before acceptance existed); ``end``: the decision (approval, rejection) or None while open.
    ``deadline``: the statutory deadline (the law's), ``promised_deadline``: the zone's promise,
    both as last moved by stops and extensions. ``outcome``: ``open``, ``approved``, ``rejected``,
    ``exempted`` (regional assessment: no clock, ``start`` = ``end``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    matter_code: str
    department: str
    stage: str
    submission: int
    mode: str
    start: datetime
    end: datetime | None
    deadline: datetime | None
    promised_deadline: datetime | None
    outcome: str
    stops: list[Stop]


class _Bar:
    """A bar being folded (mutable until ``freeze``)."""

    def __init__(self, e: ev.MatterSubmitted, start: datetime) -> None:
        self.e, self.start = e, start
        self.end: datetime | None = None
        self.deadline, self.promised = e.deadline, e.promised_deadline
        self.outcome = "open"
        self.stops: list[Stop] = []

    def freeze(self) -> GanttBar:
        e = self.e
        return GanttBar(
            matter_code=e.matter_code,
            department=e.department,
            stage=e.stage,
            submission=e.submission,
            mode=e.mode,
            start=self.start,
            end=self.end,
            deadline=self.deadline,
            promised_deadline=self.promised,
            outcome=self.outcome,
            stops=self.stops,
        )


def gantt_bars(events: Sequence[tuple[datetime, ev.DomainEvent]]) -> list[GanttBar]:
    """The matters' bars of a project from its domain events ``(occurred_at, event)`` in stream order.

    A submission's bar starts at its acceptance (``ApplicationAccepted.accepted_at``: the department
    decides from 受理, 行政许可法 §32, though a limit counted from the receipt, ``MatterSpec.limit_from``,
    ends at a deadline counted from before the bar) or, for streams without acceptance, at
    ``MatterSubmitted``; it ends at
    ``MatterApproved`` / ``MatterRejected`` of the same matter. ``ClockStopped`` / ``ClockResumed`` of
    its clock (``matter:{code}:{submission}``) are its stops; ``ClockResumed`` and
    ``LimitExtended`` move its deadlines. Bars come in the order their clocks started.
    """
    bars: list[_Bar] = []
    by_clock: dict[str, _Bar] = {}
    current: dict[str, _Bar] = {}
    for at, e in events:
        if isinstance(e, ev.MatterSubmitted):  # ApplicationAccepted is one too
            start = e.accepted_at if isinstance(e, ev.ApplicationAccepted) else at
            bar = _Bar(e, start)
            bars.append(bar)
            by_clock[matter_clock_id(e.matter_code, e.submission)] = bar
            current[e.matter_code] = bar
        elif isinstance(e, ev.MatterExempted):
            exempt = ev.MatterSubmitted(
                project_id=e.project_id,
                matter_code=e.matter_code,
                department=e.department,
                stage=e.stage,
                submission=0,
                mode="regional_assessment",
                statutory_days=e.statutory_days,
                promised_days=None,
                deadline=None,
            )
            bar = _Bar(exempt, at)
            bar.end, bar.outcome = at, "exempted"
            bars.append(bar)
        elif isinstance(e, ev.MatterApproved | ev.MatterRejected) and e.matter_code in current:
            bar = current.pop(e.matter_code)
            bar.end = at
            bar.outcome = "approved" if isinstance(e, ev.MatterApproved) else "rejected"
        elif isinstance(e, ev.ClockStopped) and e.clock_id in by_clock:
            by_clock[e.clock_id].stops.append(Stop(kind=e.kind, start=at, end=None))
        elif isinstance(e, ev.ClockResumed) and e.clock_id in by_clock:
            bar = by_clock[e.clock_id]
            if bar.stops and bar.stops[-1].end is None:
                bar.stops[-1] = bar.stops[-1].model_copy(update={"end": at})
            bar.deadline = e.new_deadline or bar.deadline
            bar.promised = e.new_promised_deadline or bar.promised
        elif isinstance(e, ev.LimitExtended) and e.clock_id in by_clock:
            bar = by_clock[e.clock_id]
            bar.deadline = e.new_deadline or bar.deadline
            bar.promised = e.new_promised_deadline or bar.promised
    return [b.freeze() for b in bars]


def _domain(stream: Sequence[StoredEvent]) -> list[tuple[datetime, ev.DomainEvent]]:
    out = []
    for s in stream:
        try:
            d = to_domain(s)
        except ValidationError:  # a payload of an older vocabulary: not drawn, the timeline shows it
            continue
        if d is not None:
            out.append((s.occurred_at, d))
    return out


async def project_gantt(db: Executor, project_id: str) -> list[GanttBar]:
    """The project's matters as Gantt bars (``gantt_bars``); empty for an unknown project."""
    return gantt_bars(_domain(await read_stream(db, project_id)))


class FlowchartInputs(BaseModel):
    """What a project's flowchart is drawn from: its checklist in force (``checklist_in_force``), the
    catalog version it runs under (``project_content_versions``; the catalog in force, else the shipped one, for
    projects registered before versions were recorded) and its zone's policy in force (None if unknown)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    project_id: str
    name: str
    zone_code: str
    checklist: list[ev.ChecklistItem]
    catalog: Catalog
    zone: ZonePolicy | None


async def flowchart_inputs(db: Executor, project_id: str) -> FlowchartInputs | None:
    """The flowchart's inputs for ``project_id``; None when the event store has no registration for it."""
    stream = await read_stream(db, project_id)
    registered = next((d for _, d in _domain(stream[:1]) if isinstance(d, ev.ProjectRegistered)), None)
    migrated = [s for s in stream if s.event_type == "ContentMigrated"]
    checklist = checklist_in_force([registered, *(d for _, d in _domain(migrated))])
    if registered is None or checklist is None:
        return None
    version = await db.fetchval("SELECT catalog FROM project_content_versions WHERE project_id = $1", project_id)
    catalog: Catalog | None = None
    if version is not None:
        content = (await stored_contents(db, [version])).get(version)
        catalog = None if content is None else Catalog.model_validate(content)
    if catalog is None:
        in_force = await current_catalog(db)
        catalog = in_force[1] if in_force else default_catalog()
    zone = await current_zone(db, registered.zone)
    return FlowchartInputs(
        project_id=project_id,
        name=registered.name,
        zone_code=registered.zone,
        checklist=checklist,
        catalog=catalog,
        zone=zone[1] if zone else None,
    )


class ProjectRow(BaseModel):
    """A project in the dashboard's list: where it stands and whether a clock of it is late."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    name: str
    enterprise: str
    zone: str
    stage: str
    status: str
    agent: str
    overdue: bool
    nearest_deadline: datetime | None


async def project_rows(db: Executor, zone: str | None = None, limit: int = 200) -> list[ProjectRow]:
    """Projects of the read models (of ``zone`` when given), overdue first, then by nearest deadline."""
    rows = await db.fetch(
        """SELECT project_id, name, enterprise, zone, stage, status, agent, overdue, nearest_deadline
           FROM rm_projects WHERE $1::text IS NULL OR zone = $1
           ORDER BY overdue DESC, nearest_deadline NULLS LAST, project_id LIMIT $2""",
        zone,
        limit,
    )
    return [ProjectRow(**dict(r)) for r in rows]
