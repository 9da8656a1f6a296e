"""Great Expectations gates as Dagster asset checks.

Each gate check of ``expectations.checks`` is one asset check on every raw asset and every
mart asset, blocking or not as declared there. A failing blocking check stops everything
downstream: a raw table's failure stops the dbt build, a mart's failure stops publication.
The step then fails with a message naming the table, the file and the check, e.g.
``tmall_orders: file tmall/orders/x.csv: check gx_keys failed: key_unique_within_file: 12
duplicated order_id``; gate rejections are final for the run (no retry).
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from expectations.checks import CHECKS
from expectations.spec import Finding, SuiteSpec

MAX_LISTED = 30


def check_specs(key: AssetKey) -> list[AssetCheckSpec]:
    return [AssetCheckSpec(name, asset=key, blocking=check.blocking, description=check.description)
            for name, check in CHECKS.items()]


def _markdown(findings: list[Finding]) -> str:
    lines = [f"- {'**blocking**' if f.blocking else 'warning'}: {f.message()}" for f in findings[:MAX_LISTED]]
    if len(findings) > MAX_LISTED:
        lines.append(f"- ... and {len(findings) - MAX_LISTED} more")
    return "\n".join(lines) or "none"


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """``rows`` as a Markdown table (the first MAX_LISTED), for check metadata."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")).replace("|", "/") for c in columns) + " |"
              for row in rows[:MAX_LISTED]]
    if len(rows) > MAX_LISTED:
        lines.append(f"| ... and {len(rows) - MAX_LISTED} more |" + " |" * (len(columns) - 1))
    return "\n".join(lines)


def check_results(key: AssetKey, findings: Iterable[Finding], metadata: dict | None = None,
                  only: set[str] | None = None, per_check: dict[str, dict] | None = None) -> list[AssetCheckResult]:
    """One result per gate check of ``key``: passed unless a finding of that check failed it;
    ``per_check`` adds metadata to one check's result (by check name)."""
    findings = list(findings)
    results = []
    for name, check in CHECKS.items():
        if only is not None and name not in only:
            continue
        mine = [f for f in findings if f.check == name]
        failed = [f for f in mine if f.blocking] if check.blocking else mine
        results.append(AssetCheckResult(
            asset_key=key, check_name=name, passed=not failed,
            severity=AssetCheckSeverity.ERROR if check.blocking else AssetCheckSeverity.WARN,
            description=failed[0].message()[:1000] if failed else None,
            metadata={"findings": MetadataValue.md(_markdown(mine)), "failed": len(failed),
                      **(metadata or {}), **(per_check or {}).get(name, {})}))
    return results


def failure_message(headline: str, lines: list[str]) -> str:
    shown = lines[:MAX_LISTED] + ([f"... and {len(lines) - MAX_LISTED} more"] if len(lines) > MAX_LISTED else [])
    return headline + "\n" + "\n".join(f"- {line}" for line in shown)


def check_page(check: str, findings: Iterable[Finding], specs: list[SuiteSpec], pages: dict[str, Path]) -> Path | None:
    """The Data Docs page a check's result links to: the validation of its first failure, else
    the first validation of this run holding one of its expectations; None if none was rendered."""
    suite_of_rule = {e.rule: spec.name for spec in specs for e in spec.expectations}
    for finding in findings:
        if finding.check == check and suite_of_rule.get(finding.rule) in pages:
            return pages[suite_of_rule[finding.rule]]
    for spec in specs:
        if spec.name in pages and any(e.check == check for e in spec.expectations):
            return pages[spec.name]
    return None
