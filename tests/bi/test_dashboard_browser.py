"""One browser test: Debian's Chromium, headless, logs into the test's Superset and opens the
overview dashboard; every chart on it is drawn (an ECharts canvas, a table or a big number), none
shows an error. bi/browser.py drives it from Superset's environment (playwright, the OS browser)."""
from __future__ import annotations

import json

import pytest

from tests.bi.conftest import PASSWORD, USER, run_bi

pytestmark = pytest.mark.bi


def test_the_overview_dashboard_draws_every_chart_in_headless_chromium(superset, tmp_path):
    api = superset.client()
    answer = api.get(f"{superset.url}/api/v1/dashboard/overview/charts", timeout=60)
    answer.raise_for_status()
    expected = sorted(c["slice_name"] for c in answer.json()["result"])
    picture = tmp_path / "overview.png"
    result = run_bi(["-m", "bi.browser", "overview", "--url", superset.url, "--username", USER,
                     "--password", PASSWORD, "--screenshot", str(picture)], superset.env)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"overview in Chromium: {report['charts']} charts drawn in {report['seconds']} s")
    assert report["not_drawn"] == {}
    assert sorted(report["drawn"]) == expected
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 20_000
