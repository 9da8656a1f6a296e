"""Corrupted exports, made from a good demo export the way they go wrong in real life."""
from __future__ import annotations

import csv
import io
from pathlib import Path

TMALL_ENCODING = "gb18030"


def _read(path: Path) -> str:
    return path.read_bytes().decode(TMALL_ENCODING)


def _write(path: Path, text: str, encoding: str = TMALL_ENCODING) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def utf16_without_bom(source: Path, target: Path) -> Path:
    """Re-saved as UTF-16 (little endian) without a byte-order mark."""
    return _write(target, _read(source), "utf-16-le")


def mojibake(source: Path, target: Path) -> Path:
    """GBK bytes read as Latin-1 by some tool and saved as UTF-8: every Chinese character garbled."""
    return _write(target, source.read_bytes().decode("latin-1"), "utf-8")


def mojibake_values(source: Path, target: Path, column: str = "订单状态") -> Path:
    """Headers intact, one column's values garbled (a tool that re-encoded only the cells)."""
    rows = _rows(_read(source))
    index = rows[0].index(column)
    for row in rows[1:]:
        row[index] = row[index].encode(TMALL_ENCODING).decode("latin-1")
    return _write(target, _csv(rows), "utf-8")


def drop_column(source: Path, target: Path, column: str) -> Path:
    """The export lost a column (a back-office template changed)."""
    rows = _rows(_read(source))
    index = rows[0].index(column)
    return _write(target, _csv([row[:index] + row[index + 1:] for row in rows]))


def duplicate_orders(source: Path, target: Path, n: int = 12) -> Path:
    """The first ``n`` orders appear twice in the same file."""
    rows = _rows(_read(source))
    return _write(target, _csv(rows + rows[1:n + 1]))


def header_only(source: Path, target: Path) -> Path:
    """A day of zero rows: the export ran but wrote only its header."""
    return _write(target, _csv(_rows(_read(source))[:1]))


def trimmed_copy(source: Path, target: Path) -> Path:
    """A good new export: last month's file without its last order (new content, same shape)."""
    return _write(target, _csv(_rows(_read(source))[:-1]))
