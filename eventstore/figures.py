"""Ratings (好差评) and the zone's honest figures: their read models (migration 0150) and queries.

The handlers (``FIGURE_HANDLERS``, called by ``handlers.project`` after the main read models') keep
five tables, all rebuilt from events: ``rm_ratings`` (one row per rating, its callback and fix),
``rm_decisions`` (every decision with both limits), ``rm_acceptances`` (every 受理, deemed or not),
``rm_stage_spans`` (each stage's limit and the working days its clock used) and ``rm_savings``
(each matter shortened by commitment, tolerance or the regional assessment, and its revocation).
Working days are always the workflow's own count, carried by the events.

The figures, per zone (or every zone) and period (a year ``2026``, a quarter ``2026-Q1`` or a month
``2026-03``, in Beijing time):

- **Satisfaction** (``satisfaction``): ratings by grade; the satisfaction rate is the good grades
  (非常满意, 满意, 基本满意) over all ratings (国办发〔2019〕51号: 不满意 and 非常不满意 are 差评); per zone,
  per department (matter ratings) and per agent (agent ratings); bad ratings still owed a fix, and
  callbacks and fixes on time.
- **Departments** (``figures``): decisions in the period (approved, filed, deemed, rejected), on time
  against the statutory limit (used working days <= statutory days, never a deemed approval) and
  against the limit the zone answers for (its promise where it has one: the lifecycle's verdict);
  the statutory rate over the decisions the law sets a period for (a contract, 城市房地产管理法 §15,
  has none under promise-only rule 2: it counts against the promise only);
  acceptances in the period, on time unless deemed by the department's silence (行政许可法 §32).
- **Stages**: stages completed in the period, the working days their clocks used against their limits
  (the elapsed time of the stage: parallel matters are not added up).
- **Projects**: projects whose construction-permit stage completed in the period, the working days
  of the capped stages (``catalog.models.CAPPED_STAGES``, run one after another) against the zone's
  whole-process cap for the project's type.
- **Savings** by commitment, tolerance and regional assessment, the source's way (per project:
  Lingchuan, 80 days and 200,000 yuan of evaluation fees per project): for each project and stage,
  the longest chain of the stage's matters at their statutory limits (a matter without one: the
  zone's promise; ``requires`` chains, parallel
  otherwise) minus the longest chain with that mode's matters at the days they took; summed over the
  project's stages, then averaged over the projects that used the mode. Matters saved in the period,
  never one whose approval was revoked since (a failed verification reverses its saving). Fees: the
  zone's stated evaluation fee (``ZonePolicy.evaluation_fees_yuan``) of each commitment or
  regional-assessment matter.
- **Shares**: commitment share of the approvals (and filings) in the period: approvals on a
  commitment not revoked, over all approvals (Tunliu: 75%); full-agency share: projects registered in
  the period with an agent (every project in daiban has one from registration: 100% by construction;
  Tunliu: 100%).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from catalog.load import default_catalog
from catalog.models import CAPPED_STAGES, Catalog
from eventstore import readmodels as rm
from eventstore.codec import to_domain
from eventstore.store import Connection, Executor, StoredEvent
from eventstore.versions import current_catalog, current_zones
from legalclock import CST
from schemas import events as ev
from schemas.clocks import rating_clock_id

FigureHandler = Callable[[Connection, StoredEvent, Any], Awaitable[None]]
FIGURE_HANDLERS: dict[str, FigureHandler] = {}
# Emptied by rebuild() with the other read models.
FIGURE_TABLES = ("rm_ratings", "rm_decisions", "rm_acceptances", "rm_stage_spans", "rm_savings")

_ZONE = "coalesce((SELECT zone FROM rm_projects WHERE project_id = $1), '')"


def _on(cls: type[ev.DomainEvent]) -> Callable[[FigureHandler], FigureHandler]:
    def register(fn: FigureHandler) -> FigureHandler:
        FIGURE_HANDLERS[cls.__name__] = fn
        return fn

    return register


async def project_figures(conn: Connection, stored: StoredEvent) -> None:
    """Apply one event to this module's read models (none for most event types)."""
    handler = FIGURE_HANDLERS.get(stored.event_type)
    event = to_domain(stored) if handler is not None else None
    if handler is not None and event is not None:
        await handler(conn, stored, event)


