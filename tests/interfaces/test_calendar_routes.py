"""The calendar in force through the gateway: a year, the deadline calculator, a notice's dry run."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.worker import Worker

from catalog.load import default_zones
from interfaces.contentload import load_zones
from legalclock import CST, default_calendar
from tests.interfaces.conftest import Gateway, decision, operator
from tests.workflows.helpers import notice_for
from workflows.project import ProjectWorkflow


async def test_a_year_and_the_deadline_calculator_use_the_calendar_in_force(gw: Gateway) -> None:
    r = await gw.http.get("/calendar/2027", headers=operator())
    assert r.status_code == 200, r.text
    y = r.json()
    assert y["official"] is False, "no notice for 2027 is shipped"
    assert "2027-02-08" in y["holidays"] and "2027-02-10" in y["holidays"]  # Spring Festival, §6 make-up day
    r = await gw.http.get("/calendar/deadline", headers=operator(), params={"start": "2027-01-20T09:00", "days": 20})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["deadline"] == "2027-02-23T17:30:00+08:00" and d["provisional"] is True
    r = await gw.http.get(
        "/calendar/deadline", headers=operator(), params={"start": "2026-02-13T14:00:00+08:00", "days": 0.5}
    )
    assert r.json()["deadline"] == "2026-02-14T12:00:00+08:00"  # a 调休 Saturday morning
    bad = await gw.http.get("/calendar/deadline", headers=operator(), params={"start": "2026-02-13", "days": 0.3})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "days"
    unknown = await gw.http.get(
        "/calendar/deadline", headers=operator(), params={"start": "2026-02-13", "days": 1, "zone": "tunlu"}
    )
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"][-1] == "zone"


async def test_the_deadline_calculator_counts_a_limit_in_days(gw: Gateway) -> None:
    """环境影响评价法 §22's 60 days (日) from Monday 2 March 2026: Friday 1 May is Labour Day, so
    Wednesday 6 May (民法典 §203); 60 working days end on 28 May."""
    params: dict[str, str | float] = {"start": "2026-03-02T09:00", "days": 60}
    days = (await gw.http.get("/calendar/deadline", headers=operator(), params=params | {"counted": "days"})).json()
    assert (days["deadline"], days["counted"]) == ("2026-05-06T17:30:00+08:00", "days")
    working = (await gw.http.get("/calendar/deadline", headers=operator(), params=params)).json()
    assert (working["deadline"], working["counted"]) == ("2026-05-28T17:30:00+08:00", "working_days")
    half = await gw.http.get(
        "/calendar/deadline", headers=operator(), params={**params, "days": 2.5, "counted": "days"}
    )
    assert half.status_code == 422 and half.json()["detail"][0]["loc"][-1] == "days"
    assert "whole number of days" in half.text


async def test_a_notice_dry_run_lists_every_changed_day_and_each_moved_deadline(gw: Gateway) -> None:
    reg: dict[str, Any] = {
        "project_id": f"cal-dry-{uuid.uuid4().hex[:6]}",
        "project_type": "government_invested",
        "name": "标准化厂房",
        "enterprise": "示例有限公司",
        "zone": "tunliu",
        "investment_yuan": 60000000,
        "agent": "agent-li",
        "backup_agent": "agent-wang",
        "project_lead": "lead-zhao",
    }
    assert (await gw.http.post("/projects", headers=operator(), json=reg)).status_code in (200, 201)
    pid = reg["project_id"]
    for _ in range(50):
        if (await gw.http.get(f"/projects/{pid}", headers=operator())).status_code == 200:
            break
        await asyncio.sleep(0.1)
    # The whole-process cap counts approval time only: it runs once an application is accepted (受理).
    for code, department in (("enterprise-registration", "market"), ("project-approval", "approval")):
        await gw.apply(pid, code)
        r = await gw.decide(pid, decision(code, department, "accept"))
        assert r.status_code == 200 and r.json()["state"] == "pending", r.text
        r = await gw.decide(pid, decision(code, department))
        assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    # Land pre-review: statutory 20 working days, the zone's promise 3 (Tunliu).
    await gw.apply(pid, "land-pre-review")
    r = await gw.decide(pid, decision("land-pre-review", "resources", "accept"))
    assert r.status_code == 200 and r.json()["state"] == "pending", r.text
    # The second working day after today (Beijing time), within every one of those limits: the
    # file makes it a holiday (a zone's correction), so each of the three deadlines ends a working
    # day later, whatever the date the suite runs on.
    calendar, today = default_calendar(), datetime.now(CST).date()
    day = [d for d in (today + timedelta(days=n) for n in range(1, 30)) if calendar.is_working_day(d)][1]
    in_force = (await gw.http.get(f"/calendar/{day.year}", headers=operator())).json()
    assert day.isoformat() not in in_force["holidays"], "a working day in the calendar in force too"
    # A year without a notice that begins after every one of those deadlines (the 45-working-day cap
    # ends within 80 days) gets one: the statutory days and National Day extended to 7 days with a
    # weekend day worked; and, where the year before has its notice, a day of that December, as the
    # 2023 notice named 2022-12-31 (a notice may not change a December still provisional).
    year = day.year + 1
    while (await gw.http.get(f"/calendar/{year}", headers=operator())).json()["official"] or date(year, 1, 1) <= (
        today + timedelta(days=100)
    ):
        year += 1
    before = {y: (await gw.http.get(f"/calendar/{y}", headers=operator())).json() for y in (year - 1, year, day.year)}
    notice = notice_for(year).year_view(year)
    holidays = {d.isoformat(): n for d, n in notice.holidays.items()}
    if before[year - 1]["official"]:
        holidays[f"{year - 1}-12-31"] = "元旦"
    workdays = {d.isoformat(): n for d, n in notice.workdays.items()}
    years: dict[str, Any] = {str(year): {"holidays": holidays, "workdays": workdays}}
    # The correction's year as in force (a year without a notice, as it stands), the day added.
    same = {k: n.removesuffix(" (provisional)") for k, n in in_force["holidays"].items()}
    years[str(day.year)] = {"holidays": same | {day.isoformat(): "调整"}, "workdays": in_force["workdays"]}
    r = await gw.http.post("/calendar", params={"dry_run": "true"}, headers=operator(), json={"years": years})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["stored"] is False and {year, day.year} <= set(out["changed_years"])
    changed = {c["day"] for y in out["changes"]["years"] for c in y["changes"]}
    # Every day whose working status the file turns (the year in force read through the gateway,
    # weekends counted here: an oracle apart from the legal clock) is listed.
    turned = {day.isoformat()}
    for iso in [*holidays, *workdays]:
        view, d = before[int(iso[:4])], date.fromisoformat(iso)
        was = iso in view["workdays"] or (iso not in view["holidays"] and d.weekday() < 5)
        if was != (iso in workdays):
            turned.add(iso)
    assert len(turned) > 2 and turned <= changed, sorted(turned - changed)
    # The dry run says which clock, which limit, from and to: the government-invested project's
    # whole-process cap (45 working days from the first acceptance), the pre-review's statutory
    # limit and its promise, the one the zone answers for; each a working day later, and only the
    # correction moves them (the notice's year begins after them all).
    moved = {(m["clock_id"], m["limit"]): m for m in out["moves"] if m["project_id"] == pid}
    expected = {("process", "statutory"), ("matter:land-pre-review:1", "statutory")}
    assert expected | {("matter:land-pre-review:1", "promised")} <= set(moved), sorted(moved)
    assert all(m["working_days"] == 1 and m["after"] > m["before"] for m in moved.values()), moved
    # "Before" is each deadline as the project itself counts it now.
    handle = gw.harness.client.get_workflow_handle(f"project-{pid}")
    view = await handle.query(ProjectWorkflow.state)
    clocks = {c.clock_id: c for c in [*view.clocks, *(m.clock for m in view.matters if m.clock is not None)]}
    for (clock_id, limit), m in moved.items():
        own = clocks[clock_id].promised_deadline if limit == "promised" else clocks[clock_id].deadline
        assert datetime.fromisoformat(m["before"]) == own, (clock_id, limit)
    stored = (await gw.http.get(f"/calendar/{day.year}", headers=operator())).json()["holidays"]
    assert day.isoformat() not in stored, "nothing stored"


async def test_the_deadline_calculator_closes_on_the_zones_seasonal_hours(gw: Gateway) -> None:
    # A zone that keeps summer hours from 1 June (closing at 18:00), loaded at run time as data.
    code = f"season-{uuid.uuid4().hex[:6]}"
    zone = default_zones()["shouyang"].model_dump(mode="json") | {"code": code}
    summer = {"morning_start": "08:00", "morning_end": "11:30", "afternoon_start": "14:30", "afternoon_end": "18:00"}
    zone["seasonal_hours"] = {
        "seasons": [{"starts": "06-01", "hours": summer}, {"starts": "10-08", "hours": zone["office_hours"]}]
    }
    await load_zones(gw.harness.pool, json.dumps(zone, ensure_ascii=False), "operator")
    params: dict[str, Any] = {"start": "2026-05-28T10:00", "days": 3}
    fixed = (await gw.http.get("/calendar/deadline", headers=operator(), params=params | {"zone": "shouyang"})).json()
    seasonal = (await gw.http.get("/calendar/deadline", headers=operator(), params=params | {"zone": code})).json()
    assert fixed["deadline"] == "2026-06-02T17:30:00+08:00"
    assert seasonal["deadline"] == "2026-06-02T18:00:00+08:00"


@workflow.defn(name="ProjectWorkflow", sandboxed=False)
class _AnotherReleasesProject:
    """A project run by a worker of another release: its ledger is in a shape this gateway cannot read."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query(name="clock_ledger")
    def clock_ledger(self) -> dict[str, Any]:
        return {"clocks": [{"clock_id": "process", "ledger": "from a later release"}]}


