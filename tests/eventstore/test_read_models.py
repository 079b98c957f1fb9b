"""Read models and queries for one project walked through a stage by hand, event by event."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, ClassVar

import asyncpg
import pytest

from benchmarks.sample import ProjectStream
from eventstore import inbox, outbox
from eventstore import queries as q
from eventstore.codec import matter_clock_id
from eventstore.projector import Projector
from eventstore.store import append
from schemas import events as ev
from schemas.effects import SubmitApplication
from schemas.events import EventEnvelope
from tests.eventstore.conftest import new_stream


class Scenario:
    """A project of its own zone and departments, so shared read models can be asserted on."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.zone, self.suffix = f"zone-{tag}", f"-{tag}"
        self.s: ProjectStream = new_stream()
        self.t0 = self.s.at
        self.dr, self.nr, self.env, self.met = (
            d + self.suffix for d in ("approval", "resources", "ecology", "meteorology")
        )

    def day(self, n: float) -> datetime:
        return self.t0 + timedelta(days=n)

    def m(self, code: str, department: str, stage: str = "approval_land") -> dict[str, Any]:
        return {"matter_code": code, "department": department, "stage": stage}

    # The fields the scenario gives in order after the matter, per matter event.
    IN_ORDER: ClassVar[dict[type[ev.DomainEvent], tuple[str, ...]]] = {
        ev.MatterSubmitted: ("submission", "mode", "statutory_days", "promised_days", "deadline"),
        ev.MatterApproved: ("decision_id", "mode", "working_days_used", "statutory_days", "on_time"),
    }

    def on_matter(
        self, event: type[ev.DomainEvent], matter: dict[str, Any], *values: Any, **fields: Any
    ) -> EventEnvelope:
        """An event of ``matter``: ``values`` fill its ``IN_ORDER`` fields, ``fields`` the others."""
        return self.s.emit(event, **matter, **dict(zip(self.IN_ORDER[event], values, strict=True)), **fields)

    def on_clock(self, event: type[ev.DomainEvent], code: str, submission: int, **fields: Any) -> EventEnvelope:
        """An event of matter ``code``'s clock for its submission ``submission``."""
        return self.s.emit(event, clock_id=matter_clock_id(code, submission), scope="matter", **fields)

    def events(self) -> list[EventEnvelope]:
        s, m, on, day, dr, nr = self.s, self.m, self.on_matter, self.day, self.dr, self.nr
        filing = m("project-filing", dr)
        decided: dict[str, Any] = {"decided_by": "审批科"}
        return [
            s.register(self.zone, self.suffix),
            s.emit(ev.StageStarted, stage="approval_land", limit_days=20, deadline=day(30)),
            on(ev.MatterSubmitted, filing, 1, "standard", 20, 5, day(7)),
            s.emit(ev.MatterRejected, **filing, decision_id="r1", reasons=["材料不符"], working_days_used=3, **decided),
            on(ev.MatterSubmitted, filing, 2, "standard", 20, 5, day(10)),
            self.on_clock(ev.ClockStopped, "project-filing", 2, kind="correction", reason="图纸"),
            s.emit(ev.CorrectionRequested, **filing, decision_id="c1", items=["图纸"], **decided),
            s.emit(ev.CorrectionSupplied, **filing, by="代办员", items=["图纸"]),
            self.on_clock(ev.ClockResumed, "project-filing", 2, stopped_working_days=2),
            self.on_clock(ev.DeadlineWarned, "project-filing", 2, department=dr, deadline=day(12), working_days_left=2),
            on(ev.MatterApproved, filing, "a1", "standard", 7, 20, False, **decided),
            s.emit(ev.ELicenseIssued, **filing, license_no="EL-1"),
            on(ev.MatterSubmitted, m("energy-review", dr), 1, "commitment", 20, None, day(20)),
            on(ev.MatterApproved, m("energy-review", dr), "a2", "commitment", 0, 20, True, **decided),
            s.emit(
                ev.ObligationOpened,
                **m("energy-review", dr),
                obligation="verification",
                items=["承诺书"],
                deadline=day(60),
            ),
            on(ev.MatterSubmitted, m("eia", self.env), 1, "tolerance", 30, 15, day(21)),
            on(ev.MatterApproved, m("eia", self.env), "a3", "tolerance", 4, 30, True, **decided),
            s.emit(
                ev.MatterExempted,
                **m("lightning-design-review", self.met, "engineering_permit"),
                assessment="区域评估2024",
                statutory_days=15,
            ),
            on(ev.MatterSubmitted, m("land-pre-review", nr), 1, "standard", 20, 10, day(14)),
            self.on_clock(ev.DeadlineBreached, "land-pre-review", 1, department=nr, deadline=day(14)),
            self.on_clock(ev.EscalatedToLead, "land-pre-review", 1, department=nr, project_lead="张伟"),
            s.emit(ev.AgentReassigned, from_agent="王芳", to_agent="李强", by="主任", reason="休假"),
        ]


