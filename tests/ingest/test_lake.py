"""Lake compaction (ingest/lake.py) on a generated brand: rows kept exactly, reloads, interruptions."""
import threading

import duckdb
import pyarrow.parquet as pq
import pytest

from demo.generate import generate
from ingest import lake
from ingest.audit import reconcile
from ingest.contract import load_contracts
from ingest.engine import file_sha256, load_table, load_tables
from ingest.lake import (
    LEDGER,
    RAW,
    compact_table,
    loaded_stems,
    loosen,
    manifests,
    recover,
    segment_of,
    table_dir,
    table_glob,
)
from ingest.pii import HashKey
from ingest.settings import Paths

KEY = HashKey(b"k", "test")
CONTRACTS = load_contracts()
MANY_FILES = "wecom_guide_daily_stats"  # one export per guide per day


def _folders(home, table):
    return table_dir(home, RAW, table), table_dir(home, LEDGER, table)


def all_shas(home, table):
    return duckdb.connect().execute(
        f"select file_sha256 from read_parquet('{table_glob(home, LEDGER, table)}', union_by_name = true)"
    ).fetchnumpy()["file_sha256"].tolist()


def snapshot(home, table):
    """Every raw row and every ledger row of a table, columns by name (the file order may change which
    file's column order a union_by_name read takes)."""
    con = duckdb.connect()
    result = []
    for folder in _folders(home, table):
        relation = f"read_parquet('{folder}/*.parquet', union_by_name = true)"
        columns = sorted(r[0] for r in con.execute(f"describe select * from {relation}").fetchall())
        listing = ", ".join(f'"{c}"' for c in columns)
        result.append(con.execute(f"select {listing} from {relation} order by all").fetchall())
    return tuple(result)


def file_count(home, table):
    return sum(1 for folder in _folders(home, table) for p in folder.glob("*.parquet"))


@pytest.fixture
def loaded(home):
    """A brand loaded file by file (no group segments): what compaction starts from."""
    generate(home.home, members=200, months=3)
    load_tables(list(CONTRACTS.values()), home, KEY, workers=1, group_segments=False)
    return home


def test_compaction_keeps_every_row_and_reconciles(loaded):
    home = loaded
    before = {t: snapshot(home, t) for t in CONTRACTS}
    files_before = {t: file_count(home, t) for t in CONTRACTS}
    reports = {t: compact_table(home, t, all_shas(home, t), segment_bytes=256 << 10, min_files=2) for t in CONTRACTS}
    assert len(reports[MANY_FILES].segments) >= 2  # several segments: the size cap works
    for table in CONTRACTS:
        assert snapshot(home, table) == before[table], table
        assert reconcile(home, table).problems == [], table
    busy = reports[MANY_FILES]
    assert file_count(home, MANY_FILES) == 2 + 2 * len(busy.segments)  # _schema files + raw and ledger segments
    assert files_before[MANY_FILES] > 10 * file_count(home, MANY_FILES)
    # loading again skips every file: compacted contents are still known to the ledger
    again = load_table(CONTRACTS[MANY_FILES], home, KEY)
    assert {f.status for f in again.files} == {"skipped"}
    assert loaded_stems(home, MANY_FILES) == {lake.stem(s) for s in all_shas(home, MANY_FILES)}
    # reconcile keeps each segment's rows per landing file (ingest.audit.KeptPerFile): a second check
    # reads no segment again, a segment edited by hand is read again and reported
    kept = home.lake / "audits" / f"{MANY_FILES}.segments.json"
    recorded = kept.read_text()
    assert reconcile(home, MANY_FILES).problems == [] and kept.read_text() == recorded
    segment = manifests(home, MANY_FILES)[0].raw_path(home)
    rows = pq.read_table(segment)
    pq.write_table(rows.slice(0, rows.num_rows - 1), segment)  # one row lost by hand
    problems = reconcile(home, MANY_FILES).problems
    assert len(problems) == 1 and "files hold" in problems[0], problems


def test_below_min_files_nothing_happens(loaded):
    table = "tmall_orders"
    shas = all_shas(loaded, table)
    report = compact_table(loaded, table, shas, min_files=len(shas) + 1)
    assert report.segments == [] and manifests(loaded, table) == []


