"""The served file copied ahead of the build, beside the raw steps (orchestration.publish.start_prefetch).

A build takes the copy only when the served file is still the one copied; a copy nobody takes is
deleted at the run's end, and one a killed run left is pruned by the next build.
"""
import os

import pytest

from orchestration import publish
from orchestration.publish import (
    _copy_for_build,
    build_root,
    cancel_prefetch,
    prefetch_folder,
    prune_old_builds,
    rekey_seed,
    start_prefetch,
    take_prefetch,
)


@pytest.fixture()
def served(home, monkeypatch):
    monkeypatch.setattr(publish, "PREFETCH_CHUNK", 1 << 16)  # many chunks: the loop, not one call
    home.warehouse.write_bytes(os.urandom(1 << 20) + b"served")
    return home


def test_the_build_takes_the_copy_made_ahead(served, tmp_path):
    assert start_prefetch(served, "run-1") is not None
    assert start_prefetch(served, "run-1") is None  # once per run
    target = tmp_path / "build.duckdb"
    how = _copy_for_build(served, "run-1", served.warehouse, target)
    assert "ahead of the build" in how
    assert target.read_bytes() == served.warehouse.read_bytes()
    assert not prefetch_folder(served, "run-1").exists()
    assert take_prefetch(served, "run-1", served.warehouse) is None  # taken once


def test_a_served_file_published_meanwhile_is_copied_again(served, tmp_path):
    prefetch = start_prefetch(served, "run-1")
    prefetch.thread.join()  # the copy read the file served then
    newer = served.warehouse.with_name("newer.duckdb")
    newer.write_bytes(b"a build published by another run")
    os.replace(newer, served.warehouse)  # what publish does
    target = tmp_path / "build.duckdb"
    how = _copy_for_build(served, "run-1", served.warehouse, target)
    assert "ahead of the build" not in how
    assert target.read_bytes() == b"a build published by another run"
    assert not prefetch_folder(served, "run-1").exists()


def test_a_copy_no_build_took_is_deleted_at_the_end_of_the_run(served):
    assert start_prefetch(served, "run-1") is not None
    cancel_prefetch(served, "run-1")
    assert not prefetch_folder(served, "run-1").exists()
    assert take_prefetch(served, "run-1", served.warehouse) is None
    cancel_prefetch(served, "run-1")  # nothing left to cancel


def test_a_killed_run_s_copy_is_pruned_by_the_next_build(served):
    left = prefetch_folder(served, "run-killed")
    left.mkdir(parents=True)
    (left / served.warehouse.name).write_bytes(b"half a copy")
    failed = build_root(served) / "run-failed"
    failed.mkdir()
    (failed / served.warehouse.name).write_bytes(b"a failed build's file")
    assert start_prefetch(served, "run-2") is not None  # prunes what prepare_build would, first
    assert not left.exists() and not (failed / served.warehouse.name).exists() and failed.exists()
    assert prune_old_builds(served, spare_prefetch="run-2") == []  # its own copy is spared
    assert take_prefetch(served, "run-2", served.warehouse) is not None
    assert prune_old_builds(served) == [prefetch_folder(served, "run-2")]


def test_nothing_is_copied_ahead_without_a_served_file_or_with_a_rekey_seed(home, served):
    seed = rekey_seed(served)
    seed.parent.mkdir(parents=True)
    seed.write_bytes(b"seed")
    assert start_prefetch(served, "run-1") is None  # the build starts from the seed
    seed.unlink()
    served.warehouse.unlink()
    assert start_prefetch(served, "run-1") is None
    assert not prefetch_folder(served, "run-1").exists()


def test_runs_that_build_the_warehouse_copy_ahead_and_the_others_do_not():
    from dagster import AssetKey, DagsterRun

    from orchestration.resources import builds_warehouse

    def run(job: str, **kwargs) -> DagsterRun:
        return DagsterRun(job_name=job, run_id="r", **kwargs)

    raw = AssetKey(["raw", "pos_sales"])
    assert builds_warehouse(run("build_all"))  # the nightly
    assert not builds_warehouse(run("ingest"))  # the landing sensor's loads
    assert not builds_warehouse(run("__ASSET_JOB", asset_selection=frozenset({raw})))
    assert builds_warehouse(run("__ASSET_JOB", asset_selection=frozenset({raw, AssetKey(["marts", "fct_orders"])})))
    assert not builds_warehouse(run("build_all", step_keys_to_execute=["raw_pos_sales"]))  # a re-execution
    assert builds_warehouse(run("build_all", step_keys_to_execute=["quanyu_dbt", "mart_gates"]))
