"""Vectorised value parsers: raw text column in, typed Arrow column(s) and per-row errors out.

Every parser follows one rule: an empty value is null; a non-empty value that cannot be used
is an error with its reason, and its cell is null. What the engine does with the error
depends on the column (ingest/engine.py ``parse_values``): in a required or key column the
row is quarantined; in an optional column the row loads, the cell stays null and the reason
is kept in the row's ``_cell_issues``. Nothing is silently coerced to null.

Values that cannot be used: text that is not of the column's type; numbers the column cannot
hold (``1e20`` yuan, ``99999999999999999999`` as an integer, ``NaN``, ``inf``); times after the
load + 1 day (unless the column is ``future_ok``, a coupon's expiry) or before 1990; an
identifier a spreadsheet turned into a number (``8.80029E+11``, ``12345.0``) or stripped of its
leading zeros (``12345`` among a file's zero-padded ``000xxxxx``; see ``zero_stripped``, and the
contract's ``zero_padded_to``, which pads back instead).
Identifiers (phones, hashed ids, every contract identifier) are normalised first: full-width
digits and letters, zero-width characters and Unicode spaces at the ends are another form of the
same identifier, not an error (``ingest.pii.normalise_identifier_forms``); ``８.８E+11`` is then
refused like ``8.8E+11``.
Formula-like text (a cell starting with ``=``, ``+``, ``-`` or ``@`` that a spreadsheet would
run when a BI user exports the table) is kept with a leading apostrophe, and noted.
"""
from __future__ import annotations

import decimal
import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.arrow_text import to_arrow, to_mask, to_text
from ingest.contract import AMOUNT, DECIMAL, TYPE_OUTPUTS, Column
from ingest.pii import (
    HashKey,
    Receiver,
    hash_identifiers,
    hash_mobiles,
    normalise_identifier_forms,
    normalise_regions,
    receiver_names,
    redact_text,
    split_addresses,
    visible_phone_digits,
)
from ingest.settings import BUSINESS_TIMEZONE, business_now

NULL_TOKENS = frozenset({"", "null", "NULL", "Null", "none", "None", "NONE", "-", "--", "—",
                         "N/A", "n/a", "NA", "NaN", "nan", "\\N", "undefined"})
TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y%m%d%H%M%S",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日",
)
# Business timestamps before this are export or unit errors (an epoch in ms read as s); after
# the load + FUTURE_TOLERANCE they are too (a row dated 2099 would stretch every monthly mart),
# unless the column is future_ok. Birthdays (year_month) reach further back.
EARLIEST = pd.Timestamp("1990-01-01")
FUTURE_TOLERANCE = pd.Timedelta(days=1)
FAR_FUTURE = pd.Timestamp("2100-01-01")  # even a future_ok time (a coupon's expiry) stops here
EARLIEST_BIRTH = pd.Timestamp("1900-01-01")
# The largest magnitudes the columns hold exactly: decimal(18, 2) yuan, decimal(18, 4), and
# integers a float64 still counts one by one (2**53); beyond, a value is an export error.
MAX_CENTS = 10**18 - 1
MAX_DECIMAL = 10**14 - 1
MAX_INT = 2**53
# Text that is "no value" in a text column; in a number column NaN and friends are errors.
NUMERIC_ERROR_TOKENS = frozenset({"NaN", "nan", "NAN"})
# A spreadsheet's rendering of a long number: 8.80029E+11, 1E+18, or 12345.0
SPREADSHEET_NUMBER = r"^[+-]?\d(\.\d+)?[eE]\+\d{1,3}$|^\d+\.0+$"
FORMULA_START = r"^[=+\-@]"
TRUE_TOKENS = frozenset({"是", "true", "1", "y", "yes", "t", "已", "有", "接通", "已接通", "已添加", "已发送", "1.0"})
FALSE_TOKENS = frozenset({"否", "false", "0", "n", "no", "f", "未", "无", "未接通", "未添加", "未发送", "0.0"})
_CENT = pa.scalar(decimal.Decimal("0.01"), pa.decimal128(3, 2))
_TEN_THOUSANDTH = pa.scalar(decimal.Decimal("0.0001"), pa.decimal128(5, 4))


