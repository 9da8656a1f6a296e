"""Run suites with Great Expectations (GX Core 1.x) on pandas frames; keep results and Data Docs.

The GX project lives in ``$QUANYU_HOME/gx``: suites (``expectations/``), validation
definitions, every validation result (``uncommitted/validations``) and the Data Docs site
(``uncommitted/data_docs/local_site``). Rendering Data Docs costs about
a second, so it is done once per pipeline run for that run's results (by the mart gate, or by
a raw gate that rejects a file), not after every validation.

GX validates pandas frames here, not DuckDB: GX 1.24 cannot validate DuckDB through
SQLAlchemy. Frames are column-pruned by the callers. Processes share the file context, so a
session holds an exclusive file lock (Dagster may run several raw assets at once).

GX's pandas engine marks each batch with a fingerprint of the whole frame
(``hash_pandas_object`` of every value, for frames under 1 GB): at 1M members that was ~10 s of
the ~39 s mart gate, for a marker nothing reads. A session replaces it with a fingerprint of the
frame's shape, columns and dtypes (``frame_fingerprint``); the results keep the marker.
"""
from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pandas as pd

from expectations.data_docs import make_offline
from expectations.spec import Expect, Finding, SuiteSpec
from ingest.locks import exclusive
from ingest.pii import redact_text

log = logging.getLogger(__name__)

DATASOURCE = "quanyu"
KEEP_RESULTS_DAYS = 30


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """The batch marker GX stores with a result: the frame's shape, columns and dtypes, not its values."""
    import hashlib
    shape = f"{len(frame)}x{len(frame.columns)}|" + "|".join(f"{c}:{t}" for c, t in frame.dtypes.items())
    return "shape-" + hashlib.md5(shape.encode(), usedforsecurity=False).hexdigest()


def _fingerprint_frames_by_shape() -> None:
    """Point GX's pandas engine at ``frame_fingerprint`` (module docstring); an upgrade that moves the
    function leaves GX's own in place (tests/gates check the marker)."""
    from great_expectations.execution_engine import pandas_execution_engine as engine
    if callable(getattr(engine, "hash_pandas_dataframe", None)):
        engine.hash_pandas_dataframe = frame_fingerprint


def gx_dir(home: Path) -> Path:
    return home / "gx"


def data_docs_index(home: Path) -> Path:
    """Where the Data Docs site starts (open it in a browser)."""
    return gx_dir(home) / "uncommitted" / "data_docs" / "local_site" / "index.html"


def prune_results(home: Path, keep_days: int = KEEP_RESULTS_DAYS) -> int:
    """Drop validation results and their docs pages older than ``keep_days`` (nightly runs add up)."""
    cutoff = time.time() - keep_days * 86400
    removed = 0
    for base in (gx_dir(home) / "uncommitted" / "validations",
                 gx_dir(home) / "uncommitted" / "data_docs" / "local_site" / "validations"):
        if not base.exists():
            continue
        for run_dir in base.glob("*/*"):  # <suite>/<run name>
            if run_dir.is_dir() and run_dir.stat().st_mtime < cutoff:
                shutil.rmtree(run_dir, ignore_errors=True)
                removed += 1
    return removed


def _project_config(home: Path):
    """A context whose stores (suites, validation definitions, results, Data Docs) are files in
    ``$QUANYU_HOME/gx`` while its data source lives in memory.

    A file context re-parses ``great_expectations.yml``, which lists every data asset, each time
    it opens (about a second per pipeline step); the frames are passed in at run time anyway.
    """
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        FilesystemStoreBackendDefaults,
        ProgressBarsConfig,
    )

    return DataContextConfig(
        store_backend_defaults=FilesystemStoreBackendDefaults(root_directory=str(gx_dir(home))),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )


