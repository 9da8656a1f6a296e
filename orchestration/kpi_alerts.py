"""KPI alerts as non-blocking Dagster checks, and their notification after publication.

The alerts themselves are SQL (dbt_project/models/marts/operations/mart_kpi_alerts.sql), so the
warehouse and BI hold them too; the rules are the seed kpi_alert_rules. Here:

* ``build_kpi_alert_checks``: one asset check ``kpi_alert_<rule_id>`` per rule on the
  mart_kpi_alerts asset, ``blocking=False``: a fired alert fails its check (severity ERROR for a
  critical rule, WARN otherwise) naming metric, scope, value, baseline and threshold, and
  nothing downstream waits for it. The check reads this run's build file, or, when publication
  already moved it, the served file if it is this run's build (meta.build.run_id).
* ``build_alert_notice``: ``warehouse/kpi_alert_notice``, after ``warehouse/published``: the
  latest month's alerts as one WeCom group robot message (企业微信群机器人, POST
  ``{"msgtype": "markdown", "markdown": {"content": ...}}`` to the URL in
  ``QUANYU_WECOM_WEBHOOK_URL``; content at most 4096 UTF-8 bytes, developer.work.weixin.qq.com
  document 91770). Unset, nothing is sent; either way ``warehouse/alerts/<build id>.json``
  and ``.md`` keep exactly what was (or would have been) sent. A network or robot error is
  logged and recorded there, never raised: a notice must not fail a published build. The
  message names stores and guides by store code and employee number, never a member, and
  the URL (its key is a secret) is never logged.

Both are in the writer pool with every step of a build: the checks read the build file that
publication moves, the notice writes beside the served file.
"""
import csv
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset_check,
)

from ingest.atomic import write_json
from ingest.settings import Paths
from orchestration import gates
from orchestration.dbt_assets import DBT_PROJECT_DIR
from orchestration.publish import Build, read_build_info
from orchestration.resources import WRITER_POOL, QuanyuPaths

WEBHOOK_ENV = "QUANYU_WECOM_WEBHOOK_URL"
RULES_SEED = DBT_PROJECT_DIR / "seeds" / "kpi_alert_rules.csv"
ALERTS_TABLE = "marts.mart_kpi_alerts"
NOTICE = AssetKey(["warehouse", "kpi_alert_notice"])
MAX_CONTENT_BYTES = 4096  # the robot's markdown limit
WEBHOOK_TIMEOUT_S = 10


class Rule(NamedTuple):
    rule_id: str
    metric: str
    scope: str
    severity: str
    description: str


