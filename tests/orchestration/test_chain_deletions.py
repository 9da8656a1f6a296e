"""Files taken out of the lake after a publish: the order chain incremental by change deletes what left.

A copy of the session's published installation loses a Tmall order report and a POS month (taken out of
the lake with ``ingest.lake.reject``, as the raw gate does, and out of the landing folder); the next
``build_all`` (the nightly) stages the vanished loads away, and the chain (int_orders__unioned,
fct_orders, fct_order_lines; macros/incremental_by_change.sql) must follow: each staging model notes the
deletion in ``meta.deletions``, each chain model reads all of that parent once, deletes the orders no
staging row holds and notes its own deletion; the lines of the Tmall orders that left keep their item
rows and lose their order (``has_order`` false). Then a full refresh of the same installation: every
relation equal, as in tests/orchestration/test_nightly.py.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.engine import file_sha256
from ingest.lake import reject
from orchestration.publish import FULL_REFRESH_TAG
from tests.gates.conftest import copy_home, use_home
from tests.orchestration.nightly_chain import _build_all
from tests.orchestration.test_nightly import ORDER_CHAIN, REFRESH_NOT_COMPARED, REFRESH_NOT_COMPARED_COLUMNS, _compare

GONE = {"tmall_orders": "tmall/orders", "pos_sales": "pos/sales"}  # raw table -> landing folder


@pytest.fixture(scope="module")
def taken_out(published, tmp_path_factory):
    root = tmp_path_factory.mktemp("chain_deletions")
    paths = copy_home(published, root / "home")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        before = {chain: con.execute(f"select count(*) from {chain}").fetchone()[0] for chain in ORDER_CHAIN}
        orphans_before = con.execute("select count(*) from marts.fct_order_lines where not has_order").fetchone()[0]
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_home(monkeypatch, paths)
        for table, folder in GONE.items():
            landing = sorted(p for p in (paths.landing / folder).rglob("*") if p.is_file() and p.suffix == ".csv")[0]
            reject(paths, table, file_sha256(landing), {"why": "test: taken out of the lake"})
            landing.unlink()
        run, started = _build_all(paths)
        nightly = root / "nightly.duckdb"
        nightly.write_bytes(paths.warehouse.read_bytes())
        refresh, _ = _build_all(paths, {FULL_REFRESH_TAG: "true"})
    return {"paths": paths, "run": run, "started": started, "nightly": nightly, "refresh": refresh,
            "before": before, "orphans_before": orphans_before}


def test_the_nightly_after_files_left_the_lake_publishes(taken_out):
    assert taken_out["run"].success, taken_out["run"].failures
    assert all(f"{chain} (copied: " in taken_out["started"][0] for chain in ORDER_CHAIN), taken_out["started"]


def test_each_model_notes_the_build_that_deleted_rows(taken_out):
    with duckdb.connect(str(taken_out["nightly"]), read_only=True) as con:
        noted = {model for (model,) in con.execute("select model from meta.deletions").fetchall()}
        after = {chain: con.execute(f"select count(*) from {chain}").fetchone()[0] for chain in ORDER_CHAIN}
        orphans = con.execute("select count(*) from marts.fct_order_lines where not has_order").fetchone()[0]
    assert {"staging.stg_tmall__orders", "staging.stg_pos__sales", *ORDER_CHAIN} <= noted
    assert all(after[chain] < taken_out["before"][chain] for chain in ORDER_CHAIN), (taken_out["before"], after)
    assert orphans > taken_out["orphans_before"]  # the item rows of the Tmall orders that left stay, orderless


def test_every_table_equals_a_full_refresh_after_files_left_the_lake(taken_out):
    assert taken_out["refresh"].success, taken_out["refresh"].failures
    compared, differing = _compare(Path(taken_out["nightly"]), taken_out["paths"].warehouse, REFRESH_NOT_COMPARED,
                                   REFRESH_NOT_COMPARED_COLUMNS)
    assert compared > 100 and differing == {}, differing
