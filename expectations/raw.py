"""Raw-table gates, generated from the channel contracts.

A new channel gets its suites by declaring its contract: the business key, amount, mobile,
timestamp and count columns all come from there; ``rules.yml`` adds code lists (from the dbt
seeds) and exceptions such as signed amounts. Three suites per table:

* ``raw.<table>.rows``: the rows of the files being gated (keys, values);
* ``raw.<table>.files``: one row per file, profiled from the load ledger and the rows
  (empty export, quarantined share, dropped columns, mis-decoded text, row
  count against the recent files of the same export);
* ``raw.<table>.table``: one row for the whole table (freshness).

Gating is per landing file. Every file in the ledger is gated once, whether Dagster or the
ingest CLI loaded it. The gate judges and the lake acts: ``judge_raw_table`` returns a verdict
per file and touches no lake file; the acting step (``orchestration.ingest_steps``) keeps a
passing verdict (``$QUANYU_HOME/gx/verdicts``) and has the lake take a failing file back out
(``lake/rejected/<table>/`` with its verdict), both through ``ingest.lake``, which owns the
lake's files. So the lake only ever holds gated files and dbt never reads a rejected export;
its landing file stays where it is and is rejected again on every run until it is fixed or
removed, which keeps publication stopped until a person has looked.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from expectations.gx_runner import GxSession
from expectations.rules import RawRules, raw_rules
from expectations.spec import Expect, Finding, GateFindings, SuiteSpec
from ingest import lake
from ingest.contract import Contract
from ingest.coverage import absent_reason
from ingest.settings import Paths, business_now, declared_channels

MOBILE_STATUSES = ["valid", "placeholder", "masked", "landline", "invalid"]
TABULAR_FORMATS = {"csv", "excel"}
# Text decoded with the wrong code page: runs of Latin-1 supplement / C1 characters (GBK or
# UTF-8 bytes read as Latin-1), NUL (UTF-16 read as 8-bit) or the replacement character.
GARBLED_TEXT = r"[\x{80}-\x{ff}]{2,}|[\x{0}\x{fffd}]"
NEVER_LOADED_AGE_DAYS = 99999.0


# ---------------------------------------------------------------- suites


def _code_columns(contract: Contract, rules: RawRules) -> dict[str, frozenset[str]]:
    landed = {name for name in contract.data_schema.names}
    unknown = set(rules.codes) - landed
    if unknown:
        raise ValueError(f"expectations/rules.yml: raw.{contract.table}.codes names columns the contract "
                         f"does not land: {sorted(unknown)}")
    return dict(rules.codes)


def rows_suite(contract: Contract, rules: RawRules, now: dt.datetime) -> SuiteSpec:
    table = contract.table
    key = list(contract.key)
    required = {c.name for c in contract.required}
    expects: list[Expect] = []
    for column in key:
        if column in required:
            expects.append(Expect("gx_keys", f"{column}_not_null", "ExpectColumnValuesToNotBeNull",
                                  {"column": column}, f"every row has its {column} (part of the business key)"))
    expects.append(Expect(
        "gx_keys", "key_unique_within_file", "ExpectCompoundColumnsToBeUnique",
        {"column_list": ["_file_sha256", *key]},
        f"no two rows of one export file have the same {', '.join(key)} (a duplicate within a file is an export "
        f"bug; the same key in two files is overlap, which staging resolves)"))
    latest = now + dt.timedelta(days=rules.future_tolerance_days)
    earliest = dt.datetime.fromisoformat(rules.earliest_timestamp)
    columns = ["_source_file", "_file_sha256", *key]
    for column in contract.loaded_columns:
        name = column.name
        if column.type in ("amount", "amount_fen") and name not in rules.signed:
            expects.append(Expect("gx_values", f"{name}_not_negative", "ExpectColumnValuesToBeBetween",
                                  {"column": name, "min_value": 0}, f"{name} is not negative"))
            columns.append(name)
        elif column.type == "mobile":
            expects.append(Expect("gx_values", f"{name}_status_known", "ExpectColumnValuesToBeInSet",
                                  {"column": f"{name}_status", "value_set": MOBILE_STATUSES},
                                  f"{name}_status is one of {', '.join(MOBILE_STATUSES)}"))
            columns.append(f"{name}_status")
        elif column.type in ("timestamp", "date"):
            bounds = {"column": name, "min_value": earliest}
            if name not in rules.future_ok:
                bounds["max_value"] = latest
            window = (f"between {earliest:%Y-%m-%d} and {latest:%Y-%m-%d %H:%M}" if name not in rules.future_ok
                      else f"after {earliest:%Y-%m-%d}")
            expects.append(Expect("gx_drift", f"{name}_in_window", "ExpectColumnValuesToBeBetween", bounds,
                                  f"{name} is {window} (Beijing time)"))
            columns.append(name)
        elif column.type == "int" and name not in rules.signed and name not in rules.codes:
            expects.append(Expect("gx_drift", f"{name}_not_negative", "ExpectColumnValuesToBeBetween",
                                  {"column": name, "min_value": 0}, f"{name} is not negative"))
            columns.append(name)
    for name, values in sorted(_code_columns(contract, rules).items()):
        expects.append(Expect("gx_drift", f"{name}_codes_known", "ExpectColumnValuesToBeInSet",
                              {"column": name, "value_set": sorted(values)},
                              f"{name} (trimmed, lower case) is a value listed in the dbt seeds (a warning: the "
                              f"row loads and staging maps the value to 'unknown' until the seed lists it)"))
        columns.append(name)
    return SuiteSpec(f"raw.{table}.rows", "_source_file", tuple(expects), tuple(dict.fromkeys(columns)))


def files_suite(contract: Contract, rules: RawRules) -> SuiteSpec:
    table = contract.table
    expects: list[Expect] = []
    if not rules.may_be_empty:
        # A header-only file is what a failed export looks like, and also what a month without sales on
        # a small channel looks like. It blocks only where the export's own history makes zero rows
        # implausible (recent files had a median of min_rows_for_shares+ rows: P(0) < 1e-8 for a Poisson
        # count of 20); elsewhere it loads with a warning.
        expects.append(Expect("gx_volume", "not_empty_where_rows_are_expected", "ExpectColumnValuesToBeNull",
                              {"column": "empty_though_recent_had_rows"},
                              f"the export file loads at least one row when the recent files of the same export "
                              f"had a median of {rules.min_rows_for_shares}+ rows (a header-only file is then a "
                              f"failed export)"))
        expects.append(Expect("gx_volume_change", "file_has_rows", "ExpectColumnValuesToBeBetween",
                              {"column": "rows_loaded", "min_value": 1},
                              "the export file loads at least one row (a warning where its history cannot tell a "
                              "failed export from a period without records)"))
    expects += [
        Expect("gx_volume", "most_rows_loaded", "ExpectColumnValuesToBeBetween",
               {"column": "quarantine_share", "max_value": rules.max_quarantine_share},
               f"at most {rules.max_quarantine_share:.0%} of the file's rows are quarantined "
               f"(files of {rules.min_rows_for_shares}+ rows)"),
        Expect("gx_schema", "required_columns_present", "ExpectColumnValuesToBeNull",
               {"column": "absent_required_columns"}, "every required contract column is in the file"),
        Expect("gx_schema", "no_column_dropped", "ExpectColumnValuesToBeNull", {"column": "dropped_columns"},
               "every column the previous file of the same export had is still there (CSV/Excel)"),
        Expect("gx_values", "text_decodes_cleanly", "ExpectColumnValuesToBeBetween",
               {"column": "garbled_text_share", "max_value": rules.max_garbled_text_share},
               f"at most {rules.max_garbled_text_share:.0%} of text cells look mis-decoded (mojibake, NUL, U+FFFD)"),
        Expect("gx_drift", "optional_values_usable", "ExpectColumnValuesToBeBetween",
               {"column": "cell_issue_share", "max_value": rules.max_cell_issue_share},
               f"at most {rules.max_cell_issue_share:.0%} of the loaded rows had an optional value nulled or "
               f"neutralised (the reasons are in the raw rows' _cell_issues; files of {rules.min_rows_for_shares}+ "
               f"rows)"),
    ]
    change = rules.row_change
    expects += [
        Expect("gx_volume_change", "row_count_near_recent", "ExpectColumnValuesToBeBetween",
               {"column": "rows_vs_recent", "min_value": change.min_ratio, "max_value": change.max_ratio},
               f"rows within {change.min_ratio}x-{change.max_ratio}x of the median of the last {change.history} "
               f"files of the same export"),
        Expect("gx_drift", "no_unmapped_headers", "ExpectColumnValuesToBeNull", {"column": "unmapped_columns"},
               "every header of the file is known to the contract (a renamed column shows up here)"),
    ]
    return SuiteSpec(f"raw.{table}.files", "source_file", tuple(expects))


def table_suite(contract: Contract, rules: RawRules) -> SuiteSpec:
    expects = [Expect("gx_freshness", "loaded_recently", "ExpectColumnValuesToBeBetween",
                      {"column": "load_age_days", "max_value": rules.load_fresh_within_days},
                      f"a file of this table was loaded in the last {rules.load_fresh_within_days} day(s)")]
    for column, days in sorted(rules.event_fresh_within_days.items()):
        expects.append(Expect("gx_freshness", f"{column}_recent", "ExpectColumnValuesToBeBetween",
                              {"column": f"{column}_age_days", "max_value": days},
                              f"the newest {column} is at most {days} day(s) old"))
    return SuiteSpec(f"raw.{contract.table}.table", None, tuple(expects))


def suites(contract: Contract, now: dt.datetime | None = None) -> list[SuiteSpec]:
    rules = raw_rules(contract.table)
    now = now or business_now()
    return [rows_suite(contract, rules, now), files_suite(contract, rules), table_suite(contract, rules)]


# ---------------------------------------------------------------- frames


def rows_frame(paths: Paths, contract: Contract, spec: SuiteSpec, shas: list[str]) -> pd.DataFrame:
    """The gated files' rows, only the columns the suite reads; codes normalised as staging does."""
    rules = raw_rules(contract.table)
    types = {c.name: c.type for c in contract.loaded_columns}
    select = []
    for column in spec.columns:
        if column in rules.codes:
            select.append(f'lower(trim(cast("{column}" as varchar))) as "{column}"')
        elif types.get(column) in ("timestamp", "date"):
            select.append(f'cast("{column}" as timestamp) as "{column}"')
        else:
            select.append(f'"{column}"')
    with duckdb.connect() as con:
        return con.execute(f"select {', '.join(select)} from {lake.raw_relation(paths, contract.table, shas)}").df()


