"""``python -m tests.faults``: the fault suite (``make faults``); ``--help`` lists the options.

Starts its own stack in a temporary folder (Temporal dev server on its own SQLite file, embedded
PostgreSQL, migrations, several workers), drives projects to production while the injector kills
workers, the Temporal server and PostgreSQL, then checks every project (see ``checks``). The last
line reads ``faults: N injected, P projects, lost L, duplicated D, stuck S, unreplayable U``; the
exit code is 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from tests.faults.checks import Report, check_all
from tests.faults.driver import ProjectDriver, Run
from tests.faults.injector import Injector, Plan
from tests.faults.stack import Stack

ROOT = Path(__file__).resolve().parents[2]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__.split("\n\n")[1])
    p.add_argument("--projects", type=int, help="projects driven concurrently (20; small: 4)")
    p.add_argument("--restarts", type=int, help="worker restarts, SIGKILL or SIGTERM (100; small: 6)")
    p.add_argument("--duration", type=float, help="seconds of driving with faults (300; small: 20)")
    p.add_argument("--temporal-kills", type=int, help="Temporal server SIGKILLs and restarts (2; small: 1)")
    p.add_argument("--pg-stop", type=float, help="seconds PostgreSQL is stopped, 0 for never (30; small: 0)")
    p.add_argument("--workers", type=int, help="worker processes (3; small: 2)")
    p.add_argument("--rate", type=float, help="filler commands per second per project (1)")
    p.add_argument("--settle", type=float, help="seconds to finish after the drive or the last fault (150; small: 45)")
    p.add_argument("--sigterm-share", type=float, default=0.3, help="share of graceful restarts (0.3)")
    p.add_argument("--small", action="store_true", help="the quick version for make test (< 60 s)")
    p.add_argument(
        "--legacy",
        action="store_true",
        help="commands without request_id (the code before issue 9); exactly-once checked per type",
    )
    p.add_argument("--code", type=Path, default=ROOT, help="tree whose worker.py and workflows run (this one)")
    p.add_argument("--keep-histories", type=Path, metavar="DIR", help="write every run's history as JSON here")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary folder even when all passed")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    a = p.parse_args(argv)
    defaults = (
        {
            "projects": 4,
            "restarts": 6,
            "duration": 20.0,
            "temporal_kills": 1,
            "pg_stop": 0.0,
            "workers": 2,
            "rate": 1.0,
            "settle": 45.0,
        }
        if a.small
        else {
            "projects": 20,
            "restarts": 100,
            "duration": 300.0,
            "temporal_kills": 2,
            "pg_stop": 30.0,
            "workers": 3,
            "rate": 1.0,
            "settle": 150.0,
        }
    )
    for key, value in defaults.items():
        if getattr(a, key) is None:
            setattr(a, key, value)
    if a.seed is None:
        a.seed = int(time.time()) % 100_000
    a.code = a.code.resolve()
    return a


def say(line: str) -> None:
    print(f"[faults] {line}", flush=True)


async def main(a: argparse.Namespace, stack: Stack) -> int:
    t0 = time.monotonic()
    say(f"seed {a.seed}; code under test {a.code}{' (legacy commands)' if a.legacy else ''}; state in {stack.root}")
    stack.start_temporal()
    client = await stack.wait_temporal()
    stack.start_pg()
    applied = await asyncio.to_thread(stack.migrate)
    stack.start_workers()
    say(
        f"stack up in {time.monotonic() - t0:.1f} s: Temporal {stack.address}, PostgreSQL {stack.dsn} "
        f"({len(applied)} migrations), {a.workers} workers"
    )

    run = Run(
        client=client,
        tag=f"f{a.seed}",
        seed=a.seed,
        duration=a.duration,
        settle=a.settle,
        legacy=a.legacy,
        rate=a.rate,
        log_file=stack.root / "driver.log",
    )
    drivers = [ProjectDriver(run, i) for i in range(a.projects)]
    injector = Injector(
        stack, run, drivers, Plan(a.restarts, a.temporal_kills, a.pg_stop, a.sigterm_share), random.Random(a.seed)
    )
    supervisor = asyncio.create_task(injector.supervise())
    status = asyncio.create_task(progress(run, drivers, injector))
    driving = [asyncio.create_task(d.drive()) for d in drivers]
    try:
        await injector.inject()
        run.faults_over_at = time.monotonic()
        say(
            f"faults over at {time.monotonic() - run.t0:.0f} s: {injector.summary()}; "
            f"{sum(d.done for d in drivers)}/{len(drivers)} projects done"
        )
        _, pending = await asyncio.wait(driving, timeout=max(1.0, run.hard_deadline - time.monotonic()))
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for t in driving:
            if not t.cancelled() and t.exception() is not None:
                say(f"driver failed: {t.exception()!r}")
        status.cancel()
        say(
            f"drive over at {time.monotonic() - run.t0:.0f} s: {sum(d.done for d in drivers)}/{len(drivers)} "
            f"projects in production; commands retried: {dict(run.retries)}; refused: {dict(run.refusals)}"
        )
        # Every worker up again for the checks' queries.
        for w in stack.workers:
            w.busy = False
        stack.start_workers()
        report = await check_all(client, stack, drivers, legacy=a.legacy, keep_histories=a.keep_histories, say=say)
    finally:
        supervisor.cancel()
        for t in driving:
            t.cancel()
        status.cancel()
    return print_report(a, stack, run, injector, report)


async def progress(run: Run, drivers: list[ProjectDriver], injector: Injector) -> None:
    """A status line every 30 s, so a long run shows it is alive."""
    while True:
        await asyncio.sleep(30)
        stages: dict[str, int] = {}
        for d in drivers:
            stage = "done" if d.done else d.reason.split(":")[0]
            stages[stage] = stages.get(stage, 0) + 1
        say(
            f"{time.monotonic() - run.t0:4.0f} s: {injector.total} faults injected, "
            f"{sum(len(d.commands) for d in drivers)} commands, {run.in_flight} in flight; projects: {stages}"
        )


def print_report(a: argparse.Namespace, stack: Stack, run: Run, injector: Injector, report: Report) -> int:
    for v in report.verdicts:
        if v.ok:
            continue
        say(f"project {v.project_id} ({v.runs} runs, {v.events} events):")
        for name in ("stuck", "unreplayable", "lost", "duplicated", "inconsistent"):
            for line in getattr(v, name)[:8]:
                say(f"  {name}: {line}")
    for line in report.read_models[:10]:
        say(f"read models: {line}")
    failures: dict[str, int] = {}
    for v in report.verdicts:
        for cause, n in v.task_failures.items():
            failures[cause] = failures.get(cause, 0) + n
    s = injector.summary()
    say(
        f"injected {s['injected']}; kills while a workflow task was open: {s['open_task_hits']}/"
        f"{injector.restarts}; workers that exited by themselves: {s['crashes']}"
    )
    say(f"commands: {dict(report.commands)}; attempts retried: {sum(run.retries.values())} {dict(run.retries)}")
    say(f"workflow task failures seen in histories: {failures or 'none'}")
    say(
        f"exactly-once checked {'by causation id' if report.causation else 'per event type (no causation id)'}; "
        f"inconsistent projects (gaps, state vs stream, read models): {report.figure('inconsistent')}; "
        f"read-model rows differing after rebuild: {len(report.read_models)}"
    )
    if not report.ok:
        say(f"logs: {', '.join(str(p) for p in stack.logs())}; driver log {stack.root / 'driver.log'}")
    if not report.ok or a.keep_tmp:
        say(f"state and logs kept in {stack.root}")
    print(
        f"faults: {injector.total} injected, {len(report.verdicts)} projects, lost {report.figure('lost')}, "
        f"duplicated {report.figure('duplicated')}, stuck {report.figure('stuck')}, "
        f"unreplayable {report.figure('unreplayable')}",
        flush=True,
    )
    return 0 if report.ok else 1


def cli(argv: list[str]) -> int:
    a = parse(argv)
    root = Path(tempfile.mkdtemp(prefix="daiban-faults-"))
    root.chmod(0o755)  # PostgreSQL runs as another user when we are root
    stack = Stack(root, a.code, a.workers)
    atexit.register(stack.close)
    code = 1

    def terminate(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        code = asyncio.run(main(a, stack))
    except KeyboardInterrupt:
        say("interrupted; stopping the stack")
        code = 130
    except Exception as exc:
        say(f"failed: {type(exc).__name__}: {exc}")
        say(f"logs: {', '.join(str(p) for p in stack.logs())}")
        code = 3
    finally:
        stack.close()
        if code == 0 and not a.keep_tmp:
            with contextlib.suppress(OSError):
                shutil.rmtree(root)
        elif code not in (0, 1):
            say(f"state and logs kept in {root}")
    return code


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
