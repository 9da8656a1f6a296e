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
import re
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
    # Arrow's JSON document reader: row ``offset + i``'s cells as the exact reader gives them (a quarantined
    # row's evidence), read only when a row is quarantined
    evidence: Any = None
    offset: int = 0

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
    # JSON records found unusable while opening (each one quarantined row): a file of only such
    # records has no header, and its records are quarantined rather than the file rejected
    broken_records: int = 0
    # workbooks: the sheets read (rows numbered file-wide, see open_excel) and those not loaded
    sheets: list[Sheet] = field(default_factory=list)
    ignored_sheets: list[str] = field(default_factory=list)

    def sheet_of(self, number: int) -> tuple[str, int] | None:
        """(sheet, its own row number) of a file row of a workbook of several sheets, else None."""
        if len(self.sheets) < 2:
            return None
        sheet = next(s for s in reversed(self.sheets) if s.offset is not None and s.offset < number)
        return sheet.name, number - sheet.offset
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
                # no values as evidence: fields that do not line up with the header may put a name or
                # an address under a header that is not personal
                broken.append(BrokenRow(number, f"expected {width} fields, found {len(cells)}",
                                        note=f"<{len(cells)} fields, not shown: they do not line up with the "
                                             f"{width} columns of the header>"))
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


def open_csv(path: Path, score: Any, fast: bool = True, fast_min_bytes: int | None = None) -> Source:
    """A CSV's title lines, header and batches; ``fast``: by Arrow's reader when the file is regular and
    at least ``fast_min_bytes`` (default ``FAST_CSV_BYTES``)."""
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
    fast_min_bytes = FAST_CSV_BYTES if fast_min_bytes is None else fast_min_bytes
    if fast and one_line_header and encoding != "utf-16" and path.stat().st_size >= fast_min_bytes:
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


@dataclass
class Sheet:
    """A sheet of a workbook that holds rows of the table: its header, and where its rows sit in the
    file's numbering (``offset`` + the sheet's own row number; set when its first row is read)."""

    name: str
    headers: list[str]
    header_row: int
    offset: int | None = None


def _sheet_head(rows: Iterator[list[str | None]]) -> list[list[str | None]]:
    """The first HEADER_SCAN_ROWS rows, or more when they are all empty (a later row may still have data)."""
    head = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    while head and not any(any(row) for row in head):
        more = next(rows, None)
        if more is None:
            break
        head.append(more)
    return head


def open_excel(path: Path, score: Any) -> Source:
    """Every sheet whose header names a contract column, one after the other, numbered file-wide.

    Rows are converted to Python as they are read (a 1M-row member sheet held as Python lists costs
    ~1.6 GB); only each sheet's first rows are kept, to find its header. Before, only the first
    non-empty sheet was read: a second sheet of data (back offices split at 500k or 1M rows, or by
    month) was lost while the file still reconciled. Sheet 2's rows are numbered after sheet 1's
    last row, so a row number stays unique in the file; quarantine reasons name the sheet and its
    own row. Empty sheets are skipped; a non-empty sheet naming no contract column (说明, a notes
    page) is not loaded and is named in the ledger (``encoding``) and the file's report.
    """
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for corrupt zips
        raise FileFormatError(f"{path.name}: not a readable spreadsheet ({exc})") from None
    # (sheet, its first rows, the rest, contract columns its header names, its height)
    found: list[tuple[Sheet, list[list[str | None]], Iterator[list[str | None]], int, int]] = []
    for name in workbook.sheet_names:
        sheet = workbook.get_sheet_by_name(name)
        # a non-empty text cell is its own text (``_cell_text``'s ``str``); the call per cell cost 0.6 s of
        # the 100k brand's 1M member cells
        rows = ([v if v.__class__ is str and v else _cell_text(v) for v in row] for row in sheet.iter_rows())
        head = _sheet_head(rows)
        if not any(any(row) for row in head):
            continue
        index = _pick_header(head, score)
        headers = [(h or "").strip() for h in head[index]]
        found.append((Sheet(name, headers, index + 1), head, rows, score([h for h in headers if h]), sheet.height))
    if not found:
        raise FileFormatError(f"{path.name}: every sheet is empty")
    # no sheet names a contract column: the first is read, and the engine says what it lacks
    data = [f for f in found if f[3]] or found[:1]
    ignored = [f"{f[0].name!r} ({f[4]} rows, no header naming a column of the table)"
               for f in found if not any(f is d for d in data)]
    sheets = [f[0] for f in data]
    blank: list[int] = []
    source = Source(list(dict.fromkeys(h for s in sheets for h in s.headers)), "excel", iter(()),
                    header_row=sheets[0].header_row, blank_rows=blank, sheets=sheets, ignored_sheets=ignored,
                    title_lines=_title_lines(data[0][1][:sheets[0].header_row - 1]))
    source.encoding = _sheets_label(source)

    def batches() -> Iterator[Batch]:
        offset = 0
        for sheet, head, rows, *_ in data:
            sheet.offset = offset
            counted = [0]
            yield from _tabular_batches(_sheet_rows(sheet, head, rows, counted), sheet.headers, blank)
            offset += counted[0]
        source.encoding = _sheets_label(source, offset)

    source.batches = batches()
    return source