class GxSession:
    """An exclusive session on the installation's GX project (``$QUANYU_HOME/gx``).

    ``with GxSession(home, run_name) as gx_session: findings = gx_session.validate(spec, frame, table)``
    Results are stored under ``run_name`` (the Dagster run id), which ``build_docs`` renders.
    """

    def __init__(self, home: Path, run_name: str):
        self.home = Path(home)
        self.run_name = run_name

    def __enter__(self) -> GxSession:
        self._lock = exclusive(gx_dir(self.home) / ".lock")
        self._lock.__enter__()
        try:
            self._open()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self._lock.__exit__(None, None, None)

    def _open(self) -> None:
        for noisy in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier

        _fingerprint_frames_by_shape()

        self.gx = gx
        self.context = gx.get_context(project_config=_project_config(self.home))
        self.source = self.context.data_sources.add_pandas(DATASOURCE)
        self.run_id = RunIdentifier(run_name=self.run_name,
                                    run_time=dt.datetime.now(dt.UTC))

    def _batch_definition(self, name: str):
        try:
            asset = self.source.get_asset(name)
        except LookupError:
            asset = self.source.add_dataframe_asset(name)
        try:
            return asset.get_batch_definition("frame")
        except (KeyError, ValueError, LookupError):
            return asset.add_batch_definition_whole_dataframe("frame")

    def validate(self, spec: SuiteSpec, frame: pd.DataFrame, table: str) -> list[Finding]:
        """Validate ``frame`` with ``spec``; store the result and return the failures."""
        gx = self.gx
        batch_definition = self._batch_definition(spec.name)
        suite = self.context.suites.add_or_update(
            gx.ExpectationSuite(name=spec.name, expectations=[e.to_gx() for e in spec.expectations]))
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite))
        suite_result = definition.run(batch_parameters={"dataframe": frame}, result_format=_result_format(spec),
                                      run_id=self.run_id)
        by_rule = {e.rule: e for e in spec.expectations}
        findings: list[Finding] = []
        for result in suite_result.results:
            meta = result.expectation_config.meta or {}
            expect = by_rule.get(meta.get("rule"))
            if expect is None or result.success:
                continue
            findings += self._findings(spec, expect, result, frame, table, batch_definition)
        return findings

    def build_docs(self) -> Path:
        """Render this run's validation results (and the index) into the Data Docs site.

        Without results of this run (``python -m expectations --docs``) the whole site is
        rendered, and every page made to open offline; else only this run's pages and the index
        (a pass over a 4,000-page site takes ~4 s).
        """
        prune_results(self.home)
        store = self.context.validation_results_store
        keys = [k for k in store.list_keys() if getattr(k.run_id, "run_name", None) == self.run_name]
        self.context.build_data_docs(resource_identifiers=keys or None)
        index = data_docs_index(self.home)
        make_offline(index.parent, [index, *(page for _, page in self._page_paths(keys))] if keys else None)
        return index

    def pages(self) -> dict[str, Path]:
        """Render this session's validation results; returns suite name -> its page.

        A check's metadata links to the page of the validation that judged it. Only this
        session's pages are rendered, not the index (which lists every kept result and is
        rebuilt once per run by ``build_docs``): a few tenths of a second per table.
        """
        store = self.context.validation_results_store
        keys = [k for k in store.list_keys() if k.run_id == self.run_id]
        if not keys:
            return {}
        self.context.build_data_docs(resource_identifiers=keys, build_index=False)
        rendered = self._page_paths(keys)
        make_offline(data_docs_index(self.home).parent, [page for _, page in rendered])
        return dict(rendered)

    def _page_paths(self, keys: list) -> list[tuple[str, Path]]:
        """(suite name, rendered page) of each validation result key, in the local site."""
        found = []
        for key in keys:
            for site in self.context.get_docs_sites_urls(resource_identifier=key, only_if_exists=True):
                url = site.get("site_url") or ""
                if url.startswith("file://"):
                    found.append((key.expectation_suite_identifier.name, Path(unquote(url[len("file://"):]))))
        return found

    def _findings(self, spec: SuiteSpec, expect: Expect, result: Any, frame: pd.DataFrame, table: str,
                  batch_definition: Any) -> list[Finding]:
        """Attribute one failed expectation to subjects (files or tables), exactly when it blocks."""
        subject_column = spec.subject_column
        subjects = list(frame[subject_column].dropna().unique()) if subject_column and len(frame) else []

        def finding(subject: str, blocking: bool, detail: str) -> Finding:
            owner = subject if spec.subject_kind == "table" else table
            return Finding(owner, subject, expect.check, expect.rule, blocking, detail)

        if len(subjects) <= 1:
            subject = str(subjects[0]) if subjects else table
            return [finding(subject, expect.blocking, describe_failure(expect, result, frame))]
        if not expect.blocking:
            named = sorted({str(row.get(subject_column)) for row in
                            (result.result or {}).get("partial_unexpected_index_list") or []
                            if isinstance(row, dict) and row.get(subject_column) is not None})
            return [finding(subject, False, describe_failure(expect, result, frame[frame[subject_column] == subject]))
                    for subject in named] or [Finding(table, table, expect.check, expect.rule, False,
                                                      describe_failure(expect, result, frame))]
        # A blocking failure names every file it applies to, checked file by file: it decides what
        # is rejected, and a batch-level count can hide a small bad file among good ones.
        findings = []
        for subject in subjects:
            part = frame[frame[subject_column] == subject]
            batch = batch_definition.get_batch(batch_parameters={"dataframe": part})
            part_result = batch.validate(expect.to_gx(), result_format=_result_format(spec))
            if not part_result.success:
                findings.append(finding(str(subject), True, describe_failure(expect, part_result, part)))
        return findings