def _series(source_file: str) -> str:
    """Files of one export series differ only in their digits (dates, page numbers)."""
    return re.sub(r"\d+", "#", source_file)


def _json_list(text: str | None) -> list[str]:
    return list(json.loads(text)) if text else []


def files_frame(paths: Paths, contract: Contract, entries: pd.DataFrame, shas: list[str]) -> pd.DataFrame:
    """One row per gated file: ledger counts plus what the rows and the export's history say."""
    rules = raw_rules(contract.table)
    required = {c.name for c in contract.required}
    stats = _row_stats(paths, contract, shas)
    rows = []
    history: dict[str, list[int]] = {}
    previous_columns: dict[str, set[str]] = {}
    wanted = set(shas)
    for entry in entries.itertuples(index=False):
        series = _series(entry.source_file)
        mapped = set(json.loads(entry.mapped_columns or "{}"))
        if entry.file_sha256 in wanted:
            recent = history.get(series, [])[-rules.row_change.history:]
            median = statistics.median(recent) if len(recent) >= rules.row_change.min_history else None
            before = previous_columns.get(series)
            dropped = sorted(before - mapped) if before is not None and entry.file_format in TABULAR_FORMATS else []
            absent_required = sorted(required & set(_json_list(entry.absent_columns)))
            unmapped = _json_list(entry.unmapped_columns)
            stat = stats.get(entry.file_sha256, {})
            row = {
                "source_file": entry.source_file,
                "file_sha256": entry.file_sha256,
                "file_format": entry.file_format,
                "rows_read": int(entry.rows_read),
                "rows_loaded": int(entry.rows_loaded),
                "rows_quarantined": int(entry.rows_quarantined),
                "quarantine_share": (entry.rows_quarantined / entry.rows_read
                                     if entry.rows_read >= rules.min_rows_for_shares else None),
                "absent_required_columns": ", ".join(absent_required) or None,
                "dropped_columns": ", ".join(dropped) or None,
                "unmapped_columns": ", ".join(unmapped) or None,
                "recent_median_rows": median,
                "rows_vs_recent": (entry.rows_read / median) if median else None,
                "empty_though_recent_had_rows": (
                    f"0 rows loaded; the last {len(recent)} files of this export had a median of {median:g} rows"
                    if entry.rows_loaded == 0 and median is not None and median >= rules.min_rows_for_shares
                    else None),
                "garbled_text_share": (stat["garbled"] / stat["text_cells"]) if stat.get("text_cells") else None,
                "cell_issue_share": (stat["cell_issue_rows"] / entry.rows_loaded
                                     if entry.rows_loaded >= rules.min_rows_for_shares and "cell_issue_rows" in stat
                                     else None),
            }
            rows.append(row)
        history.setdefault(series, []).append(int(entry.rows_read))
        previous_columns[series] = mapped
    frame = pd.DataFrame(rows)
    floats = ["quarantine_share", "recent_median_rows", "rows_vs_recent", "garbled_text_share", "cell_issue_share"]
    for column in floats:
        if column in frame:
            frame[column] = frame[column].astype("float64")
    return frame


