"""File readers: bytes on disk -> batches of raw values keyed by the file's own headers.

Readers know formats (CSV encodings and delimiters, XLSX, JSON documents, JSON lines) and
nothing about channels. A row the format itself cannot make sense of (a CSV line with the
wrong number of fields, a JSON line cut in half) is returned as a ``BrokenRow`` so the engine
can quarantine it: nothing is dropped on the floor.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BATCH_ROWS = 100_000
# CSV files from this size on are read by Arrow's C++ reader when they are regular (no blank,
# short or long lines); anything irregular falls back to the exact Python reader.
FAST_CSV_BYTES = 4 << 20
# Fields of a WeCom / WeChat API answer that describe the call, not the data.
API_ENVELOPE = frozenset({"errcode", "errmsg", "next_cursor", "next_offset", "total"})
HEADER_SCAN_ROWS = 10
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class FileFormatError(ValueError):
    """The file as a whole cannot be read (encoding, empty, unsupported type)."""


class FastPathUnsuitable(Exception):
    """The fast CSV reader met something only the exact reader numbers right; read again slowly."""


@dataclass
class BrokenRow:
    """A row the format could not split: ``cells`` when the fields are known, else a note."""

    row: int
    reason: str
    cells: dict[str, Any] | None = None
    note: str | None = None


@dataclass
class Batch:
    """Up to BATCH_ROWS rows: ``values[header][i]`` is the raw value of row ``numbers[i]``.

    Values are Python lists, or Arrow string arrays when the fast CSV reader produced them.
    """

    values: dict[str, Any]
    numbers: Any  # list[int], or a numpy array from the fast CSV reader
    broken: list[BrokenRow] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.numbers)


@dataclass
class Source:
    """An opened file: its headers, how it was decoded, and its batches."""

    headers: list[str]
    file_format: str
    batches: Iterator[Batch]
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None
    blank_rows: list[int] = field(default_factory=list)
    # the text of the rows above the header (a title line such as 导出时间: ..., see ingest.export_time)
    title_lines: list[str] = field(default_factory=list)


FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "excel", ".xlsm": "excel",
           ".xls": "excel", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK).

    Tmall and JD back offices export GBK; a few rare characters (生僻字 in names and
    addresses) only exist in GB18030, so GB18030 is the safe decoder for both.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("gb18030")()
        offset = 0
        try:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
                offset += len(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise FileFormatError(
                f"{path.name}: not valid UTF-8, UTF-16 or GB18030/GBK text "
                f"(undecodable bytes near byte {offset + exc.start})") from None
        return "gb18030"


def _cell_text(value: Any) -> str | None:
    """Spreadsheet cells to text without the float artefacts that break ids and phones."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    return str(value)


def _pick_header(rows: list[list[str | None]], score: Any) -> int:
    """Index of the header row: the first of the leading rows that names most contract columns.

    Some back offices put a title line (导出时间: ...) above the header.
    """
    best, best_score = 0, 0
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        points = score([c for c in row if c])
        if points > best_score:
            best, best_score = index, points
    return best


def _title_lines(rows: list[list[str | None]]) -> list[str]:
    return [" ".join(str(c).strip() for c in row if c and str(c).strip()) for row in rows]


def _tabular_batches(rows: Iterator[tuple[int, list[str | None]]], headers: list[str],
                     blank_rows: list[int]) -> Iterator[Batch]:
    """Cut (row number, cells) into column batches; wrong field counts become BrokenRows."""
    width = len(headers)
    buffer: list[list[str | None]] = []
    numbers: list[int] = []
    broken: list[BrokenRow] = []

    def flush() -> Batch:
        columns = list(zip(*buffer)) if buffer else [() for _ in headers]
        return Batch({h: list(col) for h, col in zip(headers, columns)}, list(numbers), list(broken))

    for number, cells in rows:
        if not any(c not in (None, "") and str(c).strip() for c in cells):
            blank_rows.append(number)
            continue
        if len(cells) != width:
            extra = cells[width:]
            if len(cells) > width and not any(c not in (None, "") for c in extra):
                cells = cells[:width]  # trailing delimiter: harmless
            elif len(cells) < width and len(cells) >= 1 and all(h == "" for h in headers[len(cells):]):
                cells = list(cells) + [None] * (width - len(cells))
            else:
                broken.append(BrokenRow(number, f"expected {width} fields, found {len(cells)}",
                                        cells=dict(zip(headers, cells))))
                continue
        buffer.append(cells)
        numbers.append(number)
        if len(buffer) >= BATCH_ROWS:
            yield flush()
            buffer.clear(), numbers.clear(), broken.clear()
    if buffer or broken:
        yield flush()


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def _physical_lines(path: Path) -> int:
    """Lines in the file (a last line without a newline counts). Safe for UTF-8 and GB18030 bytes."""
    count, last = 0, b""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (1 if last not in (b"\n", b"") else 0)