def _sheet_rows(sheet: Sheet, head: list[list[str | None]], rows: Iterator[list[str | None]],
                counted: list[int]) -> Iterator[tuple[int, list[str | None]]]:
    """(file row number, cells padded to the header's width) of the rows below the sheet's header;
    ``counted[0]``: the sheet's rows so far, header and blank rows included."""
    width = len(sheet.headers)
    for n, row in enumerate(itertools.chain(head, rows)):
        counted[0] = n + 1
        if n >= sheet.header_row:
            yield sheet.offset + n + 1, (row + [None] * (width - len(row)))[: max(width, len(row))]


def _sheets_label(source: Source, rows: int | None = None) -> str:
    """How the workbook was read, for the ledger: ``sheet:<name>`` (one sheet), or each sheet with its
    rows in the file's numbering, and the sheets not loaded."""
    sheets = source.sheets
    if len(sheets) == 1:
        label = f"sheet:{sheets[0].name}"
    else:
        ends = [s.offset for s in sheets[1:]] + [rows]  # a sheet ends where the next one starts
        label = "sheets:" + ", ".join(
            s.name if rows is None else f"{s.name} rows {s.offset + 1}-{end}" for s, end in zip(sheets, ends))
    if source.ignored_sheets:
        label += "; not loaded: " + ", ".join(source.ignored_sheets)
    return label


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
        record = {k: v for k, v in node.items() if k not in API_ENVELOPE}
        if isinstance(node, _Twice):  # a key twice at the top is the record's
            record, record.twice = _Twice(record), node.twice
        node = record
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


# JSON leaves as deep as this are data; deeper is a broken or hostile file (10,000 levels make Python's
# parser raise RecursionError; the flattening and re-serialising after it recurse too). Real answers
# (WeCom, mini-program) are 4-5 levels deep.
MAX_JSON_DEPTH = 64
# A JSON document is parsed whole (~4.5x its size in memory, measured on a WeCom contact answer of 114 MB);
# JSON lines are read in batches whatever their size. WeCom and OA answers are pages under 1 MB.
MAX_JSON_DOCUMENT_BYTES = 256 << 20


class _Twice(dict):
    """An object in which a key appeared more than once (Python's json keeps the last silently)."""

    twice: tuple[str, ...] = ()


class _JsonParser:
    """``json.loads`` that marks objects with a repeated key (``twice`` lists the keys, in order met).

    The hook costs nothing measurable: 3.5 us a mini-program order line against 3.7 us without.
    """

    def __init__(self) -> None:
        self.twice: list[str] = []
        self.decoder = json.JSONDecoder(object_pairs_hook=self._object)

    def _object(self, pairs: list[tuple[str, Any]]) -> dict:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        keys = tuple(dict.fromkeys(k for k, _ in pairs if k in seen or seen.add(k)))
        self.twice.extend(keys)
        marked = _Twice(obj)
        marked.twice = keys
        return marked

    def __call__(self, text: str) -> Any:
        return self.decoder.decode(text)


