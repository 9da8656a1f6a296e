"""dbt's lake sources are generated from the contracts (ingest/dbt_sources.py)."""
import subprocess
import sys

import pytest
import yaml

from ingest import dbt_sources
from ingest.contract import load_contracts


def test_the_committed_sources_file_is_the_generators_output():
    committed = dbt_sources.SOURCES_FILE.read_text(encoding="utf-8")
    assert committed == dbt_sources.generate(), (
        f"{dbt_sources.SOURCES_FILE} is stale: run `python -m ingest.dbt_sources` and commit the result")


def test_check_exits_1_naming_the_stale_file(monkeypatch, tmp_path, capsys):
    stale = tmp_path / "_sources.yml"
    stale.write_text(dbt_sources.generate().replace("name: tmall_orders", "name: tmall_order"), encoding="utf-8")
    monkeypatch.setattr(dbt_sources, "SOURCES_FILE", stale)
    assert dbt_sources.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{stale} is stale") and "-      - name: tmall_order\n" in err
    assert dbt_sources.main([]) == 0 and dbt_sources.main(["--check"]) == 0


def test_every_contract_is_a_raw_source_read_by_its_staging_model():
    doc = yaml.safe_load(dbt_sources.generate())
    raw = next(s for s in doc["sources"] if s["name"] == "raw")
    contracts = load_contracts()
    assert [t["name"] for t in raw["tables"]] == sorted(contracts)
    readers = dbt_sources.staging_models()
    for table in raw["tables"]:
        contract = contracts[table["name"]]
        assert table["description"].startswith(contract.description)
        assert f"business key ({', '.join(contract.key)})" in table["description"]
        assert f"deduplicated in {readers[table['name']].deduplicating}." in table["description"]
        for model in readers[table["name"]].every_version:
            assert model in table["description"].split("Every version is also read by ", 1)[1]


def test_a_raw_table_has_one_deduplicating_staging_reader_and_may_have_history_readers():
    readers = dbt_sources.staging_models()
    assert readers["crm_members"] == dbt_sources.StagingReaders("stg_crm__members", ("stg_crm__member_phones",))
    assert readers["pos_sales"] == dbt_sources.StagingReaders("stg_pos__sales")
    assert all(r.deduplicating.startswith("stg_") for r in readers.values())


def _staging(tmp_path, **models: str):
    for name, sql in models.items():
        (tmp_path / f"{name}.sql").write_text(sql, encoding="utf-8")
    return tmp_path


def test_a_raw_table_read_by_staging_that_no_model_deduplicates_is_refused_naming_it(tmp_path):
    folder = _staging(tmp_path, stg_crm__member_phones="select * from {{ source('raw', 'crm_members') }}")
    with pytest.raises(dbt_sources.StagingReadersError) as refused:
        dbt_sources.staging_models(folder)
    message = str(refused.value)
    assert "'crm_members'" in message and "stg_crm__member_phones.sql" in message and "0 of which" in message
    assert "deduplicate(source('raw', 'crm_members'), ...)" in message


def test_a_raw_table_two_staging_models_deduplicate_is_refused_naming_both(tmp_path):
    dedup = "{{ deduplicate(source('raw', 'coupons'), partition_by='coupon_code', order_by='1') }}"
    folder = _staging(tmp_path, stg_a=dedup, stg_b=dedup)
    with pytest.raises(dbt_sources.StagingReadersError, match=r"2 of which deduplicate it \(stg_a, stg_b\)"):
        dbt_sources.staging_models(folder)


def test_a_contract_without_a_staging_model_is_still_a_source(tmp_path):
    contracts = load_contracts()
    text = dbt_sources.render({"coupons": contracts["coupons"]}, {})
    table = yaml.safe_load(text)["sources"][0]["tables"][0]
    assert table["name"] == "coupons" and table["description"].endswith("no staging model reads it yet.\n")


def test_the_generator_loads_neither_expectations_nor_orchestration():
    code = ("import sys, ingest.dbt_sources; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('expectations', 'orchestration')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=dbt_sources.REPO_ROOT)
    assert result.stdout.strip() == "[]"