def _arrow_csv_batches(path: Path, encoding: str, delimiter: str, headers: list[str],
                       header_line: int) -> Iterator[Batch]:
    """Rows after the header line by Arrow's reader, numbered by the physical line they start on.

    A row starts one line after the previous row started, plus the newlines quoted inside the
    previous row's cells. That numbering needs every line to belong to a row: a blank, short
    or long line, or a row of empty cells, raises FastPathUnsuitable (the caller reads the file
    again with the exact reader). The final check on the line count runs at the end, so callers
    must not commit anything before the iterator is exhausted.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    expected = _physical_lines(path) - header_line
    invalid: list[Any] = []
    names = [f"c{i}" for i in range(len(headers))]
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(encoding="utf8" if encoding.startswith("utf-8") else encoding,
                                       skip_rows=header_line, column_names=names, block_size=8 << 20),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                          invalid_row_handler=lambda row: invalid.append(row) or "skip"),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False))
    line = header_line + 1  # where the next row starts
    for record_batch in reader:
        if invalid:
            raise FastPathUnsuitable(f"{len(invalid)} irregular rows")
        columns = record_batch.columns
        blank, inner = None, np.zeros(record_batch.num_rows, dtype=np.int64)
        for column in columns:
            empty = pc.equal(pc.utf8_trim_whitespace(column), "")
            blank = empty if blank is None else pc.and_(blank, empty)
            inner += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
        if blank is not None and pc.any(blank).as_py():
            raise FastPathUnsuitable("a row of empty cells")
        spans = inner + 1
        numbers = line + np.cumsum(spans) - spans
        yield Batch(dict(zip(headers, columns)), numbers)
        line += int(spans.sum())
    if invalid or line - header_line - 1 != expected:
        raise FastPathUnsuitable(f"rows span {line - header_line - 1} lines of {expected}")


def open_csv(path: Path, score: Any, fast: bool = True) -> Source:
    encoding = detect_encoding(path)
    text = io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")
    first = text.readline()
    text.seek(0)
    delimiter = _sniff_delimiter(first)
    reader = csv.reader(text, delimiter=delimiter)
    # Rows are numbered by the physical line they start on (a quoted field may span lines).
    lead: list[tuple[int, list[str]]] = []
    start = 1
    for cells in reader:
        lead.append((start, cells))
        start = reader.line_num + 1
        if len(lead) >= HEADER_SCAN_ROWS:
            break
    if not lead:
        text.close()
        raise FileFormatError(f"{path.name}: the file has no header line")
    index = _pick_header([cells for _, cells in lead], score)
    headers = [h.replace("\ufeff", "").strip() for h in lead[index][1]]
    header_line = lead[index][0]
    one_line_header = index + 1 >= len(lead) or lead[index + 1][0] == header_line + 1
    if fast and one_line_header and encoding != "utf-16" and path.stat().st_size >= FAST_CSV_BYTES:
        text.close()
        return Source(headers, "csv", _arrow_csv_batches(path, encoding, delimiter, headers, header_line),
                      encoding=encoding, delimiter=delimiter, header_row=header_line,
                      title_lines=_title_lines([cells for _, cells in lead[:index]]))

    def rows() -> Iterator[tuple[int, list[str | None]]]:
        try:
            yield from lead[index + 1:]
            start = reader.line_num + 1
            for cells in reader:
                yield start, cells
                start = reader.line_num + 1
        except csv.Error as exc:
            raise FileFormatError(f"{path.name}: CSV structure breaks near line {reader.line_num}: {exc}") from None
        finally:
            text.close()

    blank: list[int] = []
    return Source(headers, "csv", _tabular_batches(rows(), headers, blank), encoding=encoding,
                  delimiter=delimiter, header_row=lead[index][0], blank_rows=blank,
                  title_lines=_title_lines([cells for _, cells in lead[:index]]))


def open_excel(path: Path, score: Any) -> Source:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for corrupt zips
        raise FileFormatError(f"{path.name}: not a readable spreadsheet ({exc})") from None
    # Rows are converted to Python as they are read (a 1M-row member sheet held as Python lists
    # costs ~1.6 GB); only the first rows are kept, to find the header.
    for name in workbook.sheet_names:
        rows = ([_cell_text(v) for v in row] for row in workbook.get_sheet_by_name(name).iter_rows())
        head = list(itertools.islice(rows, HEADER_SCAN_ROWS))
        while head and not any(any(row) for row in head):  # empty so far: a later row may still have data
            more = next(rows, None)
            if more is None:
                break
            head.append(more)
        if any(any(row) for row in head):
            break
    else:
        raise FileFormatError(f"{path.name}: every sheet is empty")
    index = _pick_header(head, score)
    headers = [(h or "").strip() for h in head[index]]
    width = len(headers)
    body = ((n + 1, (row + [None] * (width - len(row)))[: max(width, len(row))])
            for n, row in enumerate(itertools.chain(head, rows)) if n > index)
    blank: list[int] = []
    return Source(headers, "excel", _tabular_batches(body, headers, blank), header_row=index + 1,
                  encoding=f"sheet:{name}", blank_rows=blank, title_lines=_title_lines(head[:index]))


def _flatten(obj: dict, prefix: str = "", out: dict | None = None) -> dict:
    """Nested objects to dotted paths; lists stay whole (a contract explodes or keeps them)."""
    out = {} if out is None else out
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            _flatten(value, path + ".", out)
        else:
            out[path] = value
    return out


def _first_path(obj: Any, alternatives: tuple[str, ...]) -> tuple[str | None, Any]:
    for alternative in alternatives:
        node = obj
        for part in alternative.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return alternative, node
    return None, None


def _records(document: Any, record_path: tuple[str, ...]) -> tuple[list[Any], dict]:
    """The records of an API answer and the answer's own scalar fields (for ``^`` paths)."""
    found, node = _first_path(document, record_path) if record_path else (None, None)
    if found is None:
        node = document
    root = {f"^{k}": v for k, v in document.items() if k != found} if isinstance(document, dict) else {}
    if found is None and isinstance(node, dict):  # the answer is the record: drop its envelope
        node = {k: v for k, v in node.items() if k not in API_ENVELOPE}
    records = node if isinstance(node, list) else [node]
    return records, root