def _row_stats(paths: Paths, contract: Contract, shas: list[str]) -> dict[str, dict]:
    """Per file: text cells, mis-decoded text cells, rows with a nulled optional value."""
    if not lake.has_raw(paths, contract.table, shas):
        return {}
    text = [c.name for c in contract.loaded_columns if c.type == "string"]
    parts = ["_file_sha256", 'count("_cell_issues") as cell_issue_rows']
    if text:
        parts.append(" + ".join(f'count("{c}")' for c in text) + " as text_cells")
        parts.append(" + ".join(f'count(*) filter (where regexp_matches("{c}", $garbled))' for c in text)
                     + " as garbled")
    query = f"select {', '.join(parts)} from {lake.raw_relation(paths, contract.table, shas)} group by 1"
    with duckdb.connect() as con:
        result = con.execute(query, {"garbled": GARBLED_TEXT} if text else {})
        names = [d[0] for d in result.description]
        return {row[0]: dict(zip(names, row)) for row in result.fetchall()}


def unmapped_codes(paths: Paths, contract: Contract, shas: list[str]) -> list[dict]:
    """Every code value of the files ``shas`` that the dbt seeds do not list, with its row count.

    Values are compared trimmed and in lower case, as staging maps them; the value is shown as
    exported (code columns hold statuses and channel names, never personal data).
    """
    rules = raw_rules(contract.table)
    if not rules.codes or not shas:
        return []
    parts = []
    for code in sorted(_code_columns(contract, rules)):
        known = ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(rules.codes[code]))
        parts.append(f"""select '{code}' as "column", cast("{code}" as varchar) as value, _source_file as source_file
            from {lake.raw_relation(paths, contract.table, shas)}
            where "{code}" is not null and lower(trim(cast("{code}" as varchar))) not in ({known})""")
    query = (f"select \"column\", value, count(*) as rows, count(distinct source_file) as files, "
             f"min(source_file) as example_file from ({' union all '.join(parts)}) group by 1, 2 order by 1, 3 desc, 2")
    with duckdb.connect() as con:
        result = con.execute(query)
        names = [d[0] for d in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def table_frame(paths: Paths, contract: Contract, entries: pd.DataFrame, now: dt.datetime) -> pd.DataFrame:
    """One row: how old the newest load and the newest events of the table are, in days."""
    rules = raw_rules(contract.table)
    row: dict[str, object] = {"table": contract.table}
    newest = entries["loaded_at"].max() if len(entries) else None
    # an export the brand does not have has nothing to be fresh (ingest/coverage.py): null ages pass
    absent = newest is None and absent_reason(contract, 0, declared_channels()) is not None
    row["load_age_days"] = (None if absent else (now - newest).total_seconds() / 86400 if newest is not None
                            else NEVER_LOADED_AGE_DAYS)
    for column in sorted(rules.event_fresh_within_days):
        if absent:
            row[f"{column}_age_days"] = None
            continue
        with duckdb.connect() as con:
            latest = con.execute(f'select max(cast("{column}" as timestamp)) from '
                                 f"{lake.raw_relation(paths, contract.table)}").fetchall()[0][0]
        row[f"{column}_age_days"] = ((now - latest).total_seconds() / 86400) if latest else NEVER_LOADED_AGE_DAYS
    return pd.DataFrame([row]).astype({k: "float64" for k in row if k != "table"})


# ---------------------------------------------------------------- verdicts


def _stamp(value: object) -> str:
    return pd.Timestamp(value).isoformat()


def _passed(paths: Paths, table: str, sha: str, loaded_at: object) -> bool:
    verdict = lake.read_verdict(paths, table, sha)
    return bool(verdict) and verdict.get("loaded_at") == _stamp(loaded_at) and verdict.get("passed", False)


def ungated(paths: Paths, table: str, entries: pd.DataFrame) -> list[str]:
    """SHA-256 of ledger files with no verdict for their current load (new, reloaded, or CLI-loaded)."""
    return [e.file_sha256 for e in entries.itertuples(index=False)
            if not _passed(paths, table, e.file_sha256, e.loaded_at)]


def gated(paths: Paths, table: str) -> list[str]:
    """SHA-256 of ledger files that passed the gate in their current load: what compaction may merge."""
    return [e.file_sha256 for e in lake.ledger_entries(paths, table).itertuples(index=False)
            if _passed(paths, table, e.file_sha256, e.loaded_at)]


@dataclass(frozen=True)
class FileVerdict:
    """The gate's judgement on one landing file; ``record`` is what the lake keeps about it
    (``ingest.lake.record_verdict`` for a pass, beside the rejected rows for a failure)."""

    source_file: str
    file_sha256: str
    passed: bool
    record: dict


@dataclass
class GatePlan:
    """Which files of a table the gate must judge, read from the ledger and the verdicts.

    The gate reads a file's rows where they are, loose or in a segment (``lake.raw_relation``):
    loads commit groups of small files as segments, and writing each back before judging it would
    undo that. Only a rejected file is written back, by ``lake.reject``.
    """

    table: str
    entries: pd.DataFrame
    shas: list[str]


def plan_raw_gate(contract: Contract, paths: Paths) -> GatePlan:
    """Every file of the table without a passing verdict for its current load."""
    entries = lake.ledger_entries(paths, contract.table)
    return GatePlan(contract.table, entries, ungated(paths, contract.table, entries))


@dataclass
class RawGateResult(GateFindings):
    """What the gate found for one table in one run: its verdicts, for the acting step to carry out."""

    table: str
    gated_files: list[str] = field(default_factory=list)
    rejected_files: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)  # SHA-256 of every file with a passing verdict after this run
    findings: list[Finding] = field(default_factory=list)
    suites: list[str] = field(default_factory=list)
    unmapped_codes: list[dict] = field(default_factory=list)  # column, value, rows, files, example_file
    verdicts: list[FileVerdict] = field(default_factory=list)  # one per gated file
    pages: dict[str, Path] = field(default_factory=dict)  # suite name -> its Data Docs page for this run