def load_rules(path: Path = RULES_SEED) -> list[Rule]:
    """The rules of the seed; the check names come from them when the definitions load."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rules = []
    for line, row in enumerate(rows, start=2):
        missing = [c for c in Rule._fields if not (row.get(c) or "").strip()]
        if missing:
            raise ValueError(f"{path}: line {line}: empty {', '.join(missing)}; every rule needs {Rule._fields}")
        rules.append(Rule(*(row[c].strip() for c in Rule._fields)))
    return rules


def check_name(rule_id: str) -> str:
    return f"kpi_alert_{rule_id}"


def latest_alerts(database: Path) -> list[dict[str, Any]]:
    """Rows of mart_kpi_alerts for the latest month of the window, read-only."""
    with duckdb.connect(str(database), read_only=True) as con:
        cursor = con.execute(f"select * from {ALERTS_TABLE} where is_latest_month "
                             f"order by severity, rule_id, store_code, guide_employee_no")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _number(value: Any) -> str:
    return "null" if value is None else f"{float(value):.4g}"


def where(alert: dict[str, Any]) -> str:
    """The scope in words, without personal data: brand, store code, guide employee number."""
    if alert["scope"] == "brand":
        return "brand"
    if alert["scope"] == "store":
        return f"store {alert['store_code']}"
    return f"guide {alert.get('guide_employee_no') or '?'} of store {alert.get('store_code') or '?'}"


def describe(alert: dict[str, Any]) -> str:
    """One alert as a sentence: metric, scope, month, value, baseline, change, threshold."""
    baseline = ("the previous month" if alert["comparison"] == "month_over_month"
                else f"the mean of the {alert['window_months']} months before")
    kind = "" if alert["change_kind"] == "absolute" else " (relative)"
    return (f"{alert['rule_id']}: {alert['metric']} of {where(alert)} in {str(alert['month'])[:7]} is "
            f"{_number(alert['metric_value'])} against {_number(alert['baseline'])} ({baseline}); "
            f"{alert['direction']} {_number(abs(alert['change']))}{kind} >= threshold {_number(alert['threshold'])}")


def _alerts_file(paths: Paths, run_id: str) -> tuple[Path | None, str]:
    """This run's build file, or the served file if it holds this run's build; else why not."""
    build = Build(paths, run_id)
    if build.file.exists():
        return build.file, "the run's build"
    info = read_build_info(paths.warehouse) or {}
    if info.get("run_id") == run_id:
        return paths.warehouse, "the published warehouse (this run's build)"
    return None, (f"neither the build file {build.file} nor a published build of run {run_id} exists "
                  f"(published: {info.get('run_id', 'none')})")


def check_results(key: AssetKey, rules: list[Rule], alerts: list[dict[str, Any]],
                  wanted: set[str] | None = None) -> list[AssetCheckResult]:
    """One result per rule: passed unless the rule fired in the latest month."""
    results = []
    for rule in rules:
        name = check_name(rule.rule_id)
        if wanted is not None and name not in wanted:
            continue
        mine = [a for a in alerts if a["rule_id"] == rule.rule_id]
        rows = [{"scope": where(a), "month": str(a["month"])[:7], "value": _number(a["metric_value"]),
                 "baseline": _number(a["baseline"]), "change": _number(a["change"]),
                 "threshold": _number(a["threshold"])} for a in mine]
        results.append(AssetCheckResult(
            asset_key=key, check_name=name, passed=not mine,
            severity=AssetCheckSeverity.ERROR if rule.severity == "critical" else AssetCheckSeverity.WARN,
            description=("; ".join(describe(a) for a in mine)[:1000] if mine else None),
            metadata={"metric": rule.metric, "scope": rule.scope, "severity": rule.severity, "fired": len(mine),
                      "alerts": MetadataValue.md(gates.markdown_table(rows, list(rows[0])) if rows else "none")}))
    return results


def build_kpi_alert_checks(key: AssetKey, rules: list[Rule] | None = None):
    rules = load_rules() if rules is None else rules
    specs = [AssetCheckSpec(check_name(r.rule_id), asset=key, blocking=False,
                            description=f"KPI alert ({r.severity}, never blocks publication): {r.description}")
             for r in rules]

    @multi_asset_check(specs=specs, name="kpi_alerts", can_subset=True, pool=WRITER_POOL,
                       description="KPI alerts of the latest month (mart_kpi_alerts, rules in "
                                   "seeds/kpi_alert_rules.csv); non-blocking.")
    def kpi_alerts(context: AssetCheckExecutionContext, quanyu: QuanyuPaths):
        wanted = {k.name for k in context.selected_asset_check_keys}
        database, source = _alerts_file(quanyu.paths, context.run.run_id)
        if database is None:
            context.log.warning(f"KPI alerts not evaluated: {source}")
            for rule in rules:
                if check_name(rule.rule_id) in wanted:
                    yield AssetCheckResult(asset_key=key, check_name=check_name(rule.rule_id), passed=False,
                                           severity=AssetCheckSeverity.WARN,
                                           description=f"not evaluated: {source}"[:1000])
            return
        alerts = latest_alerts(database)
        context.log.info(f"{len(alerts)} KPI alert(s) in the latest month, read from {source}")
        for alert in alerts:
            context.log.warning(describe(alert))
        yield from check_results(key, rules, alerts, wanted)

    return kpi_alerts


# --------------------------------------------------------------------------- the notice


def message(alerts: list[dict[str, Any]], build_id: str) -> str | None:
    """The robot's markdown content (None when nothing fired), cut to the robot's 4096 bytes."""
    if not alerts:
        return None
    month = str(alerts[0]["month"])[:7]
    lines = [f"## Quanyu KPI alerts {month}", f"{len(alerts)} alert(s), build {build_id[:12]}"]
    for a in alerts:
        colour = "warning" if a["severity"] == "critical" else "comment"
        lines.append(f"> <font color=\"{colour}\">{a['severity']}</font> {describe(a)}")
    content = ""
    for i, line in enumerate(lines):
        more = f"\n... and {len(lines) - i} more (marts.mart_kpi_alerts)"
        if len((content + line + "\n" + more).encode("utf-8")) > MAX_CONTENT_BYTES:
            return content + more.lstrip("\n")
        content += line + "\n"
    return content.rstrip("\n")


def send(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST the payload; the robot's answer or the error, never an exception (nor the URL)."""
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            body = json.loads(response.read().decode("utf-8") or "{}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return {"ok": False, "error": f"{type(error).__name__}: {getattr(error, 'reason', error)}"}
    ok = body.get("errcode", 0) == 0
    return {"ok": ok, "response": body, **({} if ok else {"error": f"robot answered {body}"})}


def notify(paths: Paths, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Send (or, without a webhook URL, only record) the published build's latest-month alerts."""
    environ = os.environ if environ is None else environ
    info = read_build_info(paths.warehouse) or {}
    build_id = str(info.get("build_id") or "unpublished")
    alerts = latest_alerts(paths.warehouse)
    content = message(alerts, build_id)
    payload = {"msgtype": "markdown", "markdown": {"content": content}} if content else None
    url = (environ.get(WEBHOOK_ENV) or "").strip()
    if payload is None:
        mode, outcome = "nothing to send", {}
    elif not url:
        mode, outcome = "dry run", {}
    else:
        outcome = send(url, payload)
        mode = "sent" if outcome["ok"] else "failed"
    record = {"build_id": build_id, "mode": mode, "alerts": len(alerts), "webhook_env": WEBHOOK_ENV,
              "payload": payload, **outcome}
    folder = paths.warehouse.parent / "alerts"
    write_json(folder / f"{build_id}.json", record)
    (folder / f"{build_id}.md").write_text(content or "no alert\n", encoding="utf-8")
    return {**record, "file": str(folder / f"{build_id}.json")}


def build_alert_notice(published: AssetKey):
    @asset(key=NOTICE, deps=[published], group_name="serving", pool=WRITER_POOL,
           description=f"The latest month's KPI alerts of the published build sent to the WeCom group robot at "
                       f"${WEBHOOK_ENV} (unset: a dry run); warehouse/alerts/<build id>.json keeps what was sent. "
                       f"Never fails the build.")
    def kpi_alert_notice(context: AssetExecutionContext, quanyu: QuanyuPaths) -> MaterializeResult:
        paths = quanyu.paths
        try:
            record = notify(paths)
        except (duckdb.Error, OSError) as error:  # the build is published; the notice only reports
            context.log.warning(f"KPI alert notice not produced: {type(error).__name__}: {error}")
            return MaterializeResult(metadata={"mode": "not produced", "error": str(error)[:500]})
        log = context.log.warning if record["mode"] == "failed" else context.log.info
        log(f"KPI alert notice: {record['mode']} ({record['alerts']} alert(s)); "
            f"{record.get('error', '')} record {record['file']}")
        return MaterializeResult(metadata={"mode": record["mode"], "alerts": record["alerts"],
                                           "record": MetadataValue.path(record["file"]),
                                           "build_id": record["build_id"]})

    return kpi_alert_notice

