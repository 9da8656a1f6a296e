"""A churn spike in the exports, end to end: build_all publishes, the alert check fails, the notice tells.

A copy of the session installation receives one more callbacks file: 40% of the WeCom
relationships of the store with the most listed customers end with del_follow_user (the
customer deleted the guide) in the window's last month. ``build_all`` loads it, builds, gates
and publishes as every night; the check ``kpi_alert_fan_churn_spike_store`` fails naming that
store, publication is not held, and the dry-run notice (no webhook set) holds the alert.

Marked `alerts` (a build_all of its own, ~3 minutes): `make test-alerts` runs it.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import duckdb
import pandas as pd
import pytest

from ingest.settings import paths_from_env
from orchestration.kpi_alerts import WEBHOOK_ENV

pytestmark = pytest.mark.alerts

SHARE_DELETED = 0.4


def latest_parquet(paths, table: str) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(f) for f in sorted((paths.lake / "raw" / table).glob("*.parquet"))],
                     ignore_index=True)


def write_deletions(paths, month: dt.date) -> str:
    """A callbacks file deleting SHARE_DELETED of one store's listed relationships on the 15th of ``month``."""
    contacts = latest_parquet(paths, "wecom_contacts").drop_duplicates(["external_userid", "guide_userid"], keep="last")
    staff = latest_parquet(paths, "staff").drop_duplicates("wecom_userid", keep="last")
    contacts = contacts.merge(staff[["wecom_userid", "store_code"]], left_on="guide_userid", right_on="wecom_userid")
    contacts = contacts[pd.to_datetime(contacts.added_at) < pd.Timestamp(month)]
    store = contacts.store_code.value_counts().index[0]
    mine = contacts[contacts.store_code == store].sort_values(["guide_userid", "external_userid"])
    chosen = mine.iloc[: max(1, round(SHARE_DELETED * len(mine)))]
    wall = dt.datetime(month.year, month.month, 15, 12)
    epoch = int((wall - dt.timedelta(hours=8)).replace(tzinfo=dt.UTC).timestamp())
    lines = [json.dumps({"ToUserName": "ww-test", "FromUserName": "sys", "CreateTime": epoch + i, "MsgType": "event",
                         "Event": "change_external_contact", "ChangeType": "del_follow_user",
                         "UserID": row.guide_userid, "ExternalUserID": row.external_userid})
             for i, row in enumerate(chosen.itertuples())]
    target = paths.landing / "wecom" / "events" / "spike" / "change_external_contact_spike.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (target.parent / "_SUCCESS").touch()
    return store


@pytest.fixture(scope="module")
def spike_build(published, tmp_path_factory):
    from dagster import DagsterInstance

    from orchestration.definitions import build_all_tags, defs
    from tests.orchestration.baseline import active_home

    root = tmp_path_factory.mktemp("alerts-spike")
    shutil.copytree(published.home, root, dirs_exist_ok=True, symlinks=True)
    paths = paths_from_env({"QUANYU_HOME": str(root)}).ensure()
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        month = con.execute("select max(month) from marts.mart_fans_monthly").fetchall()[0][0]
    store = write_deletions(paths, month)
    assert WEBHOOK_ENV not in os.environ, f"unset {WEBHOOK_ENV} for this test: it must not send anything"
    with active_home(paths):
        result = defs.resolve_job_def("build_all").execute_in_process(
            instance=DagsterInstance.ephemeral(), raise_on_error=False, tags=build_all_tags(paths=paths),
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    return result, paths, store


def test_the_spike_is_published_with_a_failed_non_blocking_alert_check(spike_build):
    result, paths, store = spike_build
    assert result.success, [e.step_key for e in result.all_events if e.is_failure]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("select run_id from meta.build").fetchall()[0][0] == result.run_id
        fired = con.execute("select store_code, metric_value, baseline from marts.mart_kpi_alerts "
                            "where rule_id = 'fan_churn_spike_store' and is_latest_month").fetchall()
    assert [row[0] for row in fired] == [store] and fired[0][1] > fired[0][2] + 0.05
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    spike = checks["kpi_alert_fan_churn_spike_store"]
    assert not spike.passed and f"store {store}" in spike.description and "threshold" in spike.description


def test_the_dry_run_notice_holds_the_alert(spike_build):
    result, paths, store = spike_build
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        build_id = con.execute("select build_id from meta.build").fetchall()[0][0]
    record = json.loads((paths.warehouse.parent / "alerts" / f"{build_id}.json").read_text(encoding="utf-8"))
    assert record["mode"] == "dry run" and record["alerts"] >= 1
    assert f"store {store}" in record["payload"]["markdown"]["content"]
