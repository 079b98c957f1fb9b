"""``daiban project checklist ID``: the one-time checklist as a table and as JSON (real servers)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import daiban, ok_json
from tests.harness import Harness, registration
from tests.workflows.helpers import settle


async def test_the_checklist_prints_as_a_table_and_as_json(dev: Harness, pg_dsn: str, tmp_path: Path) -> None:
    reg = registration(zone="tunliu", regional_assessments=[])
    file = tmp_path / "project.json"
    file.write_text(reg.model_dump_json(), encoding="utf-8")
    await ok_json(dev, pg_dsn, "project", "register", str(file))
    # The registration event reaches the event store with the project's first batch.
    await settle(dev.client.get_workflow_handle(f"project-{reg.project_id}"))
    sheet = await ok_json(dev, pg_dsn, "project", "checklist", reg.project_id)
    assert sheet["project_id"] == reg.project_id and sheet["matters"][0]["matter_code"] == "enterprise-registration"
    assert all(m["fee"].startswith("none") for m in sheet["matters"])
    code, out, err = await daiban(dev, pg_dsn, "project", "checklist", reg.project_id)
    assert code == 0, err
    assert "企业设立登记" in out and "(placeholder)" in out and "statutory" in out
    code, _, err = await daiban(dev, pg_dsn, "project", "checklist", "no-such-project")
    assert code == 2 and "project_id" in err
