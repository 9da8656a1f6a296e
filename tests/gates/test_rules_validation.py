"""Every bad rules.yml is refused with a complaint naming the file and the key path (one row each)."""
import re

import pytest
import yaml

from expectations.rules import RULES_FILE, SEEDS_DIR, RulesError, check_rules, load_rules, mart_model_names, raw_rules
from ingest.contract import load_contracts

WHERE = "rules/bad.yml"
GOOD = """\
defaults:
  raw:
    earliest_timestamp: "2000-01-01"
    future_tolerance_days: 1
    max_quarantine_share: 0.2
    min_rows_for_shares: 20
    max_garbled_text_share: 0.01
    max_cell_issue_share: 0.05
    load_fresh_within_days: 2
    row_change: {min_ratio: 0.2, max_ratio: 5.0, history: 5, min_history: 3}
  marts:
    row_change: {min_ratio: 0.5, max_ratio: 2.0}
raw:
  coupons:
    codes: {status: {seed: code_map, column: source_value, where: {code_list: coupon_status}}}
    future_ok: [valid_until]
  pos_sales:
    signed: [amount, qty]
    event_fresh_within_days: {sold_at: 3}
  stores:
    codes: {store_status: {values: [open, closed]}}
    earliest_timestamp: "1980-01-01"
marts:
  dim_member:
    key: [one_id]
    ranges: {age: {min_value: 0, max_value: 120}}
"""
RAW_TABLE_KEYS = ("earliest_timestamp, future_tolerance_days, max_quarantine_share, min_rows_for_shares, "
                  "max_garbled_text_share, max_cell_issue_share, load_fresh_within_days, "
                  "row_change, codes, signed, future_ok, event_fresh_within_days, may_be_empty")
CODE_MAP_COLUMNS = "code_list, source_value, code, note"
SEEDS = ", ".join(sorted(p.stem for p in SEEDS_DIR.glob("*.csv")))


