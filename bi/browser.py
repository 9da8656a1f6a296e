"""Open a Quanyu dashboard in headless Chromium, wait until its charts are drawn, report and
optionally screenshot it. Runs in .venv-bi (playwright) against Debian's Chromium:

    .venv-bi/bin/python -m bi.browser overview [--screenshot docs/img/overview.png]

Prints one JSON object: the dashboard's chart count, which charts drew (an ECharts canvas, a
table, a big number) and which did not (with the text they show instead, e.g. a query error).
Exit 0 when every chart drew, 1 otherwise, 2 when the page or the login could not be reached.

The browser is the OS package (``/usr/bin/chromium``, ``make setup-bi`` installs it), never a
download: the flags below keep it off the network it would otherwise call home to (component
updates, sync, QUIC), which on a closed network makes it hang or fail.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = os.environ.get("QUANYU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHART = '[data-test="chart-grid-component"]'
DRAWN = "canvas, table, .header-line"  # ECharts, tables, big numbers (not any svg: the spinner is one)
LOADING = '[data-test="loading-indicator"], .loading, [aria-label="Loading"]'
FAILED = '[role="alert"], .alert, [data-test="chart-error"]'
SETTLE_MS = 5000  # ECharts animates bars and lines in; on two busy cores that takes seconds


def open_dashboard(base_url: str, slug: str, username: str, password: str, screenshot: Path | None = None,
                   timeout_s: float = 90.0) -> dict:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="quanyu-chromium-") as profile, sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000}, device_scale_factor=1)
        try:
            page = browser.new_page()
            page.goto(f"{base_url}/login/", timeout=timeout_s * 1000)
            page.fill("#username, input[name=username]", username)
            page.fill("#password, input[name=password]", password)
            page.keyboard.press("Enter")
            page.wait_for_url(lambda url: "/login" not in url, timeout=timeout_s * 1000)
            page.goto(f"{base_url}/superset/dashboard/{slug}/?standalone=1", timeout=timeout_s * 1000)
            page.wait_for_selector(CHART, timeout=timeout_s * 1000)
            holders = page.locator(CHART)
            deadline = time.monotonic() + timeout_s
            while True:
                state = [(holders.nth(i).locator(DRAWN).count() > 0 and holders.nth(i).locator(LOADING).count() == 0,
                          holders.nth(i).locator(FAILED).count() > 0)
                         for i in range(holders.count())]
                if all(drawn or failed for drawn, failed in state) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            page.wait_for_timeout(SETTLE_MS)  # the charts' entry animation, before the picture
            titles = [holders.nth(i).locator('[data-test="editable-title"], .header-title').first.inner_text()
                      if holders.nth(i).locator('[data-test="editable-title"], .header-title').count() else f"chart {i}"
                      for i in range(holders.count())]
            report = {
                "dashboard": slug,
                "title": page.title(),
                "charts": len(state),
                "drawn": [t for t, (drawn, failed) in zip(titles, state) if drawn and not failed],
                "not_drawn": {t: holders.nth(i).inner_text()[:300] for i, (t, (drawn, failed))
                              in enumerate(zip(titles, state)) if failed or not drawn},
            }
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
                report["screenshot"] = str(screenshot)
        finally:
            browser.close()
    report["seconds"] = round(time.monotonic() - started, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("slug", help="dashboard slug: overview, fans_churn, guides_stores, ...")
    parser.add_argument("--url", default=os.environ.get("QUANYU_SUPERSET_URL", "http://localhost:8088"))
    parser.add_argument("--username", default=os.environ.get("QUANYU_SUPERSET_USER", "admin"))
    parser.add_argument("--password", default=os.environ.get("QUANYU_SUPERSET_PASSWORD", "admin"))
    parser.add_argument("--screenshot", type=Path, help="write a full-page PNG here")
    args = parser.parse_args(argv)
    try:
        report = open_dashboard(args.url.rstrip("/"), args.slug, args.username, args.password, args.screenshot)
    except Exception as exc:  # noqa: BLE001 - playwright's errors (timeouts, refused connection) end here, named
        print(json.dumps({"dashboard": args.slug, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}))
        return 2
    print(json.dumps(report, ensure_ascii=False))
    return 0 if report["charts"] and not report["not_drawn"] else 1


if __name__ == "__main__":
    sys.exit(main())
