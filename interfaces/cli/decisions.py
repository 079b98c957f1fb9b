"""``daiban decide``, ``daiban verify`` and ``daiban extend-permit``: a department's decision, its later
verification, and the extension of a permit whose construction has not started (建筑法 §9)."""

from __future__ import annotations

import typer

from interfaces.cli.common import Opt, update_command
from schemas import commands

decide = update_command(
    commands.DECIDE,
    "Send a department's decision on a matter.",
    Opt("matter", help="Matter code, e.g. eia.", field="matter_code"),
    Opt("department", help="Deciding department's code."),
    Opt(
        "kind",
        help="On a received application: accept | request_completion | refuse; on an accepted one: approve | "
        "reject | request_correction | accept_with_tolerance | approve_on_commitment",
    ),
    Opt("decision_id", help="Unique id of this decision (retry-safe)."),
    Opt("by", help="Who decided.", field="decided_by"),
    Opt("reason", list[str] | None, "Reason (repeat for several).", field="reasons", default=None),
    Opt("item", list[str] | None, "Material owed or to correct (repeat).", field="items", default=None),
    Opt("instant", bool, "Accepted and decided on the spot (即办件).", default=False),
    Opt(
        "first_notice_incomplete",
        bool,
        "A second completion notice: the first missed something (recorded as the department's fault).",
        default=False,
    ),
)
verify = update_command(
    commands.VERIFY,
    "Record the after-the-fact verification of a commitment-based approval.",
    Opt("matter", field="matter_code"),
    Opt("department"),
    Opt("decision_id"),
    Opt("by"),
    Opt("passed", bool, default=True, decls=("--passed/--failed",)),
    Opt("findings", default=""),
)

extend_permit = update_command(
    commands.EXTEND_PERMIT,
    "Extend a permit whose construction has not started, applied for before expiry (at most twice, 建筑法 §9).",
    Opt("matter", help="Matter code, e.g. construction-permit.", field="matter_code"),
    Opt("department", help="The issuing department's code."),
    Opt("decision_id", help="Unique id of this decision (retry-safe)."),
    Opt("by", help="Who decided."),
    Opt("reason", help="Why (recorded)."),
)


def install(app: typer.Typer) -> None:
    app.command(commands.DECIDE.dashed)(decide)
    app.command(commands.VERIFY.dashed)(verify)
    app.command(commands.EXTEND_PERMIT.dashed)(extend_permit)