# ---- ratings ---------------------------------------------------------------------------------------


@_on(ev.RatingGiven)
async def _rated(conn: Connection, stored: StoredEvent, e: ev.RatingGiven) -> None:
    await conn.execute(
        f"""INSERT INTO rm_ratings (project_id, rating_id, zone, target, matter_code, department, agent, grade,
                  satisfied, text, rated_by, rated_at, callback_deadline, fix_deadline)
           VALUES ($1, $2, {_ZONE}, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (project_id, rating_id) DO NOTHING""",
        e.project_id,
        e.rating_id,
        e.target,
        e.matter_code,
        e.department,
        e.agent,
        e.grade,
        e.satisfied,
        e.text,
        e.by,
        stored.occurred_at,
        e.callback_deadline,
        e.fix_deadline,
    )
    for kind, deadline in (("callback", e.callback_deadline), ("fix", e.fix_deadline)):
        if deadline is not None:
            clock_id = rating_clock_id(kind, e.rating_id)
            await rm.clock(conn, e.project_id, clock_id, "rating", department=e.department, deadline=deadline)


@_on(ev.RatingCallbackMade)
async def _called_back(conn: Connection, stored: StoredEvent, e: ev.RatingCallbackMade) -> None:
    await conn.execute(
        """UPDATE rm_ratings SET called_back_at = $3, callback_on_time = $4 WHERE project_id = $1 AND rating_id = $2""",
        e.project_id,
        e.rating_id,
        stored.occurred_at,
        e.on_time,
    )
    await rm.clock(conn, e.project_id, rating_clock_id("callback", e.rating_id), "rating", is_open=False)


@_on(ev.RatingFixed)
async def _fixed(conn: Connection, stored: StoredEvent, e: ev.RatingFixed) -> None:
    await conn.execute(
        """UPDATE rm_ratings SET fixed_at = $3, fix_on_time = $4 WHERE project_id = $1 AND rating_id = $2""",
        e.project_id,
        e.rating_id,
        stored.occurred_at,
        e.on_time,
    )
    await rm.clock(conn, e.project_id, rating_clock_id("fix", e.rating_id), "rating", is_open=False)


# ---- decisions, acceptances, stages, savings --------------------------------------------------------

_DECISION = f"""
INSERT INTO rm_decisions (event_id, project_id, zone, department, matter_code, stage, outcome, mode, decided_at,
       working_days_used, statutory_days, promised_days, on_time_statutory, on_time_promised)
SELECT $2, $1, {_ZONE}, $3, $4, $5, $6, $7, $8, $9, s.statutory, s.promised,
       -- NULL where the law sets no decision period (a contract under promise-only rule 2): a
       -- decision no statutory limit applies to is never counted on time against the law
       -- (a limit the law states in days, 日: $11 is the working days it spanned, extension included)
       CASE WHEN s.statutory IS NOT NULL THEN $7 IS DISTINCT FROM 'deemed' AND $9 <= s.statutory + s.extension END,
       coalesce($10, $7 IS DISTINCT FROM 'deemed' AND $9 <= coalesce(s.promised, s.statutory, $9))
FROM (SELECT coalesce($11, (SELECT statutory_days FROM rm_matters WHERE project_id = $1 AND matter_code = $4))
                 AS statutory,
             (SELECT promised_days FROM rm_matters WHERE project_id = $1 AND matter_code = $4) AS promised,
             -- an approved extension moves the statutory deadline (行政许可法 §42): the decided
             -- application's clock, its latest submission
             CASE WHEN $12 THEN 0 ELSE
             coalesce((SELECT extension_days FROM rm_clocks
                       WHERE project_id = $1 AND matter_code = $4 AND scope = 'matter'
                       ORDER BY submission DESC NULLS LAST LIMIT 1), 0) END AS extension) s
ON CONFLICT (event_id) DO NOTHING"""