def _twice_reason(keys: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(repr(k) for k in dict.fromkeys(keys))
    return (f"key {shown} twice in one object (JSON keeps only the last value, "
            f"so which one is right is unknown)")


def _json_trouble(value: Any) -> tuple[str | None, int]:
    """Why a parsed value cannot be used (nested over MAX_JSON_DEPTH, a key twice) or None; and how many
    repeated keys it holds (all of them: the caller compares with the parser's count to find any outside
    the records). An explicit stack: the value may be deeper than Python recurses."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    twice: list[str] = []
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            if isinstance(node, _Twice):
                twice.extend(node.twice)
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    if deepest > MAX_JSON_DEPTH:
        return f"nested deeper than {MAX_JSON_DEPTH} levels", len(twice)
    return (_twice_reason(twice) if twice else None), len(twice)


def _line_trouble(line: str, record: Any, parse: _JsonParser) -> str | None:
    """A JSON line's repeated key or excess depth (the walk only when the line has enough brackets to be deep)."""
    if parse.twice:
        reason = _twice_reason(parse.twice)
        parse.twice.clear()
        return reason
    if line.count("{") + line.count("[") > MAX_JSON_DEPTH:
        return _json_trouble(record)[0]
    return None


def open_json(path: Path, record_path: tuple[str, ...], explode: tuple[str, ...], fast: bool = True) -> Source:
    """An API answer's records; ``fast``: by Arrow's JSON reader when the file allows (``_arrow_json_document``)."""
    if fast:
        return _arrow_json_document(path, record_path, explode)
    size = path.stat().st_size
    if size > MAX_JSON_DOCUMENT_BYTES:
        raise FileFormatError(
            f"{path.name}: a single JSON document of {size / (1 << 20):.0f} MB is over the "
            f"{MAX_JSON_DOCUMENT_BYTES >> 20} MB a document may have (it is parsed whole, at ~5x its size in "
            f"memory); export it as JSON lines (.jsonl, one record a line), which is read in batches")
    encoding = detect_encoding(path)
    parse = _JsonParser()
    try:
        document = parse(path.read_text(encoding=encoding))
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{path.name}: not a JSON document ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise FileFormatError(f"{path.name}: the JSON document is nested deeper than its parser can follow "
                              f"(limit {MAX_JSON_DEPTH} levels)") from None
    if isinstance(document, dict) and document.get("errcode") not in (None, 0):
        raise FileFormatError(f"{path.name}: the API answered errcode {document.get('errcode')} "
                              f"({str(document.get('errmsg'))[:120]}); this is an error response, not data")
    records, root = _records(document, record_path)
    # Rows are numbered by record (1-based) so a quarantined row points at its record; a record
    # nested too deep or with a key twice is one quarantined row, the envelope's trouble rejects the file.
    broken: list[BrokenRow] = []
    numbers: list[int] = []
    kept: list[Any] = []
    twice_in_records = 0
    for number, record in enumerate(records, start=1):
        # the walk: 0.3 s per 100k WeCom contact records, against 1.8 s to parse and flatten them
        trouble, twice = _json_trouble(record)
        twice_in_records += twice
        if trouble:
            broken.append(BrokenRow(number, f"JSON record: {trouble}", note="<record not shown>"))
        else:
            numbers.append(number)
            kept.append(record)
    # the answer's own fields (when the answer is the record, only its envelope: the rest is the record)
    is_record = not record_path or _first_path(document, record_path)[0] is None
    envelope, _ = _json_trouble({k: v for k, v in root.items() if not is_record or k[1:] in API_ENVELOPE})
    if envelope or len(parse.twice) > twice_in_records:
        outside = envelope or _twice_reason(parse.twice)
        raise FileFormatError(f"{path.name}: outside its records, the JSON document has {outside}; "
                              f"the answer is ambiguous, so the file is not loaded")
    rows = _json_rows(kept, explode, root, numbers, broken)
    broken.sort(key=lambda b: b.row)
    headers = _header_union(rows)
    return Source(headers, "json", _json_batches(rows, headers, broken), encoding=encoding,
                  broken_records=len(broken))


# ---- JSON documents (API answers) by Arrow's JSON reader -----------------------------------------------------
# A JSON string (escapes included): what a parser skips as one token, brackets inside it not counted.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_EMPTY_OBJECT = re.compile(rb"\{\s*\}")
_LEAF_PAIR = re.compile(rb"\{\}|\[\]")
_CONTROL = bytes(range(0x20))
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"{}[]")
# Doubles the exact text of which Arrow's formatting gives (shortest round-trip digits, as ``repr``): from
# 1e-4 on, where ``repr`` stops writing exponents; Arrow writes one from about 1e10 on in long values, and
# those few take ``repr`` itself. An integral double from 2**53 on may have been an integer Arrow rounded.
_EXACT_INTEGRAL = float(2 ** 53)
_FIXED_FROM = 1e-4


