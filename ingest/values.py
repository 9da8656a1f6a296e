"""Vectorised value parsers: raw text column in, typed Arrow column(s) and per-row errors out.

Every parser follows one rule: an empty value is null; a non-empty value that cannot be
parsed is an error for that row (the engine quarantines the row with the message). Nothing
is silently coerced to null.
"""
from __future__ import annotations

import decimal
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.arrow_text import to_arrow, to_text
from ingest.contract import AMOUNT, DECIMAL, Column
from ingest.pii import HashKey, hash_identifiers, hash_mobiles
from ingest.settings import BUSINESS_TIMEZONE

NULL_TOKENS = frozenset({"", "null", "NULL", "Null", "none", "None", "NONE", "-", "--", "—",
                         "N/A", "n/a", "NA", "NaN", "nan", "\\N", "undefined"})
TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y%m%d%H%M%S",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日",
)
# Business timestamps outside this window are export or unit errors (an epoch in ms read as s);
# birthdays (year_month) reach further back.
EARLIEST, LATEST = pd.Timestamp("1990-01-01"), pd.Timestamp("2100-01-01")
EARLIEST_BIRTH = pd.Timestamp("1900-01-01")
TRUE_TOKENS = frozenset({"是", "true", "1", "y", "yes", "t", "已", "有", "接通", "已接通", "已添加", "已发送", "1.0"})
FALSE_TOKENS = frozenset({"否", "false", "0", "n", "no", "f", "未", "无", "未接通", "未添加", "未发送", "0.0"})
_CENT = pa.scalar(decimal.Decimal("0.01"), pa.decimal128(3, 2))
_TEN_THOUSANDTH = pa.scalar(decimal.Decimal("0.0001"), pa.decimal128(5, 4))


_NULL_TEXT = pa.scalar(None, pa.string())
_NULL_TOKEN_SET = pa.array(sorted(NULL_TOKENS), pa.string())


class ParsedColumn:
    """Typed output arrays of one contract column plus an error message per row (or NA)."""

    def __init__(self, arrays: dict[str, pa.Array], errors: pd.Series):
        self.arrays = arrays
        self.errors = errors


def clean_text(raw: pd.Series) -> pd.Series:
    """Trim and unwrap the spreadsheet armour of real exports; null tokens become NA.

    Tmall writes ids as ``="2987..."`` and phones as ``'135...`` so that Excel keeps them as
    text; a tab prefix does the same in other back offices. Runs in Arrow (RE2), not per cell.
    """
    text = pc.utf8_trim_whitespace(to_arrow(raw))
    text = pc.replace_substring_regex(text, r'^="(.*)"$', r"\1")
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, r"^['\t]+", ""))
    text = pc.if_else(pc.is_in(text, value_set=_NULL_TOKEN_SET), _NULL_TEXT, text)
    return to_text(text, raw.index)


def _errors_where(mask: pd.Series, raw: pd.Series, column: Column, what: str) -> pd.Series:
    """Messages like ``paid_amount: cannot parse '12.3.4' as amount`` for rows in mask."""
    mask = mask.fillna(False).astype(bool)
    errors = pd.Series(pd.NA, index=raw.index, dtype="str")
    if mask.any():
        if column.is_pii:  # the reason must not carry the personal value it refuses
            errors[mask] = f"{column.name}: cannot parse the (personal, not shown) value as {what}"
        else:
            shown = raw[mask].astype("str").str.slice(0, 40)
            errors[mask] = column.name + ": cannot parse '" + shown + "' as " + what
    return errors