async def test_a_project_whose_ledger_cannot_be_read_is_listed_unpreviewed_and_the_load_goes_on(gw: Gateway) -> None:
    foreign = f"cal-foreign-{uuid.uuid4().hex[:6]}"
    queue = f"tq-foreign-{uuid.uuid4().hex[:6]}"
    client = gw.harness.client
    async with Worker(client, task_queue=queue, workflows=[_AnotherReleasesProject]):
        handle = await client.start_workflow(
            "ProjectWorkflow", id=f"project-{foreign}", task_queue=queue, execution_timeout=timedelta(minutes=5)
        )
        try:
            running = {"query": "ExecutionStatus = 'Running'"}
            for _ in range(100):  # visibility lists it a moment after the start
                listed = await gw.http.get("/projects", headers=operator(), params=running)
                if foreign in {p["project_id"] for p in listed.json()}:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the foreign project was never listed")
            # A zone's correction: the second working day from today becomes a holiday.
            calendar, today = default_calendar(), datetime.now(CST).date()
            day = [d for d in (today + timedelta(days=n) for n in range(1, 30)) if calendar.is_working_day(d)][1]
            in_force = (await gw.http.get(f"/calendar/{day.year}", headers=operator())).json()
            same = {k: n.removesuffix(" (provisional)") for k, n in in_force["holidays"].items()}
            years = {str(day.year): {"holidays": same | {day.isoformat(): "调整"}, "workdays": in_force["workdays"]}}
            r = await gw.http.post("/calendar", params={"dry_run": "true"}, headers=operator(), json={"years": years})
            assert r.status_code == 200, r.text
            out = r.json()
            assert foreign in out["unpreviewed"] and out["stored"] is False
            assert all(m["project_id"] != foreign for m in out["moves"])
        finally:
            await handle.terminate("test over")
