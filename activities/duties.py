"""``perform_zone_duty``: the zone's periodic work (``schemas.duties``), written to the outbox.

Idempotent: each notification id is the duty, its period (Beijing date, ISO week or year), the
zone and the recipient, so a retried activity or a re-triggered run of the period adds nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from temporalio import activity

from eventstore.calendars import current_calendar
from eventstore.outbox import record_notification
from eventstore.queries import OverdueItem, overdue, zone_report
from schemas.duties import OPERATORS, PERFORM_ZONE_DUTY, DutyResult, DutyRun

log = structlog.get_logger(__name__)
BEIJING = ZoneInfo("Asia/Shanghai")


def _line(item: OverdueItem) -> str:
    what = item.matter_name or item.matter_code or item.scope
    due = item.deadline.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if item.deadline else "-"
    legal = "statutory limit breached" if item.breached else "promise missed" if item.promise_missed else "overdue"
    late = f", late by {item.late_by}" if item.late_by else ""
    provisional = " (provisional deadline)" if item.provisional else ""
    return f"{item.project_name} ({item.project_id}): {what}, due {due}{provisional}, {legal}{late}"


class ZoneDuties:
    """Holds the pool; one method per activity."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name=PERFORM_ZONE_DUTY)
    async def perform_zone_duty(self, run: DutyRun) -> DutyResult:
        """Write the duty's notifications for the period of ``run.at`` (Beijing time).

        ``overdue_digest``: period ``YYYY-MM-DD``, one notification per zone and department and
        per zone and agent with overdue clocks; ``zone_report``: period ``YYYY-Www``, one per zone;
        ``calendar_reminder``: period the next year, one unless that year's calendar is loaded.
        """
        local = run.at.astimezone(BEIJING)
        if run.kind == "overdue_digest":
            period = local.date().isoformat()
            written = await self._digest(period, run.at)
        elif run.kind == "zone_report":
            year, week, _ = local.isocalendar()
            period = f"{year}-W{week:02d}"
            written = await self._report(period)
        else:
            period = str(local.year + 1)
            written = await self._reminder(local.year + 1)
        log.info("zone duty done", kind=run.kind, period=period, notifications=written)
        return DutyResult(kind=run.kind, period=period, notifications=written)

    async def _digest(self, period: str, at: datetime) -> int:
        by: dict[tuple[str, str, str], list[OverdueItem]] = defaultdict(list)
        for item in await overdue(self.pool, now=at):
            if item.department:
                by[(item.zone, "department", item.department)].append(item)
            by[(item.zone, "agent", item.agent)].append(item)
        written = 0
        for (zone, role, recipient), items in sorted(by.items()):
            message = f"{len(items)} overdue in {zone} on {period} for {role} {recipient}: " + "; ".join(
                _line(i) for i in items[:20]
            )
            payload = {"period": period, "role": role, "items": [i.model_dump(mode="json") for i in items]}
            written += await record_notification(
                self.pool,
                f"overdue-digest:{period}:{zone}:{role}:{recipient}",
                f"zone-{zone}",
                "overdue_digest",
                [recipient],
                message,
                payload,
            )
        return written

    async def _report(self, period: str) -> int:
        written = 0
        for row in await zone_report(self.pool):
            message = (
                f"zone report {period} for {row.zone}: {row.active} active of {row.projects} projects, "
                f"{row.total_investment_yuan} yuan, {row.days_saved_total} working days saved"
            )
            written += await record_notification(
                self.pool,
                f"zone-report:{period}:{row.zone}",
                f"zone-{row.zone}",
                "zone_report",
                [OPERATORS],
                message,
                {"period": period, "report": row.model_dump(mode="json")},
            )
        return written

    async def _reminder(self, year: int) -> int:
        if year in (await current_calendar(self.pool)).years:
            return 0  # loaded already
        message = (
            f"load the official calendar of {year} (the State Council's holiday notice, usually published "
            f"in November): daiban calendar load FILE; until then {year}'s deadlines count the statutory "
            "holidays only, without the make-up working days (调休)"
        )
        return int(
            await record_notification(
                self.pool,
                f"calendar-reminder:{year}",
                "zone-all",
                "calendar_reminder",
                [OPERATORS],
                message,
                {"year": year},
            )
        )