def _document_trouble(body: bytes) -> str | None:
    """Why Arrow's reader may not see a document's bytes (or None): a control character (a raw tab or line
    break is invalid inside a JSON text, and a line break would cut the document into lines), an unclosed
    string, an empty object (Arrow cannot tell ``{}`` from ``{"a": null}``, which the exact reader flattens
    differently), nesting deeper than MAX_JSON_DEPTH or unbalanced.

    Arrow's parser crashed the process on a line nested 10,000 levels, so the depth is counted before it
    reads: with the strings taken out (as a parser tokenises them), the brackets left lose their innermost
    pairs once per level (1,000 guide-stats records: 3 passes over ~2 KB).
    """
    if len(body.translate(None, _CONTROL)) != len(body):
        return "a control character (or a line break) in the document"
    if b"\\" in body:
        outside = _JSON_STRING.sub(b"", body)
        if b'"' in outside:
            return "an unclosed string"
    else:  # no escape: a string is what lies between two quotes (split: 10x the regular expression's speed)
        pieces = body.split(b'"')
        if len(pieces) % 2 == 0:
            return "an unclosed string"
        outside = b"".join(pieces[::2])
    if _EMPTY_OBJECT.search(outside):
        return "an empty object"
    brackets = outside.translate(None, _NOT_BRACKET)
    for _ in range(MAX_JSON_DEPTH):
        if not brackets:
            return None
        brackets = _LEAF_PAIR.sub(b"", brackets)
    return None if not brackets else f"nested deeper than {MAX_JSON_DEPTH} levels, or unbalanced"


