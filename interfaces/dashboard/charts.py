"""The dashboard's charts, drawn with matplotlib (no pyplot, no display): SVG for the pages, SVG or
PNG files for ``daiban report ... --chart FILE``.

Each ``*_chart`` function takes rows of a read query (``eventstore.queries``, ``eventstore.pictures``)
and returns a ``matplotlib.figure.Figure``; ``svg`` / ``png`` / ``save`` render it. Text stays text
in the SVG (``svg.fonttype`` none), so the browser draws Chinese names with its own fonts; PNG uses
the CJK fonts installed (WenQuanYi, Noto CJK) when there are any.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.flowchart import STAGE_NAMES
from eventstore.figures import SatisfactionRow
from eventstore.pictures import GanttBar
from eventstore.queries import DepartmentReport, OverdueItem, ZoneReport
from legalclock import CST
from schemas.stages import Stage

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Stages in the lifecycle's order, as the funnel shows them (withdrawn last).
FUNNEL_STAGES = [s.value for s in Stage]
OUTCOME_COLOURS = {"open": "#4c78a8", "approved": "#54a24b", "rejected": "#e45756", "exempted": "#9d9da0"}
_CJK = ("WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC")


class ChartFormatError(ValueError):
    """``--chart`` names a file whose suffix is neither ``.svg`` nor ``.png``."""


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    families = ["DejaVu Sans", *[f for f in _CJK if f in installed]]
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": "daiban", "font.family": families, "font.size": 10}
    ):
        yield


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _empty(fig: Figure, message: str) -> Figure:
    ax = fig.subplots()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    return fig


def stage_funnel_chart(zones: Sequence[ZoneReport]) -> Figure:
    """Projects per stage, one stacked segment per zone (``ZoneReport.projects_by_stage``)."""
    from matplotlib.ticker import MaxNLocator

    with _style():
        stages = [s for s in FUNNEL_STAGES if any(z.projects_by_stage.get(s) for z in zones)]
        fig = _figure(8, 0.45 * max(len(stages), 3) + 1.2)
        if not stages:
            return _empty(fig, "No projects yet")
        ax = fig.subplots()
        labels = [STAGE_NAMES.get(s, s) for s in stages]
        left = [0] * len(stages)
        for z in zones:
            counts = [z.projects_by_stage.get(s, 0) for s in stages]
            ax.barh(labels, counts, left=left, label=z.zone)
            left = [a + b for a, b in zip(left, counts, strict=True)]
        ax.invert_yaxis()
        ax.set_xlabel("projects")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Stage funnel: projects per stage and zone")
        ax.legend(loc="lower right", fontsize=8)
        return fig


def overdue_chart(items: Sequence[OverdueItem], now: datetime) -> Figure:
    """How late each overdue clock is, in working days past the deadline the zone answers for (its
    promise when there is one), as the read query counted them at its instant
    (``OverdueItem.late_working_days``: the legal clock's working time, 行政许可法 §82; ``now`` is
    not used to recount: the dashboard never reads a calendar itself). Red: the statutory limit is
    breached, orange: only the promise, grey: past the deadline with no breach recorded yet;
    hatched: the breach rests on a provisional deadline (a year without the State Council's
    notice). Each bar is labelled with its lateness (``OverdueItem.late_by``: working hours under
    one working day); the legend lists only what the chart shows."""
    from matplotlib.patches import Patch

    with _style():
        rows = [i for i in items if i.late_working_days is not None]
        fig = _figure(8, 0.35 * max(len(rows), 3) + 1.6)
        if not rows:
            return _empty(fig, "Nothing overdue")
        ax = fig.subplots()
        labels = [f"{i.project_id} · {i.matter_code or i.scope} · {i.department or '-'}" for i in rows]
        late = [i.late_working_days or 0.0 for i in rows]
        colours = [_overdue_kind(i)[1] for i in rows]
        bars = ax.barh(labels, late, color=colours, edgecolor="#333", linewidth=0.5)
        for bar, item in zip(bars, rows, strict=True):
            if item.provisional:
                bar.set_hatch("//")
        ax.bar_label(
            bars, labels=[i.late_by + (" (provisional)" if i.provisional else "") for i in rows], padding=3, fontsize=8
        )
        ax.set_xlim(0, max(max(late), 1.0) * 1.6)  # room for the labels
        ax.invert_yaxis()
        ax.set_xlabel("working days past the deadline")
        ax.set_title("Overdue board (督办)")
        # The legend names what the chart shows, and only that.
        kinds = dict.fromkeys(_overdue_kind(i) for i in rows)
        handles = [Patch(facecolor=colour, label=label) for label, colour in sorted(kinds, key=_OVERDUE_KINDS.index)]
        if any(i.provisional for i in rows):
            handles.append(Patch(facecolor="white", edgecolor="#333", hatch="//", label="provisional deadline"))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
        return fig


_OVERDUE_KINDS = [
    ("statutory limit breached", "#d62728"),
    ("promise missed", "#ff9f1c"),
    ("past the deadline (breach not recorded yet)", "#9d9da0"),
]


def _overdue_kind(item: OverdueItem) -> tuple[str, str]:
    """The overdue board's kind of lateness and its colour."""
    return _OVERDUE_KINDS[0 if item.breached else 1 if item.promise_missed else 2]