def judge_raw_table(contract: Contract, paths: Paths, plan: GatePlan, run_name: str) -> RawGateResult:
    """Validate the planned files and the table's freshness; return a verdict per file.

    Judges only: it moves, deletes and writes no lake file and no verdict (the acting step,
    ``orchestration.ingest_steps``, does, through ``ingest.lake``).
    """
    now = business_now()
    rows_spec, files_spec, table_spec = suites(contract, now)
    entries, shas = plan.entries, plan.shas
    pending = set(shas)
    result = RawGateResult(contract.table, passed=[sha for sha in entries["file_sha256"] if sha not in pending])
    labels = dict(zip(entries["file_sha256"], entries["source_file"]))
    with GxSession(paths.home, run_name) as session:
        if shas:
            result.gated_files = [labels[s] for s in shas]
            result.findings += session.validate(rows_spec, rows_frame(paths, contract, rows_spec, shas), contract.table)
            result.findings += session.validate(files_spec, files_frame(paths, contract, entries, shas), contract.table)
            result.suites += [rows_spec.name, files_spec.name]
            result.unmapped_codes = unmapped_codes(paths, contract, shas)
        result.findings += session.validate(table_spec, table_frame(paths, contract, entries, now), contract.table)
        result.suites.append(table_spec.name)
        # pages for the checks to link (0.5-1 s per table): when files were judged or something failed
        result.pages = session.pages() if shas or result.findings else {}
    by_file: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_file.setdefault(finding.subject, []).append(finding)
    loaded_at = {sha: _stamp(at) for sha, at in zip(entries["file_sha256"], entries["loaded_at"])}
    for sha in shas:
        label = labels[sha]
        findings = by_file.get(label, [])
        failures = [f.message() for f in findings if f.blocking]
        warnings = [f.message() for f in findings if not f.blocking]
        if failures:
            record = {"table": contract.table, "source_file": label, "file_sha256": sha,
                      "rejected_at": now.isoformat(sep=" "), "failures": failures, "warnings": warnings}
            result.rejected_files.append(label)
        else:
            record = {"source_file": label, "file_sha256": sha, "loaded_at": loaded_at[sha], "passed": True,
                      "gated_at": now.isoformat(sep=" "), "run": run_name, "warnings": warnings}
            result.passed.append(sha)
        result.verdicts.append(FileVerdict(label, sha, not failures, record))
    return result
