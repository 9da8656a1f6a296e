"""The lake side of erasure on a small hand-written lake: rewrites, ledger counts, suppression at
ingest, a killed erasure finished by ``--resume``, a suppression list made with another key, and
the columns ``ingest/erasure.yml`` must name."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from ingest import lake
from ingest.audit import reconcile
from ingest.contract import load_contracts
from ingest.engine import load_tables
from ingest.pii import HashKey, key_from_env, keyed_hash
from ingest.settings import REPO_ROOT

MOBILE = "13912345671"
COUPONS = ("coupon_code,member_id,issued_at,status\n"
           "C1,M1,2026-01-01 10:00:00,已发放\n"
           "C2,M2,2026-01-02 10:00:00,已发放\n"
           "C3,M1,not a time,已发放\n"  # quarantined: its evidence keeps the member id as exported
           "C4,M3,2026-01-04 10:00:00,已核销\n")
MEMBERS = ["member_id,card_no,mobile\nM1,880000000001,13912345671\nM2,880000000002,13912345672\n",
           "member_id,card_no,mobile\nM3,880000000003,13912345673\nM9,880000000009,139 1234 5671\n"]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def loaded(home, monkeypatch):
    """Coupons and two CRM files loaded, the CRM files in one segment (a group of small files commits
    as one when it loads, ingest.lake.commit_loaded)."""
    monkeypatch.setenv("QUANYU_HOME", str(home.home))
    for name in ("QUANYU_LANDING", "QUANYU_LAKE", "QUANYU_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    _write(home.landing / "coupons" / "c1.csv", COUPONS)
    for i, text in enumerate(MEMBERS):
        _write(home.landing / "crm" / "members" / f"m{i}.csv", text)
    contracts = load_contracts()
    chosen = [contracts["coupons"], contracts["crm_members"]]
    load_tables(chosen, home, workers=1)
    shas = lake.ledger_entries(home, "crm_members").file_sha256.tolist()
    assert len(shas) == 2 and set(lake.segment_of(home, "crm_members")) == set(shas)
    return home, chosen


def _erase(paths, identifiers):
    from orchestration.erase import Person, erase

    return erase(paths, key_from_env(), Person("crm_member_id", "a CRM member id", set(identifiers)))


def _raw(paths, table, column):
    with lake.reading(paths, [table]):
        files = [p for p in lake.table_dir(paths, lake.RAW, table).glob("*.parquet") if lake.is_data_file(p)]
        return sorted(v for p in files for v in pq.read_table(p).column(column).to_pylist())


def _ledger(paths, table, columns=("rows_read", "rows_loaded", "rows_quarantined", "rows_suppressed", "rows_erased")):
    entries = lake.ledger_entries(paths, table).sort_values("source_file")
    return [tuple(int(v) for v in row) for row in entries[list(columns)].itertuples(index=False)]


def _member_person():
    return {("crm_member_id", "M1"), ("mobile", keyed_hash(key_from_env(), MOBILE))}


def test_erasure_rewrites_raw_quarantine_and_segments_and_lowers_the_ledger(loaded):
    paths, _ = loaded
    entry = _erase(paths, _member_person())
    assert entry["rows_removed"]["lake"] == {"coupons": {"raw": 1, "quarantine": 1},
                                             "crm_members": {"raw": 2, "quarantine": 0}}
    assert _raw(paths, "coupons", "coupon_code") == ["C2", "C4"]
    assert _raw(paths, "crm_members", "member_id") == ["M2", "M3"]  # M9 shares M1's number: their row goes too
    assert not lake.per_file(paths, lake.QUARANTINE, "coupons", lake.ledger_entries(paths, "coupons").file_sha256[0]
                             ).exists()
    assert lake.manifests(paths, "crm_members") == []  # the segment was written back per file, then rewritten
    assert _ledger(paths, "coupons") == [(4, 2, 0, 0, 2)]
    assert _ledger(paths, "crm_members") == [(2, 1, 0, 0, 1), (2, 1, 0, 0, 1)]
    assert reconcile(paths, "coupons").problems == [] and reconcile(paths, "crm_members").problems == []


def test_a_reload_of_the_same_exports_suppresses_them(loaded):
    paths, chosen = loaded
    _erase(paths, _member_person())
    reports = load_tables(chosen, paths, reload=True, workers=1)
    assert {t: (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_suppressed) for t, r in reports.items()} == \
           {"coupons": (4, 2, 0, 2), "crm_members": (4, 2, 0, 2)}
    assert _raw(paths, "coupons", "coupon_code") == ["C2", "C4"]
    assert _raw(paths, "crm_members", "member_id") == ["M2", "M3"]
    assert _ledger(paths, "coupons") == [(4, 2, 0, 2, 0)]
    assert reconcile(paths, "coupons").problems == [] and reconcile(paths, "crm_members").problems == []


def test_a_killed_erasure_blocks_reconciliation_until_resume_finishes_it_counting_once(loaded, monkeypatch):
    from ingest import erasure
    from orchestration.erase import main

    paths, _ = loaded
    real, calls = lake.write_parquet_atomically, []

    def dies_at_the_first_ledger_entry(table, target):
        calls.append(target.relative_to(paths.lake).parts[0])
        if calls == ["erasure", "raw", "loads"]:  # suppression list, coupons' raw file rewritten, its ledger entry not
            raise KeyboardInterrupt("killed")
        real(table, target)

    monkeypatch.setattr(lake, "write_parquet_atomically", dies_at_the_first_ledger_entry)
    with pytest.raises(KeyboardInterrupt):
        _erase(paths, _member_person())
    monkeypatch.setattr(lake, "write_parquet_atomically", real)
    [journal] = erasure.pending(paths)
    assert _raw(paths, "coupons", "coupon_code") == ["C2", "C4"] and _ledger(paths, "coupons") == [(4, 3, 1, 0, 0)]
    problems = reconcile(paths, "coupons").problems
    assert problems[0] == (f"coupons: erasure {journal.erasure_id} (started {journal.started_at}) is unfinished; "
                           f"finish it with python -m orchestration.erase --resume")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--resume"]) == 0
    assert out.getvalue() == f"finished the interrupted erasure {journal.erasure_id}\n"
    assert erasure.pending(paths) == []
    assert _ledger(paths, "coupons") == [(4, 2, 0, 0, 2)]  # not lowered twice
    assert _raw(paths, "coupons", "coupon_code") == ["C2", "C4"]
    assert reconcile(paths, "coupons").problems == [] and reconcile(paths, "crm_members").problems == []
    assert [e["rows_removed"]["lake"]["coupons"] for e in erasure.ledger(paths)] == [{"raw": 1, "quarantine": 1}]


def test_a_suppression_list_keyed_with_another_key_stops_the_load(loaded):
    """Two guards, in this order: the lake's key record refuses a load under another key before anything
    is read; the suppression list refuses a key other than its own (a list copied from another lake, a
    record lost), so that erased people can never come back through a list that matches nothing."""
    from ingest.hash_keys import HashKeyMismatchError
    from ingest.suppression import SuppressionKeyError, Suppressor

    paths, chosen = loaded
    _erase(paths, _member_person())
    _write(paths.landing / "coupons" / "c2.csv", COUPONS.replace("C1,", "C5,"))
    rotated = HashKey(b"a rotated secret", "v2")
    with pytest.raises(HashKeyMismatchError):
        load_tables(chosen, paths, key=rotated, workers=1)
    assert len(lake.ledger_entries(paths, "coupons")) == 1  # nothing loaded
    with pytest.raises(SuppressionKeyError) as raised:
        Suppressor.for_table(paths, "coupons", rotated)
    message = str(raised.value)
    assert "keyed with hash key version(s) ['demo'], but the key loading table 'coupons' is version 'v2'" in message
    assert MOBILE not in message and "M1" not in message


def test_erasure_yml_names_every_identity_column_and_every_customer_mobile():
    from ingest.dbt_sources import staging_models
    from ingest.suppression import person_columns

    config = person_columns()
    project = yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))
    # an identity source is a staging model; erasure removes the rows of the raw table it reads
    # (stg_crm__member_phones, a member's earlier phones, reads every version of crm_members)
    raw_of = {model: table for table, readers in staging_models().items() for model in readers.models}
    wanted = {(raw_of[s["model"]], column, kind) for s in project["vars"]["identity_sources"]
              for kind, column in s["identifiers"].items()}
    have = {(t, c, k) for t, cols in config.items() for c, k in cols.items()}
    assert wanted - have == set()
    mobiles = {(t, f"{c.name}_hash") for t, contract in load_contracts().items() if t not in ("staff", "stores")
               for c in contract.columns if c.type in ("mobile", "masked_mobile")}
    assert mobiles - {(t, c) for t, c, k in have if k == "mobile"} == set()
    kinds = {k for _, _, k in have}
    for kind in kinds:  # a type is hashed in every column or in none (one suppression hash per identifier)
        assert len({c.endswith("_hash") for _, c, k in have if k == kind}) == 1, kind


def test_a_file_read_again_by_the_exact_reader_counts_its_suppressed_rows_once(loaded, monkeypatch):
    from ingest import engine, readers

    paths, chosen = loaded
    _erase(paths, _member_person())
    monkeypatch.setattr(readers, "FAST_CSV_BYTES", 0)  # Arrow reads it first ...
    monkeypatch.setattr(engine, "SMALL_FILE_BYTES", 0)
    lines = COUPONS.replace("C1,", "C6,").splitlines()
    _write(paths.landing / "coupons" / "c3.csv", "\n".join(lines[:2] + [""] + lines[2:]) + "\n")  # ... a blank line
    [report] = [f for f in load_tables(chosen[:1], paths, workers=1)["coupons"].files if f.status == "loaded"]
    # C6 (M1) and C3 (M1, quarantined) suppressed, each once
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined, report.rows_suppressed) == (4, 2, 0, 2)
    assert reconcile(paths, "coupons").problems == []


def test_erasing_with_another_key_than_the_lakes_is_refused(loaded, monkeypatch):
    from orchestration.erase import main

    paths, _ = loaded
    monkeypatch.setenv("QUANYU_HASH_KEY", "a rotated secret")
    monkeypatch.setenv("QUANYU_HASH_KEY_VERSION", "v2")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["--mobile", MOBILE]) == 1
    assert err.getvalue() == ("erase: the lake holds rows hashed with key version(s) ['demo'], the key given is "
                              "version 'v2'; erasing needs the key the lake was hashed with (finish a key rotation "
                              "first). Nothing was changed\n")
    assert not (paths.lake / "erasure").exists()


def test_erasing_with_another_secret_under_the_lakes_version_is_refused(loaded):
    """The version label alone cannot tell: the lake's key record (its fingerprint) does."""
    from ingest.hash_keys import record_key
    from orchestration.erase import main

    paths, _ = loaded
    record_key(paths, HashKey(b"the secret the lake was really hashed with", "demo"))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["--mobile", MOBILE]) == 1
    assert "(the same version label, another secret); erasing needs the key the lake was hashed with" in err.getvalue()
    assert MOBILE not in err.getvalue()
    assert not (paths.lake / "erasure").exists()


@pytest.mark.parametrize("exported, landed", [
    ('="M0012"', "M0012"), ("'M0012", "M0012"), ("''M0012", "M0012"), ("\tM0012", "M0012"), (" M0012 ", "M0012"),
    ("null", ""), ("-", ""),
])
def test_evidence_is_cleaned_as_ingest_lands_the_identifier(exported, landed):
    """Quarantine evidence keeps the text as exported: suppression must clean it exactly as ingest does."""
    from ingest.suppression import clean

    assert clean(exported) == landed