_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _to_series(array: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(array.to_numpy(zero_copy_only=False), index=index)


def _float_of(texts: pa.Array) -> pa.Array:
    """float64 of decimal texts (``1e3`` and a sign allowed); anything else is null, never an exception."""
    return pc.cast(pc.if_else(pc.match_substring_regex(texts, _NUMBER), texts, _NULL_TEXT), pa.float64())


def _numbers(text: pd.Series) -> pd.Series:
    """Numbers from text with thousands separators; NaN where the text is not a number."""
    texts = pc.replace_substring(to_arrow(text), ",", "")
    return _to_series(_float_of(texts), text.index).astype("float64")


def _cents_to_amount(cents: pd.Series) -> pa.Array:
    """Exact decimal from integer cents (floats never reach the amount column)."""
    ints = pa.array(cents.astype("Int64"), type=pa.int64(), from_pandas=True)
    return pc.cast(pc.multiply(pc.cast(ints, pa.decimal128(19, 0)), _CENT), AMOUNT)


def _exact_cents(text: pd.Series) -> pd.Series:
    """Cents from plain decimal text, rounded half up on the digits (floats would make 12.345 -> 12.34)."""
    parts = pc.extract_regex(to_arrow(text), r"^(?P<sign>[+-]?)(?P<whole>\d*)\.?(?P<frac>\d*)$")
    sign, whole, frac = (pc.struct_field(parts, [i]) for i in range(3))
    digits = pc.binary_join_element_wise(whole, frac, "")
    whole = _float_of(pc.if_else(pc.equal(whole, ""), "0", whole))
    frac = pc.utf8_rpad(frac, 3, "0")
    cents = pc.add(pc.multiply(whole, 100.0), pc.cast(pc.utf8_slice_codeunits(frac, 0, 2), pa.float64()))
    cents = pc.add(cents, pc.cast(pc.greater_equal(pc.utf8_slice_codeunits(frac, 2, 3), "5"), pa.float64()))
    cents = pc.if_else(pc.equal(sign, "-"), pc.negate(cents), cents)
    values = pc.if_else(pc.equal(digits, ""), pa.scalar(None, pa.float64()), cents)
    return _to_series(values, text.index).astype("float64")


def parse_amount(column: Column, text: pd.Series, fen: bool = False) -> ParsedColumn:
    """CNY amounts: ``1,299.00元``, ``￥88``, fen integers, and texts meaning zero."""
    if column.zero_tokens:
        text = text.mask(text.isin(column.zero_tokens), "0")
    stripped = to_text(pc.replace_substring_regex(to_arrow(text), r"[元¥￥,\s]|RMB|CNY", ""), text.index)
    numbers = pd.to_numeric(stripped, errors="coerce")
    bad = text.notna() & (numbers.isna() | np.isinf(numbers))  # 'inf' is a number to pandas, not an amount
    if fen:
        bad |= numbers.notna() & (numbers != np.floor(numbers))
        cents = numbers
    else:
        cents = _exact_cents(stripped).fillna((numbers * 100).round())
    cents = cents.where(~bad)
    return ParsedColumn({column.name: _cents_to_amount(cents)},
                        _errors_where(bad, text, column, "amount in fen" if fen else "amount"))


def parse_decimal(column: Column, text: pd.Series) -> ParsedColumn:
    numbers = _numbers(text.str.replace("%", "", regex=False))
    bad = text.notna() & numbers.isna()
    units = (numbers * 10_000).round().where(~bad)
    ints = pa.array(units.astype("Int64"), type=pa.int64(), from_pandas=True)
    array = pc.cast(pc.multiply(pc.cast(ints, pa.decimal128(19, 0)), _TEN_THOUSANDTH), DECIMAL)
    return ParsedColumn({column.name: array}, _errors_where(bad, text, column, "number"))


def parse_int(column: Column, text: pd.Series) -> ParsedColumn:
    numbers = _numbers(text)
    bad = text.notna() & (numbers.isna() | (numbers != np.floor(numbers)))
    values = numbers.where(~bad).astype("Int64")
    return ParsedColumn({column.name: pa.array(values, type=pa.int64(), from_pandas=True)},
                        _errors_where(bad, text, column, "integer"))


def _epoch(column: Column, text: pd.Series) -> tuple[pd.Series, pd.Series]:
    numbers = _numbers(text)
    bad = text.notna() & numbers.isna()
    stamps = pd.to_datetime(numbers.where(~bad), unit=column.unit, utc=True, errors="coerce")
    return stamps.dt.tz_convert(BUSINESS_TIMEZONE).dt.tz_localize(None), bad


def _text_timestamps(text: pd.Series) -> pd.Series:
    """Try each known layout on what is still unparsed; offsets are converted to Beijing time."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    with_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True).fillna(False)
    if with_offset.any():
        aware = pd.to_datetime(text[with_offset], utc=True, errors="coerce", format="ISO8601")
        result[with_offset] = aware.dt.tz_convert(BUSINESS_TIMEZONE).dt.tz_localize(None).astype("datetime64[us]")
    todo = text.notna() & ~with_offset
    for layout in TIMESTAMP_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=layout, errors="coerce")
        hit = parsed.notna()
        result[hit[hit].index] = parsed[hit].astype("datetime64[us]")
        todo[hit[hit].index] = False
    return result


def _timestamps(column: Column, text: pd.Series) -> tuple[pd.Series, pd.Series]:
    if column.unit:
        stamps, bad = _epoch(column, text)
    else:
        stamps = _text_timestamps(text)
        bad = text.notna() & stamps.isna()
    earliest = EARLIEST_BIRTH if column.type == "year_month" else EARLIEST
    out_of_range = stamps.notna() & ((stamps < earliest) | (stamps >= LATEST))
    return stamps.where(~out_of_range), bad | out_of_range


def parse_timestamp(column: Column, text: pd.Series, as_date: bool = False) -> ParsedColumn:
    stamps, bad = _timestamps(column, text)
    stamps = stamps.where(~bad).astype("datetime64[us]")
    if as_date:
        array = pa.array(stamps.dt.date, type=pa.date32(), from_pandas=True)
    else:
        array = pa.array(stamps, type=pa.timestamp("us"), from_pandas=True)
    return ParsedColumn({column.name: array},
                        _errors_where(bad, text, column, "date" if as_date else "timestamp"))


def parse_year_month(column: Column, text: pd.Series) -> ParsedColumn:
    stamps, bad = _timestamps(column, text)
    months = stamps.dt.strftime("%Y-%m").where(~bad & stamps.notna())
    return ParsedColumn({column.name + "_month": pa.array(months.astype("str"), type=pa.string(), from_pandas=True)},
                        _errors_where(bad, text, column, "date"))


def parse_bool(column: Column, text: pd.Series) -> ParsedColumn:
    folded = text.str.lower()
    values = pd.Series(pd.NA, index=text.index, dtype="boolean")
    values[folded.isin(TRUE_TOKENS).fillna(False)] = True
    values[folded.isin(FALSE_TOKENS).fillna(False)] = False
    bad = text.notna() & values.isna()
    return ParsedColumn({column.name: pa.array(values, type=pa.bool_(), from_pandas=True)},
                        _errors_where(bad, text, column, "yes/no"))


def parse_json(column: Column, text: pd.Series) -> ParsedColumn:
    def invalid(value: object) -> bool:
        try:
            json.loads(value)  # type: ignore[arg-type]
            return False
        except (TypeError, ValueError):
            return True

    bad = text.notna() & text.map(invalid, na_action="ignore").fillna(False).astype(bool)
    return ParsedColumn({column.name: pa.array(text.where(~bad), type=pa.string(), from_pandas=True)},
                        _errors_where(bad, text, column, "JSON"))


def _string_array(values: pd.Series) -> pa.Array:
    return pa.array(values.astype("str"), type=pa.string(), from_pandas=True)


def parse_column(column: Column, raw: pd.Series, key: HashKey) -> ParsedColumn:
    """Dispatch on the contract type; ``raw`` holds the file's texts (or NA) for one column."""
    text = clean_text(raw) if column.type != "json" else raw.astype("str").where(raw.notna())
    none = pd.Series(pd.NA, index=raw.index, dtype="str")
    kind = column.type
    if kind == "string":
        return ParsedColumn({column.name: _string_array(text)}, none)
    if kind in ("amount", "amount_fen"):
        return parse_amount(column, text, fen=kind == "amount_fen")
    if kind == "decimal":
        return parse_decimal(column, text)
    if kind == "int":
        return parse_int(column, text)
    if kind in ("timestamp", "date"):
        return parse_timestamp(column, text, as_date=kind == "date")
    if kind == "year_month":
        return parse_year_month(column, text)
    if kind == "bool":
        return parse_bool(column, text)
    if kind == "json":
        return parse_json(column, text)
    if kind == "mobile":
        hashed, status = hash_mobiles(key, text)
        return ParsedColumn({column.name + "_hash": _string_array(hashed),
                             column.name + "_status": _string_array(status)}, none)
    if kind == "hash":
        return ParsedColumn({column.name + "_hash": _string_array(hash_identifiers(key, text))}, none)
    raise ValueError(f"column {column.name}: type {kind!r} does not land")
