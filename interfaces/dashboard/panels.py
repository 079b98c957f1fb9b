"""The overview's chart panels: each a read query and a chart of its rows.

To add one, append to ``PANELS`` a ``Panel`` of a query and a chart (as satisfaction, 好差评, is).

``query(pool, zone)`` returns rows (``zone`` None: every zone; a query without a zone filter ignores
it and says so in its title); ``chart(rows, now)`` returns a matplotlib ``Figure``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from eventstore import figures, queries
from interfaces.dashboard import charts
from legalclock import CST

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Panel:
    """One chart of the overview: ``key`` names it in the page (``id="panel-KEY"``)."""

    key: str
    title: str
    query: Callable[[asyncpg.Pool, str | None], Awaitable[Sequence[Any]]]
    chart: Callable[[Sequence[Any], datetime], Figure]

    async def svg(self, pool: asyncpg.Pool, zone: str | None, now: datetime) -> str:
        """The panel's chart as inline SVG."""
        return charts.svg(self.chart(await self.query(pool, zone), now))


async def _zones(pool: asyncpg.Pool, zone: str | None) -> Sequence[queries.ZoneReport]:
    return await queries.zone_report(pool, zone)


async def _overdue(pool: asyncpg.Pool, zone: str | None) -> Sequence[queries.OverdueItem]:
    return await queries.overdue(pool, zone=zone)


async def _departments(pool: asyncpg.Pool, zone: str | None) -> Sequence[queries.DepartmentReport]:
    return await queries.department_report(pool, zone=zone)  # one row per zone and department


async def _satisfaction(pool: asyncpg.Pool, zone: str | None) -> Sequence[figures.SatisfactionRow]:
    """This year's ratings (好差评), Beijing time."""
    year = datetime.now(UTC).astimezone(CST).year
    return (await figures.satisfaction(pool, str(year), zone)).rows


PANELS: list[Panel] = [
    Panel("funnel", "Stage funnel", _zones, lambda rows, now: charts.stage_funnel_chart(rows)),
    Panel("overdue", "Overdue board (督办)", _overdue, charts.overdue_chart),
    Panel(
        "departments",
        "Department on-time rates",
        _departments,
        lambda rows, now: charts.department_rates_chart(rows),
    ),
    Panel(
        "satisfaction",
        "Satisfaction this year (好差评)",
        _satisfaction,
        lambda rows, now: charts.satisfaction_chart(rows),
    ),
]
