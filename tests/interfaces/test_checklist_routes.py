"""``GET /projects/{id}/checklist`` (JSON) and ``/checklist.html`` (printable page), on real servers."""

from __future__ import annotations

import asyncio
import re

from tests.interfaces.conftest import Gateway, operator


async def test_the_checklist_is_served_as_json_and_as_a_printable_page(gw: Gateway) -> None:
    pid = await gw.register(zone="tunliu", project_type="government_invested", standard_land_parcel=False)
    for _ in range(100):
        r = await gw.http.get(f"/projects/{pid}/checklist", headers=operator())
        if r.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert r.status_code == 200, r.text
    sheet = r.json()
    assert sheet["project_id"] == pid and sheet["project_type"] == "government_invested"
    codes = [m["matter_code"] for m in sheet["matters"]]
    assert codes[0] == "enterprise-registration" and "project-approval" in codes and "project-filing" not in codes
    first = sheet["matters"][0]
    assert first["process"] and first["legal_basis"] and first["main_materials"] and first["contact"]["office"]
    assert sheet["zone_version"].startswith("zone-")
    page = await gw.http.get(f"/projects/{pid}/checklist.html", headers=operator())
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "一次性告知清单" in page.text and "政府投资项目审批" in page.text
    assert not re.search(r"""(src|href)\s*=""", page.text)
    missing = await gw.http.get("/projects/no-such-project/checklist", headers=operator())
    assert missing.status_code == 404 and "project_id" in missing.text
