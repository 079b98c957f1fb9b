"""Synthetic project streams built from the shipped catalog and the real event vocabulary.

For the benchmark and the tests (dev-only). ``random_lifecycle`` walks a project through the
stages the way the lifecycle (``workflows/lifecycle``) would,
with corrections, rejections, breaches, escalations, obligations, withdrawals and half-finished
projects, so read models meet every event type.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from catalog.load import default_catalog, default_zones
from catalog.models import ProjectFacts, derive_checklist
from eventstore.codec import matter_clock_id, obligation_clock_id, to_envelope
from legalclock import CST
from schemas import events as ev
from schemas.events import EventEnvelope
from schemas.stages import APPROVAL_STAGES, Stage

# The shipped zone whose policy the samples follow: it has regional assessments and commitment
# matters, so the checklist holds every handling mode.
SAMPLE_ZONE = "yanhu"


def checklist(department_suffix: str = "", zone: str = SAMPLE_ZONE) -> list[ev.ChecklistItem]:
    """The shipped catalog's checklist in ``zone``; the suffix keeps a test's departments apart."""
    facts = ProjectFacts(project_type="industrial", standard_land_parcel=False)
    items = derive_checklist(default_catalog(), default_zones()[zone], facts)
    return [i.model_copy(update={"department": i.department + department_suffix}) for i in items]


class ProjectStream:
    """Builds one project's events in order, with ids derived from the stream and version."""

    def __init__(self, project_id: str, start: datetime | None = None) -> None:
        self.project_id = project_id
        self.version = 0
        self.at = start or datetime(2026, 3, 2, 9, 0, tzinfo=CST)

    def emit(self, cls: type[ev.DomainEvent], *, hours: float = 1, **fields: Any) -> EventEnvelope:
        """The next event of the stream, ``hours`` after the previous one."""
        self.version += 1
        self.at += timedelta(hours=hours)
        event = cls(project_id=self.project_id, **fields)
        return to_envelope(self.project_id, self.version, f"{self.project_id}:{self.version}", self.at, event)

    def register(self, zone: str, department_suffix: str = "", **fields: Any) -> EventEnvelope:
        """``ProjectRegistered`` with the shipped catalog's checklist (``checklist``)."""
        values: dict[str, Any] = {
            "name": "年产5万吨新材料项目",
            "enterprise": "晋中新材料有限公司",
            "zone": zone,
            "project_type": "industrial",
            "investment_yuan": 741_000_000,
            "agent": "王芳",
            "backup_agent": "李强",
            "project_lead": "张伟",
            "checklist": checklist(department_suffix),
        } | fields
        return self.emit(ev.ProjectRegistered, **values)


def random_lifecycle(
    project_id: str,
    rng: random.Random,
    *,
    zone: str,
    department_suffix: str = "",
    start: datetime | None = None,
) -> list[EventEnvelope]:
    """A plausible history for one project, possibly cut short (still running).

    Event order and clock ids follow the lifecycle (``workflows/lifecycle``).
    """
    s = ProjectStream(project_id, start)
    out = [
        s.register(
            zone,
            department_suffix,
            investment_yuan=rng.randrange(5, 900) * 10**6,
            project_type=rng.choice(["industrial", "logistics", "energy"]),
        )
    ]
    items = checklist(department_suffix)
    if rng.random() < 0.2:  # AB岗: the backup takes over
        out.append(s.emit(ev.AgentReassigned, from_agent="王芳", to_agent="李强", by="主任", reason="休假"))
    for stage in APPROVAL_STAGES:
        out.append(s.emit(ev.StageStarted, stage=stage, limit_days=20, deadline=s.at + timedelta(days=30)))
        mine = [i for i in items if i.stage == stage]
        out += [
            s.emit(
                ev.MatterExempted,
                matter_code=i.matter_code,
                department=i.department,
                stage=i.stage,
                assessment="开发区区域评估2024",
                statutory_days=i.statutory_days,
            )
            for i in mine
            if i.mode == "regional_assessment"
        ]
        for item in (i for i in mine if i.mode != "regional_assessment"):
            if rng.random() < 0.02:
                out.append(s.emit(ev.ProjectWithdrawn, stage=stage, reason="投资计划调整", by="企业"))
                return out
            out += _Matter(s, rng, item).run()
        out.append(s.emit(ev.StageCompleted, stage=stage, working_days_used=rng.uniform(3, 20)))
        if stage == Stage.CONSTRUCTION_PERMIT:
            out.append(s.emit(ev.StageStarted, stage=Stage.CONSTRUCTION, limit_days=None, deadline=None))
            out += [
                s.emit(ev.ConstructionProgressReported, hours=24 * 60, percent=p, note="主体施工")
                for p in (30, 70, 100)
            ]
    out.append(s.emit(ev.ProjectInProduction, working_days_total=rng.uniform(40, 120)))
    return out if rng.random() < 0.6 else out[: rng.randrange(2, len(out))]


