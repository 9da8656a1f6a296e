"""The fast value paths of ``ingest.values`` give what their exact reference gives, on the texts the fast
path refuses as well as on those it takes (issue 20: ingest against its floor, byte-identical lake)."""
import random

import pandas as pd
import pytest

from ingest.contract import Column
from ingest.pii import HashKey
from ingest.values import (
    _LAYOUT_LITERALS,
    TIMESTAMP_FORMATS,
    _text_timestamps,
    _text_timestamps_exact,
    parse_column,
)

# Texts at the edges of the layout filter: a layout's literal missing, replaced, doubled or in another case;
# whitespace that strptime folds; values strptime or pandas read specially (NaT tokens, offsets, 9 fraction
# digits); and impossible dates.
TRAPS = [
    "2026-01-02 03:04:05", "2026/1/2 3:04", "2026-01-02T03:04:05", "2026-01-02t03:04:05", "2026-01-02 03:04",
    "2026-01-02 03:04:05.123456", "2026-01-02 03:04:05.123456789", "2026-01-02T03:04:05.5", "20260102030405",
    "20260102", "2026年1月2日 03:04:05", "2026年01月02日 3:04", "2026年1月2日", "2026年1月2日3:04", "2026-01-02",
    "2026/01/02", "2026/1/2", "1994-12-19", " 2026-01-02", "2026-01-02 ", "2026-01-02  03:04:05",
    "2026-01-02\t03:04:05", "2026-01-02\u00a003:04:05", "2026-01-02\u300003:04", "2026－01－02", "２０２６-01-02",
    "2026-01-02 03：04：05", "2026.01.02", "2026.01.02 03:04:05", "2026-01-02 24:00:00", "2026-02-30",
    "2026-13-01", "2026-1-2 1:2:3", "2026-01-02 03:04:05Z", "2026-01-02T03:04:05+08:00", "2026-01-02 03:04:05-0500",
    "NaT", "nat", "nan", "NaN", "None", "", " ", "0", "1", "-1", "2026", "202601", "2026010",
    "20260102 030405", "2026 01 02", "2026-01", "01-02", "0001-01-01", "9999-12-31 23:59:59", "2026-01-02:03",
    "2026:01:02 03:04:05", "2026/01-02 03:04", "2026-01/02", "2026年01月02日 03时04分", "T", "-", ":", "/",
    "2026-01-02 3:4:5 PM", "2026-01-02 03:04:05 extra", None,
]


def _same(texts: list) -> None:
    series = pd.Series(texts, dtype="str")
    fast, exact = _text_timestamps(series), _text_timestamps_exact(series)
    assert fast.dtype == exact.dtype
    pd.testing.assert_series_equal(fast, exact)


def test_layout_filter_requires_only_uncased_non_space_literals():
    assert _LAYOUT_LITERALS["%Y-%m-%dT%H:%M:%S"] == "-:"  # the T is matched ignoring case: never required
    assert _LAYOUT_LITERALS["%Y年%m月%d日 %H:%M"] == ":年日月"
    assert _LAYOUT_LITERALS["%Y%m%d"] == ""
    assert set(_LAYOUT_LITERALS) == set(TIMESTAMP_FORMATS)


def test_fast_timestamps_equal_the_exact_layout_loop_on_traps():
    _same(TRAPS)
    for text in TRAPS:  # alone too: a batch of one value of each kind
        _same([text])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_timestamps_equal_the_exact_layout_loop_on_random_texts(seed):
    """Real layouts with characters swapped, dropped or doubled, and random strings of their alphabet."""
    rng = random.Random(seed)
    alphabet = "0123456789-/:.T t年月日Z+\u3000"
    texts = []
    for _ in range(3000):
        stamp = pd.Timestamp(rng.randrange(631152000, 4102444800), unit="s")
        text = stamp.strftime(rng.choice(TIMESTAMP_FORMATS))
        for _ in range(rng.choice([0, 0, 1, 2])):
            i = rng.randrange(len(text) + 1)
            text = text[:i] + rng.choice(["", rng.choice(alphabet), text[i:i + 1] * 2]) + text[i + 1:]
        texts.append(text)
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 22))))
    _same(texts)


def test_words_pandas_reads_as_the_clock_are_no_time_in_either_loop():
    """pandas reads ``now`` and ``today`` as the clock under any layout: a timestamp column holding them
    loaded the load's own time, silently. A text without a digit is no time: the value is an error (the row
    is quarantined with its column named), in the fast loop and the exact one alike."""
    series = pd.Series(["now", "today", " NOW ", "Today", "2026-01-02", None], dtype="str")
    for loop in (_text_timestamps, _text_timestamps_exact):
        got = loop(series)
        assert got.isna().tolist() == [True, True, True, True, False, True], loop.__name__
    column = Column(name="paid_at", aliases=("paid_at",), type="timestamp")
    parsed = parse_column(column, series, HashKey(b"k", "t"))
    assert [pd.notna(e) for e in parsed.errors] == [True, True, True, True, False, False]


def test_partial_birthdays_are_read_only_where_no_layout_read_a_date():
    """``parse_year_month`` extracts the partial forms on the rows no layout read: a full date beside a partial
    form, each partial form, and a value that is both a partial form and a date (19900512 is a day)."""
    column = Column(name="b", aliases=("b",), type="year_month")
    texts = ["1990-05-12", "1990-05", "199005", "1990年5月", "1990", "05-12", "5月12日", "19900512", "1990-13",
             "1850-05", "abc", None]
    parsed = parse_column(column, pd.Series(texts, dtype="object"), HashKey(b"k", "t"))
    got = {k: v.to_pylist() for k, v in parsed.arrays.items()}
    assert got["b_month"] == ["1990-05", "1990-05", "1990-05", "1990-05", None, None, None, "1990-05", None, None,
                              None, None]
    assert got["b_month_of_year"] == [5, 5, 5, 5, None, 5, 5, 5, None, None, None, None]
    assert got["b_precision"] == ["day", "month", "month", "month", "year", "month_day", "month_day", "day", None,
                                  None, None, None]
    assert [pd.isna(e) for e in parsed.errors] == [True] * 8 + [False] * 3 + [True]


def test_spreadsheet_text_cells_taken_as_they_are_equal_the_cell_conversion(tmp_path):
    """``open_excel`` takes a non-empty text cell as it is and sends every other cell to ``_cell_text``: the
    values equal ``_cell_text`` of every cell calamine gives (texts, empty texts, numbers, booleans, times)."""
    import datetime as dt

    import openpyxl
    from python_calamine import CalamineWorkbook

    from ingest.readers import _cell_text, open_excel

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["会员编号", "姓名", "积分", "生日", "是否", "备注"])
    rows = [["M001", "王芳", 12, dt.datetime(1990, 5, 12), True, " 带空格 "],
            ["00012", "", 12.5, dt.date(2001, 1, 2), False, "=1+1"],
            [None, "0", 8.80029e11, "2026-01-02", None, "13800138000"],
            ["M004", "  ", 0, dt.datetime(2026, 1, 2, 3, 4, 5), "否", "\u200b"]]
    for row in rows:
        sheet.append(row)
    path = tmp_path / "members.xlsx"
    book.save(path)
    source = open_excel(path, lambda headers: len(headers))
    (batch,) = list(source.batches)
    raw = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet.title).to_python(skip_empty_area=False)
    expected = {header: [_cell_text(row[i]) if i < len(row) else None for row in raw[1:]]
                for i, header in enumerate(raw[0])}
    assert {h: list(v) for h, v in batch.values.items()} == expected