@_on(ev.MatterApproved)
async def _approved(conn: Connection, stored: StoredEvent, e: ev.MatterApproved) -> None:
    await conn.execute(
        _DECISION,
        e.project_id,
        stored.event_id,
        e.department,
        e.matter_code,
        e.stage,
        "approved",
        e.mode,
        stored.occurred_at,
        e.working_days_used,
        e.on_time,
        e.statutory_in_working_days,
        e.statutory_working_days is not None,
    )
    if e.mode in ("commitment", "tolerance"):
        await _saved(conn, stored, e, e.mode, e.statutory_in_working_days, e.working_days_used)


@_on(ev.MatterRejected)
async def _rejected(conn: Connection, stored: StoredEvent, e: ev.MatterRejected) -> None:
    await conn.execute(
        _DECISION,
        e.project_id,
        stored.event_id,
        e.department,
        e.matter_code,
        e.stage,
        "rejected",
        None,
        stored.occurred_at,
        e.working_days_used,
        e.on_time,
        e.statutory_working_days,
        e.statutory_working_days is not None,
    )


@_on(ev.MatterExempted)
async def _exempted(conn: Connection, stored: StoredEvent, e: ev.MatterExempted) -> None:
    await _saved(conn, stored, e, "regional_assessment", e.statutory_in_working_days, 0.0)


async def _saved(
    conn: Connection, stored: StoredEvent, e: ev.MatterEvent, mode: str, statutory: float | None, used: float
) -> None:
    if statutory is None:  # no statutory limit (promise-only rule 2): nothing saved against the law
        return
    await conn.execute(
        f"""INSERT INTO rm_savings (project_id, matter_code, zone, stage, mode, statutory_days, days_used, saved_at)
           VALUES ($1, $2, {_ZONE}, $3, $4, $5, $6, $7)
           ON CONFLICT (project_id, matter_code) DO UPDATE SET mode = EXCLUDED.mode,
               statutory_days = EXCLUDED.statutory_days, days_used = EXCLUDED.days_used,
               saved_at = EXCLUDED.saved_at, revoked_at = NULL""",
        e.project_id,
        e.matter_code,
        e.stage,
        mode,
        statutory,
        used,
        stored.occurred_at,
    )


@_on(ev.ApprovalRevoked)
async def _revoked(conn: Connection, stored: StoredEvent, e: ev.ApprovalRevoked) -> None:
    await conn.execute(
        "UPDATE rm_savings SET revoked_at = $3 WHERE project_id = $1 AND matter_code = $2",
        e.project_id,
        e.matter_code,
        stored.occurred_at,
    )


@_on(ev.ApplicationAccepted)
async def _accepted(conn: Connection, stored: StoredEvent, e: ev.ApplicationAccepted) -> None:
    await conn.execute(
        f"""INSERT INTO rm_acceptances (event_id, project_id, zone, department, matter_code, accepted_at, deemed)
           VALUES ($2, $1, {_ZONE}, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING""",
        e.project_id,
        stored.event_id,
        e.department,
        e.matter_code,
        e.accepted_at,
        e.deemed,
    )


@_on(ev.StageStarted)
async def _stage_started(conn: Connection, stored: StoredEvent, e: ev.StageStarted) -> None:
    await conn.execute(
        """INSERT INTO rm_stage_spans (project_id, stage, zone, project_type, started_at, limit_days)
           SELECT $1, $2, p.zone, p.project_type, $3, $4 FROM rm_projects p WHERE p.project_id = $1
           ON CONFLICT (project_id, stage) DO UPDATE SET started_at = EXCLUDED.started_at,
               limit_days = EXCLUDED.limit_days, completed_at = NULL, working_days_used = NULL""",
        e.project_id,
        e.stage,
        stored.occurred_at,
        e.limit_days,
    )


@_on(ev.StageCompleted)
async def _stage_completed(conn: Connection, stored: StoredEvent, e: ev.StageCompleted) -> None:
    await conn.execute(
        "UPDATE rm_stage_spans SET completed_at = $3, working_days_used = $4 WHERE project_id = $1 AND stage = $2",
        e.project_id,
        e.stage,
        stored.occurred_at,
        e.working_days_used,
    )


