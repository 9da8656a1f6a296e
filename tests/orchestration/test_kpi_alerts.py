"""KPI alerts: silent on the demo's session build, loud on a churn spike, and never blocking.

The session build (tests/conftest.py ``published``) must publish with every kpi_alert_* check
passing and a notice with nothing to send. The spike: a copy of the published warehouse in
which one store's latest month lost 40% of its WeCom fans (mart_fans_monthly, the mart the
rule reads), mart_kpi_alerts rebuilt by dbt on it; the checks and the notice then name the
store, the value, the baseline and the threshold, and the notice goes to a local robot (or
to a dry-run file, or fails to reach a closed port without raising).
"""
from __future__ import annotations

import json
import re
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import pytest
from dagster import AssetCheckSeverity, AssetKey

from ingest.settings import paths_from_env
from orchestration.kpi_alerts import (
    WEBHOOK_ENV,
    check_name,
    check_results,
    latest_alerts,
    load_rules,
    notify,
)
from tests.dbt_runner import dbt

KEY = AssetKey(["marts", "mart_kpi_alerts"])


def test_the_demo_publishes_with_every_alert_check_passing_and_nothing_to_send(published, demo_home):
    from tests.orchestration.baseline import session_build

    result = session_build(demo_home).result
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()
                   if e.check_name.startswith("kpi_alert_")}
    assert set(evaluations) == {check_name(r.rule_id) for r in load_rules()}
    assert all(e.passed for e in evaluations.values()), [e.description for e in evaluations.values() if not e.passed]
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from marts.mart_kpi_alerts").fetchall()[0][0] == 0
        build_id = con.execute("select build_id from meta.build").fetchall()[0][0]
    record = json.loads((published.warehouse.parent / "alerts" / f"{build_id}.json").read_text(encoding="utf-8"))
    assert record["mode"] == "nothing to send" and record["payload"] is None


def test_the_alert_checks_never_block_and_the_notice_follows_publication(definitions):
    from orchestration.definitions import kpi_alert_notice, kpi_alerts

    specs = list(kpi_alerts.check_specs)
    assert {s.name for s in specs} == {check_name(r.rule_id) for r in load_rules()}
    assert all(not s.blocking and s.asset_key.path[-1] == "mart_kpi_alerts" for s in specs)
    assert AssetKey(["warehouse", "published"]) in kpi_alert_notice.asset_deps[kpi_alert_notice.key]


@pytest.fixture(scope="module")
def spiked(published, tmp_path_factory):
    """A copy of the published warehouse whose largest store lost 40% of its fans in the last month."""
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("spike")),
                            "QUANYU_LAKE": str(published.lake)}).ensure()
    shutil.copyfile(published.warehouse, paths.warehouse)
    with duckdb.connect(str(paths.warehouse)) as con:
        month, store = con.execute(
            "select month, store_code from marts.mart_fans_monthly where scope = 'store' "
            "and month = (select max(month) from marts.mart_fans_monthly) "
            "order by wecom_fans_at_start desc limit 1").fetchall()[0]
        con.execute("update marts.mart_fans_monthly set customer_deletions = round(0.4 * wecom_fans_at_start), "
                    "churn_rate = round(0.4 * wecom_fans_at_start) / wecom_fans_at_start "
                    "where month = ? and scope = 'store' and store_code = ?", [month, store])
    dbt(paths, "build", "--select", "mart_kpi_alerts", "kpi_alert_rules")
    return paths, store


def test_a_churn_spike_fails_the_store_check_with_its_numbers(spiked):
    paths, store = spiked
    alerts = latest_alerts(paths.warehouse)
    fired = [a for a in alerts if a["rule_id"] == "fan_churn_spike_store"]
    assert [a["store_code"] for a in fired] == [store]
    assert fired[0]["metric_value"] >= 0.39 and fired[0]["change"] >= fired[0]["threshold"]
    results = {r.check_name: r for r in check_results(KEY, load_rules(), alerts)}
    store_check = results["kpi_alert_fan_churn_spike_store"]
    assert not store_check.passed and store_check.severity == AssetCheckSeverity.WARN
    for words in ("churn_rate", f"store {store}", "against", "threshold 0.05"):
        assert words in store_check.description, words
    assert f"{fired[0]['metric_value']:.4g}" in store_check.description
    assert f"{fired[0]['baseline']:.4g}" in store_check.description
    silent = [r for name, r in results.items() if name not in {check_name(a["rule_id"]) for a in alerts}]
    assert silent and all(r.passed for r in silent)


class Robot(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        Robot.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        body = b'{"errcode":0,"errmsg":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_notice_is_a_dry_run_without_a_webhook_and_holds_no_personal_data(spiked):
    paths, store = spiked
    record = notify(paths, environ={})
    assert record["mode"] == "dry run"
    saved = json.loads((paths.warehouse.parent / "alerts" / f"{record['build_id']}.json").read_text(encoding="utf-8"))
    content = saved["payload"]["markdown"]["content"]
    assert saved["payload"]["msgtype"] == "markdown" and f"store {store}" in content
    assert len(content.encode("utf-8")) <= 4096
    assert (paths.warehouse.parent / "alerts" / f"{record['build_id']}.md").read_text(encoding="utf-8") == content
    assert not re.search(r"1[3-9]\d{9}|one_id|external_userid", content)  # no phone, no member key


def test_the_notice_reaches_the_robot_and_survives_an_unreachable_one(spiked):
    paths, _ = spiked
    server = HTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=server.handle_request, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=secret"
    sent = notify(paths, environ={WEBHOOK_ENV: url})
    server.server_close()
    assert sent["mode"] == "sent" and Robot.received == [sent["payload"]]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    failed = notify(paths, environ={WEBHOOK_ENV: f"http://127.0.0.1:{closed}/send?key=secret"})
    assert failed["mode"] == "failed" and "error" in failed
    assert "secret" not in json.dumps(failed)


def test_a_long_notice_is_cut_to_the_robots_4096_bytes_and_says_how_many_more():
    import datetime as dt

    from orchestration.kpi_alerts import message

    alerts = [{"month": dt.date(2026, 10, 1), "rule_id": "guide_inactivity", "metric": "active_day_rate",
               "scope": "guide", "store_code": f"S{i:04d}", "guide_employee_no": f"E{i:06d}",
               "comparison": "trailing_mean", "window_months": 3, "change_kind": "absolute", "direction": "drop",
               "metric_value": 0.1, "baseline": 0.6, "change": -0.5, "threshold": 0.4, "severity": "warning"}
              for i in range(200)]
    content = message(alerts, "b" * 32)
    assert len(content.encode("utf-8")) <= 4096
    shown = content.count("guide_inactivity:")
    assert 10 < shown < 200 and content.endswith(f"... and {200 - shown} more (marts.mart_kpi_alerts)")
    assert message([], "b" * 32) is None