@pytest.fixture
async def scenario(pg_pool: asyncpg.Pool) -> Scenario:
    sc = Scenario()
    await append(pg_pool, sc.events())
    await Projector(pg_pool).run_once()
    return sc


async def test_project_and_matters(pg_pool: asyncpg.Pool, scenario: Scenario) -> None:
    project = await q.get_project(pg_pool, scenario.s.project_id)
    assert project is not None
    assert (project.stage, project.status) == ("approval_land", "active")
    assert (project.agent, project.backup_agent) == ("李强", "王芳")  # AB岗: they swapped
    assert (project.last_version, project.events_applied) == (22, 22)
    # Open running clocks: stage (day 30), verification (day 60), land-pre-review (day 14, breached).
    assert (project.overdue, project.nearest_deadline) == (True, scenario.day(14))
    matters = {m.matter_code: m for m in project.matters}
    filing = matters["project-filing"]
    assert (filing.state, filing.submissions, filing.working_days_used, filing.on_time) == ("approved", 2, 7, False)
    assert (filing.deadline, filing.license_no, filing.overdue) == (scenario.day(12), "EL-1", False)
    assert (matters["energy-review"].approval_mode, matters["energy-review"].obligation) == (
        "commitment",
        "verification",
    )
    assert matters["lightning-design-review"].state == "exempt"
    assert (matters["land-pre-review"].state, matters["land-pre-review"].overdue) == ("pending", True)
    completion = matters["completion-filing"]
    assert (completion.state, completion.matter_name) == ("waiting", "竣工验收备案 Completion acceptance filing")
    assert project.matters[0].stage == "establishment"  # in lifecycle order


async def test_department_report(pg_pool: asyncpg.Pool, scenario: Scenario) -> None:
    (dr,) = await q.department_report(pg_pool, scenario.dr)
    assert (dr.decided, dr.approved, dr.rejected, dr.on_time, dr.open, dr.breaches) == (
        3,
        2,
        1,
        2,
        0,
        0,
    )  # the rejection took 3 of 5 promised days: on time
    assert dr.on_time_rate == pytest.approx(2 / 3)
    assert dr.avg_approval_days == pytest.approx(3.5)
    assert dr.p90_approval_days == pytest.approx(6.3)  # interpolated between 0 and 7
    (nr,) = await q.department_report(pg_pool, scenario.nr)
    assert (nr.decided, nr.open, nr.breaches, nr.on_time_rate) == (0, 1, 1, None)
    everyone = {r.department for r in await q.department_report(pg_pool)}
    assert {scenario.dr, scenario.nr, scenario.env, scenario.met} <= everyone


async def test_zone_report_counts_days_saved(pg_pool: asyncpg.Pool, scenario: Scenario) -> None:
    (zone,) = await q.zone_report(pg_pool, scenario.zone)
    assert (zone.projects, zone.active, zone.projects_by_stage) == (1, 1, {"approval_land": 1})
    assert zone.total_investment_yuan == 741_000_000
    assert (zone.commitment_approvals, zone.days_saved_commitment) == (1, 20)
    assert (zone.tolerance_approvals, zone.days_saved_tolerance) == (1, 26)
    assert (zone.regional_exemptions, zone.days_saved_regional_assessment) == (1, 15)
    assert zone.days_saved_total == 61


async def test_overdue_list(pg_pool: asyncpg.Pool, scenario: Scenario) -> None:
    (item,) = await q.overdue(pg_pool, now=scenario.day(15), zone=scenario.zone)
    assert (item.matter_code, item.matter_name, item.department) == (
        "land-pre-review",
        "用地预审与选址意见书 Land pre-review and siting opinion",
        scenario.nr,
    )
    assert (item.breached, item.escalation, item.project_lead) == (True, "lead", "张伟")
    later = await q.overdue(pg_pool, now=scenario.day(61), zone=scenario.zone)
    assert [i.clock_id for i in later] == [
        "matter:land-pre-review:1",
        "stage:approval_land",
        "obligation:energy-review:verification:1",
    ]
    assert await q.overdue(pg_pool, now=scenario.day(61), department=scenario.dr) == [later[2]]