def _explode(record: Any, explode: tuple[str, ...]) -> list[Any]:
    """One row per element of the first present nested list (a lone object counts as one)."""
    if not explode or not isinstance(record, dict):
        return [record]
    for key in explode:
        if key in record:
            inner = record[key]
            items = inner if isinstance(inner, list) else [inner]
            if not items:
                return [{k: v for k, v in record.items() if k != key}]
            return [{**record, key: item} for item in items]
    return [record]


def _json_rows(records: list[Any], explode: tuple[str, ...], root: dict, numbers: list[int],
               broken: list[BrokenRow]) -> list[tuple[int, dict]]:
    rows = []
    for index, record in zip(numbers, records):
        if not isinstance(record, dict):
            broken.append(BrokenRow(index, f"record is a {type(record).__name__}, not an object",
                                    note=f"<{type(record).__name__}, not shown>"))
            continue
        for row in _explode(record, explode):
            rows.append((index, {**root, **_flatten(row)}))
    return rows


def _json_batch(part: list[tuple[int, dict]], headers: list[str], broken: list[BrokenRow]) -> Batch:
    return Batch({h: [row.get(h) for _, row in part] for h in headers}, [n for n, _ in part], broken)


def _json_batches(rows: list[tuple[int, dict]], headers: list[str], broken: list[BrokenRow]) -> Iterator[Batch]:
    for start in range(0, max(len(rows), 1), BATCH_ROWS):
        yield _json_batch(rows[start:start + BATCH_ROWS], headers, broken if start == 0 else [])


def _header_union(rows: Iterable[tuple[int, dict]]) -> list[str]:
    seen: dict[str, None] = {}
    for _, row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def open_json(path: Path, record_path: tuple[str, ...], explode: tuple[str, ...]) -> Source:
    encoding = detect_encoding(path)
    try:
        document = json.loads(path.read_text(encoding=encoding))
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{path.name}: not a JSON document ({exc.msg} at line {exc.lineno})") from None
    if isinstance(document, dict) and document.get("errcode") not in (None, 0):
        raise FileFormatError(f"{path.name}: the API answered errcode {document.get('errcode')} "
                              f"({document.get('errmsg')}); this is an error response, not data")
    records, root = _records(document, record_path)
    broken: list[BrokenRow] = []
    # Rows are numbered by record (1-based) so a quarantined row points at its record.
    rows = _json_rows(records, explode, root, list(range(1, len(records) + 1)), broken)
    headers = _header_union(rows)
    return Source(headers, "json", _json_batches(rows, headers, broken), encoding=encoding)