class _Matter:
    """One matter's events from submission to a settled approval."""

    def __init__(self, s: ProjectStream, rng: random.Random, item: ev.ChecklistItem) -> None:
        self.s, self.rng, self.item = s, rng, item
        self.m: dict[str, Any] = {"matter_code": item.matter_code, "department": item.department, "stage": item.stage}
        # The days the matter runs on: the promise, else the statute (a derived checklist gives every
        # matter one or the other; a matter with neither is handled as a day's work).
        self.limit: float = item.promised_days or item.statutory_days or 1.0
        # Tolerance (容缺) is a department's choice at decision time for matters that allow it.
        self.tolerable = "tolerance" in default_catalog().matter(item.matter_code).modes
        self.submission = 0
        self.out: list[EventEnvelope] = []

    def emit(self, cls: type[ev.DomainEvent], *, hours: float = 1, **fields: Any) -> None:
        self.out.append(self.s.emit(cls, hours=hours, **fields))

    def clock(self, *, department: bool = False, **fields: Any) -> dict[str, Any]:
        """Fields naming the current submission's clock, for the clock events."""
        ref = {"clock_id": matter_clock_id(self.item.matter_code, self.submission), "scope": "matter"}
        return ref | ({"department": self.item.department} if department else {}) | fields

    def submit(self, mode: ev.HandlingMode) -> None:
        self.submission += 1
        self.emit(
            ev.MatterSubmitted,
            **self.m,
            submission=self.submission,
            mode=mode,
            statutory_days=self.item.statutory_days,
            promised_days=self.item.promised_days,
            deadline=self.s.at + timedelta(days=self.limit * 1.4),
        )

    def approve(self, mode: ev.ApprovalMode, used: float, *, on_time: bool = True) -> None:
        self.emit(
            ev.MatterApproved,
            hours=24 * used,
            **self.m,
            decision_id=f"d{self.s.version}",
            mode=mode,
            decided_by="审批科",
            working_days_used=used,
            statutory_days=self.item.statutory_days,
            on_time=on_time,
        )

    def run(self) -> list[EventEnvelope]:
        rng, m = self.rng, self.m
        if self.item.mode == "commitment":
            self.submit("commitment")
            self.approve("commitment", 0)
            self.emit(
                ev.ObligationOpened, **m, obligation="verification", items=[], deadline=self.s.at + timedelta(days=60)
            )
            if rng.random() < 0.85:
                self.emit(ev.ObligationFulfilled, hours=24 * 20, **m, obligation="verification")
                return self.out
            # A failed verification revokes the approval; the matter goes the standard way.
            self.emit(ev.ApprovalRevoked, hours=24 * 20, **m, reason="核查不符")
        self.standard()
        return self.out

    def standard(self) -> None:
        rng, m = self.rng, self.m
        self.submit("standard")
        if rng.random() < 0.3:
            self.emit(ev.ClockStopped, **self.clock(kind="correction", reason="补充图纸"))
            self.emit(
                ev.CorrectionRequested, **m, decision_id=f"c{self.s.version}", decided_by="窗口", items=["补充图纸"]
            )
            self.emit(ev.CorrectionSupplied, hours=48, **m, by="代办员", items=["补充图纸"])
            self.emit(ev.ClockResumed, **self.clock(stopped_working_days=2.0))
        if rng.random() < 0.2:
            self.emit(
                ev.MatterRejected,
                hours=24 * 3,
                **m,
                decision_id=f"r{self.s.version}",
                decided_by="审批科",
                reasons=["材料不符"],
                working_days_used=rng.uniform(1, 8),
            )
            self.submit("standard")
        if rng.random() < 0.3:
            self.emit(
                ev.DeadlineWarned,
                **self.clock(department=True, working_days_left=2, deadline=self.s.at + timedelta(days=3)),
            )
        if rng.random() < 0.25:
            self.emit(
                ev.DeadlineBreached, hours=24 * self.limit * 1.5, **self.clock(department=True, deadline=self.s.at)
            )
            if rng.random() < 0.3:  # 超时默认
                self.approve("deemed", self.limit, on_time=False)
                self.emit(ev.DepartmentLiabilityRecorded, **m, deadline=self.s.at)
                return
            self.emit(ev.EscalatedToLead, **self.clock(department=True, project_lead="张伟"))
            if rng.random() < 0.4:
                meeting = f"jm-{self.s.version}"
                self.emit(
                    ev.JointMeetingConvened,
                    meeting_id=meeting,
                    clock_id=self.clock()["clock_id"],
                    department=self.item.department,
                    attendees=["专班", "张伟"],
                )
                self.emit(ev.JointMeetingResolved, meeting_id=meeting, resolution="限期办结", by="专班")
            if rng.random() < 0.3:
                self.emit(
                    ev.LimitExtended,
                    **self.clock(
                        days=10, approved_by="局长", reason="专家评审", new_deadline=self.s.at + timedelta(days=14)
                    ),
                )
        if self.tolerable and rng.random() < 0.4:
            self.tolerance()
            return
        used = rng.uniform(0.5, self.limit * 2)
        self.approve("standard", used, on_time=used <= self.limit)
        if rng.random() < 0.5:
            self.emit(ev.ELicenseIssued, **m, license_no=f"EL-{self.s.project_id}-{self.s.version}")

    def tolerance(self) -> None:
        m = self.m
        self.approve("tolerance", self.rng.uniform(1, self.limit))
        self.emit(
            ev.ObligationOpened,
            **m,
            obligation="supply_materials",
            items=["效果图"],
            deadline=self.s.at + timedelta(days=20),
        )
        if self.rng.random() < 0.8:
            self.emit(ev.ObligationFulfilled, hours=24 * 10, **m, obligation="supply_materials")
            return
        clock = obligation_clock_id(self.item.matter_code, "supply_materials", self.submission)
        self.emit(
            ev.DeadlineBreached,
            hours=24 * 30,
            clock_id=clock,
            scope="obligation",
            department=self.item.department,
            deadline=self.s.at,
        )
        self.emit(ev.ObligationMissed, **m, obligation="supply_materials")
        self.emit(ev.ApprovalSuspended, **m, reason="容缺材料逾期未补")
        if self.rng.random() < 0.5:
            self.emit(ev.ObligationFulfilled, hours=24 * 5, **m, obligation="supply_materials")
            self.emit(ev.ApprovalReinstated, **m, reason="材料已补齐")
