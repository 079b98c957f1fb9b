"""``daiban decide`` and ``daiban verify``: a department's decision and its later verification."""

from __future__ import annotations

from typing import Annotated

import typer

from interfaces.cli.common import JsonOpt, acknowledge, build
from schemas.project import Decision, Verification


def decide(
    project_id: str,
    matter: Annotated[str, typer.Option(help="Matter code, e.g. eia.")],
    department: Annotated[str, typer.Option(help="Deciding department's code.")],
    kind: Annotated[
        str, typer.Option(help="approve | reject | request_correction | accept_with_tolerance | approve_on_commitment")
    ],
    decision_id: Annotated[str, typer.Option(help="Unique id of this decision (retry-safe).")],
    by: Annotated[str, typer.Option(help="Who decided.")],
    reason: Annotated[list[str] | None, typer.Option(help="Reason (repeat for several).")] = None,
    item: Annotated[list[str] | None, typer.Option(help="Material owed or to correct (repeat).")] = None,
    instant: Annotated[bool, typer.Option(help="Decided on the spot (即办件).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send a department's decision on a matter."""
    d = build(
        Decision,
        decision_id=decision_id,
        department=department,
        matter_code=matter,
        kind=kind,
        decided_by=by,
        reasons=reason or [],
        items=item or [],
        instant=instant,
    )
    acknowledge(project_id, lambda c: c.decide(project_id, d), as_json)


def verify(
    project_id: str,
    matter: Annotated[str, typer.Option()],
    department: Annotated[str, typer.Option()],
    decision_id: Annotated[str, typer.Option()],
    by: Annotated[str, typer.Option()],
    passed: Annotated[bool, typer.Option("--passed/--failed")] = True,
    findings: Annotated[str, typer.Option()] = "",
    as_json: JsonOpt = False,
) -> None:
    """Record the after-the-fact verification of a commitment-based approval."""
    v = build(
        Verification,
        decision_id=decision_id,
        department=department,
        matter_code=matter,
        passed=passed,
        by=by,
        findings=findings,
    )
    acknowledge(project_id, lambda c: c.verify(project_id, v), as_json)


def install(app: typer.Typer) -> None:
    app.command("decide")(decide)
    app.command("verify")(verify)
