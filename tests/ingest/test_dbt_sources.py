"""dbt's lake sources are generated from the contracts (ingest/dbt_sources.py)."""
import subprocess
import sys

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
        assert readers[table["name"]] and f"deduplicated in {readers[table['name']][0]}." in table["description"]


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
