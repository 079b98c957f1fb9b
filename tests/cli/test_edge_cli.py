"""The CLI with a service credential and the enterprise's contact (issue 14), run as a user runs it.

``DAIBAN_TOKEN`` makes ``daiban`` act as that principal: a command beyond its role ends with
``daiban: forbidden: <the gateway's reason>`` (exit 1) and sends nothing. The contact in a
registration file, or set with ``project contact --set``, goes encrypted to PostgreSQL and never
into the project's Temporal history.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
from pathlib import Path

from tests.cli.test_cli import DAIBAN, ROOT
from tests.harness import Harness, registration
from tests.workflows.helpers import settle

NAMES = {
    "operator": {"roles": ["operator"], "zones": ["*"]},
    "agent-li": {"roles": ["agent"]},
    "agent-zhang": {"roles": ["agent"]},
}
TOKENS = {name: secrets.token_urlsafe(24) for name in NAMES}
PRINCIPALS = {name: {"token": TOKENS[name], **scope} for name, scope in NAMES.items()}
CONTACT_KEYS = {"k1": base64.b64encode(secrets.token_bytes(32)).decode()}
CONTACT = {"person": "王五", "phone": "13612345678", "legal_rep_id_number": "11010519491231002X"}


async def daiban_as(h: Harness, dsn: str, state: Path, who: str | None, *args: str) -> tuple[int, str, str]:
    env = dict(
        os.environ,
        DAIBAN_TEMPORAL_ADDRESS=h.client.service_client.config.target_host,
        DAIBAN_TASK_QUEUE=h.task_queue,
        DATABASE_URL=dsn,
        COLUMNS="200",
        DAIBAN_STATE_DIR=str(state),
        DAIBAN_PRINCIPALS=json.dumps(PRINCIPALS),
        DAIBAN_CONTACT_KEYS=json.dumps(CONTACT_KEYS),
        PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
    )
    env.pop("DAIBAN_TOKEN", None)
    if who is not None:
        env["DAIBAN_TOKEN"] = TOKENS[who]
    proc = await asyncio.create_subprocess_exec(
        DAIBAN, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


def _last(err: str) -> str:
    """The ``daiban:`` line (after the refusal's log line, which warnings print on stderr)."""
    return err.strip().splitlines()[-1] if err.strip() else ""


async def test_the_cli_acts_as_its_credential_and_keeps_the_contact_out_of_temporal(
    dev: Harness, pg_dsn: str, tmp_path: Path
) -> None:
    reg = registration(zone="tunliu", agent="agent-li", backup_agent="agent-wang", regional_assessments=[])
    pid = reg.project_id
    file = tmp_path / "project.json"
    file.write_text(json.dumps({**reg.model_dump(mode="json"), "contact": CONTACT}, ensure_ascii=False), "utf-8")
    code, out, err = await daiban_as(dev, pg_dsn, tmp_path, "operator", "project", "register", str(file), "--json")
    assert code == 0, err
    handle = dev.client.get_workflow_handle(f"project-{pid}")
    dev.started.append(handle)
    assert json.loads(out)["created"] is True

    # The contact reads back for the project's agent, not for another agent.
    code, out, err = await daiban_as(dev, pg_dsn, tmp_path, "agent-li", "project", "contact", pid, "--json")
    assert code == 0 and json.loads(out) == CONTACT, err
    code, out, err = await daiban_as(dev, pg_dsn, tmp_path, "agent-zhang", "project", "contact", pid)
    assert code == 1 and _last(err).startswith("daiban: forbidden: contact: agent-zhang"), err
    assert "client command refused" in err and "principal=agent-zhang" in err  # logged (warnings go to stderr)
    assert CONTACT["phone"] not in out + err
    # Set through the CLI: another contact needs --replace.
    new = tmp_path / "contact.json"
    new.write_text(json.dumps({**CONTACT, "phone": "13600000000"}), "utf-8")
    code, _, err = await daiban_as(dev, pg_dsn, tmp_path, "agent-li", "project", "contact", pid, "--set", str(new))
    assert code == 1 and "contact" in err and "replace" in err, err
    code, out, err = await daiban_as(
        dev, pg_dsn, tmp_path, "agent-li", "project", "contact", pid, "--set", str(new), "--replace"
    )
    assert code == 0 and "13600000000" in out and "contact stored" in out, (out, err)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**CONTACT, "phone": "12345"}), "utf-8")
    code, _, err = await daiban_as(dev, pg_dsn, tmp_path, "agent-li", "project", "contact", pid, "--set", str(bad))
    assert code == 2 and "contact: phone:" in err and "12345" not in err, err

    # Beyond role: refused before anything is sent, with the gateway's reason.
    code, _, err = await daiban_as(
        dev, pg_dsn, tmp_path, "agent-zhang", "project", "withdraw", pid, "--reason", "mine", "--by", "agent-zhang"
    )
    assert code == 1 and _last(err).startswith("daiban: forbidden: withdraw on"), err
    code, _, err = await daiban_as(
        dev, pg_dsn, tmp_path, "agent-li", "project", "report-progress", pid, "--percent", "5", "--by", "agent-wang"
    )
    assert code == 1 and _last(err).startswith("daiban: forbidden: by: authenticated as agent-li"), err
    code, _, err = await daiban_as(dev, pg_dsn, tmp_path, "agent-li", "calendar", "load", str(new), "--dry-run")
    assert code == 1 and _last(err) == "daiban: forbidden: calendar load needs an operator of every zone", err
    code, out, err = await daiban_as(dev, pg_dsn, tmp_path, None, "project", "show", pid, "--json")
    assert code == 0 and json.loads(out)["stage"] != "withdrawn", err

    # The project's whole Temporal history holds none of the contact.
    await settle(handle)
    history = await handle.fetch_history()
    raw = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
    assert reg.enterprise.encode() in raw
    for secret in (CONTACT["phone"], "13600000000", CONTACT["legal_rep_id_number"], CONTACT["person"]):
        assert secret.encode() not in raw, f"{secret} in the Temporal history"
