"""A zone's year as a seeded scenario: pure data, the same seed gives the same scenario.

Shaped like the source's figures (/work/shared/DOMAIN.md, the seed newspaper page): Yanhu handled
1,056 approval matters in a year over about 100 pipeline projects (98.7 bn yuan for 101 projects:
about 1 bn each); Tunliu handled 75% of its filings on commitment (告知承诺制: energy review, soil
and water conservation, lightning protection, civil air defence, the construction permit);
tolerance (容缺) where the main materials are complete and only secondary ones are missing;
Lingchuan's 48 full-agency projects were rated 100% satisfied (好差评). The rest is the ordinary
life of a pipeline: registrations spread over the year, departments taking part of their limit
(some late: warnings, 督办), corrections (补正), a few rejections, withdrawals, construction that
takes most of a year.

Every delay is in working days (the driver counts them on the official calendar, so the Spring
Festival and National Day push them out); ``benchmarks.simulate`` plays the scenario against the
platform. Nothing here reads a clock, a file beyond the shipped catalog, or the network.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from catalog.load import default_catalog, default_zones

Handling = Literal["standard", "commitment", "tolerance", "instant"]
Grade = Literal["very_good", "good", "average", "bad", "very_bad"]

# The source's reference figures the defaults follow (DOMAIN.md, "Figures from the seed").
DEFAULT_PROJECTS = 100  # Yanhu: 101 pipeline projects
COMMITMENT_SHARE = 0.75  # Tunliu: 27 commitment matters = 75% of the year's filings
TOLERANCE_SHARE = 0.25  # of the matters tolerance may apply to (no source figure: a quarter)
CORRECTION_SHARE = 0.15  # 补正 on a matter (no source figure)
REJECTION_SHARE = 0.03  # a first submission rejected with reasons (no source figure)
LATE_SHARE = 0.04  # decided after the statutory deadline: a breach, warned and escalated (督办)
PROMISE_MISSED_SHARE = 0.06  # decided after the zone's promise but within the statute
WITHDRAWAL_SHARE = 0.04  # projects withdrawn on the way
VERIFICATION_FAILS = 0.05  # commitments found untrue on verification (revoked, credit record)
MATTER_RATED = 0.3  # matters the enterprise rates (好差评)
AGENT_RATED = 0.6  # projects whose agent the enterprise rates
# Lingchuan: satisfaction 100%; a few bad grades keep the callback and fix path in play.
GRADES: tuple[tuple[Grade, float], ...] = (
    ("very_good", 0.62),
    ("good", 0.25),
    ("average", 0.08),
    ("bad", 0.04),
    ("very_bad", 0.01),
)
STAGES = ("establishment", "approval_land", "engineering_permit", "construction_permit", "completion_acceptance")


@dataclass(frozen=True)
class MatterPlan:
    """What the agent and the department do with one matter of a project (if it is on its checklist).

    ``share`` is the part of the matter's limit (the zone's promise, else the statute) the department
    takes to decide, in working days from acceptance; ``late_days`` > 0: it decides that many working
    days after the statutory deadline instead (a breach).
    """

    handling: Handling
    accept_after: int  # working days from receipt to acceptance (受理, at most 5: 行政许可法 §32)
    share: float
    late_days: int = 0
    correction: bool = False  # 补正 once: the clock stops until the agent supplies
    supply_after: int = 2  # working days the agent takes to supply (correction or tolerance items)
    reject: bool = False  # the first submission rejected with reasons; resubmitted after fixing
    resubmit_after: int = 3
    verify_after: int = 15  # commitment: working days until the department verifies
    verification_fails: bool = False
    grade: Grade | None = None  # the enterprise's rating of the matter, once decided


@dataclass(frozen=True)
class ProjectScript:
    """One project of the scenario: its registration, when it starts, and its matters' plans."""

    index: int
    project_id: str
    registered_on: date  # a weekday of the year (the driver moves a holiday to the next working day)
    registration: dict[str, object]
    prepare_days: int  # working days the agent takes to prepare a stage's applications
    construction_days: int  # calendar days from the construction permit to 100%
    withdraw_in: str | None  # the stage in which the enterprise withdraws, if it does
    agent_grade: Grade | None
    matters: dict[str, MatterPlan] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    seed: int
    zone: str
    year: int
    projects: tuple[ProjectScript, ...]

    @property
    def planned_breaches(self) -> int:
        """Matters planned to be decided after their statutory deadline (if they come up in the year)."""
        return sum(1 for p in self.projects for m in p.matters.values() if m.late_days)


def _grade(rng: random.Random) -> Grade:
    x, acc = rng.random(), 0.0
    for grade, share in GRADES:
        acc += share
        if x < acc:
            return grade
    return GRADES[0][0]


def _weekday_of_year(rng: random.Random, year: int, first: int, last: int) -> date:
    while True:
        day = date(year, 1, 1) + timedelta(days=rng.randint(first, last))
        if day.weekday() < 5:
            return day


