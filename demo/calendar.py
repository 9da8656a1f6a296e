"""The generation window and wall-clock arithmetic.

All times are Asia/Shanghai wall-clock seconds since 1970-01-01 ("wall seconds"): that is what
back offices print. APIs that return epoch seconds (WeCom, the official account) get
`epoch()`, i.e. wall minus 8 hours, so the warehouse converts them back to the same wall time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

SHANGHAI_OFFSET = 8 * 3600
NEVER = np.int32(1 << 30)  # "day index" of something that does not happen in the window


@dataclass(frozen=True)
class Month:
    """One calendar month of the window: label 'YYYYMM' and day indexes [first, stop)."""

    label: str
    first: int
    stop: int


@dataclass(frozen=True)
class Calendar:
    """Window [start, end] (inclusive) and helpers to place events in it."""

    start: date
    end: date
    months: list[Month] = field(default_factory=list)

    @staticmethod
    def ending(end: date, months: int) -> Calendar:
        """The `months` whole calendar months ending with the month of `end`, cut at `end`."""
        y, m = end.year, end.month - months + 1
        while m <= 0:
            y, m = y - 1, m + 12
        start = date(y, m, 1)
        out: list[Month] = []
        for i in range(months):
            yy, mm = y + (m - 1 + i) // 12, (m - 1 + i) % 12 + 1
            first = date(yy, mm, 1)
            nxt = date(yy + mm // 12, mm % 12 + 1, 1)
            stop = min((nxt - start).days, (end - start).days + 1)
            out.append(Month(f"{yy}{mm:02d}", (first - start).days, stop))
        return Calendar(start, end, out)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def base(self) -> int:
        """Wall seconds of the window's first midnight."""
        return (self.start - date(1970, 1, 1)).days * 86400

    def sec(self, day: np.ndarray, sod: np.ndarray) -> np.ndarray:
        """Wall seconds from day index and second of day."""
        return self.base + np.asarray(day, dtype=np.int64) * 86400 + np.asarray(sod, dtype=np.int64)

    def day_of(self, wall: np.ndarray) -> np.ndarray:
        """Day index of wall seconds."""
        return ((np.asarray(wall, dtype=np.int64) - self.base) // 86400).astype(np.int64)

    @staticmethod
    def epoch(wall: np.ndarray) -> np.ndarray:
        """Unix epoch seconds of a Shanghai wall time (what WeCom and WeChat APIs return)."""
        return np.asarray(wall, dtype=np.int64) - SHANGHAI_OFFSET

    def weekday(self) -> np.ndarray:
        """Weekday (0 = Monday) of every day of the window."""
        return (np.arange(self.days) + self.start.weekday()) % 7

    def day_index(self, d: date) -> int:
        return (d - self.start).days

    @property
    def stamp(self) -> str:
        """W3C timestamp of the export date (used in XLSX properties)."""
        return f"{self.end.isoformat()}T23:00:00Z"

    @property
    def end_label(self) -> str:
        return self.end.strftime("%Y%m%d")