def department_rates_chart(reports: Sequence[DepartmentReport]) -> Figure:
    """On-time rate (%) of each department's decisions, with the number decided on each bar."""
    with _style():
        rows = [r for r in reports if r.on_time_rate is not None]
        fig = _figure(8, 0.35 * max(len(rows), 3) + 1.2)
        if not rows:
            return _empty(fig, "No decisions yet")
        ax = fig.subplots()
        rates = [100 * (r.on_time_rate or 0.0) for r in rows]
        bars = ax.barh([f"{r.zone} · {r.department}" if r.zone else r.department for r in rows], rates, color="#4c78a8")
        ax.bar_label(bars, labels=[f"{r.on_time}/{r.decided}" for r in rows], padding=3, fontsize=8)
        ax.set_xlim(0, 110)
        ax.invert_yaxis()
        ax.set_xlabel("decided on time (%)")
        ax.set_title("Department on-time rates")
        return fig


def satisfaction_chart(rows: Sequence[SatisfactionRow]) -> Figure:
    """好差评: the share of good ratings (非常满意, 满意, 基本满意) per zone, department and agent, with
    the number of ratings and of bad ones not yet fixed on each bar."""
    with _style():
        shown = [r for r in rows if r.satisfaction_rate is not None]
        fig = _figure(8, 0.35 * max(len(shown), 3) + 1.2)
        if not shown:
            return _empty(fig, "No ratings in this period")
        ax = fig.subplots()
        rates = [100 * (r.satisfaction_rate or 0.0) for r in shown]
        colours = {"zone": "#4c78a8", "department": "#72b7b2", "agent": "#f58518"}
        bars = ax.barh(
            [f"{r.zone} · {r.level} · {r.key}" for r in shown],
            rates,
            color=[colours.get(r.level, "#999") for r in shown],
        )
        labels = [f"{r.satisfied}/{r.ratings}" + (f", {r.bad_unfixed} unfixed" if r.bad_unfixed else "") for r in shown]
        ax.bar_label(bars, labels=labels, padding=3, fontsize=8)
        ax.set_xlim(0, 120)
        ax.invert_yaxis()
        ax.set_xlabel("satisfied (%)")
        ax.set_title("Satisfaction (好差评): zone, department, agent")
        return fig


def gantt_chart(bars: Sequence[GanttBar], now: datetime) -> Figure:
    """A project's matters over time: each submission a bar from its clock's start to its decision
    (``now`` while open), coloured by outcome; stops hatched grey; the statutory deadline a red tick,
    the promised deadline an orange one."""
    import matplotlib.dates as mdates

    def num(t: datetime) -> float:
        return float(mdates.date2num(t))  # type: ignore[no-untyped-call]

    with _style():
        fig = _figure(10, 0.4 * max(len(bars), 3) + 1.4)
        if not bars:
            return _empty(fig, "No matter has started yet")
        ax = fig.subplots()
        labels = [f"{b.matter_code} #{b.submission}" if b.submission else b.matter_code for b in bars]
        moments = [num(now)] + [num(t) for b in bars for t in (b.start, b.end, b.deadline, b.promised_deadline) if t]
        # A bar or stop of a few minutes stays visible on a chart of weeks.
        least = max(max(moments) - min(moments), 1.0) / 150
        for y, b in enumerate(bars):
            start = num(b.start)
            end = num(b.end or now)
            ax.broken_barh(
                [(start, max(end - start, least))], (y - 0.35, 0.7), facecolors=OUTCOME_COLOURS.get(b.outcome, "#888")
            )
            for s in b.stops:
                s0 = num(s.start)
                s1 = num(s.end or b.end or now)
                ax.broken_barh([(s0, max(s1 - s0, least))], (y - 0.35, 0.7), facecolors="#dddddd", hatch="//")
            if b.deadline is not None:
                ax.plot([num(b.deadline)] * 2, [y - 0.45, y + 0.45], color="#d62728", lw=2)
            if b.promised_deadline is not None:
                ax.plot([num(b.promised_deadline)] * 2, [y - 0.45, y + 0.45], color="#ff9f1c", lw=2)
        ax.axvline(num(now), color="#333", ls=":", lw=1)
        ax.set_yticks(range(len(bars)), labels)
        ax.invert_yaxis()
        ax.xaxis_date(tz=CST)  # days as Beijing has them (matplotlib's default is UTC: a day early before 08:00)
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=CST))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d", tz=CST))  # type: ignore[no-untyped-call]
        ax.set_title(
            "Matters: open blue, approved green, rejected red, stop hatched; "
            "deadline red (statutory) / orange (promised)",
            fontsize=9,
        )
        return fig


def svg(fig: Figure) -> str:
    """The figure as an SVG element (no XML prolog or DOCTYPE, ready to inline in HTML)."""
    buf = BytesIO()
    with _style():
        fig.savefig(buf, format="svg")
    text = buf.getvalue().decode("utf-8")
    return text[text.index("<svg") :]


def png(fig: Figure, dpi: int = 120) -> bytes:
    """The figure as PNG bytes."""
    buf = BytesIO()
    with _style():
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save(fig: Figure, path: Path) -> None:
    """Write the figure to ``path``: SVG or PNG by its suffix; ``ChartFormatError`` otherwise."""
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(svg(fig), encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(png(fig))
    else:
        raise ChartFormatError(f"--chart: {path.name!r} must end in .svg or .png")
