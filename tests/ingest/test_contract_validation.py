"""Every bad contract is refused with a complaint naming the file and the entry (one row each)."""
import re

import pytest

from ingest.contract import CONTRACTS_DIR, ContractError, load_contracts, parse_contract

WHERE = "contracts/bad.yml"
GOOD = """\
table: t
channel: c
description: a table
source:
  glob: "c/t/**/*"
key: [id]
columns:
  - {name: id, from: [编号], type: string, required: true}
  - {name: paid, from: [金额], type: amount, zero_tokens: [无]}
  - {name: at, from: [时间], type: timestamp, unit: s}
"""
TOP = "table, channel, description, source, key, versioned_by, columns"
COLUMN = "name, from, type, required, zero_tokens, unit, future_ok, identifier, zero_padded_to"


def edit(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


BAD = [
    pytest.param(edit("key: [id]", "key: [id]\nkeys: [id]"),
                 f"{WHERE}: unknown key 'keys' in the contract; known keys: {TOP}", id="unknown top-level key"),
    pytest.param(edit("description: a table", "descripton: a table"),
                 f"{WHERE}: unknown key 'descripton' in the contract; known keys: {TOP}", id="misspelt description"),
    pytest.param(edit('  glob: "c/t/**/*"', '  glob: "c/t/**/*"\n  encoding: gbk'),
                 f"{WHERE}: unknown key 'encoding' in source; known keys: glob, record_path, explode",
                 id="unknown source key"),
    pytest.param(edit('  glob: "c/t/**/*"', '  glob: "c/t/**/*"\n  recordpath: [items]'),
                 f"{WHERE}: unknown key 'recordpath' in source; known keys: glob, record_path, explode",
                 id="misspelt record_path"),
    pytest.param(edit("required: true}", "requried: true}"),
                 f"{WHERE}: unknown key 'requried' in column 'id'; known keys: {COLUMN}", id="misspelt required"),
    pytest.param(edit("unit: s}", "unit: s, pii: true}"),
                 f"{WHERE}: unknown key 'pii' in column 'at'; known keys: {COLUMN}", id="unknown column key"),
    pytest.param(edit("{name: paid,", "{nmae: paid,"),
                 f"{WHERE}: unknown key 'nmae' in columns[1]; known keys: {COLUMN}", id="unnamed column key"),
    pytest.param(edit("{name: paid, from: [金额],", "{name: paid,"),
                 f"{WHERE}: column 'paid' has no 'from'; a column needs name and from", id="column without from"),
    pytest.param(edit("from: [金额]", "from: 金额"),
                 f"{WHERE}: column 'paid' from must be a list of values, found '金额'", id="from as a bare string"),
    pytest.param(edit("type: amount,", "type: money,"),
                 f"{WHERE}: column 'paid' has unknown type 'money'; known: ['address', 'address_detail', 'amount', "
                 "'amount_fen', 'bool', 'date', 'decimal', 'drop', 'hash', 'int', 'json', 'masked_mobile', 'mobile', "
                 "'person_name', 'region', 'string', 'timestamp', 'year_month']",
                 id="unknown type"),
    pytest.param(edit("unit: s}", "unit: us}"), f"{WHERE}: column 'at' unit must be s or ms", id="unknown unit"),
    pytest.param(edit("type: string, required: true}", "type: drop, required: true}"),
                 f"{WHERE}: column 'id' cannot be required and dropped", id="required and dropped"),
    pytest.param(edit("channel: c\n", ""), f"{WHERE}: missing top-level key 'channel'", id="missing channel"),
    pytest.param(edit('  glob: "c/t/**/*"', "  record_path: [items]"), f"{WHERE}: source has no 'glob'",
                 id="source without glob"),
    pytest.param(edit('source:\n  glob: "c/t/**/*"', "source: c/t/**/*"),
                 f"{WHERE}: source must be a mapping, found str 'c/t/**/*'", id="source as a string"),
    pytest.param(edit("key: [id]", "key: [missing]"), f"{WHERE}: key columns ['missing'] are not landed columns",
                 id="key not a column"),
    pytest.param(edit("{name: paid,", "{name: id,"), f"{WHERE}: duplicate column names", id="duplicate column"),
    pytest.param(edit("key: [id]", "key: [id]\nversioned_by: [updated]"),
                 f"{WHERE}: versioned_by names 'updated', which is not a column; columns: id, paid, at",
                 id="versioned_by not a column"),
    pytest.param(edit("key: [id]", "key: [id]\nversioned_by: [paid]"),
                 f"{WHERE}: versioned_by column 'paid' is of type 'amount'; a record's version is told by a "
                 "timestamp or date column", id="versioned_by not a time"),
    pytest.param(edit("key: [id]", "key: [id, at]\nversioned_by: [at]"),
                 f"{WHERE}: versioned_by column 'at' is part of the key; it is the same in every version of a "
                 "record and cannot tell them apart", id="versioned_by in the key"),
    pytest.param(edit("unit: s}", "unit: s, future_ok: true}").replace("key: [id]", "key: [id]\nversioned_by: [at]"),
                 f"{WHERE}: versioned_by column 'at' may lie ahead (future_ok); it does not say when the record "
                 "changed", id="versioned_by a future time"),
    pytest.param(edit("key: [id]", "key: [id]\nversioned_by: [at, at]"),
                 f"{WHERE}: versioned_by names a column twice: ['at', 'at']", id="versioned_by twice"),
    pytest.param(edit("key: [id]", "key: [id]\nversioned_by: at"),
                 f"{WHERE}: versioned_by must be a list of values, found 'at'", id="versioned_by a bare string"),
    pytest.param("- table: t\n", f"{WHERE}: the contract must be a mapping, found list [{{'table': 't'}}]",
                 id="not a mapping"),
]


@pytest.mark.parametrize("text, complaint", BAD)
def test_a_bad_contract_is_refused_with_its_complaint(text, complaint):
    with pytest.raises(ContractError, match=f"^{re.escape(complaint)}$"):
        parse_contract(text, where=WHERE)


def test_the_good_contract_of_these_tests_loads():
    contract = parse_contract(GOOD, where=WHERE)
    assert [c.name for c in contract.columns] == ["id", "paid", "at"]


def test_a_contract_folder_with_a_bad_file_names_that_file(tmp_path):
    (tmp_path / "good.yml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "typo.yml").write_text(edit("table: t", "table: u\ntabel: u"), encoding="utf-8")
    with pytest.raises(ContractError, match=re.escape(f"{tmp_path / 'typo.yml'}: unknown key 'tabel'")):
        load_contracts(tmp_path)


def test_every_shipped_contract_loads():
    contracts = load_contracts()
    assert len(contracts) == len(list(CONTRACTS_DIR.glob("*.yml"))) > 0


def test_every_shipped_contract_says_which_of_its_columns_tell_a_records_versions():
    """Explicit, also when empty: a missing versioned_by would silently leave the export date to decide."""
    import yaml

    for path in sorted(CONTRACTS_DIR.glob("*.yml")):
        assert "versioned_by" in yaml.safe_load(path.read_text(encoding="utf-8")), path.name
