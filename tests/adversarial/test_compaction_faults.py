"""A compaction or loosening killed at any step: no reader sees a row twice, no temporary file stays.

Each case runs the operation in a child process (tests/adversarial/compaction_runner.py) that
dies with ``os._exit`` at one named step: a real death, no ``finally`` runs. The crashed lake is
then copied, and every entry point reads its own copy without any heal run before it: the dbt
source (its ``external_location`` from models/staging/_sources.yml, read by DuckDB inside
``lake.reading`` as the dbt asset does), ``audit.reconcile``, the landing sensor and the CLI
(``python -m orchestration.cli``, a real process). Each must see every raw and ledger row
exactly once. Then compaction runs again and must end where an uninterrupted one ends.
Rows are counted by DuckDB over the globs, independently of the lake's bookkeeping.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import duckdb
import pytest
import yaml

from demo.generate import generate
from ingest import atomic, lake
from ingest.audit import reconcile
from ingest.contract import load_contracts
from ingest.dbt_sources import SOURCES_FILE
from ingest.engine import load_table
from ingest.lake import LEDGER, RAW, RUN_COLUMNS, table_dir
from ingest.pii import HashKey
from ingest.settings import REPO_ROOT, Paths, paths_from_env
from tests.adversarial import compaction_runner as runner

TABLE = runner.TABLE
CONTRACT = load_contracts()[TABLE]
KEY = HashKey(b"faults", "test")

# (step, the how-many-th time it is reached): every step, and a few again later in the loop
COMPACTION_CRASHES = [
    ("raw_temp_torn", 1), ("raw_temp_written", 1), ("ledger_temp_written", 1), ("manifest_temp_written", 1),
    ("manifest_written", 1), ("raw_segment_renamed", 1), ("ledger_segment_renamed", 1), ("member_deleted", 1),
    ("member_deleted", 7), ("segment_done", 1), ("manifest_written", 2), ("raw_segment_renamed", 3),
]
LOOSENING_CRASHES = [
    ("loosening_marked", 1), ("member_temp_written", 1), ("raw_member_written_back", 1),
    ("raw_member_written_back", 9), ("ledger_member_written_back", 4), ("raw_segment_deleted", 1),
    ("ledger_segment_deleted", 1),
]
# where a reader of the globs, had nothing healed the lake, would count rows twice
DOUBLING = {"raw_segment_renamed", "ledger_segment_renamed", "member_deleted", "raw_member_written_back",
            "ledger_member_written_back", "raw_segment_deleted"}


def _paths(folder) -> Paths:
    return paths_from_env({"QUANYU_HOME": str(folder)})


def dbt_relation(paths: Paths, folder: str = RAW) -> str:
    """The raw source as dbt reads it: the generated external_location with the lake filled in."""
    document = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    (raw,) = [s for s in document["sources"] if s["name"] == "raw"]
    template = raw["config"]["external_location"]
    location = template.replace("{{ env_var('QUANYU_LAKE', '../var/lake') }}", str(paths.lake))
    assert f"/{RAW}/" in location and "{{" not in location, location
    return location.format(name=TABLE).replace(f"/{RAW}/", f"/{folder}/")


def rows(paths: Paths, leave_out: frozenset[str] = frozenset()) -> tuple[list, list]:
    """Every raw and every ledger row of the table (columns by name but ``leave_out``, sorted,
    duplicates kept)."""
    con = duckdb.connect()
    result = []
    for folder in (RAW, LEDGER):
        relation = dbt_relation(paths, folder)
        columns = sorted(r[0] for r in con.execute(f"describe select * from {relation}").fetchall())
        listing = ", ".join(f'"{c}"' for c in columns if c not in leave_out)
        result.append(con.execute(f"select {listing} from {relation} order by all").fetchall())
    return tuple(result)


def temps(paths: Paths) -> list[str]:
    return sorted(str(p.relative_to(paths.lake)) for p in paths.lake.rglob("*.tmp"))


def segments(paths: Paths) -> list[tuple[str, list[str]]]:
    return [(m.segment, m.shas) for m in lake.manifests(paths, TABLE)]


def run_child(paths: Paths, operation: str, step: str, nth: int) -> None:
    done = subprocess.run([sys.executable, "-m", "tests.adversarial.compaction_runner", str(paths.home), operation,
                           step, str(nth)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == runner.CRASHED, f"the child did not die at {step} #{nth}:\n{done.stderr}"


def copy_home(source: Paths, target) -> Paths:
    shutil.copytree(source.home, target, symlinks=True)
    return _paths(target)


@pytest.fixture(scope="module")
def brand(tmp_path_factory):
    """A loaded lake (loose), the same lake compacted without interruption, and its rows."""
    loose = _paths(tmp_path_factory.mktemp("loose")).ensure()
    generate(loose.home, members=200, months=3)
    load_table(CONTRACT, loose, KEY, group_segments=False)
    compacted = copy_home(loose, tmp_path_factory.mktemp("compacted") / "home")
    runner.compact(compacted)
    assert len(lake.manifests(compacted, TABLE)) >= 3 and rows(compacted) == rows(loose)
    return {"loose": loose, "compacted": compacted, "rows": rows(loose), "segments": segments(compacted)}


def assert_every_reader_sees_each_row_once(crashed: Paths, tmp_path, expected_rows, step: str) -> None:
    from orchestration.sensors import channel_requests

    copies = {name: copy_home(crashed, tmp_path / name) for name in ("dbt", "reconcile", "sensor", "cli")}
    if step in DOUBLING:  # the hazard is real: the bare globs count some rows twice
        raw, ledger = rows(crashed)
        assert len(raw) > len(expected_rows[0]) or len(ledger) > len(expected_rows[1])

    with lake.reading(copies["dbt"]):  # what the dbt asset wraps `dbt build` in
        assert rows(copies["dbt"]) == expected_rows

    reconciled = reconcile(copies["reconcile"], TABLE)
    assert reconciled.problems == [] and reconciled.files == len(expected_rows[1])
    assert rows(copies["reconcile"]) == expected_rows

    assert channel_requests([CONTRACT], copies["sensor"], settle_seconds=0) == []  # everything is loaded
    assert rows(copies["sensor"]) == expected_rows

    cli = subprocess.run([sys.executable, "-m", "orchestration.cli", "--table", TABLE], cwd=REPO_ROOT,
                         env={**os.environ, "QUANYU_HOME": str(copies["cli"].home),  # the lake's key (KEY)
                              "QUANYU_HASH_KEY": KEY.secret.decode(), "QUANYU_HASH_KEY_VERSION": KEY.version},
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert rows(copies["cli"]) == expected_rows

    for copy in copies.values():
        assert temps(copy) == [], copy


@pytest.mark.parametrize(("step", "nth"), COMPACTION_CRASHES, ids=[f"{s}#{n}" for s, n in COMPACTION_CRASHES])
def test_a_compaction_killed_at_a_step_is_healed_for_every_reader_and_completes_as_if_uninterrupted(
        brand, tmp_path, step, nth):
    crashed = copy_home(brand["loose"], tmp_path / "crashed")
    run_child(crashed, "compact", step, nth)
    assert_every_reader_sees_each_row_once(crashed, tmp_path, brand["rows"], step)
    lake.heal(crashed)
    assert temps(crashed) == [] and rows(crashed) == brand["rows"]
    runner.compact(crashed)
    assert rows(crashed) == brand["rows"]
    assert segments(crashed) == brand["segments"]


@pytest.mark.parametrize(("step", "nth"), LOOSENING_CRASHES, ids=[f"{s}#{n}" for s, n in LOOSENING_CRASHES])
def test_a_loosening_killed_at_a_step_is_healed_for_every_reader_and_finishes(brand, tmp_path, step, nth):
    crashed = copy_home(brand["compacted"], tmp_path / "crashed")
    loosened = runner.loosened_sha(crashed)
    run_child(crashed, "loosen", step, nth)
    assert_every_reader_sees_each_row_once(crashed, tmp_path, brand["rows"], step)
    lake.heal(crashed)
    assert temps(crashed) == [] and rows(crashed) == brand["rows"]
    assert loosened not in lake.segment_of(crashed, TABLE)  # the loosening was finished, not undone
    assert segments(crashed) == [s for s in brand["segments"] if loosened not in s[1]]
    runner.compact(crashed)
    assert rows(crashed) == brand["rows"] and segments(crashed) == brand["segments"]


def test_every_step_of_compaction_and_loosening_has_a_crash_case():
    assert set(lake.COMPACTION_STEPS) | set(runner.WRITE_STEPS[:2]) == {s for s, _ in COMPACTION_CRASHES}
    assert set(lake.LOOSENING_STEPS) | {runner.WRITE_STEPS[2]} == {s for s, _ in LOOSENING_CRASHES}


# A load commits its group of small files as one segment (lake.commit_loaded), through the steps a
# compaction takes; a fresh load has no member files to delete.
LOAD_CRASHES = [(s, 1) for s in ("raw_temp_torn", "manifest_temp_written", *lake.COMPACTION_STEPS)
                if s != "member_deleted"]


def stable_rows(paths: Paths) -> tuple[list, list]:
    """``rows`` without the columns that name the run."""
    return rows(paths, RUN_COLUMNS)


@pytest.mark.parametrize(("step", "nth"), LOAD_CRASHES, ids=[f"{s}#{n}" for s, n in LOAD_CRASHES])
def test_a_load_killed_while_committing_its_segment_leaves_all_or_nothing_and_the_next_load_completes_it(
        brand, tmp_path, step, nth):
    crashed = copy_home(brand["loose"], tmp_path / "crashed")
    shutil.rmtree(crashed.lake)
    crashed.ensure()
    run_child(crashed, "load", step, nth)
    with lake.reading(crashed):  # healed: the segment's files in place, or no trace of them
        raw, ledger = stable_rows(crashed)
        committed = step not in ("raw_temp_torn", "raw_temp_written", "ledger_temp_written", "manifest_temp_written")
        expected = stable_rows(brand["loose"])
        assert (raw, ledger) == (expected if committed else ([], []))
        assert reconcile(crashed, TABLE).problems == []
    assert temps(crashed) == []
    again = load_table(CONTRACT, crashed, KEY)
    assert {f.status for f in again.files} == ({"skipped"} if committed else {"loaded"})
    assert stable_rows(crashed) == stable_rows(brand["loose"])
    assert len(lake.manifests(crashed, TABLE)) == 1 and reconcile(crashed, TABLE).problems == []


def test_a_heal_killed_while_it_recovers_is_finished_by_the_next(brand, tmp_path):
    crashed = copy_home(brand["loose"], tmp_path / "crashed")
    run_child(crashed, "compact", "ledger_segment_renamed", 1)
    run_child(crashed, "heal", "member_deleted", 3)  # the heal dies deleting the segment's members
    assert_every_reader_sees_each_row_once(crashed, tmp_path, brand["rows"], "member_deleted")


def _start_paused(paths: Paths, operation: str, step: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-m", "tests.adversarial.compaction_runner", str(paths.home), operation,
                              step, "1", "pause"], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (paths.home / "reached").exists():
        assert child.poll() is None and time.monotonic() < deadline, child.stderr and child.stderr.read()
        time.sleep(0.05)
    return child


def test_a_heal_waits_for_a_live_compaction_instead_of_recovering_it(brand, tmp_path):
    live = copy_home(brand["loose"], tmp_path / "live")
    child = _start_paused(live, "compact", "raw_segment_renamed")  # rows are in segment and members now
    try:
        assert lake.heal(live, wait=False).busy == [TABLE]  # the sensor's heal: busy, nothing touched
        healing = threading.Thread(target=lake.heal, args=(live,))
        healing.start()
        time.sleep(0.5)
        assert healing.is_alive()  # waiting for the compaction's lock
    finally:
        (live.home / "go").touch()
    assert child.wait(timeout=60) == 0, child.stderr.read()
    healing.join(timeout=60)
    assert not healing.is_alive()
    assert rows(live) == brand["rows"] and segments(live) == brand["segments"] and temps(live) == []


def test_a_reader_holds_compaction_off_until_it_is_done(brand, tmp_path):
    live = copy_home(brand["loose"], tmp_path / "live")
    with lake.reading(live, [TABLE]):
        child = subprocess.Popen([sys.executable, "-m", "tests.adversarial.compaction_runner", str(live.home),
                                  "compact", "segment_done", "99"], cwd=REPO_ROOT)  # never reached: no crash
        time.sleep(1.5)
        assert child.poll() is None and lake.manifests(live, TABLE) == []  # waiting for the reader
        skipped = []  # another thread (its own lock, as another process would be) does not wait
        thread = threading.Thread(target=lambda: skipped.append(lake.compact_table(live, TABLE, [], wait=False)))
        thread.start()
        thread.join(timeout=30)
        assert skipped[0].busy and "not compacted now" in str(skipped[0])
        assert rows(live) == brand["rows"]
    assert child.wait(timeout=60) == 0
    assert segments(live) == brand["segments"]


def test_heal_with_nothing_to_do_takes_no_lock(brand, tmp_path):
    clean = copy_home(brand["compacted"], tmp_path / "clean")
    holder_ready, release = threading.Event(), threading.Event()

    def hold():
        with lake.table_lock(clean, TABLE):
            holder_ready.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    holder_ready.wait(30)
    try:
        started = time.monotonic()
        report = lake.heal(clean)  # would wait for the holder if it took the lock
        assert time.monotonic() - started < 5 and report.recovered == [] and report.busy == []
    finally:
        release.set()
        holder.join()


def test_orphaned_temp_files_of_dead_writers_are_removed_and_live_ones_kept(brand, tmp_path):
    paths = copy_home(brand["compacted"], tmp_path / "temps")
    raw = table_dir(paths, RAW, TABLE)
    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its pid runs nothing now
    zombie = subprocess.Popen(["true"])  # exits, never reaped while we look
    while not os.path.exists(f"/proc/{zombie.pid}") or "Z" not in open(f"/proc/{zombie.pid}/stat").read().split()[2]:
        time.sleep(0.01)
    alive = subprocess.Popen(["sleep", "60"])
    try:
        names = {
            "dead": f".abc.parquet.{dead.pid}.tmp",
            "zombie": f".seg-x.json.{zombie.pid}.tmp",
            "mine": f".def.parquet.{os.getpid()}.tmp",
            "alive": f".ghi.parquet.{alive.pid}.tmp",
            "alive_but_old": f".old.parquet.{alive.pid}.tmp",
        }
        folders = {"dead": raw, "zombie": lake.segments_dir(paths, TABLE), "mine": raw, "alive": raw,
                   "alive_but_old": table_dir(paths, LEDGER, TABLE)}
        for key, name in names.items():
            (folders[key] / name).write_bytes(b"PAR1 partial")
        old = time.time() - atomic.ORPHAN_AGE_SECONDS - 60  # its pid was reused by a live process
        os.utime(folders["alive_but_old"] / names["alive_but_old"], (old, old))
        report = lake.heal(paths)
        kept = {key for key, name in names.items() if (folders[key] / name).exists()}
        assert kept == {"mine", "alive"}
        assert len(report.temps_removed) == 3 and report.recovered == []
    finally:
        alive.kill()
        alive.wait()
        zombie.wait()
    assert lake.heal(paths).temps_removed  # the writer died: its file goes too
    assert [t for t in temps(paths) if "ghi" in t] == []