# ---- periods ---------------------------------------------------------------------------------------


class Period(NamedTuple):
    """A reporting period in Beijing time: ``[start, end)``."""

    label: str
    start: datetime
    end: datetime


# Years 1000-2999 (ASCII digits): every period's end is a date too.
PERIOD_PATTERN = r"^[12][0-9]{3}(-(Q[1-4]|0[1-9]|1[0-2]))?$"
_PERIOD = re.compile(r"^([12][0-9]{3})(?:-(?:Q([1-4])|(0[1-9]|1[0-2])))?$")


def parse_period(text: str) -> Period:
    """``2026`` (a year), ``2026-Q1`` (a quarter) or ``2026-03`` (a month); ``ValueError`` naming ``period``."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"period: {text!r} is not a year (2026), a quarter (2026-Q1) or a month (2026-03)")
    year, quarter, month = int(match[1]), match[2], match[3]
    if quarter:
        first, months = 3 * (int(quarter) - 1) + 1, 3
    elif month:
        first, months = int(month), 1
    else:
        first, months = 1, 12
    start = datetime(year, first, 1, tzinfo=CST)
    after = first + months
    end = datetime(year + (after - 1) // 12, (after - 1) % 12 + 1, 1, tzinfo=CST)
    return Period(text.strip(), start, end)


# ---- satisfaction -----------------------------------------------------------------------------------


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SatisfactionRow(_View):
    """Ratings of one zone, department or agent in the period."""

    zone: str
    level: str  # zone | department | agent
    key: str
    ratings: int
    satisfied: int
    satisfaction_rate: float | None
    very_good: int
    good: int
    average: int
    bad: int
    very_bad: int
    bad_unfixed: int
    callbacks_on_time: int
    fixes_on_time: int


class SatisfactionReport(_View):
    zone: str | None
    period: str
    start: datetime
    end: datetime
    rows: list[SatisfactionRow]


_SATISFACTION = """
SELECT zone, {key} AS key, count(*) AS ratings, count(*) FILTER (WHERE satisfied) AS satisfied,
       count(*) FILTER (WHERE satisfied)::float8 / nullif(count(*), 0) AS satisfaction_rate,
       count(*) FILTER (WHERE grade = 'very_good') AS very_good, count(*) FILTER (WHERE grade = 'good') AS good,
       count(*) FILTER (WHERE grade = 'average') AS average, count(*) FILTER (WHERE grade = 'bad') AS bad,
       count(*) FILTER (WHERE grade = 'very_bad') AS very_bad,
       count(*) FILTER (WHERE NOT satisfied AND fixed_at IS NULL) AS bad_unfixed,
       count(*) FILTER (WHERE callback_on_time) AS callbacks_on_time,
       count(*) FILTER (WHERE fix_on_time) AS fixes_on_time
