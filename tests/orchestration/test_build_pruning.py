"""Disk a nightly needs: before a build starts, older failed builds go and the kept one loses its
warehouse file (a full-size copy) but keeps what says why it failed (orchestration.publish.prune_old_builds)."""
import os

from orchestration.publish import build_root, prune_old_builds


def _failed_build(paths, run_id: str, mtime: float):
    folder = build_root(paths) / run_id
    (folder / "dbt").mkdir(parents=True)
    (folder / "build.json").write_text('{"failed": "mart_gates"}')
    (folder / "dbt" / "run_results.json").write_text("{}")
    (folder / paths.warehouse.name).write_bytes(b"x" * 4096)
    (folder / (paths.warehouse.name + ".wal")).write_bytes(b"w")
    (folder / (paths.warehouse.name + ".tmp")).mkdir()
    (folder / (paths.warehouse.name + ".tmp") / "spill.block").write_bytes(b"s")
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (mtime, mtime))
    return folder


def test_a_new_build_leaves_one_failed_build_without_its_warehouse_file(home):
    older = _failed_build(home, "run-older", 1_000_000)
    newer = _failed_build(home, "run-newer", 2_000_000)

    deleted = prune_old_builds(home)

    assert not older.exists()
    assert sorted(p.name for p in newer.rglob("*")) == ["build.json", "dbt", "run_results.json"]
    assert older in deleted and newer / home.warehouse.name in deleted
    assert prune_old_builds(home) == []  # nothing left to delete: the kept folder stays
    assert (newer / "build.json").exists()


def test_no_build_folder_yet_deletes_nothing(home):
    assert prune_old_builds(home) == []