_NULL_TEXT = pa.scalar(None, pa.string())
_NULL_TOKEN_SET = pa.array(sorted(NULL_TOKENS), pa.string())


class ParsedColumn:
    """Typed output arrays of one contract column, an error message per row (or NA), and notes:
    values that were kept but changed (a formula-like text neutralised), per row (or NA)."""

    def __init__(self, arrays: dict[str, pa.Array], errors: pd.Series, notes: pd.Series | None = None):
        self.arrays = arrays
        self.errors = errors
        self.notes = notes


def clean_text(raw: pd.Series, null_tokens: pa.Array | None = None) -> pd.Series:
    """Trim and unwrap the spreadsheet armour of real exports; null tokens become NA.

    Tmall writes ids as ``="2987..."`` and phones as ``'135...`` so that Excel keeps them as
    text; a tab prefix does the same in other back offices. Runs in Arrow (RE2), not per cell.
    """
    text = pc.utf8_trim_whitespace(to_arrow(raw))
    # each regex only where a value can match it: the two passes took 5.7 s of a 175 s load of a 100k
    # brand, though few columns hold any armour (a tab is trimmed already, unless it was inside ="...")
    unwrapped = pc.any(pc.starts_with(text, '="')).as_py()
    if unwrapped:
        text = pc.replace_substring_regex(text, r'^="(.*)"$', r"\1")
    if unwrapped or pc.any(pc.starts_with(text, "'")).as_py():
        text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, r"^['\t]+", ""))
    tokens = _NULL_TOKEN_SET if null_tokens is None else null_tokens
    text = pc.if_else(pc.is_in(text, value_set=tokens), _NULL_TEXT, text)
    return to_text(text, raw.index)


_NUMERIC_NULL_TOKEN_SET = pa.array(sorted(NULL_TOKENS - NUMERIC_ERROR_TOKENS), pa.string())


def _errors_text(mask: pd.Series, raw: pd.Series, column: Column, message: str) -> pd.Series:
    """``column: <message>`` for rows in mask, ``{value}`` in message showing the value (masked when personal)."""
    mask = mask.fillna(False).astype(bool)
    errors = pd.Series(pd.NA, index=raw.index, dtype="str")
    if mask.any():
        if column.is_pii:
            errors[mask] = f"{column.name}: " + message.replace("{value}", "the (personal, not shown) value")
        else:
            head, _, tail = message.partition("{value}")
            # masked before it is cut: a cut would leave half a mobile number that no mask recognises
            shown = raw[mask].astype("str").map(redact_text).str.slice(0, 40)
            errors[mask] = f"{column.name}: {head}'" + shown + f"'{tail}"
    return errors


def damaged_identifiers(column: Column, text: pd.Series) -> pd.Series:
    """Where an identifier arrived as a spreadsheet's number (its digits are lost)."""
    if not column.identifier:
        return pd.Series(False, index=text.index)
    found = pc.match_substring_regex(to_arrow(text), SPREADSHEET_NUMBER)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=text.index).fillna(False).astype(bool)


# An identifier column is zero-padded when, within one file, at least PADDED_MIN_VALUES of its values
# are all digits, PADDED_LENGTH_SHARE of those have one length L, and some of them start with 0 (a
# number never does unless it was padded). Its all-digit values shorter than L then lost their zeros
# (Excel reads 00012345 as the number 12345). Order ids of many lengths, or of one length with no
# leading zero anywhere, give no such evidence and are never flagged.
PADDED_MIN_VALUES = 20
PADDED_LENGTH_SHARE = 0.9