def edit(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def check(text: str):
    contracts = load_contracts()
    landed = {table: frozenset(c.data_schema.names) for table, c in contracts.items()}
    return check_rules(yaml.safe_load(text), WHERE, landed, mart_model_names())


BAD = [
    pytest.param(edit("marts:\n  dim_member", "mart:\n  dim_member"),
                 f"{WHERE}: unknown key rules.mart; known keys in rules: defaults, raw, marts", id="unknown top key"),
    pytest.param(edit("  marts:\n    row_change", "  mart:\n    row_change"),
                 f"{WHERE}: unknown key defaults.mart; known keys in defaults: raw, marts", id="unknown defaults key"),
    pytest.param(edit("    load_fresh_within_days: 2", "    load_fresh_within_day: 2"),
                 f"{WHERE}: unknown key defaults.raw.load_fresh_within_day; known keys in defaults.raw: "
                 + RAW_TABLE_KEYS.split(", codes")[0], id="misspelt raw default"),
    pytest.param(edit("    load_fresh_within_days: 2\n", ""), f"{WHERE}: defaults.raw has no load_fresh_within_days",
                 id="missing raw default"),
    pytest.param(edit("history: 5, min_history: 3", "history: 5, min_histroy: 3"),
                 f"{WHERE}: unknown key defaults.raw.row_change.min_histroy; known keys in defaults.raw.row_change: "
                 "min_ratio, max_ratio, history, min_history", id="misspelt row_change key"),
    pytest.param(edit("    row_change: {min_ratio: 0.5, max_ratio: 2.0}", "    row_change: {min_ratio: 0.5}"),
                 f"{WHERE}: defaults.marts.row_change has no max_ratio", id="incomplete mart default"),
    pytest.param(edit("  coupons:", "  coupon:"),
                 f"{WHERE}: unknown table raw.coupon: no contract in ingest/contracts declares it; known tables: "
                 + ", ".join(sorted(load_contracts())), id="unknown raw table"),
    pytest.param(edit("    future_ok: [valid_until]", "    futur_ok: [valid_until]"),
                 f"{WHERE}: unknown key raw.coupons.futur_ok; known keys in raw.coupons: {RAW_TABLE_KEYS}",
                 id="misspelt table rule"),
    pytest.param(edit("    future_ok: [valid_until]", "    future_ok: [valid_to]"),
                 f"{WHERE}: unknown column raw.coupons.future_ok.valid_to: the contract does not land it; landed "
                 "columns: " + ", ".join(sorted(load_contracts()["coupons"].data_schema.names)),
                 id="column the contract does not land"),
    pytest.param(edit("    signed: [amount, qty]", "    signed: amount"),
                 f"{WHERE}: raw.pos_sales.signed must be a list of column names, found 'amount'",
                 id="signed as a bare string"),
    pytest.param(edit("{sold_at: 3}", "{sold: 3}"),
                 f"{WHERE}: unknown column raw.pos_sales.event_fresh_within_days.sold: the contract does not land it; "
                 "landed columns: " + ", ".join(sorted(load_contracts()["pos_sales"].data_schema.names)),
                 id="freshness of an unknown column"),
    pytest.param(edit("{status: {seed: code_map,", "{status: {sead: code_map,"),
                 f"{WHERE}: unknown key raw.coupons.codes.status.sead; known keys in raw.coupons.codes.status: "
                 "values, seed, column, where", id="misspelt seed"),
    pytest.param(edit("{seed: code_map,", "{seed: code_maps,"),
                 f"{WHERE}: unknown seed 'code_maps' in raw.coupons.codes.status.seed; seeds in dbt_project/seeds: "
                 + SEEDS,
                 id="unknown seed"),
    pytest.param(edit("column: source_value,", "column: source,"),
                 f"{WHERE}: raw.coupons.codes.status.column: seed code_map has no column 'source'; its columns: "
                 + CODE_MAP_COLUMNS, id="unknown seed column"),
    pytest.param(edit("where: {code_list: coupon_status}", "where: {list: coupon_status}"),
                 f"{WHERE}: unknown key raw.coupons.codes.status.where.list: seed code_map has no such column; "
                 f"its columns: {CODE_MAP_COLUMNS}", id="unknown where key"),
    pytest.param(edit("{store_status: {values: [open, closed]}}", "{store_status: {}}"),
                 f"{WHERE}: raw.stores.codes.store_status needs either values or seed (with column)",
                 id="codes without values or seed"),
    pytest.param(edit("{values: [open, closed]}", "{values: [open], column: x}"),
                 f"{WHERE}: raw.stores.codes.store_status: column and where go with seed, not values",
                 id="values with a seed column"),
    pytest.param(edit("{store_status: {values", "{store_state: {values"),
                 f"{WHERE}: unknown column raw.stores.codes.store_state: the contract does not land it; landed "
                 "columns: " + ", ".join(sorted(load_contracts()["stores"].data_schema.names)),
                 id="codes of an unknown column"),
    pytest.param(edit("  dim_member:", "  dim_members:"),
                 f"{WHERE}: unknown mart marts.dim_members: no model under dbt_project/models/marts; known marts: "
                 + ", ".join(sorted(mart_model_names())), id="unknown mart"),
    pytest.param(edit("    key: [one_id]", "    keys: [one_id]"),
                 f"{WHERE}: unknown key marts.dim_member.keys; known keys in marts.dim_member: row_change, key, "
                 "allow_empty, lists_problems, ranges, fresh_within_days", id="misspelt mart rule"),
    pytest.param(edit("{min_value: 0, max_value: 120}", "{min: 0, max_value: 120}"),
                 f"{WHERE}: unknown key marts.dim_member.ranges.age.min; known keys in marts.dim_member.ranges.age: "
                 "min_value, max_value", id="misspelt range bound"),
    pytest.param(edit("    key: [one_id]", "    row_change: {max: 3}"),
                 f"{WHERE}: unknown key marts.dim_member.row_change.max; known keys in marts.dim_member.row_change: "
                 "min_ratio, max_ratio, history, min_history", id="misspelt mart row_change"),
    pytest.param(edit("  stores:\n", "  stores: []\n  x:\n"),
                 f"{WHERE}: raw.stores must be a mapping, found list []", id="entry not a mapping"),
]


@pytest.mark.parametrize("text, complaint", BAD)
def test_a_bad_rules_file_is_refused_with_its_complaint(text, complaint):
    with pytest.raises(RulesError, match=f"^{re.escape(complaint)}$"):
        check(text)


def test_the_good_rules_of_these_tests_pass():
    assert check(GOOD)["marts"]["dim_member"]["key"] == ["one_id"]


def test_a_bad_rules_file_on_disk_is_named(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(edit("  coupons:", "  coupon:"), encoding="utf-8")
    with pytest.raises(RulesError, match=re.escape(f"{path}: unknown table raw.coupon")):
        load_rules(path)


def test_the_shipped_rules_load_and_every_table_has_its_rules():
    doc = load_rules(RULES_FILE)
    assert doc["raw"] and doc["marts"]
    for table in load_contracts():
        assert raw_rules(table).row_change.min_ratio > 0


def test_the_gate_and_dbt_declare_the_same_code_columns():
    """rules.yml (raw gate: which values are known) and dbt's var code_columns (staging's 'unknown'
    bucket and marts.quality_unmapped_codes) name the same columns, seeds and seed rows."""
    project = yaml.safe_load((SEEDS_DIR.parent / "dbt_project.yml").read_text(encoding="utf-8"))
    in_dbt = {(c["table"], c["raw_column"], c["seed"], c["seed_column"], tuple(sorted((c.get("where") or {}).items())))
              for c in project["vars"]["code_columns"]}
    rules = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    in_gate = {(table, column, code["seed"], code["column"], tuple(sorted((code.get("where") or {}).items())))
               for table, entry in rules["raw"].items() for column, code in (entry.get("codes") or {}).items()}
    assert in_dbt == in_gate