FROM rm_ratings
WHERE ($1::text IS NULL OR zone = $1) AND rated_at >= $2 AND rated_at < $3 AND {where}
GROUP BY zone, {key} ORDER BY zone, {key}"""


async def satisfaction(db: Executor, period: str, zone: str | None = None) -> SatisfactionReport:
    """Satisfaction per zone, department (matter ratings) and agent (agent ratings) over ``period``."""
    p = parse_period(period)
    rows: list[SatisfactionRow] = []
    for level, key, where in (
        ("zone", "zone", "true"),
        ("department", "department", "target = 'matter'"),
        ("agent", "agent", "target = 'agent'"),
    ):
        found = await db.fetch(_SATISFACTION.format(key=key, where=where), zone, p.start, p.end)
        rows += [SatisfactionRow(level=level, **dict(r)) for r in found]
    return SatisfactionReport(zone=zone, period=p.label, start=p.start, end=p.end, rows=rows)


class RatingRow(_View):
    """One rating (``rm_ratings``): a bad one with its callback and fix deadlines and what was done."""

    project_id: str
    rating_id: str
    zone: str
    target: str
    matter_code: str | None
    department: str | None
    agent: str
    grade: str
    satisfied: bool
    text: str
    rated_by: str
    rated_at: datetime
    callback_deadline: datetime | None
    fix_deadline: datetime | None
    called_back_at: datetime | None
    callback_on_time: bool | None
    fixed_at: datetime | None
    fix_on_time: bool | None


async def ratings(
    db: Executor, *, project_id: str | None = None, zone: str | None = None, owed_only: bool = False
) -> list[RatingRow]:
    """Ratings, newest first: of one project or zone; ``owed_only``: bad ones not yet fixed (the 差评 board)."""
    rows = await db.fetch(
        """SELECT * FROM rm_ratings
           WHERE ($1::text IS NULL OR project_id = $1) AND ($2::text IS NULL OR zone = $2)
             AND (NOT $3 OR (NOT satisfied AND fixed_at IS NULL))
           ORDER BY rated_at DESC, project_id, rating_id""",
        project_id,
        zone,
        owed_only,
    )
    return [RatingRow(**dict(r)) for r in rows]


# ---- figures ---------------------------------------------------------------------------------------


class DepartmentFigures(_View):
    zone: str
    department: str
    decided: int
    approved: int
    rejected: int
    deemed: int
    # Decisions on a matter the law sets a decision period for (not a contract under promise-only
    # rule 2): the statutory rate's whole.
    under_statutory: int
    on_time_statutory: int
    on_time_statutory_rate: float | None
    on_time_promised: int
    on_time_promised_rate: float | None
    accepted: int
    accepted_on_time: int
    accepted_on_time_rate: float | None


class StageFigures(_View):
    zone: str
    stage: str
    completed: int
    avg_working_days: float | None
    max_working_days: float | None
    avg_limit_days: float | None
    over_limit: int


class ProjectFigures(_View):
    project_id: str
    zone: str
    project_type: str
    completed_at: datetime
    capped_working_days: float
    cap_days: float | None
    within_cap: bool | None


class SavingFigures(_View):
    zone: str
    mode: str
    projects: int
    matters: int
    revoked: int
    days_saved: float
    days_saved_per_project: float | None
    fees_saved_yuan: int
    fees_saved_per_project: float | None


class ShareFigures(_View):
    zone: str
    approvals: int
    commitment_approvals: int
    commitment_share: float | None
    projects: int
    full_agency_projects: int
    full_agency_share: float | None


class FiguresReport(_View):
    zone: str | None
    period: str
    start: datetime
    end: datetime
    departments: list[DepartmentFigures]
    stages: list[StageFigures]
    projects: list[ProjectFigures]
    savings: list[SavingFigures]
    shares: list[ShareFigures]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def figures(db: Executor, period: str, zone: str | None = None) -> FiguresReport:
    """Every honest figure of the module docstring, for ``zone`` (None: each zone) over ``period``."""
    p = parse_period(period)
    args = (zone, p.start, p.end)
    zones = {code: policy for code, (_, policy) in (await current_zones(db)).items()}
    return FiguresReport(
        zone=zone,
        period=p.label,
        start=p.start,
        end=p.end,
        departments=await _departments(db, args),
        stages=await _stages(db, args),
        projects=await _projects(db, args, {z: dict(pol.process_caps) for z, pol in zones.items()}),
        savings=await _savings(db, args, {z: dict(pol.evaluation_fees_yuan) for z, pol in zones.items()}),
        shares=await _shares(db, args),
    )


async def _departments(db: Executor, args: tuple[Any, ...]) -> list[DepartmentFigures]:
    rows = await db.fetch(
        """WITH d AS (
               SELECT zone, department, count(*) AS decided,
                      count(*) FILTER (WHERE outcome = 'approved') AS approved,
                      count(*) FILTER (WHERE outcome = 'rejected') AS rejected,
                      count(*) FILTER (WHERE mode = 'deemed') AS deemed,
                      count(*) FILTER (WHERE on_time_statutory IS NOT NULL) AS under_statutory,
                      count(*) FILTER (WHERE on_time_statutory) AS on_time_statutory,
                      count(*) FILTER (WHERE on_time_promised) AS on_time_promised
               FROM rm_decisions WHERE ($1::text IS NULL OR zone = $1) AND decided_at >= $2 AND decided_at < $3
               GROUP BY zone, department),
           a AS (
               SELECT zone, department, count(*) AS accepted, count(*) FILTER (WHERE NOT deemed) AS accepted_on_time
               FROM rm_acceptances WHERE ($1::text IS NULL OR zone = $1) AND accepted_at >= $2 AND accepted_at < $3
               GROUP BY zone, department)
           SELECT zone, department, coalesce(decided, 0) AS decided, coalesce(approved, 0) AS approved,
                  coalesce(rejected, 0) AS rejected, coalesce(deemed, 0) AS deemed,
                  coalesce(under_statutory, 0) AS under_statutory,
                  coalesce(on_time_statutory, 0) AS on_time_statutory,
                  coalesce(on_time_promised, 0) AS on_time_promised,
                  coalesce(accepted, 0) AS accepted, coalesce(accepted_on_time, 0) AS accepted_on_time
           FROM d FULL JOIN a USING (zone, department) ORDER BY zone, department""",
        *args,
    )
    return [
        DepartmentFigures(
            **dict(r),
            on_time_statutory_rate=_rate(r["on_time_statutory"], r["under_statutory"]),
            on_time_promised_rate=_rate(r["on_time_promised"], r["decided"]),
            accepted_on_time_rate=_rate(r["accepted_on_time"], r["accepted"]),
        )
        for r in rows
    ]


async def _stages(db: Executor, args: tuple[Any, ...]) -> list[StageFigures]:
    rows = await db.fetch(
        """SELECT zone, stage, count(*) AS completed, avg(working_days_used) AS avg_working_days,
                  max(working_days_used) AS max_working_days, avg(limit_days) AS avg_limit_days,
                  count(*) FILTER (WHERE working_days_used > limit_days) AS over_limit
           FROM rm_stage_spans
           WHERE ($1::text IS NULL OR zone = $1) AND completed_at >= $2 AND completed_at < $3
           GROUP BY zone, stage ORDER BY zone, min(started_at), stage""",
        *args,
    )
    return [StageFigures(**dict(r)) for r in rows]


async def _projects(db: Executor, args: tuple[Any, ...], caps: dict[str, dict[str, float]]) -> list[ProjectFigures]:
    """Projects whose last capped stage completed in the period: the capped stages' days against the cap."""
    last = CAPPED_STAGES[-1].value
    rows = await db.fetch(
        """SELECT s.project_id, s.zone, s.project_type, e.completed_at, sum(s.working_days_used) AS capped_working_days
           FROM rm_stage_spans s JOIN rm_stage_spans e ON e.project_id = s.project_id AND e.stage = $4
           WHERE ($1::text IS NULL OR s.zone = $1) AND e.completed_at >= $2 AND e.completed_at < $3
             AND s.stage = ANY($5::text[]) AND s.completed_at IS NOT NULL
           GROUP BY s.project_id, s.zone, s.project_type, e.completed_at ORDER BY e.completed_at, s.project_id""",
        *args,
        last,
        [s.value for s in CAPPED_STAGES],
    )
    out = []
    for r in rows:
        cap = caps.get(r["zone"], {}).get(r["project_type"])
        within = None if cap is None else r["capped_working_days"] <= cap
        out.append(ProjectFigures(**dict(r), cap_days=cap, within_cap=within))
    return out