async def test_timeline(pg_pool: asyncpg.Pool, scenario: Scenario) -> None:
    timeline = await q.project_timeline(pg_pool, scenario.s.project_id)
    assert [t.version for t in timeline] == list(range(1, 23))
    lines = {t.event_type: t.summary for t in reversed(timeline)}  # the first of each type
    assert lines["ProjectRegistered"].startswith("Registered 年产5万吨新材料项目")
    rejected = f"Rejected project-filing (approval{scenario.suffix}): 材料不符"
    assert lines["MatterRejected"] == rejected
    assert lines["MatterApproved"].endswith("in 7 of 20 working days, late")
    assert lines["ClockResumed"] == "Matter clock matter:project-filing:2 resumed after 2 working days"
    assert all(t.summary and t.summary != t.event_type for t in timeline)


def test_every_event_type_has_a_summary() -> None:
    assert set(ev.EVENT_TYPES.values()) == set(q._SUMMARIES)


async def test_withdrawal_clears_deadlines(pg_pool: asyncpg.Pool, scenario: Scenario) -> None:
    await append(
        pg_pool, [scenario.s.emit(ev.ProjectWithdrawn, stage="approval_land", reason="投资计划调整", by="企业")]
    )
    await Projector(pg_pool).run_once()
    project = await q.get_project(pg_pool, scenario.s.project_id)
    assert project is not None
    assert (project.status, project.stage, project.overdue, project.nearest_deadline) == (
        "withdrawn",
        "withdrawn",
        False,
        None,
    )
    (zone,) = await q.zone_report(pg_pool, scenario.zone)
    assert (zone.active, zone.total_investment_yuan, zone.projects_by_stage) == (0, 0, {"withdrawn": 1})
    assert await q.overdue(pg_pool, now=scenario.day(100), zone=scenario.zone) == []
    states = {m.matter_code: m.state for m in project.matters}
    assert (states["project-filing"], states["land-pre-review"], states["completion-filing"]) == (
        "approved",
        "withdrawn",
        "withdrawn",
    )


async def test_inbox_writers_are_idempotent(pg_pool: asyncpg.Pool, scenario: Scenario) -> None:
    pid, at = scenario.s.project_id, scenario.day(1)
    application = SubmitApplication(
        project_id=pid,
        matter_code="land-pre-review",
        submission=1,
        department=scenario.nr,
        payload={"materials": ["申请表"]},
        submitted_at=at,
    )
    assert await inbox.record_submission(pg_pool, application) is True
    assert await inbox.record_submission(pg_pool, application) is False
    other = {"matter_code": "X-9", "payload": {}, "submitted_at": scenario.day(0)}
    await inbox.record_submission(pg_pool, application.model_copy(update=other))
    items = await q.department_inbox(pg_pool, scenario.nr)
    assert [(i.matter_code, i.deadline) for i in items] == [
        ("X-9", None),
        ("land-pre-review", scenario.day(14)),
    ]  # oldest first; deadline when known
    assert items[1].project_name == "年产5万吨新材料项目"
    assert await inbox.close_submission(pg_pool, pid, "land-pre-review", 1, "approved", at) is True
    assert await inbox.close_submission(pg_pool, pid, "land-pre-review", 1, "approved", at) is False
    assert await inbox.close_submission(pg_pool, pid, "land-pre-review", 1, "rejected", at) is False
    assert [i.matter_code for i in await q.department_inbox(pg_pool, scenario.nr)] == ["X-9"]
    outcome = await pg_pool.fetchval(
        "SELECT outcome FROM department_inbox WHERE project_id = $1 AND matter_code = 'land-pre-review'", pid
    )
    assert outcome == "approved"  # the first close wins


async def test_notification_outbox_is_idempotent(pg_pool: asyncpg.Pool) -> None:
    nid = f"n-{uuid.uuid4().hex}"
    args = (nid, "p-1", "deadline_warning", ["王芳", "张伟"], "用地预审 2 个工作日后到期", {"d": 2})
    assert await outbox.record_notification(pg_pool, *args) is True
    assert await outbox.record_notification(pg_pool, *args) is False
    row = await pg_pool.fetchrow("SELECT * FROM notifications WHERE notification_id = $1", nid)
    assert (row["recipients"], row["payload"], row["sent_at"]) == (["王芳", "张伟"], {"d": 2}, None)


