"""Where a landing file's export time comes from: title line, then a date in its path, then its
modification time; implausible times are skipped (ingest/export_time.py)."""
import datetime as dt

import pytest

from ingest.export_time import FILE_NAME, MODIFIED, TITLE, ExportTime, export_time, path_time, title_time
from ingest.settings import BUSINESS_TZ

LATEST = dt.datetime(2026, 12, 10)
MTIME = dt.datetime(2026, 12, 5, 8, 30).replace(tzinfo=BUSINESS_TZ).timestamp()


@pytest.mark.parametrize("line, expected", [
    ("导出时间：2026-12-09 10:15:00", dt.datetime(2026, 12, 9, 10, 15)),
    ("导出时间: 2026/12/9 8:05", dt.datetime(2026, 12, 9, 8, 5)),
    ("报表生成时间 20261209", dt.datetime(2026, 12, 9)),
    ("导出时间：2026年12月9日 10时15分", dt.datetime(2026, 12, 9, 10, 15)),
    ("Exported at: 2026-12-09T10:15:00", dt.datetime(2026, 12, 9, 10, 15)),
    ("订单报表", None),  # no time
    ("2026-12-09 10:15:00", None),  # a time without a word saying it is the export's
    ("导出时间：2099-01-01 00:00:00", None),  # after the load: a wrong clock, not an export time
    ("导出时间：2026-13-01", None),
])
def test_a_title_line_gives_the_export_time_it_names(line, expected):
    assert title_time([line], LATEST) == expected


@pytest.mark.parametrize("label, expected", [
    ("tmall/orders/orders_20261209.csv", dt.datetime(2026, 12, 9)),
    ("tmall/orders/ExportOrderList202612091015.csv", dt.datetime(2026, 12, 9, 10, 15)),
    ("jd/orders/2026-12-09/export.csv", dt.datetime(2026, 12, 9)),
    ("jd/orders/export_2026_12_09.csv", dt.datetime(2026, 12, 9)),
    ("pos/sales/range_20261101-20261130.csv", dt.datetime(2026, 11, 30)),  # exported after its range ends
    ("tmall/orders/2025-03_30d.csv", None),  # a month and a report length, no day
    ("coupons/coupon_log_202605.csv", None),
    ("wecom/guide_stats/zhang12345678.json", None),  # digits that are no date
    ("pos/sales/sales_20991231.csv", None),  # after the load
])
def test_a_date_in_the_path_gives_the_export_day(label, expected):
    assert path_time(label, LATEST) == expected


def test_the_sources_are_asked_in_order_title_line_file_name_modification_time():
    assert export_time(["导出时间：2026-12-08 09:00:00"], "a/x_20261201.csv", MTIME, LATEST) == \
        ExportTime(dt.datetime(2026, 12, 8, 9), TITLE)
    assert export_time(["导出时间：无"], "a/x_20261201.csv", MTIME, LATEST) == \
        ExportTime(dt.datetime(2026, 12, 1), FILE_NAME)
    assert export_time([], "a/x.csv", MTIME, LATEST) == ExportTime(dt.datetime(2026, 12, 5, 8, 30), MODIFIED)
