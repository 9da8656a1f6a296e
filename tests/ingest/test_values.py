"""Value parsers on the texts real exports contain."""
import datetime as dt
import decimal
import hashlib
import hmac

import pandas as pd
import pytest

from ingest.contract import Column
from ingest.pii import HashKey, hash_mobiles, key_from_env, normalise_mobiles
from ingest.values import clean_text, parse_column

KEY = HashKey(b"test-key", "t1")


def parse(kind: str, values: list, **extra):
    column = Column(name="c", aliases=("c",), type=kind, **extra)
    parsed = parse_column(column, pd.Series(values, dtype="object"), KEY)
    return {k: v.to_pylist() for k, v in parsed.arrays.items()}, parsed.errors.tolist()


def test_clean_text_unwraps_spreadsheet_armour_and_nulls():
    out = clean_text(pd.Series(['="2987"', "'135", " x ", "null", "-", "\t42", None], dtype="object"))
    assert out.tolist()[:3] == ["2987", "135", "x"]
    assert pd.isna(out[3]) and pd.isna(out[4]) and out[5] == "42" and pd.isna(out[6])


def test_amounts_in_yuan_with_suffixes_and_zero_tokens():
    values, errors = parse("amount", ["1,299.00元", "￥88", "无退款申请", "12.345", "abc", None, "-3.5"],
                           zero_tokens=("无退款申请",))
    D = decimal.Decimal
    assert values["c"] == [D("1299.00"), D("88.00"), D("0.00"), D("12.35"), None, None, D("-3.50")]
    assert errors[4] == "c: cannot parse 'abc' as amount"
    assert all(pd.isna(e) for i, e in enumerate(errors) if i != 4)


def test_infinite_amounts_are_quarantined_not_a_crash():
    for kind in ("amount", "amount_fen"):
        values, errors = parse(kind, ["inf", "-Infinity", "12"])
        assert values["c"][:2] == [None, None]
        assert errors[0] == "c: cannot parse 'inf' as " + ("amount" if kind == "amount" else "amount in fen")
        assert errors[1].startswith("c: cannot parse '-Infinity'") and pd.isna(errors[2])


def test_amount_in_fen_must_be_whole():
    values, errors = parse("amount_fen", ["12345", "0", "12.5"])
    assert values["c"][:2] == [decimal.Decimal("123.45"), decimal.Decimal("0.00")]
    assert values["c"][2] is None and "amount in fen" in errors[2]


def test_timestamps_layouts_epochs_offsets_and_range():
    values, errors = parse("timestamp", ["2026-01-02 03:04:05", "2026/1/2 3:04", "2026-01-01T19:04:05Z",
                                         "2026年01月02日 03:04:05", "garbage", "1899-01-01 00:00:00"])
    assert values["c"][:4] == [dt.datetime(2026, 1, 2, 3, 4, 5), dt.datetime(2026, 1, 2, 3, 4),
                               dt.datetime(2026, 1, 2, 3, 4, 5), dt.datetime(2026, 1, 2, 3, 4, 5)]
    assert "as timestamp" in errors[4] and "as timestamp" in errors[5]
    epoch, _ = parse("timestamp", ["1767294245", 1767294245], unit="s")
    assert epoch["c"] == [dt.datetime(2026, 1, 2, 3, 4, 5)] * 2  # 2026-01-01T19:04:05Z in Beijing


def test_dates_bools_ints_and_birth_month():
    dates, _ = parse("date", ["2026-03-04", "1767294245"])
    assert dates["c"][0] == dt.date(2026, 3, 4)
    bools, errors = parse("bool", ["是", "否", "TRUE", "0", "maybe"])
    assert bools["c"][:4] == [True, False, True, False] and "yes/no" in errors[4]
    ints, errors = parse("int", ["1,234", "12.0", "1.5"])
    assert ints["c"][:2] == [1234, 12] and "integer" in errors[2]
    months, errors = parse("year_month", ["1958-05-17", None, "1958-02-30"])
    assert months == {"c_month": ["1958-05", None, None], "c_month_of_year": [5, None, None],
                      "c_precision": ["day", None, None]}
    assert errors[2] == "c: cannot parse the (personal, not shown) value as date"  # no birthday in reasons


def test_mobile_normalisation_and_status():
    raw = pd.Series(["'135 7246 8135", "+86 135-7246-8135", "135****1234", "13800000000", "0571-88886666",
                     "12345", None, "8613572468135", "13333333333", "00000000000"], dtype="object")
    number, status = normalise_mobiles(clean_text(raw))
    assert status.tolist()[:6] == ["valid", "valid", "masked", "placeholder", "landline", "invalid"]
    assert pd.isna(status[6]) and status[7] == "valid" and status[8] == "placeholder" and status[9] == "placeholder"
    assert number[0] == number[1] == number[7] == "13572468135" and pd.isna(number[2])


def test_mobile_hash_is_keyed_hmac_of_the_normalised_number():
    hashed, _ = hash_mobiles(KEY, pd.Series(["135 7246 8135", "13800000000"], dtype="str"))
    assert hashed[0] == hmac.new(b"test-key", b"13572468135", hashlib.sha256).hexdigest()
    assert pd.isna(hashed[1])  # placeholders are never hashed into an identity
    other, _ = hash_mobiles(HashKey(b"other", "v2"), pd.Series(["13572468135"], dtype="str"))
    assert other[0] != hashed[0]
    values, _ = parse("mobile", ["13572468135"])
    assert set(values) == {"c_hash", "c_status"} and "13572468135" not in str(values)


def test_demo_key_is_marked_and_real_key_needs_a_version():
    assert key_from_env({}).is_demo
    real = key_from_env({"QUANYU_HASH_KEY": "s3cret", "QUANYU_HASH_KEY_VERSION": "2026-11"})
    assert real.version == "2026-11" and not real.is_demo
    with pytest.raises(ValueError):
        key_from_env({"QUANYU_HASH_KEY": "s3cret", "QUANYU_HASH_KEY_VERSION": "demo"})


def test_nick_hash_folds_case_and_width_and_refuses_masked():
    values, _ = parse("hash", ["Tom_Li", "ｔｏｍ_ｌｉ", "t***i", ""])
    assert values["c_hash"][0] == values["c_hash"][1]
    assert values["c_hash"][2] is None and values["c_hash"][3] is None


def test_mobile_audit_finds_phones_in_text_but_not_in_hashes_or_ids():
    import duckdb

    from ingest.audit import raw_mobiles_in

    con = duckdb.connect()
    con.execute("create table t (order_id varchar, note varchar, node_id varchar, phone_hash varchar)")
    con.execute("""insert into t values
        ('2987123456789012345', '张三13512345678', 'tmall_nick:4584c0a8e19450426603afbdf', '13512345678'),
        ('1', 'tel: 135 1234 5678', 'unionid:oK7cr13512345678x', null),
        ('2', 'ok', 'mobile:+8613512345678', null)""")
    assert raw_mobiles_in(con, "t") == {"note": 2, "node_id": 1}  # *_hash columns are not scanned
