"""The dashboard's pure parts: the Gantt folded from domain events, the signed read session, the
charts as SVG and PNG (matplotlib, no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eventstore.pictures import GanttBar, Stop, gantt_bars
from eventstore.queries import DepartmentReport, OverdueItem, ZoneReport
from interfaces.dashboard import charts, session
from schemas import events as ev

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PID = "p-1"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def accepted(code: str, submission: int, hours: float, deadline: float, promised: float | None) -> ev.DomainEvent:
    return ev.ApplicationAccepted(
        project_id=PID,
        matter_code=code,
        department="ecology",
        stage="approval_land",
        submission=submission,
        mode="standard",
        statutory_days=30,
        promised_days=7,
        deadline=at(deadline),
        promised_deadline=None if promised is None else at(promised),
        accepted_at=at(hours),
    )


def test_a_matter_with_a_stop_a_rejection_and_a_second_submission() -> None:
    events: list[tuple[datetime, ev.DomainEvent]] = [
        (at(1), accepted("eia", 1, 0.5, 700, 160)),
        (
            at(2),
            ev.ClockStopped(project_id=PID, clock_id="matter:eia:1", scope="matter", kind="correction", reason="r"),
        ),
        (
            at(50),
            ev.ClockResumed(
                project_id=PID,
                clock_id="matter:eia:1",
                scope="matter",
                stopped_working_days=2,
                new_deadline=at(748),
                new_promised_deadline=at(208),
            ),
        ),
        (
            at(60),
            ev.MatterRejected(
                project_id=PID,
                matter_code="eia",
                department="ecology",
                stage="approval_land",
                decision_id="d1",
                decided_by="clerk",
                reasons=["noise"],
                working_days_used=3,
            ),
        ),
        (at(70), accepted("eia", 2, 70, 800, None)),
        (
            at(80),
            ev.MatterExempted(
                project_id=PID,
                matter_code="energy-review",
                department="approval",
                stage="approval_land",
                assessment="energy",
                statutory_days=20,
            ),
        ),
    ]
    first, second, exempt = gantt_bars(events)
    assert first == GanttBar(
        matter_code="eia",
        department="ecology",
        stage="approval_land",
        submission=1,
        mode="standard",
        start=at(0.5),  # from acceptance (受理), not from when the event was stored
        end=at(60),
        deadline=at(748),
        promised_deadline=at(208),
        outcome="rejected",
        stops=[Stop(kind="correction", start=at(2), end=at(50))],
    )
    assert (second.submission, second.start, second.end, second.outcome, second.stops) == (2, at(70), None, "open", [])
    assert (exempt.outcome, exempt.start, exempt.end, exempt.mode) == (
        "exempted",
        at(80),
        at(80),
        "regional_assessment",
    )


def test_an_extension_moves_the_deadline_and_a_stop_still_running_has_no_end() -> None:
    events: list[tuple[datetime, ev.DomainEvent]] = [
        (at(0), accepted("fire-design-review", 1, 0, 100, None)),
        (
            at(5),
            ev.LimitExtended(
                project_id=PID,
                clock_id="matter:fire-design-review:1",
                scope="matter",
                days=10,
                approved_by="head",
                reason="complex",
                new_deadline=at(340),
            ),
        ),
        (
            at(6),
            ev.ClockStopped(
                project_id=PID, clock_id="matter:fire-design-review:1", scope="matter", kind="expert_review", reason="r"
            ),
        ),
    ]
    (bar,) = gantt_bars(events)
    assert bar.deadline == at(340) and bar.promised_deadline is None
    assert bar.stops == [Stop(kind="expert_review", start=at(6), end=None)]


def test_the_session_cookie_is_signed_with_the_principals_token_and_expires() -> None:
    tokens = {"reader": "tok-1", "ops.team": "tok-2"}
    cookie = session.issue("ops.team", "tok-2", now=1000)
    assert session.verify(cookie, tokens, now=1001) == "ops.team"
    assert session.verify(cookie, tokens, now=1000 + session.SESSION_SECONDS + 1) is None  # expired
    assert session.verify(cookie, {"reader": "tok-1", "ops.team": "rotated"}, now=1001) is None  # token rotated
    forged = cookie.replace("ops.team", "reader", 1)
    assert session.verify(forged, tokens, now=1001) is None
    assert session.verify(None, tokens) is None and session.verify("garbage", tokens) is None


def zone(code: str, **stages: int) -> ZoneReport:
    return ZoneReport(
        zone=code,
        projects=sum(stages.values()),
        active=sum(stages.values()),
        projects_by_stage=stages,
        total_investment_yuan=0,
        commitment_approvals=0,
        days_saved_commitment=0,
        tolerance_approvals=0,
        days_saved_tolerance=0,
        regional_exemptions=0,
        days_saved_regional_assessment=0,
        days_saved_total=0,
    )


def test_charts_render_as_svg_elements_with_their_data() -> None:
    funnel = charts.svg(
        charts.stage_funnel_chart([zone("yanhu", establishment=2, construction=1), zone("tunliu", establishment=1)])
    )
    assert funnel.startswith("<svg") and "yanhu" in funnel and "tunliu" in funnel and "企业设立登记" in funnel
    late = OverdueItem(
        project_id="p-9",
        project_name="n",
        zone="yanhu",
        agent="a",
        project_lead="l",
        clock_id="matter:eia:1",
        scope="matter",
        department="ecology",
        matter_code="eia",
        matter_name=None,
        deadline=at(0),
        breached=True,
        escalation="lead",
        late_working_days=1.0,
        late_working_hours=7.0,
    )
    board = charts.svg(charts.overdue_chart([late], at(72)))
    assert "p-9 · eia · ecology" in board and "working days past the deadline" in board
    assert "calendar days" not in board and "1.0 working days" in board
    dept = DepartmentReport(
        zone="tunliu", department="ecology", decided=4, approved=3, rejected=1, on_time=3, on_time_rate=0.75,
        avg_approval_days=None, p90_approval_days=None, open=0, breaches=0,
    )  # fmt: skip
    assert "3/4" in charts.svg(charts.department_rates_chart([dept]))
    bar = GanttBar(
        matter_code="eia", department="ecology", stage="approval_land", submission=1, mode="standard",
        start=at(0), end=None, deadline=at(700), promised_deadline=at(160), outcome="open",
        stops=[Stop(kind="correction", start=at(2), end=at(50))],
    )  # fmt: skip
    assert "eia #1" in charts.svg(charts.gantt_chart([bar], at(100)))
    assert "Nothing overdue" in charts.svg(charts.overdue_chart([], at(0)))


def test_charts_save_as_png_or_svg_and_refuse_other_formats(tmp_path: Path) -> None:
    fig = charts.stage_funnel_chart([zone("yanhu", establishment=1)])
    charts.save(fig, tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    charts.save(fig, tmp_path / "f.SVG")
    assert (tmp_path / "f.SVG").read_text(encoding="utf-8").startswith("<svg")
    with pytest.raises(charts.ChartFormatError, match=r"--chart: 'f.pdf' must end in .svg or .png"):
        charts.save(fig, tmp_path / "f.pdf")


def late_item(**fields: object) -> OverdueItem:
    values: dict[str, object] = {
        "project_id": "p-9",
        "project_name": "年产5万吨新材料项目",
        "zone": "tunliu",
        "agent": "agent-li",
        "project_lead": "lead-zhao",
        "clock_id": "matter:eia:1",
        "scope": "matter",
        "department": "ecology",
        "matter_code": "eia",
        "matter_name": "环境影响报告表审批 EIA",
        "deadline": at(0),
        "breached": True,
        "escalation": "lead",
    }
    values.update(fields)
    return OverdueItem.model_validate(values)


def test_the_overdue_board_says_what_is_late_whose_and_by_how_much() -> None:
    from interfaces.dashboard.router import templates

    now = at(24 * 3 + 12)
    rows = [
        late_item(late_working_days=2.5, late_working_hours=17.5),
        late_item(
            project_id="p-8",
            breached=False,
            promise_missed=True,
            escalation=None,
            late_working_days=0.29,
            late_working_hours=2.0,
            provisional=True,
        ),
    ]
    html = templates.get_template("overview.html").render(
        principal="reader", zone="tunliu", zones=["tunliu"], panels=[], overdue=rows, projects=[], now=now
    )
    board = html[html.index('id="overdue-board"') : html.index('id="projects"')]
    assert '<a href="/dashboard/projects/p-9">p-9</a>' in board
    assert "环境影响报告表审批 EIA" in board and "agent-li" in board and "lead-zhao" in board
    assert "working days past the deadline" in board
    assert "2.5 working days" in board and "2.0 working hours" in board
    assert board.count("statutory limit") == 1 and board.count("promise missed") == 1
    assert '<tr class="breached">' in board and '<tr class="promise provisional">' in board
    assert board.count(">provisional deadline</span>") == 2  # the row's marker and the note under the board


async def test_a_panel_is_a_query_and_a_chart() -> None:
    from typing import Any, cast

    from interfaces.dashboard.panels import PANELS, Panel

    assert [p.key for p in PANELS] == ["funnel", "overdue", "departments", "satisfaction"]
    seen: list[str | None] = []

    async def query(pool: Any, zone: str | None) -> list[ZoneReport]:
        seen.append(zone)
        return [zone_report_row("yanhu", establishment=3)]

    panel = Panel("stages", "Stages", query, lambda rows, now: charts.stage_funnel_chart(rows))
    svg = await panel.svg(cast(Any, None), "yanhu", at(0))
    assert seen == ["yanhu"] and svg.startswith("<svg") and "yanhu" in svg


zone_report_row = zone


def test_the_satisfaction_chart_shows_each_rated_service() -> None:
    from eventstore.figures import SatisfactionRow

    row = SatisfactionRow(
        zone="tunliu", level="department", key="ecology", ratings=4, satisfied=3, satisfaction_rate=0.75,
        very_good=1, good=1, average=1, bad=1, very_bad=0, bad_unfixed=1, callbacks_on_time=1, fixes_on_time=0,
    )  # fmt: skip
    svg = charts.svg(charts.satisfaction_chart([row]))
    assert "tunliu · department · ecology" in svg and "3/4, 1 unfixed" in svg
    assert "No ratings" in charts.svg(charts.satisfaction_chart([]))


def test_the_gantt_axis_names_days_as_beijing_has_them() -> None:
    """Midnight in Beijing is 16:00 UTC the day before: the axis labels it with Beijing's date."""
    import matplotlib.dates as mdates

    from legalclock import CST

    midnight = datetime(2026, 3, 3, 0, 0, tzinfo=CST)
    bar = GanttBar(
        matter_code="eia", department="ecology", stage="approval_land", submission=1, mode="standard",
        start=midnight - timedelta(days=2), end=midnight + timedelta(days=2), deadline=None, promised_deadline=None,
        outcome="approved", stops=[],
    )  # fmt: skip
    fig = charts.gantt_chart([bar], midnight)
    label = fig.axes[0].xaxis.get_major_formatter()(mdates.date2num(midnight))  # type: ignore[no-untyped-call]
    assert label == "03-03", label
