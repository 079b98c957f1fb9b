"""The dashboard and the API docs in headless Chromium: pages load after login, charts render (SVG
drawn with marks), the flowchart shows the checklist, and no page logs a console error or fails
to load an asset (every asset is local: zone networks are closed)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.browser.conftest import Site


class Watched:
    """A page with its console errors, failed requests and requests that left the gateway."""

    def __init__(self, page: Page, site: Site) -> None:
        self.page = page
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        page.on(
            "request",
            lambda r: None if r.url.startswith((site.url, "data:", "blob:")) else self.outside.append(r.url),
        )

    def clean(self) -> None:
        """No console error, no failed request and no request that left the gateway."""
        assert self.errors == []
        assert self.outside == []


@pytest.fixture
async def page(browser: Browser, site: Site) -> AsyncIterator[Watched]:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    watched = Watched(await context.new_page(), site)
    yield watched
    await context.close()


async def screenshot(p: Page, name: str) -> None:
    """With ``DAIBAN_SCREENSHOTS=DIR`` (the README's pictures: ``docs/``), save the page as ``DIR/NAME``."""
    folder = os.environ.get("DAIBAN_SCREENSHOTS")
    if folder:
        await p.screenshot(path=str(Path(folder) / name), full_page=True)


async def login(w: Watched, site: Site) -> None:
    await w.page.goto(f"{site.url}/dashboard")
    assert w.page.url.endswith("/dashboard/login")
    await w.page.fill("#token", site.token)
    await w.page.click("form.login button")
    await w.page.wait_for_url(f"{site.url}/dashboard")


async def test_login_refuses_an_unknown_token(page: Watched, site: Site) -> None:
    await page.page.goto(f"{site.url}/dashboard/login")
    await page.page.fill("#token", "not-a-token")
    await page.page.click("form.login button")
    assert await page.page.locator("p.error").inner_text() == "Unknown token: use a read credential of this gateway."
    assert page.page.url.endswith("/dashboard/login")
    # The 401 of the refused form is the browser's only console error.
    assert [e for e in page.errors if "401" not in e] == []


async def test_overview_draws_its_charts_after_login(page: Watched, site: Site) -> None:
    await login(page, site)
    p = page.page
    for key in ("funnel", "overdue", "departments"):
        panel = p.locator(f"#panel-{key} .chart svg")
        assert await panel.count() == 1, key
        box = await panel.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100, key
    # The funnel has bars: the demo's five projects in yanhu and tunliu.
    assert await p.locator("#panel-funnel svg path").count() > 5
    assert "tunliu" in await p.locator("#panel-funnel svg").inner_html()
    rows = p.locator("#projects tbody tr")
    assert await rows.count() == 5
    assert await p.locator("#overdue-board").count() == 1
    await screenshot(p, "dashboard.png")
    # One zone only.
    await p.select_option("#zone", "tunliu")
    await p.click("form.zone-filter button")
    await p.wait_for_url("**zone=tunliu")
    ids = await p.locator("#projects tbody tr td:first-child a").all_inner_texts()
    assert sorted(ids) == ["demo-tunliu-002", "demo-tunliu-004"]
    page.clean()


async def test_project_page_shows_gantt_flowchart_and_timeline(page: Watched, site: Site) -> None:
    await login(page, site)
    p = page.page
    await p.click("text=demo-tunliu-002")
    await p.wait_for_url("**/dashboard/projects/demo-tunliu-002")
    gantt = p.locator("#gantt svg")
    assert await gantt.count() == 1
    # The EIA's correction stopped its clock: its bar and labels are on the chart.
    assert "eia" in await gantt.inner_html()
    flow = p.locator("#flowchart svg.flowchart")
    assert await flow.count() == 1
    assert await flow.locator("g.matter[data-matter='eia']").count() == 1
    assert await flow.locator("g.stage").count() >= 4
    assert await flow.locator("path.requires").count() >= 1
    assert await p.locator("#timeline li").count() > 5
    assert "Correction requested for eia" in await p.locator("#timeline").inner_text()
    if os.environ.get("DAIBAN_SCREENSHOTS"):
        await flow.screenshot(path=str(Path(os.environ["DAIBAN_SCREENSHOTS"]) / "flowchart.png"))
    if os.environ.get("DAIBAN_SCREENSHOTS"):
        await p.locator("#gantt").screenshot(path=str(Path(os.environ["DAIBAN_SCREENSHOTS"]) / "gantt.png"))
    page.clean()
    svg = await p.request.get(f"{site.url}/dashboard/projects/demo-tunliu-002/flowchart.svg")
    assert svg.status == 200 and svg.headers["content-type"].startswith("image/svg+xml")


async def test_pages_need_a_session(page: Watched, site: Site) -> None:
    r = await page.page.request.get(f"{site.url}/dashboard/projects/demo-tunliu-002", max_redirects=0)
    assert r.status == 303 and r.headers["location"] == "/dashboard/login"


async def test_swagger_ui_renders_offline(page: Watched, site: Site) -> None:
    await page.page.goto(f"{site.url}/docs")
    await page.page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert await page.page.locator(".opblock").count() > 10
    page.clean()


async def test_redoc_renders_offline(page: Watched, site: Site) -> None:
    await page.page.goto(f"{site.url}/redoc")
    await page.page.wait_for_selector("redoc h1, .api-content h1", timeout=30_000)
    assert "daiban gateway" in await page.page.locator("h1").first.inner_text()
    # The footer's logo is an inline SVG (``/docs/assets/redoc.standalone.js``), never the CDN's.
    page.clean()
