"""The zone's Temporal Schedules (``schemas.duties``), created or brought up to date idempotently.

``ensure_schedules`` is the setup step (``daiban setup schedules``, part of ``daiban setup all``;
``make run`` calls it): a schedule that does not exist is created, one that exists gets this
release's spec and action (a no-op when they are the same), so running it again changes nothing.
They show in the Temporal UI's Schedules page; ``temporal schedule trigger --schedule-id ID`` runs
one at once.

Times are Beijing time (the zone's office hours): the overdue digest daily at 08:00, before the
office opens at 09:00; the zone report on Mondays at 08:30; the calendar reminder on 1 November at
09:00, the month the State Council usually publishes the next year's holidays (DOMAIN.md), and
again each Monday of November while the year is not loaded (the run is a no-op once it is).
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from schemas.duties import DutyKind, ZoneDuty

log = structlog.get_logger(__name__)
TIME_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class ZoneSchedule:
    """One schedule: its id, its duty, when (calendar specs, Beijing time) and what the UI says."""

    schedule_id: str
    kind: DutyKind
    calendars: tuple[ScheduleCalendarSpec, ...]
    note: str


def _at(hour: int, minute: int, **fields: list[ScheduleRange]) -> ScheduleCalendarSpec:
    return ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)], **fields)  # type: ignore[arg-type]


SCHEDULES = (
    ZoneSchedule(
        "daiban-overdue-digest",
        "overdue_digest",
        (_at(8, 0),),
        "daily 08:00 Beijing: overdue digest per department and agent (notifications outbox)",
    ),
    ZoneSchedule(
        "daiban-zone-report",
        "zone_report",
        (_at(8, 30, day_of_week=[ScheduleRange(1)]),),
        "Mondays 08:30 Beijing: the weekly zone report to the zone's operators",
    ),
    ZoneSchedule(
        "daiban-calendar-reminder",
        "calendar_reminder",
        (
            _at(9, 0, month=[ScheduleRange(11)], day_of_month=[ScheduleRange(1)]),
            _at(9, 0, month=[ScheduleRange(11)], day_of_week=[ScheduleRange(1)]),
        ),
        "November 09:00 Beijing: load next year's official calendar (State Council notice)",
    ),
)


def schedule_of(s: ZoneSchedule, task_queue: str) -> Schedule:
    """The Temporal schedule for ``s``: a ``ZoneDutyWorkflow`` run on ``task_queue``, never two at once."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "ZoneDutyWorkflow", ZoneDuty(kind=s.kind), id=f"zone-duty-{s.kind}", task_queue=task_queue
        ),
        spec=ScheduleSpec(calendars=list(s.calendars), time_zone_name=TIME_ZONE),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_schedules(client: Client, task_queue: str) -> dict[str, str]:
    """Create the missing schedules and update the others; schedule id -> ``created``/``updated``."""
    done: dict[str, str] = {}
    for s in SCHEDULES:
        schedule = schedule_of(s, task_queue)
        try:
            await client.create_schedule(s.schedule_id, schedule, memo={"note": s.note})
            done[s.schedule_id] = "created"
        except ScheduleAlreadyRunningError:

            def replace(inp: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                # Keep the state (paused, notes) an operator set; take this release's spec and action.
                return ScheduleUpdate(
                    Schedule(action=new.action, spec=new.spec, policy=new.policy, state=inp.description.schedule.state)
                )

            await client.get_schedule_handle(s.schedule_id).update(replace)
            done[s.schedule_id] = "updated"
    log.info("zone schedules in place", schedules=done)
    return done