def _longest(lengths: dict[str, float], requires: dict[str, list[str]]) -> float:
    """The longest chain through ``lengths`` (working days by matter), a matter after those it requires."""
    memo: dict[str, float] = {}

    def chain(code: str) -> float:
        if code not in memo:
            memo[code] = lengths[code] + max((chain(r) for r in requires.get(code, []) if r in lengths), default=0.0)
        return memo[code]

    return max((chain(c) for c in lengths), default=0.0)


async def _catalog(db: Executor) -> Catalog:
    found = await current_catalog(db)
    return found[1] if found is not None else default_catalog()


async def _savings(db: Executor, args: tuple[Any, ...], fees: dict[str, dict[str, int]]) -> list[SavingFigures]:
    """Days saved per project on the stages' critical paths, and the evaluation fees the zone states."""
    saved = await db.fetch(
        """SELECT project_id, matter_code, zone, stage, mode, days_used, revoked_at FROM rm_savings
           WHERE ($1::text IS NULL OR zone = $1) AND saved_at >= $2 AND saved_at < $3""",
        *args,
    )
    if not saved:
        return []
    matters = await db.fetch(
        """SELECT project_id, matter_code, stage, coalesce(statutory_days, promised_days) AS statutory_days
           FROM rm_matters WHERE project_id = ANY($1::text[])""",
        sorted({r["project_id"] for r in saved}),
    )
    requires = {m.code: list(m.requires) for m in (await _catalog(db)).matters}
    statutory: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for m in matters:
        statutory[(m["project_id"], m["stage"])][m["matter_code"]] = m["statutory_days"] or 0.0
    # (zone, mode) -> per project days, matters, revoked, fees
    days: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    by_stage: dict[tuple[str, str, str, str], dict[str, float]] = defaultdict(dict)
    for r in saved:
        key = (r["zone"], r["mode"])
        if r["revoked_at"] is not None:
            counts[key][1] += 1
            continue
        counts[key][0] += 1
        if r["mode"] != "tolerance":
            counts[key][2] += fees.get(r["zone"], {}).get(r["matter_code"], 0)
        by_stage[(r["zone"], r["mode"], r["project_id"], r["stage"])][r["matter_code"]] = r["days_used"]
    for (zone, mode, project, stage), shortened in by_stage.items():
        lengths = statutory[(project, stage)]
        full = _longest(lengths, requires)
        actual = _longest({**lengths, **shortened}, requires)
        days[(zone, mode)][project] += max(0.0, full - actual)
    out = []
    for (zone, mode), (n_matters, revoked, fee) in sorted(counts.items()):
        per_project = days.get((zone, mode), {})
        projects = len(per_project)
        total = sum(per_project.values())
        out.append(
            SavingFigures(
                zone=zone,
                mode=mode,
                projects=projects,
                matters=n_matters,
                revoked=revoked,
                days_saved=total,
                days_saved_per_project=total / projects if projects else None,
                fees_saved_yuan=fee,
                fees_saved_per_project=fee / projects if projects else None,
            )
        )
    return out


