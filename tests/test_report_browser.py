"""The HTML report in a real headless browser: Debian's chromium, driven by Playwright's Python package.

The page loads with no console error and no request, every chart has its
marks, and a screenshot at 1280x800 is not blank; it is kept as
tests/artifacts/report.png. Where no chromium is found the test is skipped,
saying why; under CI=true that is a failure (.ci/run installs Debian's).
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from runner.config import Config
from runner.launch import Launcher
from runner.trends.build import Scope
from runner.trends.demo import demo_report
from runner.trends.page import render

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# Headless on a machine with no network: no GPU, and none of the background fetches that would only fail.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
DISTINCT_COLOURS = """async (png) => {
  const image = new Image();
  image.src = "data:image/png;base64," + png;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width; canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, image.width, image.height).data;
  const seen = new Set();
  for (let i = 0; i < pixels.length; i += 4) seen.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
  return [image.width, image.height, seen.size];
}"""


def chromium() -> str:
    """Debian's chromium (or $PDRUN_CHROMIUM), with Playwright to drive it; skip, or fail under CI, without."""
    path = os.environ.get("PDRUN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright's Python package is not installed (pip install -e '.[test]')"
    else:
        reason = "" if Path(path).is_file() else f"no chromium at {path} (apt-get install chromium)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI runs the browser test (.ci/run installs Debian's chromium)")
        pytest.skip(reason)
    return path


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def test_the_demo_report_in_a_real_browser(browser, pd_sandbox, tmp_path):
    launcher = Launcher(environ={}, sandbox_app=lambda: pd_sandbox)
    audits = sorted((r for r in launcher.registry().recipes.values() if r.kind == "audit"), key=lambda r: r.name)
    report = demo_report(launcher, Config(), Scope(days=30), audits)
    numbers = report.numbers
    html = tmp_path / "report.html"
    html.write_text(render(report), encoding="utf-8")

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    problems, requests = [], []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.route("**/*", lambda route: route.continue_() if route.request.url == html.as_uri() else route.abort())
    page.goto(html.as_uri(), wait_until="load")
    assert problems == [] and requests == [html.as_uri()]  # the page itself, and nothing else

    series = page.locator("#open-by-day g.series")
    assert series.count() == len(numbers.open_by_day) > 0 and len(numbers.days) == 30
    for n in range(series.count()):
        line = series.nth(n)
        assert line.locator("path").count() == 1 and line.locator("circle").count() == len(numbers.days)
        assert line.locator("path").bounding_box()["width"] > 500
    for kind in ("new", "resolved"):
        assert page.locator(f"#weekly rect.{kind}").count() == len(numbers.weeks) == 5
    assert page.locator("#teams rect.team").count() == len(numbers.teams) > 0
    assert page.locator("#recipes svg.spark path").count() == len(numbers.recipes) == len(audits)
    assert page.locator("#new-this-week tbody tr").count() == min(len(numbers.new_this_week), 100) > 0

    png = page.screenshot()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report.png").write_bytes(png)
    print(f"screenshot: {ARTIFACTS / 'report.png'}")
    width, height, colours = page.evaluate(DISTINCT_COLOURS, base64.b64encode(png).decode())
    assert (width, height) == (1280, 800) and colours > 50
