"""``python -m orchestration.explain`` on the session's published warehouse (tests/orchestration/baseline.py):
it prints a member's identifiers, links and records, names an id it does not know (exit 1), says when
there is no warehouse (exit 2), and reads the served file read-only, so readers and the CLI share it.
The dbt profile's default target opens the served file read-only too."""
from __future__ import annotations

import subprocess
import sys
import threading

import duckdb
import pytest

from ingest.settings import REPO_ROOT
from orchestration import explain
from orchestration.dbt_assets import DBT_PROJECT_DIR, dbt_executable
from tests.dbt_runner import env_for


@pytest.fixture(scope="module")
def member(published):
    """A member joined by at least one edge (two identifiers on one record), read independently of the CLI."""
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        one_id, = con.execute("select one_id from identity.identity_explanations where link_kind = 'edge' "
                              "order by one_id limit 1").fetchone()
        types = {r[0] for r in con.execute("select identifier_type from identity.identity_registry where one_id = ?",
                                           [one_id]).fetchall()}
        values = {r[0] for r in con.execute("select identifier_value from identity.identity_registry "
                                            "where one_id = ?", [one_id]).fetchall()}
        records = con.execute("select source_table, record_key from identity.bridge_record_member where one_id = ?",
                              [one_id]).fetchall()
        edges = con.execute("select count(*) from identity.identity_explanations where one_id = ?",
                            [one_id]).fetchone()[0]
    return one_id, types, values, records, edges


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestration.explain", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_a_known_member_is_printed_with_its_identifiers_links_and_records(published, member):
    one_id, types, values, records, edges = member
    result = run_cli(one_id, "--warehouse", str(published.warehouse))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"one_id {one_id}: {len(values)} identifiers, {len(records)} records")
    for identifier_type in types:
        assert any(line.startswith(f"  {identifier_type} = ") for line in lines), identifier_type
    links = lines[lines.index("links (type: from -> to, evidence records, example record):") + 1:
                  lines.index("records (source table, record key, link type, confidence):")]
    assert len(links) == edges and any(" edge: " in line for line in links)
    joined = [line.split(": ", 1)[1].split("  x")[0] for line in links if " edge: " in line]
    assert all(side.split(":", 1)[1] in values for pair in joined for side in pair.split(" -> ")), joined
    for table, key in records:
        assert any(line.startswith(f"  {table} {key} ") for line in lines), (table, key)
    assert "history:" in lines


def test_a_record_leads_to_its_member(published, member):
    one_id, _, _, records, _ = member
    table, key = records[0]
    result = run_cli("--record", f"{table}:{key}", "--warehouse", str(published.warehouse))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [f"record {table}:{key} -> {one_id}",
                                              result.stdout.splitlines()[1]]
    assert result.stdout.splitlines()[1].startswith(f"one_id {one_id}: ")


def test_an_unknown_one_id_exits_1_naming_it(published):
    result = run_cli("QY-NO-SUCH-MEMBER", "--warehouse", str(published.warehouse))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "one_id QY-NO-SUCH-MEMBER is not a member" in result.stderr


def test_a_missing_warehouse_exits_2_without_a_traceback(tmp_path):
    result = run_cli("QY1", "--warehouse", str(tmp_path / "none.duckdb"))
    assert result.returncode == 2
    assert "none.duckdb: no warehouse file" in result.stderr and "Traceback" not in result.stderr


def test_the_cli_and_other_readers_share_the_served_file(published, member):
    """While the CLI holds the file open, another read-only connection opens it and reads; and a
    reader holding it open does not keep the CLI out (a writer would lock both out)."""
    one_id = member[0]
    with explain.open_published(published.warehouse) as held:
        printed = explain.render(explain.explain(held, one_id))
        with duckdb.connect(str(published.warehouse), read_only=True) as reader:
            assert reader.execute("select count(*) from identity.identity_registry where one_id = ?",
                                  [one_id]).fetchone()[0] == len(member[2])
        errors: list[BaseException] = []

        def read_concurrently() -> None:
            try:
                with duckdb.connect(str(published.warehouse), read_only=True) as con:
                    con.execute("select count(*) from marts.dim_member").fetchall()
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)

        threads = [threading.Thread(target=read_concurrently) for _ in range(4)]
        for thread in threads:
            thread.start()
        result = run_cli(one_id, "--warehouse", str(published.warehouse))  # another process, same file
        for thread in threads:
            thread.join()
        assert errors == []
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == printed


def test_the_default_dbt_target_cannot_write_the_served_file(published, tmp_path):
    """A hand-run dbt on the project's default target (`served`) reads the published file (the
    README's `dbt docs generate --no-compile`) and fails at its first write; the file is unchanged."""
    before = published.warehouse.stat().st_mtime_ns, published.warehouse.stat().st_size
    env = {**env_for(published), "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs")}
    for name in ("QUANYU_DBT_TARGET", "QUANYU_DBT_BUILD_FILE"):
        env.pop(name)
    common = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    docs = subprocess.run([dbt_executable(), "docs", "generate", "--no-compile", *common],
                          cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    assert docs.returncode == 0, docs.stdout[-3000:]
    assert (tmp_path / "target" / "catalog.json").exists()
    built = subprocess.run([dbt_executable(), "run", "--select", "int_calendar__months", *common],
                           cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    assert built.returncode != 0
    assert "read-only" in built.stdout, built.stdout[-3000:]
    assert (published.warehouse.stat().st_mtime_ns, published.warehouse.stat().st_size) == before