def generate(
    seed: int,
    zone: str = "yanhu",
    projects: int = DEFAULT_PROJECTS,
    year: int = 2027,
    *,
    force_breach: bool = False,
    registration_window: tuple[int, int] = (0, 330),
) -> Scenario:
    """The scenario of ``projects`` projects of ``zone`` registered over ``year``.

    ``force_breach``: the first project's matters of its first two national stages are all decided
    late (so a small scenario has a breach to show). ``registration_window``: the days of the year
    (from 1 January) registrations fall in.
    """
    zones = default_zones()
    if zone not in zones:
        raise ValueError(f"zone: {zone!r} is not a shipped zone ({', '.join(sorted(zones))})")
    if projects < 1:
        raise ValueError("projects: at least 1")
    policy = zones[zone]
    catalog = default_catalog()
    rng = random.Random(f"daiban-simulate:{seed}:{zone}:{projects}:{year}")
    scripts = []
    for i in range(projects):
        prng = random.Random(rng.getrandbits(64))
        project_type = "key" if prng.random() < 0.15 else "general"
        eia = prng.choices(["report_form", "report", "registration_form"], [0.7, 0.1, 0.2])[0]
        reg: dict[str, object] = {
            "project_id": f"sim-{zone}-{seed}-{i:03d}",
            "name": f"模拟项目{i:03d}（{zone}）",
            "enterprise": f"山西模拟实业有限公司{i:03d}",
            "zone": zone,
            "project_type": project_type,
            # Yanhu: 98.7 bn yuan over 101 pipeline projects, a long tail of small ones.
            "investment_yuan": int(min(2e10, max(5e6, prng.lognormvariate(20.3, 1.0))) // 10_000 * 10_000),
            "standard_land_parcel": bool(policy.standard_land) and prng.random() < 0.3,
            "eia_category": eia,
            "special_construction": prng.random() < 0.3,
            "lightning_special_site": prng.random() < 0.1,
            "water_abstraction": prng.random() < 0.1,
            "pollutant_permit": prng.choices(["none", "simplified", "key"], [0.7, 0.25, 0.05])[0],
            "agent": f"agent-{i % 7:02d}",
            "backup_agent": f"agent-{(i + 1) % 7:02d}",
            "project_lead": f"lead-{i % 3:02d}",
        }
        # The scale the drawing review's limit depends on (住建部令第13号 §12). The law counts the
        # building's design scale; the scenario's assumption (no draw, so the year's other draws stay
        # as they were) reads it off the investment: 500 million yuan and up large, 100 million medium.
        investment = int(str(reg["investment_yuan"]))
        scale = "large" if investment >= 500_000_000 else "medium" if investment >= 100_000_000 else "small"
        reg["project_scale"] = scale
        if policy.regional_assessments:
            reg["regional_assessments"] = [
                {
                    "assessment": key,
                    "area": "开发区规划范围",
                    "project_kind": "industrial",
                    "commitment": "按区域评估结论及其管控要求建设",
                    "signed_by": "法定代表人",
                }
                for key in sorted(policy.regional_assessments)
            ]
        plans: dict[str, MatterPlan] = {}
        forced = force_breach and i == 0
        for spec in catalog.matters:
            modes = set(spec.modes)
            handling: Handling = "standard"
            if "commitment" in modes and prng.random() < COMMITMENT_SHARE:
                handling = "commitment"
            elif (
                "tolerance" in modes
                and spec.secondary_materials
                and not (spec.public_safety or spec.environmental)
                and spec.stage != "completion_acceptance"  # nothing can be supplied in production
                and prng.random() < TOLERANCE_SHARE
            ):
                handling = "tolerance"
            elif "instant" in modes and prng.random() < 0.8:
                handling = "instant"
            late = forced and spec.stage in ("approval_land", "engineering_permit")
            x = prng.random()
            if late or x < LATE_SHARE:
                share, late_days = 1.0, prng.randint(1, 6)
            elif x < LATE_SHARE + PROMISE_MISSED_SHARE:
                share, late_days = prng.uniform(1.1, 1.6), 0
            else:
                share, late_days = prng.uniform(0.2, 0.95), 0
            plans[spec.code] = MatterPlan(
                handling=handling,
                accept_after=prng.choices([0, 1, 2, 3], [0.5, 0.3, 0.15, 0.05])[0],
                share=round(share, 3),
                late_days=late_days,
                correction=handling == "standard" and prng.random() < CORRECTION_SHARE,
                supply_after=prng.randint(1, 5),
                reject=handling == "standard" and prng.random() < REJECTION_SHARE,
                resubmit_after=prng.randint(2, 8),
                verify_after=prng.randint(5, 30),
                verification_fails=handling == "commitment" and prng.random() < VERIFICATION_FAILS,
                grade=_grade(prng) if prng.random() < MATTER_RATED else None,
            )
        withdraw = prng.choice(STAGES[1:4]) if prng.random() < WITHDRAWAL_SHARE else None
        scripts.append(
            ProjectScript(
                index=i,
                project_id=str(reg["project_id"]),
                registered_on=_weekday_of_year(prng, year, *registration_window),
                registration=reg,
                prepare_days=prng.randint(1, 5),
                construction_days=prng.randint(90, 420),
                withdraw_in=None if forced else withdraw,
                agent_grade=_grade(prng) if prng.random() < AGENT_RATED else None,
                matters=plans,
            )
        )
    scripts.sort(key=lambda s: (s.registered_on, s.index))
    return Scenario(seed=seed, zone=zone, year=year, projects=tuple(scripts))
