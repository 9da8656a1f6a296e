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
