"""Files that are not finished exports never load, by any path (the engine's landing listing and
its plan are what the CLI, the raw assets, the schedule and the sensor all go through)."""
from __future__ import annotations

import os
import time

import pytest

from ingest.contract import load_contracts
from ingest.engine import landing_files, load_table
from ingest.lake import QUARANTINE, RAW, table_dir
from ingest.pii import HashKey

KEY = HashKey(b"adversarial", "test")
CRM = load_contracts()["crm_members"]
HEADER = "member_id,card_no,level,points\r\n"


@pytest.mark.parametrize("name", ["members.csv.part", "members.csv.crdownload", "members.csv.tmp",
                                  "members.xlsx.filepart", "~$members.xlsx", ".members.csv.swp", "_members.csv",
                                  "members.csv.uploading", "MEMBERS.CSV.PART"])
def test_a_file_named_as_in_progress_is_not_listed(home, name):
    path = home.landing / "crm" / "members" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(HEADER.encode() + b"M1,880012345678,gold,1\r\n")
    assert landing_files(CRM, home.landing) == []


def test_a_line_file_whose_last_line_is_cut_waits_and_leaves_no_quarantine_row(home, monkeypatch):
    monkeypatch.setenv("QUANYU_LANDING_SETTLE_SECONDS", "60")
    path = home.landing / "crm" / "members" / "members.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(HEADER.encode() + b"M1,880012345678,gold,1\r\nM2,8800")  # a copy stopped mid-line
    (report,) = load_table(CRM, home, KEY).files
    assert report.status == "skipped" and "last line has no end" in report.message
    assert not list(table_dir(home, QUARANTINE, "crm_members").glob("[!_e]*.parquet"))
    assert not list(table_dir(home, RAW, "crm_members").glob("[!_]*.parquet"))
    with path.open("ab") as handle:  # the copy finishes
        handle.write(b"12345678,silver,2\r\n")
    (report,) = load_table(CRM, home, KEY).files
    assert (report.status, report.rows_loaded, report.rows_quarantined) == ("loaded", 2, 0)


def test_a_settled_file_without_a_final_newline_loads(home, monkeypatch):
    monkeypatch.setenv("QUANYU_LANDING_SETTLE_SECONDS", "60")
    path = home.landing / "crm" / "members" / "members.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(HEADER.encode() + b"M1,880012345678,gold,1")
    old = time.time() - 3600
    os.utime(path, (old, old))
    (report,) = load_table(CRM, home, KEY).files
    assert (report.status, report.rows_loaded) == ("loaded", 1)


def test_a_file_that_grows_while_it_is_read_waits(home, monkeypatch):
    import ingest.engine as engine

    path = home.landing / "crm" / "members" / "members.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(HEADER.encode() + b"M1,880012345678,gold,1\r\n")
    real_hash = engine.file_sha256

    def hash_while_a_copy_appends(target):
        digest = real_hash(target)
        with open(target, "ab") as handle:
            handle.write(b"M2,880012345679,gold,1\r\n")
        return digest

    monkeypatch.setattr(engine, "file_sha256", hash_while_a_copy_appends)
    (report,) = load_table(CRM, home, KEY).files
    assert report.status == "skipped" and "changed while it was read" in report.message
    assert not list(table_dir(home, RAW, "crm_members").glob("[!_]*.parquet"))
    monkeypatch.setattr(engine, "file_sha256", real_hash)
    (report,) = load_table(CRM, home, KEY).files
    assert (report.status, report.rows_loaded) == ("loaded", 2)


@pytest.mark.parametrize("marker", ["members.csv.done", "_SUCCESS"])
def test_a_done_marker_newer_than_the_file_loads_a_cut_last_line_at_once(home, monkeypatch, marker):
    """An export that arrived broken (its exporter said it is done) is not waited for: its cut
    last line is quarantined with the reason, the rest loads."""
    monkeypatch.setenv("QUANYU_LANDING_SETTLE_SECONDS", "60")
    path = home.landing / "crm" / "members" / "members.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(HEADER.encode() + b"M1,880012345678,gold,1\r\nM2,8800")
    (path.parent / marker).touch()
    assert landing_files(CRM, home.landing) == [path]
    (report,) = load_table(CRM, home, KEY).files
    assert report.status == "loaded" and report.rows_read == 2 and report.rows_quarantined == 1


LINK = "is a symbolic link, or lies in a linked folder, that resolves {} the landing folder; links are not followed"


@pytest.mark.parametrize("where", ["outside", "inside"])
def test_a_symbolic_link_is_refused_by_name_and_never_read(home, monkeypatch, tmp_path, where):
    import ingest.engine as engine

    target = (tmp_path / "elsewhere" if where == "outside" else home.landing / "crm" / "archive") / "other.csv"
    target.parent.mkdir(parents=True)
    target.write_bytes(HEADER.encode() + b"M1,880012345678,gold,1\r\n")
    link = home.landing / "crm" / "members" / "members.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)

    def never(*args, **kwargs):
        raise AssertionError("a link was read")

    monkeypatch.setattr(engine, "file_sha256", never)
    monkeypatch.setattr(engine, "open_source", never)
    (report,) = load_table(CRM, home, KEY).files
    assert (report.source_file, report.status) == ("crm/members/members.csv", "rejected")
    assert report.message.startswith("crm/members/members.csv: " + LINK.format(where))
    assert not list(table_dir(home, RAW, "crm_members").glob("[!_]*.parquet"))


def test_a_file_in_a_linked_folder_or_outside_the_landing_folder_is_refused(home, tmp_path):
    real = tmp_path / "shared" / "members"
    real.mkdir(parents=True)
    (real / "m.csv").write_bytes(HEADER.encode() + b"M1,880012345678,gold,1\r\n")
    (home.landing / "crm").mkdir(parents=True)
    (home.landing / "crm" / "members").symlink_to(real)  # a linked folder: glob lists it, not its files
    explicit = [home.landing / "crm" / "members" / "m.csv", real / "m.csv"]  # as a caller's file list would
    reports = {r.source_file: r for r in load_table(CRM, home, KEY, files=explicit).files}
    assert {label: (r.status, r.message) for label, r in reports.items()} == {
        "crm/members/m.csv": ("rejected", "crm/members/m.csv: " + LINK.format("outside") + ", so it is not read "
                                          "(copy the export itself into the landing folder)"),
        str(real / "m.csv"): ("rejected", f"{real / 'm.csv'}: is outside the landing folder {home.landing}; only "
                                          f"files under it are loaded")}


def test_the_sensor_lists_a_link_unread_so_that_a_run_names_it(home, tmp_path, monkeypatch):
    import orchestration.partitions as partitions

    target = tmp_path / "elsewhere.csv"
    target.write_bytes(HEADER.encode())
    link = home.landing / "crm" / "members" / "members.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    monkeypatch.setattr(partitions, "file_sha256", lambda path: (_ for _ in ()).throw(AssertionError("read")))
    (pending,) = partitions.pending_files([CRM], home)
    assert pending.label == "crm/members/members.csv" and pending.sha256.startswith("refused:")
