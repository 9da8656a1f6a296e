"""When an export was made: the last word on which version of a record is newer.

Staging keeps, per business key, the version with the latest record time the contract names
(``versioned_by``: update, payment, refund times). Many exports carry none that moves when a
record changes (a Tmall order refunded on day 9 keeps its day-1 payment time; a CRM dump has
no update time), so every raw row also carries when its file was exported, ``_exported_at``,
from the most honest source the file has, in this order:

1. a title line above the header, as back offices write it (``导出时间：2026-12-09 10:15:00``;
   also 导出日期, 下载时间, 生成时间, 报表时间, "export time", "exported at");
2. a date in the file's path under the landing folder (``orders_20261209.csv``,
   ``2026-12-09/answer.json``, ``ExportOrderList202612091015.csv``); the latest when there are
   several (a range ``20261101-20261130`` was exported after its end);
3. the landing file's modification time (what a copy tool kept, else when it landed).

A time before 1990 or after the load + 1 day is no export time (a typo or a wrong clock) and
the next source is asked. The ledger records which source answered (``exported_at_from``).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import NamedTuple

from ingest.settings import BUSINESS_TZ

EARLIEST = dt.datetime(1990, 1, 1)

TITLE = "title line"
FILE_NAME = "file name"
MODIFIED = "file modified"

_TIME = r"(?:[ T_]*(?P<H>\d{1,2})[:：时](?P<M>\d{1,2})(?:[:：分](?P<S>\d{1,2}))?)?"
# one separator twice (2026-12-09, 2026_12_09, 2026/12/9) or 2026年12月9日; never 2025-03_30d
_SEPARATED = (r"(?P<y>\d{4})(?:(?P<sep>[-/._])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
              r"|年(?P<cm>\d{1,2})月(?P<cd>\d{1,2})日)")
_COMPACT = r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:[T_-]?(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?"
_TITLE_WORD = re.compile(r"(导出|下载|生成|报表|export(?:ed)?)\s*(时间|日期|at|time|date|on)?\s*[:：]?\s*",
                         re.IGNORECASE)
_SEPARATED_AT = re.compile(r"(?<!\d)" + _SEPARATED + _TIME + r"(?!\d)")
_COMPACT_AT = re.compile(r"(?<!\d)" + _COMPACT + r"(?!\d)")


class ExportTime(NamedTuple):
    """When the file was exported (Beijing wall clock) and which source said so."""

    at: dt.datetime
    source: str


def _moment(match: re.Match) -> dt.datetime | None:
    parts = match.groupdict()
    try:
        day = dt.datetime(int(parts["y"]), int(parts.get("m") or parts["cm"]), int(parts.get("d") or parts["cd"]))
    except ValueError:  # 2026-13-01
        return None
    try:
        return day.replace(hour=int(parts["H"] or 0), minute=int(parts["M"] or 0), second=int(parts["S"] or 0))
    except ValueError:  # digits after the date that are no time of day
        return day


def _plausible(moments: Iterable[dt.datetime | None], latest: dt.datetime) -> list[dt.datetime]:
    return [m for m in moments if m is not None and EARLIEST <= m <= latest]


def title_time(lines: Iterable[str], latest: dt.datetime) -> dt.datetime | None:
    """The time a title line above the header names after a word such as 导出时间; None without one."""
    for line in lines:
        for word in _TITLE_WORD.finditer(line):
            rest = line[word.end():]
            match = _SEPARATED_AT.match(rest) or _COMPACT_AT.match(rest)
            found = _plausible([_moment(match)] if match else [], latest)
            if found:
                return found[0]
    return None


def path_time(label: str, latest: dt.datetime) -> dt.datetime | None:
    """The latest date (with its time, when written next to it) in a path under the landing folder."""
    found = _plausible([_moment(m) for pattern in (_SEPARATED_AT, _COMPACT_AT) for m in pattern.finditer(label)],
                       latest)
    return max(found) if found else None


def modified_time(mtime: float) -> dt.datetime:
    """A file's modification time (seconds since the epoch) as Beijing wall clock, to the microsecond."""
    return dt.datetime.fromtimestamp(mtime, BUSINESS_TZ).replace(tzinfo=None)


def export_time(title_lines: Iterable[str], label: str, mtime: float, latest: dt.datetime) -> ExportTime:
    """The export time of one landing file by the rule in the module docstring.

    ``title_lines``: the text of rows above the header; ``label``: the path under the landing
    folder; ``latest``: the latest plausible time (the load + 1 day).
    """
    at = title_time(title_lines, latest)
    if at is not None:
        return ExportTime(at, TITLE)
    at = path_time(label, latest)
    if at is not None:
        return ExportTime(at, FILE_NAME)
    return ExportTime(modified_time(mtime), MODIFIED)