def _doubles_as_text(values: Any) -> Any:
    """JSON numbers Arrow read as doubles (a column mixing 96 and 83.6) as the exact reader's text
    (``ingest.engine._as_text``: an integral value as an integer, else ``repr``). Raises FastPathUnsuitable
    for a value that may have been an integer too large for a double, or is not finite."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    d = values.to_numpy(zero_copy_only=False)
    valid = np.asarray(values.is_valid())
    if not np.isfinite(d[valid]).all():
        raise FastPathUnsuitable("a number that is not finite")
    integral = valid & (d == np.trunc(np.where(valid, d, 0)))
    if (np.abs(d[integral]) >= _EXACT_INTEGRAL).any():
        raise FastPathUnsuitable("an integral number from 2**53 on (an integer Arrow may have rounded)")
    text = pc.cast(values, pa.string())
    as_int = pc.cast(pc.cast(pa.array(np.where(integral, d, 0)), pa.int64()), pa.string())
    text = pc.if_else(pa.array(integral), as_int, text)
    odd = valid & ~integral & (np.abs(np.where(valid, d, 1)) < _FIXED_FROM)
    odd |= valid & ~integral & np.asarray(pc.fill_null(pc.match_substring(text, "e"), False))
    if odd.any():  # few: ``repr`` itself, as the exact reader (Arrow's parse is correctly rounded, as Python's)
        listed = text.to_pylist()
        for i in np.flatnonzero(odd):
            listed[i] = repr(float(d[i]))
        text = pa.array(listed, pa.string())
    return text


def _leaf_values(array: Any) -> Any:
    """A leaf column as the engine takes it: text, int64, booleans, nulls as they are (cast to the exact text
    later), doubles as their exact text, lists of those kept whole (``_as_text`` writes them as JSON)."""
    import pyarrow as pa

    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_int64(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
        return array
    if pa.types.is_float64(kind):
        return _doubles_as_text(array)
    if pa.types.is_list(kind) and any(test(kind.value_type) for test in (
            pa.types.is_string, pa.types.is_int64, pa.types.is_boolean, pa.types.is_null)):
        return array
    raise FastPathUnsuitable(f"a value of type {kind}")


def _flat_leaves(records: Any, prefix: str, out: dict[str, Any], groups: list[list[str]]) -> None:
    """The dotted leaves of a struct array, in Arrow's field order (``_flatten``'s paths); ``groups``: the
    leaves under each nested object."""
    import pyarrow as pa

    for spec, child in zip(records.type, records.flatten()):
        name = prefix + spec.name
        if pa.types.is_struct(spec.type):
            if not spec.type.num_fields:
                raise FastPathUnsuitable("an empty object")
            before = len(out)
            _flat_leaves(child, name + ".", out, groups)
            groups.append(list(out)[before:])
        elif name in out:
            raise FastPathUnsuitable(f"two paths named {name!r}")
        else:
            out[name] = child


def _as_text_schema(schema: Any) -> Any:
    """The schema with every temporal type (Arrow's guess for a text that looks like a time) as text."""
    import pyarrow as pa

    def fix(kind: Any) -> Any:
        if pa.types.is_temporal(kind):
            return pa.string()
        if pa.types.is_struct(kind):
            return pa.struct([pa.field(f.name, fix(f.type)) for f in kind])
        if pa.types.is_list(kind):
            return pa.list_(fix(kind.value_type))
        return kind

    return pa.schema([pa.field(f.name, fix(f.type)) for f in schema])


def _exact_evidence(path: Path, record_path: tuple[str, ...], explode: tuple[str, ...]) -> Any:
    """Row i's cells as the exact reader gives them (typed JSON values: a quarantined row's evidence shows 96
    and 96.0 apart, as before); the file is read exactly only when a row is quarantined."""
    rows: list[Any] = []

    def cells(index: int) -> dict[str, Any]:
        if not rows:
            source = open_json(path, record_path, explode, fast=False)
            for batch in source.batches:
                rows.extend({h: batch.values[h][i] for h in batch.values} for i in range(len(batch)))
        return rows[index]

    return cells


def _arrow_json_document(path: Path, record_path: tuple[str, ...], explode: tuple[str, ...]) -> Source:
    """An API answer ``{"errcode": 0, ..., "<records>": [{...}, ...]}`` read by Arrow's JSON reader: no Python
    object per value (a WeCom guide-stats answer of 1,000 records: ~1 ms against ~15 ms).

    Taken only when the exact reader (``open_json``) would give the same rows, headers and header order; any
    doubt raises FastPathUnsuitable and the caller reads the file exactly:
    - the bytes: UTF-8 without BOM, one object, no control character (so on one line), no ``{}``, nested at
      most MAX_JSON_DEPTH (checked before Arrow sees them), no NaN, no key twice, no type changing, no broken
      surrogate (Arrow refuses those);
    - the records: a list of objects at a plain ``record_path`` (not the answer itself), none null; values
      text, integers, booleans, nulls, doubles whose exact text is known (``_doubles_as_text``), lists of
      text, integers, booleans; nested objects flatten to dotted paths in the exact reader's order (checked
      when the file holds ``null``, which Arrow cannot tell from a missing key); ``explode`` only where its
      key holds an object (a row per record, as the exact reader) - a list to explode reads exactly;
    - the answer's own fields: scalars, errcode absent, null or 0 (the exact reader rejects an error answer).
    """
    import numpy as np
    import pyarrow as pa

    if not record_path or any("." in p for p in record_path):
        raise FastPathUnsuitable("no record path, or a dotted one")
    if path.stat().st_size > MAX_JSON_DOCUMENT_BYTES:
        raise FastPathUnsuitable("over the size of a document")
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        raise FastPathUnsuitable("a BOM")
    body = data.strip(b" \t\r\n")
    if not (body.startswith(b"{") and body.endswith(b"}")):
        raise FastPathUnsuitable("not one object")
    if not any(b'"%s"' % p.encode() in body for p in record_path):  # before Arrow parses what it cannot take
        raise FastPathUnsuitable("the answer is the record")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise FastPathUnsuitable("not UTF-8") from None
    trouble = _document_trouble(body)
    if trouble:
        raise FastPathUnsuitable(trouble)
    try:
        headers, values, n = _arrow_document_rows(body, record_path, explode)
    except pa.ArrowException as exc:  # Arrow refused the text, or could not take what it read (a null record)
        raise FastPathUnsuitable(f"Arrow's JSON reader: {str(exc)[:80]}") from None
    evidence = _exact_evidence(path, record_path, explode)

    def batches() -> Iterator[Batch]:
        for start in range(0, max(n, 1), BATCH_ROWS):
            part = {h: v.slice(start, BATCH_ROWS) for h, v in values.items()}
            yield Batch(part, np.arange(start + 1, min(n, start + BATCH_ROWS) + 1), evidence=evidence,
                        offset=start)

    return Source(headers, "json", batches(), encoding="utf-8")


def _arrow_document_rows(body: bytes, record_path: tuple[str, ...],
                         explode: tuple[str, ...]) -> tuple[list[str], dict[str, Any], int]:
    """The headers, the values by header (Arrow arrays) and the row count of a document's records read by
    Arrow (see ``_arrow_json_document``); FastPathUnsuitable or an Arrow error where it may not be exact."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pajson

    line = body + b"\n"
    options = pajson.ReadOptions(use_threads=False, block_size=len(line) + 1)
    table = pajson.read_json(pa.BufferReader(line), read_options=options)
    if any(pa.types.is_temporal(t) for t in _leaf_types(table.schema)):
        parse = pajson.ParseOptions(explicit_schema=_as_text_schema(table.schema), unexpected_field_behavior="error")
        table = pajson.read_json(pa.BufferReader(line), read_options=options, parse_options=parse)
    if table.num_rows != 1:
        raise FastPathUnsuitable(f"{table.num_rows} JSON values in the file")
    document = {name: table.column(name).combine_chunks() for name in table.column_names}
    errcode = document.get("errcode")
    if errcode is not None and errcode.null_count == 0 and not (pa.types.is_int64(errcode.type)
                                                                and errcode[0].as_py() == 0):
        raise FastPathUnsuitable("an errcode other than 0")
    found = next((p for p in record_path if p in document and document[p].null_count == 0), None)
    if found is None:
        raise FastPathUnsuitable("the answer is the record")
    node = document[found]
    if not (pa.types.is_list(node.type) and pa.types.is_struct(node.type.value_type)):
        raise FastPathUnsuitable(f"records of type {node.type}")
    records = node.flatten()
    if records.null_count:
        raise FastPathUnsuitable("a null record")
    n = len(records)
    for key in explode:
        index = records.type.get_field_index(key)
        if index >= 0 and not pa.types.is_struct(records.type.field(index).type):
            raise FastPathUnsuitable(f"a list to explode at {key!r}")
    leaves: dict[str, Any] = {}
    groups: list[list[str]] = []
    _flat_leaves(records, "", leaves, groups)
    if groups:
        # the exact reader's headers: paths in the order rows first show them, each row's in its own order;
        # Arrow's: a nested object's paths together. Equal when the row each path first appears in never goes
        # back along Arrow's order and every path of a nested object first appears with the object.
        if b"null" in body:
            raise FastPathUnsuitable("nested objects and a null (Arrow cannot tell it from a missing key)")
        first = {name: int(np.argmax(np.asarray(a.is_valid()))) for name, a in leaves.items()}
        order = list(first.values())
        if any(later < earlier for earlier, later in zip(order, order[1:])) or \
                any(len({first[name] for name in group}) > 1 for group in groups):
            raise FastPathUnsuitable("nested paths first appear out of Arrow's order")
    root: dict[str, Any] = {}
    for name, column in document.items():
        if name == found:
            continue
        if pa.types.is_struct(column.type) or pa.types.is_list(column.type):
            raise FastPathUnsuitable(f"the answer's field {name!r} is not a scalar")
        root[f"^{name}"] = _leaf_values(column).take(np.zeros(n, dtype=np.int64))
    if any(name in root for name in leaves):
        raise FastPathUnsuitable("a record path named like the answer's field")
    values = {**root, **{name: _leaf_values(array) for name, array in leaves.items()}}
    return (list(values) if n else []), values, n


def _leaf_types(schema: Any) -> Iterator[Any]:
    import pyarrow as pa

    stack = [f.type for f in schema]
    while stack:
        kind = stack.pop()
        if pa.types.is_struct(kind):
            stack.extend(f.type for f in kind)
        elif pa.types.is_list(kind):
            stack.append(kind.value_type)
        else:
            yield kind


# JSON-lines files up to this size are parsed once and kept; larger ones are read twice (the
# header union first, then batch by batch), so memory stays one batch however long the file:
# a 10M-member month of mini-program orders (~2M lines) held as Python dicts took ~10 GB.
JSONL_KEEP_BYTES = 32 << 20


def _jsonl_lines(handle: Any, broken: list[BrokenRow] | None, blank: list[int] | None) -> Iterator[tuple[int, Any]]:
    """(line number, parsed record) of every non-blank, usable line; the others are noted if asked.

    Unusable: invalid JSON, nested deeper than MAX_JSON_DEPTH (or than the parser recurses), a key
    twice in one object. Each such line is one broken row; the other lines load.
    """
    parse = _JsonParser()
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            if blank is not None:
                blank.append(number)
            continue
        try:
            record = parse(line)
            trouble = _line_trouble(line, record, parse)
        except json.JSONDecodeError as exc:
            trouble = f"invalid JSON line ({exc.msg} at column {exc.colno})"
        except RecursionError:
            trouble = f"nested deeper than {MAX_JSON_DEPTH} levels"
        if trouble is None:
            yield number, record
        else:
            parse.twice.clear()
            if broken is not None:
                broken.append(BrokenRow(number, trouble if trouble.startswith("invalid") else f"JSON line: {trouble}",
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


# Value types Arrow's JSON reader may infer for a column that the fast path takes: each converts to the
# text the exact path gives (``ingest.engine._as_text``). A double is not taken: Arrow has parsed it
# already, and an integer too large for int64 arrives as one (its digits lost), nested objects and lists
# are flattened and kept as JSON text by the exact path.
ARROW_JSON_TYPES = ("string", "int64", "bool", "null")
# Blocks of a streamed JSON-lines file (files over JSONL_KEEP_BYTES): the types are inferred from the
# first block, and a later block that changes them sends the file to the exact reader.
JSONL_STREAM_BLOCK = 16 << 20
# The first lines that tell which columns are text (Arrow would read a time-like text as a timestamp).
JSONL_SAMPLE_BYTES = 1 << 20


def _flat_lines(path: Path) -> tuple[int, bool]:
    """Physical lines (a last line without a newline counts), and whether the bytes show flat JSON
    lines: one ``{`` a line, no ``[``, no carriage return (a nested value, or a bracket inside a text,
    makes it False)."""
    count = braces = 0
    last, flat = b"", True
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            count += block.count(b"\n")
            braces += block.count(b"{")
            flat = flat and b"\r" not in block and b"[" not in block
            last = block[-1:]
    lines = count + (1 if last not in (b"\n", b"") else 0)
    return lines, flat and braces == lines


def _arrow_jsonl_source(path: Path) -> Source:
    """A flat, regular UTF-8 JSON-lines file read by Arrow's JSON reader: no Python object per value.

    Taken only when the exact reader would give the same rows: every physical line is one flat object
    (no blank line, no carriage return, so the records are numbered 1..n like the lines), every value
    a string, an integer that fits int64, a boolean or null, no key twice, the same type in a column
    throughout. Anything else raises FastPathUnsuitable (Arrow refuses a key twice, a changed type, a
    broken line, NaN) and the caller reads the file again exactly. Values stay typed (ints and booleans
    as such), so a quarantined row's evidence shows them as the exact reader's JSON values do; the engine
    turns them into text (``column_values``). Batches hold BATCH_ROWS rows, as the exact reader's.
    """
    import pyarrow as pa
    import pyarrow.json as pajson

    # Arrow's reader only ever sees flat lines: a line nested thousands of levels deep crashes its parser
    # (a segmentation fault, not an error), where the exact reader quarantines the line (MAX_JSON_DEPTH)
    lines, flat = _flat_lines(path)
    if not flat:
        raise FastPathUnsuitable("not one flat object a line (a nested value, a bracket, a carriage return)")
    try:
        # Arrow would turn text that looks like a time into a timestamp: the columns the first lines show
        # as text, time or only nulls are read as text throughout (a number in one of them later sends the
        # file to the exact reader); the rest is inferred
        with path.open("rb") as handle:
            head = handle.read(JSONL_SAMPLE_BYTES)
        head = head[:head.rfind(b"\n") + 1] or head
        sample = pajson.read_json(pa.BufferReader(head), read_options=pajson.ReadOptions(use_threads=False))
        text = pa.schema([(f.name, pa.string()) for f in sample.schema
                          if pa.types.is_string(f.type) or pa.types.is_temporal(f.type) or pa.types.is_null(f.type)])
        parse = pajson.ParseOptions(explicit_schema=text, unexpected_field_behavior="infer")
        if path.stat().st_size <= JSONL_KEEP_BYTES:
            table = pajson.read_json(path, read_options=pajson.ReadOptions(use_threads=False), parse_options=parse)
            schema, blocks, blocks_known = table.schema, iter(table.to_batches()), table.num_rows
        else:
            reader = pajson.open_json(path, read_options=pajson.ReadOptions(use_threads=False,
                                                                          block_size=JSONL_STREAM_BLOCK),
                                      parse_options=parse)
            schema, blocks, blocks_known = reader.schema, iter(reader), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise FastPathUnsuitable(f"Arrow's JSON reader: {str(exc)[:80]}") from None
    odd = [f.name for f in schema if str(f.type) not in ARROW_JSON_TYPES]
    if odd:
        raise FastPathUnsuitable(f"{len(odd)} columns neither text, int64, boolean nor null")
    # the exact reader's header order, the order keys first appear: Arrow puts the explicit (text) columns first
    seen = set(sample.schema.names)
    headers = sample.schema.names + [name for name in schema.names if name not in seen]

    def batches() -> Iterator[Batch]:
        pending: list[Any] = []
        held = done = 0
        try:
            for block in blocks:
                pending.append(block)
                held += block.num_rows
                while held >= BATCH_ROWS:
                    whole = pa.Table.from_batches(pending, schema)
                    yield _arrow_batch(whole.slice(0, BATCH_ROWS), headers, done)
                    rest = whole.slice(BATCH_ROWS)
                    pending, held, done = rest.to_batches(), rest.num_rows, done + BATCH_ROWS
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise FastPathUnsuitable(f"Arrow's JSON reader: {str(exc)[:80]}") from None
        if held or not done:
            yield _arrow_batch(pa.Table.from_batches(pending, schema), headers, done)
        if done + held != lines:
            raise FastPathUnsuitable(f"{done + held} records in {lines} lines")

    if blocks_known is not None and blocks_known != lines:  # known before any batch: fall back at once
        raise FastPathUnsuitable(f"{blocks_known} records in {lines} lines")
    return Source(headers, "jsonl", batches(), encoding="utf-8")


def _arrow_batch(table: Any, headers: list[str], before: int) -> Batch:
    """Rows of an Arrow table as a Batch numbered from line ``before + 1`` (one line per record)."""
    import numpy as np

    return Batch({h: table.column(h).combine_chunks() for h in headers},
                 np.arange(before + 1, before + table.num_rows + 1))


def open_jsonl(path: Path, explode: tuple[str, ...], fast: bool = True) -> Source:
    """A JSON-lines file; ``fast``: by Arrow's JSON reader when the file allows (``_arrow_jsonl_source``)."""
    encoding = detect_encoding(path)
    if fast and encoding == "utf-8" and not explode:
        return _arrow_jsonl_source(path)
    broken: list[BrokenRow] = []
    blank: list[int] = []
    if path.stat().st_size <= JSONL_KEEP_BYTES:
        with path.open(encoding=encoding) as handle:
            numbered = list(_jsonl_lines(handle, broken, blank))
        rows = _json_rows([r for _, r in numbered], explode, {}, [n for n, _ in numbered], broken)
        headers = _header_union(rows)
        return Source(headers, "jsonl", _json_batches(rows, headers, broken), encoding=encoding, blank_rows=blank,
                      broken_records=len(broken))
    with path.open(encoding=encoding) as handle:
        headers = _header_union(_new_shapes(_jsonl_lines(handle, broken, blank), explode, broken))
    broken.sort(key=lambda b: b.row)
    return Source(headers, "jsonl", _jsonl_stream(path, encoding, explode, headers, broken),
                  encoding=encoding, blank_rows=blank, broken_records=len(broken))


def open_source(path: Path, record_path: tuple[str, ...], explode: tuple[str, ...], score: Any,
                fast: bool = True, fast_min_bytes: int | None = None) -> Source:
    """Open any supported file; ``score(headers)`` counts contract columns a header row names.

    ``fast=False`` forces the exact Python CSV reader (after FastPathUnsuitable); ``fast_min_bytes``:
    the smallest CSV the fast reader takes (default ``FAST_CSV_BYTES``).
    """
    if path.stat().st_size == 0:
        raise FileFormatError(f"{path.name}: the file is empty (0 bytes)")
    kind = FORMATS.get(path.suffix.lower())
    if kind == "csv":
        return open_csv(path, score, fast, fast_min_bytes)
    if kind == "excel":
        return open_excel(path, score)
    if kind == "json":
        return open_json(path, record_path, explode, fast)
    if kind == "jsonl":
        return open_jsonl(path, explode, fast)
    raise FileFormatError(f"{path.name}: unsupported file type {path.suffix!r}; "
                          f"supported: {', '.join(sorted(FORMATS))}")