# JSON-lines files up to this size are parsed once and kept; larger ones are read twice (the
# header union first, then batch by batch), so memory stays one batch however long the file:
# a 10M-member month of mini-program orders (~2M lines) held as Python dicts took ~10 GB.
JSONL_KEEP_BYTES = 32 << 20


def _jsonl_lines(handle: Any, broken: list[BrokenRow] | None, blank: list[int] | None) -> Iterator[tuple[int, Any]]:
    """(line number, parsed record) of every non-blank, valid line; the others are noted if asked."""
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            if blank is not None:
                blank.append(number)
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            if broken is not None:
                broken.append(BrokenRow(number, f"invalid JSON line ({exc.msg} at column {exc.colno})",
                                        note=f"<{len(line.rstrip())} characters, not shown>"))


def _new_shapes(lines: Iterator[tuple[int, Any]], explode: tuple[str, ...],
                broken: list[BrokenRow]) -> Iterator[tuple[int, dict]]:
    """The rows of the lines, minus flat records whose key tuple was already seen (enough for the
    header union, and most lines of an export share one shape)."""
    flat_shapes: set[tuple[str, ...]] = set()
    for number, record in lines:
        if not explode and record.__class__ is dict:
            shape = tuple(record)
            if shape in flat_shapes:
                continue
            if not any(v.__class__ is dict for v in record.values()):
                flat_shapes.add(shape)
        yield from _json_rows([record], explode, {}, [number], broken)


def _jsonl_stream(path: Path, encoding: str, explode: tuple[str, ...], headers: list[str],
                  broken: list[BrokenRow]) -> Iterator[Batch]:
    """Second pass over a large JSON-lines file: batches of about BATCH_ROWS rows."""
    first, records, numbers = True, [], []
    with path.open(encoding=encoding) as handle:
        for number, record in _jsonl_lines(handle, None, None):
            records.append(record)
            numbers.append(number)
            if len(records) >= BATCH_ROWS:
                # non-objects were noted in the first pass
                yield _json_batch(_json_rows(records, explode, {}, numbers, []), headers, broken if first else [])
                first, records, numbers = False, [], []
    rows = _json_rows(records, explode, {}, numbers, [])
    if rows or first:
        yield _json_batch(rows, headers, broken if first else [])


def open_jsonl(path: Path, explode: tuple[str, ...]) -> Source:
    encoding = detect_encoding(path)
    broken: list[BrokenRow] = []
    blank: list[int] = []
    if path.stat().st_size <= JSONL_KEEP_BYTES:
        with path.open(encoding=encoding) as handle:
            numbered = list(_jsonl_lines(handle, broken, blank))
        rows = _json_rows([r for _, r in numbered], explode, {}, [n for n, _ in numbered], broken)
        headers = _header_union(rows)
        return Source(headers, "jsonl", _json_batches(rows, headers, broken), encoding=encoding, blank_rows=blank)
    with path.open(encoding=encoding) as handle:
        headers = _header_union(_new_shapes(_jsonl_lines(handle, broken, blank), explode, broken))
    broken.sort(key=lambda b: b.row)
    return Source(headers, "jsonl", _jsonl_stream(path, encoding, explode, headers, broken),
                  encoding=encoding, blank_rows=blank)


def open_source(path: Path, record_path: tuple[str, ...], explode: tuple[str, ...], score: Any,
                fast: bool = True) -> Source:
    """Open any supported file; ``score(headers)`` counts contract columns a header row names.

    ``fast=False`` forces the exact Python CSV reader (after FastPathUnsuitable).
    """
    if path.stat().st_size == 0:
        raise FileFormatError(f"{path.name}: the file is empty (0 bytes)")
    kind = FORMATS.get(path.suffix.lower())
    if kind == "csv":
        return open_csv(path, score, fast)
    if kind == "excel":
        return open_excel(path, score)
    if kind == "json":
        return open_json(path, record_path, explode)
    if kind == "jsonl":
        return open_jsonl(path, explode)
    raise FileFormatError(f"{path.name}: unsupported file type {path.suffix!r}; "
                          f"supported: {', '.join(sorted(FORMATS))}")