def _result_format(spec: SuiteSpec) -> dict[str, Any]:
    fmt: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
    if spec.subject_column:
        fmt["unexpected_index_column_names"] = [spec.subject_column]
    return fmt


def _text(value: Any) -> str:
    """An example value for a finding, masked (``ingest.pii.redact_text``, the one masking function)."""
    return f"{value:.4g}" if isinstance(value, float) else redact_text(f"{value}")


def _examples(values: list[Any], limit: int = 3) -> str:
    shown = []
    for value in values:
        text = ", ".join(_text(v) for v in value.values()) if isinstance(value, dict) else _text(value)
        if text not in shown:
            shown.append(text)
        if len(shown) == limit:
            break
    return "; ".join(shown)


def describe_failure(expect: Expect, result: Any, frame: pd.DataFrame) -> str:
    """A short, specific sentence: what was found, then what was expected."""
    info = getattr(result, "exception_info", None) or {}
    if info.get("raised_exception"):
        return f"could not be evaluated ({str(info.get('exception_message'))[:200]}); expected: {expect.describe}"
    details = getattr(result, "result", None) or {}
    if expect.type == "ExpectCompoundColumnsToBeUnique":
        key = [c for c in expect.kwargs["column_list"] if not c.startswith("_")]
        present = [c for c in key if c in frame.columns]
        duplicated = frame[frame.duplicated(subset=expect.kwargs["column_list"], keep="first")]
        examples = _examples(duplicated[present].head(20).to_dict("records")) if present else ""
        return (f"{len(duplicated)} duplicated {', '.join(key)}" + (f" (e.g. {examples})" if examples else "")
                + f"; expected: {expect.describe}")
    if expect.type == "ExpectColumnValuesToBeUnique":
        column = expect.kwargs["column"]
        duplicated = frame[frame.duplicated(subset=[column], keep="first")] if column in frame else frame.iloc[:0]
        examples = _examples(duplicated[column].head(20).tolist()) if column in frame else ""
        return f"{len(duplicated)} duplicated {column} (e.g. {examples}); expected: {expect.describe}"
    if "unexpected_count" in details:
        count = details.get("unexpected_count")
        examples = _examples(details.get("partial_unexpected_list") or [])
        if len(frame) == 1 and expect.column:
            return f"{expect.column} = {examples or 'null'}; expected: {expect.describe}"
        return (f"{count} unexpected value(s) of {expect.column}" + (f" (e.g. {examples})" if examples else "")
                + f"; expected: {expect.describe}")
    observed = details.get("observed_value")
    if observed is not None:
        return f"observed {observed}; expected: {expect.describe}"
    return f"expected: {expect.describe}"


def build_data_docs(home: Path, run_name: str) -> Path:
    """Render the Data Docs for one run's results; returns the site's index page."""
    with GxSession(home, run_name) as session:
        return session.build_docs()