async def test_the_promise_is_shown_and_its_miss_is_not_a_legal_breach(pg_pool: asyncpg.Pool) -> None:
    sc = Scenario()
    eia = sc.m("eia", sc.env)
    clock = matter_clock_id("eia", 1)
    await append(
        pg_pool,
        [
            sc.s.register(sc.zone, sc.suffix),
            sc.s.emit(ev.StageStarted, stage="approval_land", limit_days=20, deadline=sc.day(40)),
            sc.on_matter(ev.MatterSubmitted, eia, 1, "standard", 20, 10, sc.day(28), promised_deadline=sc.day(14)),
            sc.on_clock(ev.DeadlineWarned, "eia", 1, department=sc.env, deadline=sc.day(14), working_days_left=2),
            sc.on_clock(ev.DeadlineBreached, "eia", 1, department=sc.env, deadline=sc.day(14), limit="promised"),
        ],
    )
    await Projector(pg_pool).run_once()
    row = await pg_pool.fetchrow(
        "SELECT deadline, promised_deadline, breached, promise_missed FROM rm_clocks WHERE project_id = $1 "
        "AND clock_id = $2",
        sc.s.project_id,
        clock,
    )
    assert dict(row) == {
        "deadline": sc.day(28),  # the statutory deadline, not overwritten by the warning on the promise
        "promised_deadline": sc.day(14),
        "breached": False,
        "promise_missed": True,
    }
    project = await q.get_project(pg_pool, sc.s.project_id)
    assert project is not None and project.overdue and project.nearest_deadline == sc.day(14)
    (matter,) = [m for m in project.matters if m.matter_code == "eia"]
    assert (matter.deadline, matter.overdue) == (sc.day(14), True)
    (item,) = await q.overdue(pg_pool, now=sc.day(15), zone=sc.zone)
    assert (item.clock_id, item.deadline, item.breached, item.promise_missed) == (clock, sc.day(14), False, True)
    (env,) = await q.department_report(pg_pool, sc.env)
    assert env.breaches == 0, "a missed promise is the zone's 督办, not the department's legal breach"


async def test_a_departments_open_work_counts_what_it_has_to_accept_and_filings_leave_its_averages(
    pg_pool: asyncpg.Pool,
) -> None:
    """Under the acceptance rule an application waits for the department's acceptance (行政许可法 §32):
    it is the department's open work; a filing is complete on receipt (0 days), no approval to average."""
    sc = Scenario()
    s, m, on, day = sc.s, sc.m, sc.on_matter, sc.day
    decided: dict[str, Any] = {"decided_by": "审批科"}
    received = m("land-pre-review", sc.nr)
    filing, permit = m("project-filing", sc.dr), m("energy-review", sc.dr)
    await append(
        pg_pool,
        [
            s.register(sc.zone, sc.suffix),
            s.emit(ev.StageStarted, stage="approval_land", limit_days=20, deadline=day(30)),
            s.emit(
                ev.ApplicationReceived,
                **received,
                submission=1,
                materials=["申请表"],
                acceptance_deadline=day(7),
                preparation_days=1,
            ),
            s.emit(
                ev.ApplicationReceived,
                **filing,
                submission=1,
                materials=["备案表"],
                acceptance_deadline=None,
                preparation_days=1,
            ),
            on(ev.MatterApproved, filing, "filed:1", "filed", 0, 0, True, **decided),
            on(ev.MatterSubmitted, permit, 1, "standard", 20, None, day(28)),
            on(ev.MatterApproved, permit, "a1", "standard", 4, 20, True, **decided),
        ],
    )
    await Projector(pg_pool).run_once()
    (nr,) = await q.department_report(pg_pool, sc.nr)
    assert nr.open == 1
    (dr,) = await q.department_report(pg_pool, sc.dr)
    assert dr.approved == 2
    assert dr.avg_approval_days == pytest.approx(4) and dr.p90_approval_days == pytest.approx(4)


async def test_a_stage_clock_names_its_lead_department_from_the_start(pg_pool: asyncpg.Pool) -> None:
    """``overdue --department`` filters on the clock's department: a stage clock had none until a
    warning or breach named it."""
    sc = Scenario()
    lead = f"approval{sc.suffix}"
    registered = sc.s.register(sc.zone, sc.suffix)
    start = sc.s.emit(ev.StageStarted, stage="approval_land", limit_days=8, deadline=sc.day(12), lead_department=lead)
    await append(pg_pool, [registered, start])
    await Projector(pg_pool).run_once()
    department = await pg_pool.fetchval(
        "SELECT department FROM rm_clocks WHERE project_id = $1 AND clock_id = 'stage:approval_land'", sc.s.project_id
    )
    assert department == lead
