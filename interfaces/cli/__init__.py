"""``daiban``: the command line for agents, project leads and operators.

Tables in a terminal, ``--json`` for scripts. Exit code 0 on success; on error one line on
stderr starting ``daiban:`` and a non-zero code (2 bad input or configuration, 1 refused by the
project or an unexpected error); ``daiban --debug ...`` shows the traceback of an unexpected one.

Modules by noun: ``project`` (register, inspect, and every agent or operator command, each verb
its update's name with dashes), ``decisions`` (``decide``, ``verify``), ``reports`` (inbox,
overdue, notifications, reports, rebuild), ``calendar``, ``content`` (``zone``, ``catalog``),
``projector``, ``db`` (migrate, repair); ``common`` holds ``run``, ``read``, ``emit``, ``fail`` and ``build``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from infra.logs import configure_logging
from infra.process import exit_now
from interfaces.cli import calendar, content, db, decisions, project, projector, reports
from interfaces.cli import setup as setup_cli
from interfaces.cli.common import HELP_STYLE

app = typer.Typer(
    help="daiban: full-agency approval of investment projects, on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    **HELP_STYLE,
)
_debug = {"on": False}


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an unexpected error.")] = False,
) -> None:
    """daiban: full-agency approval of investment projects, on Temporal."""
    _debug["on"] = debug


app.add_typer(project.app, name="project")
decisions.install(app)
reports.install(app)
app.add_typer(calendar.app, name="calendar")
app.add_typer(content.zone_app, name="zone")
app.add_typer(content.catalog_app, name="catalog")
app.add_typer(projector.app, name="projector")
db.install(app)
setup_cli.install(app)


def main() -> None:
    """Console-script entry point; exits without interpreter teardown (see ``infra.process``)."""
    # Library logs go to stderr, warnings and worse only: stdout is the command's answer.
    configure_logging("console", "warning")
    try:
        app()
        code = 0
    except SystemExit as exc:  # how click ends every command, successful or not
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:  # not foreseen by the command: one line, the traceback with --debug
        if _debug["on"] or "--debug" in sys.argv[1:2]:
            raise
        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(f"daiban: {type(exc).__name__}: {detail} (run with --debug for the traceback)", file=sys.stderr)
        code = 1
    exit_now(code)