def _bools(array: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, nulls (empty cells) False."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def zero_stripped(column: Column, text: pd.Series, segments: list[int] | None = None) -> tuple[pd.Series, dict]:
    """Where an identifier is shorter than the zero-padded values of its file (per segment: one file's
    rows each, when several files are parsed together); and each flagged row's padded length."""
    suspect = np.zeros(len(text), dtype=bool)
    widths: dict[int, int] = {}
    if not column.identifier or column.type not in ("string", "hash") or not len(text):
        return pd.Series(suspect, index=text.index), widths
    values = to_arrow(text)
    digits = _bools(pc.match_substring_regex(values, r"^[0-9]+$"))
    lengths = np.asarray(pc.fill_null(pc.utf8_length(values), 0).to_numpy(zero_copy_only=False))
    zeros = _bools(pc.starts_with(values, "0"))
    start = 0
    for size in segments or [len(text)]:
        part = slice(start, start + size)
        start += size
        counts = np.bincount(lengths[part][digits[part]]) if digits[part].any() else np.zeros(1, dtype=int)
        width = int(counts.argmax())
        if (counts.sum() < PADDED_MIN_VALUES or counts[width] < PADDED_LENGTH_SHARE * counts.sum()
                or not (zeros[part] & digits[part] & (lengths[part] == width)).any()):
            continue
        flagged = digits[part] & (lengths[part] < width)
        suspect[part] = flagged
        widths.update((start - size + int(i), width) for i in np.flatnonzero(flagged))
    return pd.Series(suspect, index=text.index), widths


def neutralise_formulas(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Formula-like cells kept as text a spreadsheet will not run (a leading apostrophe); which ones."""
    found = pc.match_substring_regex(to_arrow(text), FORMULA_START)
    mask = pd.Series(found.to_numpy(zero_copy_only=False), index=text.index).fillna(False).astype(bool)
    return (text.mask(mask, "'" + text) if mask.any() else text), mask


def _errors_where(mask: pd.Series, raw: pd.Series, column: Column, what: str) -> pd.Series:
    """Messages like ``paid_amount: cannot parse '12.3.4' as amount`` for rows in mask."""
    return _errors_text(mask, raw, column, "cannot parse {value} as " + what)


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
    too_large = ~bad & cents.notna() & (cents.abs() > MAX_CENTS)
    cents = cents.where(~bad & ~too_large)
    errors = _errors_where(bad, text, column, "amount in fen" if fen else "amount")
    errors = errors.fillna(_errors_text(too_large, text, column, "{value} is larger than any amount can be"))
    return ParsedColumn({column.name: _cents_to_amount(cents)}, errors)


def parse_decimal(column: Column, text: pd.Series) -> ParsedColumn:
    numbers = _numbers(text.str.replace("%", "", regex=False))
    bad = text.notna() & numbers.isna()
    too_large = ~bad & numbers.notna() & (numbers.abs() > MAX_DECIMAL)
    units = (numbers * 10_000).round().where(~bad & ~too_large)
    ints = pa.array(units.astype("Int64"), type=pa.int64(), from_pandas=True)
    array = pc.cast(pc.multiply(pc.cast(ints, pa.decimal128(19, 0)), _TEN_THOUSANDTH), DECIMAL)
    errors = _errors_where(bad, text, column, "number")
    errors = errors.fillna(_errors_text(too_large, text, column, "{value} is larger than the column holds"))
    return ParsedColumn({column.name: array}, errors)


def parse_int(column: Column, text: pd.Series) -> ParsedColumn:
    numbers = _numbers(text)
    bad = text.notna() & (numbers.isna() | (numbers != np.floor(numbers)))
    too_large = ~bad & numbers.notna() & (numbers.abs() > MAX_INT)
    values = numbers.where(~bad & ~too_large).astype("Int64")
    errors = _errors_where(bad, text, column, "integer")
    errors = errors.fillna(_errors_text(too_large, text, column, "{value} is larger than any count can be"))
    return ParsedColumn({column.name: pa.array(values, type=pa.int64(), from_pandas=True)}, errors)


def _epoch(column: Column, text: pd.Series) -> tuple[pd.Series, pd.Series]:
    numbers = _numbers(text)
    bad = text.notna() & numbers.isna()
    seconds = numbers / (1000 if column.unit == "ms" else 1)
    bad |= numbers.notna() & (seconds.abs() > 10**11)  # beyond year 5000: no clock, an export error
    stamps = pd.to_datetime(numbers.where(~bad), unit=column.unit, utc=True, errors="coerce")
    bad |= numbers.notna() & stamps.isna()
    return stamps.dt.tz_convert(BUSINESS_TIMEZONE).dt.tz_localize(None), bad


def _layout_literals(layout: str) -> str:
    """The characters a text must hold to match ``layout`` (see ``_text_timestamps``): its literals, less
    whitespace (strptime matches a format's space with any run of whitespace) and cased letters (``T``:
    strptime matches literals ignoring case; ``年``, ``月``, ``日`` have no case and stay)."""
    literal = re.sub(r"%.", "", layout)
    return "".join(sorted({c for c in literal if not c.isspace() and c.lower() == c.upper()}))


# Each layout's required literals: ``-`` and ``:``, ``/``, ``.``, ``年`` ... (``%Y%m%d`` requires none).
_LAYOUT_LITERALS = {layout: _layout_literals(layout) for layout in TIMESTAMP_FORMATS}


def _text_timestamps(text: pd.Series) -> pd.Series:
    """``_text_timestamps_exact``, with each layout tried only on the texts that hold its literal characters.

    A text without a layout's ``-`` or ``:`` cannot match it: strptime matches a format's literals one for
    one, and its directives here (``%Y %m %d %H %M %S %f``) read digits (``%d`` also a space), never a
    literal of another layout. The exact loop ran every layout on everything still unparsed: a birthday
    column of ``1994-12-19`` paid nine failed layouts on every row before ``%Y-%m-%d`` (the crm_members
    birthday of the 100k brand: 0.48 s of 0.68 s in its ten passes). One ``match_substring`` per distinct
    literal over the column decides; tests/ingest/test_values.py compares the two loops on adversarial texts.
    """
    arrow = to_arrow(text)
    result, todo = _offset_times(text, arrow)
    if not todo.any():
        return result
    holds = {c: to_mask(pc.match_substring(arrow, c), text.index)
             for c in sorted(set("".join(_LAYOUT_LITERALS.values())))}
    for layout in TIMESTAMP_FORMATS:
        if not todo.any():
            break
        candidates = todo.copy()
        for c in _LAYOUT_LITERALS[layout]:
            candidates &= holds[c]
        if candidates.any():
            _read_layout(text, candidates, layout, result, todo)
    return result


def _text_timestamps_exact(text: pd.Series) -> pd.Series:
    """Try each known layout on what is still unparsed; offsets are converted to Beijing time. A text
    without a digit is no time (pandas reads ``now`` and ``today`` as the clock under any layout).
    The reference of ``_text_timestamps`` (kept for its tests)."""
    result, todo = _offset_times(text, to_arrow(text))
    for layout in TIMESTAMP_FORMATS:
        if not todo.any():
            break
        _read_layout(text, todo.copy(), layout, result, todo)
    return result


def _offset_times(text: pd.Series, arrow: pa.Array) -> tuple[pd.Series, pd.Series]:
    """Both timestamp loops start here: the times of texts ending in a UTC offset, in Beijing time,
    and which texts are left for the layouts (not null, no offset, holding a digit: pandas would read
    "now" and "today" as the clock under any layout)."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    with_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True).fillna(False)
    if with_offset.any():
        aware = pd.to_datetime(text[with_offset], utc=True, errors="coerce", format="ISO8601")
        result[with_offset] = aware.dt.tz_convert(BUSINESS_TIMEZONE).dt.tz_localize(None).astype("datetime64[us]")
    todo = text.notna() & ~with_offset & to_mask(pc.match_substring_regex(arrow, r"\d"), text.index)
    return result, todo


def _read_layout(text: pd.Series, rows: pd.Series, layout: str, result: pd.Series, todo: pd.Series) -> None:
    """Read ``rows`` of ``text`` with ``layout``: what it reads goes into ``result`` and leaves ``todo``."""
    parsed = pd.to_datetime(text[rows], format=layout, errors="coerce")
    hit = parsed.notna()
    result[hit[hit].index] = parsed[hit].astype("datetime64[us]")
    todo[hit[hit].index] = False


def _timestamps(column: Column, text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Times, which values are errors, and which of those are times outside the window."""
    if column.unit:
        stamps, bad = _epoch(column, text)
    else:
        stamps = _text_timestamps(text)
        bad = text.notna() & stamps.isna()
    earliest = EARLIEST_BIRTH if column.type == "year_month" else EARLIEST
    latest = FAR_FUTURE if column.future_ok else pd.Timestamp(business_now()) + FUTURE_TOLERANCE
    out_of_range = stamps.notna() & ((stamps < earliest) | (stamps >= latest))
    return stamps.where(~out_of_range), bad | out_of_range, out_of_range


def parse_timestamp(column: Column, text: pd.Series, as_date: bool = False) -> ParsedColumn:
    stamps, bad, outside = _timestamps(column, text)
    stamps = stamps.where(~bad).astype("datetime64[us]")
    if as_date:
        array = pa.array(stamps.dt.date, type=pa.date32(), from_pandas=True)
    else:
        array = pa.array(stamps, type=pa.timestamp("us"), from_pandas=True)
    what = "date" if as_date else "timestamp"
    return ParsedColumn({column.name: array}, _window_errors(column, text, bad, outside, what))


def _window_errors(column: Column, text: pd.Series, bad: pd.Series, outside: pd.Series, what: str) -> pd.Series:
    """Unparseable values say so; parseable ones outside the window say so too."""
    errors = _errors_where(bad & ~outside, text, column, what)
    limit = "1990-01-01" if column.type != "year_month" else "1900-01-01"
    message = (f"{{value}} as {what} is outside {limit} .. the load + 1 day (a future or pre-brand date is an export "
               f"error{'; this column may lie ahead up to 2100' if column.future_ok else ''})")
    return errors.fillna(_errors_text(outside, text, column, message))


# Partial birthdays as CRMs export them: year and month (1990-05, 199005, 1990年5月), the year
# alone (1990), month and day without a year (05-12, 5月12日).
_YEAR_MONTH = r"^(?P<y>(?:19|20)\d{2})\s*[-/.年]?\s*(?P<m>0?[1-9]|1[0-2])\s*月?$"
_YEAR_ONLY = r"^(?P<y>(?:19|20)\d{2})\s*年?$"
_MONTH_DAY = r"^(?P<m>0?[1-9]|1[0-2])\s*[-/.月]\s*(?P<d>0?[1-9]|[12]\d|3[01])\s*日?$"


def _extract_where(text: pd.Series, rows: pd.Series, pattern: str) -> pd.DataFrame:
    """``text.str.extract(pattern)`` on ``rows``; NA elsewhere."""
    return text.where(rows).str.extract(pattern)


def parse_year_month(column: Column, text: pd.Series) -> ParsedColumn:
    """A birthday at the precision the export gives: ``<name>_month`` (YYYY-MM) when year and
    month are known, ``<name>_month_of_year`` when the month is, ``<name>_precision`` (day,
    month, year, month_day). The day itself is never kept."""
    stamps, bad, _ = _timestamps(column, text)
    full = ~bad & stamps.notna()
    # the partial forms are read only where no layout read a date: every use below is masked by ``bad``
    # (the crm_members birthday, 71k full dates: three extracts of 0.05 s each over every row)
    year_month, year_only, month_day = (_extract_where(text, bad, pattern)
                                        for pattern in (_YEAR_MONTH, _YEAR_ONLY, _MONTH_DAY))
    partial_ym = bad & year_month["y"].notna()
    partial_y = bad & ~partial_ym & year_only["y"].notna()
    partial_md = bad & ~partial_ym & ~partial_y & month_day["m"].notna()
    years = stamps.dt.year.where(full)
    years = years.fillna(pd.to_numeric(year_month["y"].where(partial_ym), errors="coerce"))
    years = years.fillna(pd.to_numeric(year_only["y"].where(partial_y), errors="coerce"))
    months = stamps.dt.month.where(full)
    months = months.fillna(pd.to_numeric(year_month["m"].where(partial_ym), errors="coerce"))
    months = months.fillna(pd.to_numeric(month_day["m"].where(partial_md), errors="coerce"))
    in_range = years.isna() | ((years >= EARLIEST_BIRTH.year) & (years <= business_now().year))
    known = (full | partial_ym | partial_y | partial_md) & in_range
    text_month = (years.astype("Int64").astype("str") + "-" + months.astype("Int64").astype("str").str.zfill(2))
    has_both = known & years.notna() & months.notna()
    precision = pd.Series(pd.NA, index=text.index, dtype="str")
    precision[full & known] = "day"
    precision[partial_ym & known] = "month"
    precision[partial_y & known] = "year"
    precision[partial_md & known] = "month_day"
    month_of_year = months.where(known).astype("Int64")
    return ParsedColumn({
        column.name + "_month": pa.array(text_month.where(has_both).astype("str"), type=pa.string(), from_pandas=True),
        column.name + "_month_of_year": pa.array(month_of_year, type=pa.int8(), from_pandas=True),
        column.name + "_precision": pa.array(precision, type=pa.string(), from_pandas=True),
    }, _errors_where(text.notna() & ~known, text, column, "date"))


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


def parse_column(column: Column, raw: pd.Series, key: HashKey, segments: list[int] | None = None) -> ParsedColumn:
    """Dispatch on the contract type; ``raw`` holds the file's texts (or NA) for one column, ``segments``
    the row counts of the files it holds, in order, when there are several (None: one file)."""
    kind = column.type
    if kind == "json":
        text = raw.astype("str").where(raw.notna())
    else:
        if is_identifier_column(column):
            raw = normalise_identifier_forms(raw)
        text = clean_text(raw, _NUMERIC_NULL_TOKEN_SET if kind in NUMERIC_TYPES else None)
    damaged = damaged_identifiers(column, text)
    if column.zero_padded_to:
        return _padded_back(column, text, damaged, key)
    stripped, widths = zero_stripped(column, text.mask(damaged), segments)
    if damaged.any() or stripped.any():
        parsed = _parse_typed(column, text.mask(damaged | stripped), key)
        reason = _errors_text(damaged, text, column, "{value} is a number a spreadsheet reformatted (scientific "
                                                     "notation or a trailing .0): the identifier's digits are lost")
        for width in sorted(set(widths.values())):
            rows = pd.Series(False, index=text.index)
            rows.iloc[[i for i, w in widths.items() if w == width]] = True
            reason = reason.fillna(_errors_text(
                rows, text, column, f"{{value}} is shorter than the {width} digits of this column's other values in "
                                    f"the file, which are zero-padded: its leading zeros were probably lost (a "
                                    f"spreadsheet drops them), and a shortened identifier joins nothing or someone "
                                    f"else"))
        parsed.errors = parsed.errors.fillna(reason)
        return parsed
    return _parse_typed(column, text, key)


def is_identifier_column(column: Column) -> bool:
    """Whether the column's values go through ``normalise_identifier_forms`` before anything else:
    phones and hashed personal ids, and every column the contract makes an identifier."""
    return column.identifier or column.type in ("mobile", "hash")


def _padded_back(column: Column, text: pd.Series, damaged: pd.Series, key: HashKey) -> ParsedColumn:
    """A declared ``zero_padded_to: N`` identifier: a shorter all-digit value is padded back to N digits.

    Padding is safe here and only here: the contract says the source writes every value as N digits,
    so 12345 can only have been 00012345 (without the declaration the zeros' count is a guess, and the
    value is refused instead; see ``zero_stripped``). Each padded value is noted in ``_cell_issues``;
    an all-digit value longer than N is an error.
    """
    width = column.zero_padded_to
    values = to_arrow(text.mask(damaged))
    digits = pc.fill_null(pc.match_substring_regex(values, r"^[0-9]+$"), False)
    lengths = pc.utf8_length(values)
    short = pd.Series(_bools(pc.and_(digits, pc.less(lengths, width))), index=text.index)
    long = pd.Series(_bools(pc.and_(digits, pc.greater(lengths, width))), index=text.index)
    fixed = to_text(pc.if_else(pa.array(short.to_numpy()), pc.utf8_lpad(values, width, "0"), values), text.index)
    parsed = _parse_typed(column, fixed.mask(long), key)
    errors = _errors_text(damaged, text, column, "{value} is a number a spreadsheet reformatted (scientific "
                                                 "notation or a trailing .0): the identifier's digits are lost")
    errors = errors.fillna(_errors_text(long, text, column, f"{{value}} is longer than the {width} digits the "
                                                            f"contract declares (zero_padded_to)"))
    parsed.errors = parsed.errors.fillna(errors)
    notes = _errors_text(short, text, column, f"{{value}} had lost its leading zeros (a spreadsheet drops them); "
                                              f"padded back to the {width} digits the contract declares")
    parsed.notes = notes if parsed.notes is None else _join_notes(parsed.notes, notes)
    return parsed


def _join_notes(into: pd.Series, more: pd.Series) -> pd.Series:
    has = more.notna()
    return into.mask(has & into.notna(), into + "; " + more).mask(has & into.isna(), more)


NUMERIC_TYPES = frozenset({"amount", "amount_fen", "decimal", "int"})


def _parse_typed(column: Column, text: pd.Series, key: HashKey) -> ParsedColumn:
    none = pd.Series(pd.NA, index=text.index, dtype="str")
    kind = column.type
    if kind == "string":
        safe, formulas = neutralise_formulas(text)
        notes = _errors_text(formulas, text, column, "{value} starts like a spreadsheet formula; kept with a leading '")
        return ParsedColumn({column.name: _string_array(safe)}, none, notes=notes)
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
    if kind == "region":
        return ParsedColumn({column.name: _string_array(normalise_regions(text))}, none)
    if kind in RECEIVER_TYPES:
        return _receiver(column, text, key)
    raise ValueError(f"column {column.name}: type {kind!r} does not land")


# contract type -> (the helper in ingest/pii.py, its outputs in the order of the contract type's suffixes,
# what an unusable value is, what a value used in part is)
RECEIVER_TYPES = {
    "person_name": (receiver_names, ("name", "surname", "phonetic"), "{value} has no letter: no name to hash", ""),
    "masked_mobile": (visible_phone_digits, ("hash", "status", "prefix", "tail4", "tail2"),
                      "{value} is masked in a form whose visible digits cannot be read", ""),
    "address": (split_addresses, ("province", "city", "district", "hash", "street"),
                "{value} has no letter or digit: no address to hash",
                "{value} starts with no province or city: region left empty, the whole address hashed as "
                "the detail"),
    "address_detail": (lambda key, text: split_addresses(key, text, with_region=False), ("hash", "street"),
                       "{value} has no letter or digit: no address to hash", ""),
}


def _receiver(column: Column, text: pd.Series, key: HashKey) -> ParsedColumn:
    """The receiver types (issue 18): hashes and plain region parts, per ``RECEIVER_TYPES``. An
    unusable value is an error (its cells are null; the row loads with the reason in ``_cell_issues``);
    a value used in part is noted there. The value itself is never shown (a personal column)."""
    helper, parts, unusable, partial = RECEIVER_TYPES[column.type]
    found: Receiver = helper(key, text)
    names = [column.name + suffix for suffix, _ in TYPE_OUTPUTS[column.type]]
    arrays = {name: _string_array(found.values[part]) for name, part in zip(names, parts)}
    errors = _errors_text(found.unusable, text, column, unusable)
    notes = _errors_text(found.partial, text, column, partial) if partial else None
    return ParsedColumn(arrays, errors, notes=notes)