def test_only_eligible_files_and_large_raw_files_stay_loose(loaded):
    home, table = loaded, MANY_FILES
    shas = sorted(all_shas(home, table))
    eligible, left = shas[: len(shas) // 2], shas[len(shas) // 2:]
    sizes = {s: (table_dir(home, RAW, table) / f"{s[:20]}.parquet").stat().st_size for s in eligible}
    cap = sorted(sizes.values())[len(sizes) // 2]  # half of the eligible raw files are over it
    report = compact_table(home, table, eligible, small_raw_bytes=cap, min_files=2)
    assert set(segment_of(home, table)) == set(eligible) and report.files == len(eligible)
    for sha in eligible:  # every ledger row is compacted, raw files only up to the cap
        assert not (table_dir(home, LEDGER, table) / f"{sha[:20]}.parquet").exists()
        assert (table_dir(home, RAW, table) / f"{sha[:20]}.parquet").exists() == (sizes[sha] > cap)
    assert 0 < report.raw_files < len(eligible)
    for sha in left:  # not eligible (not gated): untouched
        assert (table_dir(home, LEDGER, table) / f"{sha[:20]}.parquet").exists()
        assert (table_dir(home, RAW, table) / f"{sha[:20]}.parquet").exists()
    assert reconcile(home, table).problems == []


def rows_per_file(home, table):
    return dict(duckdb.connect().execute(
        f"select _file_sha256, count(*) from read_parquet('{table_glob(home, RAW, table)}', union_by_name = true) "
        f"group by all").fetchall())


def test_reload_of_a_compacted_file_loosens_its_segment_and_keeps_rows_once(loaded):
    home, table = loaded, MANY_FILES
    counts = rows_per_file(home, table)
    compact_table(home, table, all_shas(home, table), min_files=2)
    (manifest,) = manifests(home, table)
    by_stem = {file_sha256(p)[:20]: p for p in (home.landing / "wecom").rglob("*") if p.is_file()}
    target = by_stem[manifest.shas[3][:20]]
    report = load_table(CONTRACTS[table], home, KEY, reload=True, files=[target])
    assert [f.status for f in report.files] == ["loaded"]
    assert manifests(home, table) == []  # the segment was written back file by file, then the file reloaded
    assert rows_per_file(home, table) == counts
    assert reconcile(home, table).problems == []


def test_loosen_writes_back_the_exact_per_file_parquet(loaded):
    home, table = loaded, MANY_FILES
    names = sorted(p.name for folder in _folders(home, table) for p in folder.glob("*.parquet"))
    tables = {p.name: pq.read_table(p) for p in table_dir(home, RAW, table).glob("*.parquet")}
    compact_table(home, table, all_shas(home, table), min_files=2)
    loosen(home, table, all_shas(home, table)[:1])
    assert sorted(p.name for folder in _folders(home, table) for p in folder.glob("*.parquet")) == names
    for name, data in tables.items():
        assert pq.read_table(table_dir(home, RAW, table) / name).equals(data), name


@pytest.mark.parametrize("stop", ["before_commit", "after_commit", "while_loosening"])
def test_an_interrupted_step_is_finished_or_undone_by_recover(loaded, monkeypatch, stop):
    home, table = loaded, MANY_FILES
    before = snapshot(home, table)

    class Crash(Exception):
        pass

    def crash(*args, **kwargs):
        raise Crash

    if stop == "before_commit":
        monkeypatch.setattr(lake.Manifest, "write", crash)
    elif stop == "after_commit":
        monkeypatch.setattr(lake, "_delete_members", crash)
    else:
        compact_table(home, table, all_shas(home, table), min_files=2)
        real_unlink = lake.Path.unlink

        def unlink_once(self, *args, **kwargs):  # dies when it starts deleting the segment
            if lake.is_segment(self):
                raise Crash
            return real_unlink(self, *args, **kwargs)

        monkeypatch.setattr(lake.Path, "unlink", unlink_once)
    with pytest.raises(Crash):
        if stop == "while_loosening":
            loosen(home, table, all_shas(home, table)[:1])
        else:
            compact_table(home, table, all_shas(home, table), min_files=2)
    monkeypatch.undo()
    recover(home, table)
    assert snapshot(home, table) == before
    assert reconcile(home, table).problems == []
    expected = {"before_commit": 0, "after_commit": 1, "while_loosening": 0}[stop]
    assert len(manifests(home, table)) == expected
    assert not [p for p in table_dir(home, RAW, table).iterdir() if p.name.endswith(".tmp")]


def test_files_of_two_schemas_go_to_different_segments(loaded):
    """A file written under an older contract (a column fewer) never shares a segment with newer ones."""
    home, table = loaded, MANY_FILES
    shas = sorted(all_shas(home, table))
    old = table_dir(home, RAW, table) / f"{shas[0][:20]}.parquet"
    data = pq.read_table(old)
    pq.write_table(data.drop_columns([data.schema.names[0]]), old)
    before = snapshot(home, table)
    compact_table(home, table, shas, min_files=2)
    assert len(manifests(home, table)) == 2
    assert snapshot(home, table) == before


VOLATILE = {"_loaded_at", "loaded_at", "seconds"}  # name the run, not the data


def stable_snapshot(home, table):
    """``snapshot`` without the columns that differ between two runs over the same landing."""
    con = duckdb.connect()
    result = []
    for folder in _folders(home, table):
        relation = f"read_parquet('{folder}/*.parquet', union_by_name = true)"
        columns = sorted(r[0] for r in con.execute(f"describe select * from {relation}").fetchall())
        listing = ", ".join(f'"{c}"' for c in columns if c not in VOLATILE)
        result.append(con.execute(f"select {listing} from {relation} order by all").fetchall())
    return tuple(result)


def test_a_group_of_small_files_commits_as_one_segment_with_the_rows_of_a_file_by_file_load(loaded, tmp_path):
    home, table = loaded, MANY_FILES
    grouped = Paths(home=tmp_path / "grouped", landing=home.landing, lake=tmp_path / "grouped" / "lake",
                         warehouse=tmp_path / "grouped" / "quanyu.duckdb").ensure()
    report = load_table(CONTRACTS[table], grouped, KEY, workers=1)
    assert {f.status for f in report.files} == {"loaded"} and len(report.files) > 10
    (manifest,) = manifests(grouped, table)  # the brand's guide statistics are one group
    assert sorted(manifest.shas) == sorted(all_shas(home, table))
    assert {m["sha"]: m["raw_rows"] for m in manifest.members} == rows_per_file(home, table)
    assert file_count(grouped, table) == 2 + 2  # the _schema files, the raw and the ledger segment
    assert stable_snapshot(grouped, table) == stable_snapshot(home, table)
    assert reconcile(grouped, table).problems == []
    assert {f.status for f in load_table(CONTRACTS[table], grouped, KEY).files} == {"skipped"}
    # the gate reads a file's rows inside a segment: exactly that file's rows
    some = manifest.shas[2:5]
    counted = dict(duckdb.connect().execute(
        f"select _file_sha256, count(*) from {lake.raw_relation(grouped, table, some)} group by 1").fetchall())
    assert counted == {sha: rows_per_file(home, table)[sha] for sha in some}
    assert lake.has_raw(grouped, table, some) and not lake.has_raw(grouped, table, ["0" * 64])
    # written back, each file is the Parquet a file-by-file load writes
    loosen(grouped, table, some[:1])
    assert manifests(grouped, table) == []
    for sha in manifest.shas:
        for kind in (RAW, LEDGER):
            mine = pq.read_table(table_dir(grouped, kind, table) / f"{sha[:20]}.parquet")
            theirs = pq.read_table(table_dir(home, kind, table) / f"{sha[:20]}.parquet")
            keep = [c for c in theirs.column_names if c not in VOLATILE]
            assert mine.select(keep).equals(theirs.select(keep)), (kind, sha)
    # reloaded, the group commits as a segment again and its stale per-file Parquet are deleted
    again = load_table(CONTRACTS[table], grouped, KEY, reload=True, workers=1)
    assert {f.status for f in again.files} == {"loaded"} and len(manifests(grouped, table)) == 1
    assert file_count(grouped, table) == 2 + 2
    assert stable_snapshot(grouped, table) == stable_snapshot(home, table)


def test_a_group_whose_table_is_locked_commits_file_by_file(loaded, tmp_path, monkeypatch):
    """A dbt build holds every table's lock shared for its whole run: a load does not wait for it."""
    home, table = loaded, MANY_FILES
    grouped = Paths(home=tmp_path / "g", landing=home.landing, lake=tmp_path / "g" / "lake",
                         warehouse=tmp_path / "g" / "quanyu.duckdb").ensure()
    monkeypatch.setattr(lake, "LOAD_LOCK_SECONDS", 0.2)
    with lake.reading(grouped, [table]):  # shared, as the dbt asset holds it
        done = []  # another thread takes its own lock, as another process would
        worker = threading.Thread(target=lambda: done.append(load_table(CONTRACTS[table], grouped, KEY, workers=1)))
        worker.start()
        worker.join(timeout=120)
    assert {f.status for f in done[0].files} == {"loaded"}
    assert manifests(grouped, table) == []
    assert stable_snapshot(grouped, table) == stable_snapshot(home, table)
    assert reconcile(grouped, table).problems == []