async def _shares(db: Executor, args: tuple[Any, ...]) -> list[ShareFigures]:
    rows = await db.fetch(
        """WITH a AS (
               SELECT d.zone, count(*) AS approvals,
                      count(*) FILTER (WHERE d.mode = 'commitment' AND NOT EXISTS (
                          SELECT 1 FROM rm_savings s WHERE s.project_id = d.project_id
                             AND s.matter_code = d.matter_code AND s.revoked_at IS NOT NULL
                             AND s.revoked_at > d.decided_at)) AS commitment_approvals
               FROM rm_decisions d
               WHERE d.outcome = 'approved' AND ($1::text IS NULL OR d.zone = $1)
                 AND d.decided_at >= $2 AND d.decided_at < $3
               GROUP BY d.zone),
           p AS (
               SELECT zone, count(*) AS projects, count(*) FILTER (WHERE agent <> '') AS full_agency_projects
               FROM rm_projects WHERE ($1::text IS NULL OR zone = $1) AND registered_at >= $2 AND registered_at < $3
               GROUP BY zone)
           SELECT zone, coalesce(approvals, 0) AS approvals, coalesce(commitment_approvals, 0) AS commitment_approvals,
                  coalesce(projects, 0) AS projects, coalesce(full_agency_projects, 0) AS full_agency_projects
           FROM a FULL JOIN p USING (zone) ORDER BY zone""",
        *args,
    )
    return [
        ShareFigures(
            **dict(r),
            commitment_share=_rate(r["commitment_approvals"], r["approvals"]),
            full_agency_share=_rate(r["full_agency_projects"], r["projects"]),
        )
        for r in rows
    ]
