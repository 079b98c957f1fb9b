"""Bad configuration stops with one clear line naming what is wrong, not a traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


async def run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, err.decode()


async def test_worker_with_unreachable_temporal() -> None:
    code, err = await run(
        "worker.py", env={"DAIBAN_TEMPORAL_ADDRESS": "127.0.0.1:1", "DATABASE_URL": "postgresql://x@127.0.0.1:1/x"}
    )
    assert code == 2
    assert err.strip().count("\n") == 0, err
    assert "cannot reach Temporal at 127.0.0.1:1" in err and "DAIBAN_TEMPORAL_ADDRESS" in err


async def test_worker_with_unreachable_database(dev_env: object) -> None:
    from temporalio.testing import WorkflowEnvironment

    assert isinstance(dev_env, WorkflowEnvironment)
    address = dev_env.client.service_client.config.target_host
    code, err = await run(
        "worker.py",
        env={"DAIBAN_TEMPORAL_ADDRESS": address, "DATABASE_URL": "postgresql://daiban:secret@127.0.0.1:1/daiban"},
    )
    assert code == 2 and err.strip().count("\n") == 0, err
    assert "cannot reach PostgreSQL at postgresql://daiban@127.0.0.1:1/daiban" in err and "secret" not in err


async def test_bad_setting_names_the_variable() -> None:
    code, err = await run("worker.py", env={"DAIBAN_LOG_FORMAT": "xml"})
    assert code == 2 and "DAIBAN_LOG_FORMAT" in err and err.strip().count("\n") == 0, err


async def test_make_run_with_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err = await run(
            "-m",
            "infra.devstack",
            env={
                "DAIBAN_TEMPORAL_PORT": str(port),
                "DAIBAN_UI_PORT": str(port + 1 if port < 65535 else port - 1),
                "DAIBAN_STATE_DIR": str(tmp_path),
            },
        )
    assert code == 2
    assert f"port {port} is in use" in err and "DAIBAN_TEMPORAL_PORT" in err
    assert "Traceback" not in err


async def test_worker_starts_and_stops_cleanly_on_sigterm(dev_env: object, pg_dsn: str, tmp_path: Path) -> None:
    """The worker starts, says so, marks itself ready (``DAIBAN_READY_FILE``, a readiness probe's
    file: at once, unversioned), and on SIGTERM stops cleanly, the ready file gone."""
    import signal

    from temporalio.testing import WorkflowEnvironment

    assert isinstance(dev_env, WorkflowEnvironment)
    env = {
        **os.environ,
        "DAIBAN_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "DATABASE_URL": pg_dsn,
        "DAIBAN_TASK_QUEUE": "tq-sigterm",
        "DAIBAN_LOG_FORMAT": "json",
        "DAIBAN_SHUTDOWN_GRACE_SECONDS": "2",
        "DAIBAN_READY_FILE": str(tmp_path / "probe" / "ready"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "worker.py", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    lines: list[str] = []
    while not any('"worker ready"' in line for line in lines):
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        assert line, f"worker exited early: {lines}"
        lines.append(line)
    assert any('"worker started"' in line for line in lines), lines
    assert (tmp_path / "probe" / "ready").read_text() == "unversioned\n"
    proc.send_signal(signal.SIGTERM)
    _, rest = await asyncio.wait_for(proc.communicate(), 30)
    lines += rest.decode().splitlines()
    assert proc.returncode == 0
    assert any('"worker stopped"' in line for line in lines), lines
    assert all(line.startswith("{") for line in lines if line.strip()), "JSON logs only"
    assert not (tmp_path / "probe" / "ready").exists(), "a stopped worker is not ready"
