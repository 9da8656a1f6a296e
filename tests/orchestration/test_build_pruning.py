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


def test_a_build_file_starts_as_the_served_file_with_only_what_builds_carry(tmp_path):
    """carry_over: the served file copied (or cloned), the carried tables kept with their rows, a
    table read in place a view over the served file, everything else dropped, and the dropped
    tables' blocks free for the build's writes (the file does not grow by what it rebuilds)."""
    import duckdb

    from orchestration.publish import PREVIOUS_DATABASE, carry_over, copy_file

    served, build = tmp_path / "served.duckdb", tmp_path / "build.duckdb"
    with duckdb.connect(str(served)) as con:
        for schema in ("staging", "identity", "marts", "meta"):
            con.execute(f"create schema {schema}")
        con.execute("create table staging.carried as select range as id from range(100000)")
        con.execute("create table identity.registry as select range as id, 'QY' || range as one_id from range(1000)")
        con.execute("create table marts.rebuilt as select range as id, md5(range::varchar) as v from range(300000)")
        con.execute("create view marts.a_view as select * from marts.rebuilt")
        con.execute("create table meta.build as select 'b1' as build_id")
    assert copy_file(served, tmp_path / "copy.duckdb") in ("copied", "cloned (copy-on-write)")
    assert (tmp_path / "copy.duckdb").read_bytes() == served.read_bytes()

    done = carry_over(served, build, {("staging", "carried"): "copy", ("identity", "registry"): "read",
                                      ("meta", "build"): "copy", ("staging", "not_in_the_file"): "copy"})

    assert "staging.carried (copied: 100,000 rows)" in done and "identity.registry (read in place)" in done
    assert "meta.build (copied: 1 rows)" in done and done[-1].endswith("2 relations dbt rebuilds dropped")
    with duckdb.connect(str(build)) as con:
        con.execute(f"attach '{served}' as {PREVIOUS_DATABASE} (read_only)")  # as the build's dbt profile does
        found = dict(con.execute("select table_schema || '.' || table_name, table_type from information_schema.tables "
                                 "where table_catalog = current_database()").fetchall())
        assert found == {"staging.carried": "BASE TABLE", "identity.registry": "VIEW", "meta.build": "BASE TABLE"}
        assert con.execute("select count(*), sum(id) from staging.carried").fetchone() == (100000, 4999950000)
        assert con.execute("select count(*) from identity.registry").fetchone() == (1000,)
        size = build.stat().st_size
        con.execute("create table marts.rebuilt as select range as id, md5(range::varchar) as v from range(300000)")
        con.execute("checkpoint")
    assert build.stat().st_size <= size * 1.05  # written into the dropped table's blocks


def test_a_link_left_by_a_killed_dbt_is_removed_with_its_build(home):
    """dbt_view removes its link when dbt ends; a killed dbt leaves it, dangling once its build is
    pruned, and a dangling link breaks copies of the home (shutil.copytree): the next prune removes it."""
    from orchestration.publish import dbt_state

    folder = _failed_build(home, "run-killed", 1_000_000)
    link = dbt_state(home) / "build"
    link.parent.mkdir(parents=True)
    link.symlink_to(folder, target_is_directory=True)
    for later, mtime in (("run-2", 2_000_000), ("run-3", 3_000_000)):
        _failed_build(home, later, mtime)
    prune_old_builds(home)
    assert not folder.exists() and not link.is_symlink()
