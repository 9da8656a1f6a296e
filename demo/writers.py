"""File writers that reproduce how each source system writes its exports, byte-for-byte repeatable.

Determinism rules kept here: no wall-clock time anywhere (XLSX zip entries and document
properties are pinned to fixed dates), lines are written in the order the generator produced
them, and every file is written whole with an explicit encoding and line terminator.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo import text as tx

BLOCK_ROWS = 100_000
_NEEDS_QUOTES = '[,"\r\n]'
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class Written:
    """Collects what was written (paths relative to the output root and row counts) for the summary."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, int] = {}

    def add(self, path: Path, rows: int) -> None:
        self.files[self.rel(path)] = rows

    def rel(self, path: Path) -> str:
        """Path relative to the output root, with forward slashes."""
        return path.relative_to(self.root).as_posix()


def _csv_field(col: pa.Array, quote: bool) -> pa.Array:
    """Quote a field only when it holds a delimiter, a quote or a line break (Excel-style minimal quoting)."""
    col = tx.fill(col, "")
    if not quote:
        return col
    needs = pc.match_substring_regex(col, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return col
    quoted = tx.concat('"', pc.replace_substring(col, '"', '""'), '"')
    return tx._flat(pc.if_else(needs, quoted, col))


def _bytes_of(lines: pa.Array) -> bytes:
    """The concatenated UTF-8 bytes of a string array (its value buffer, no per-row Python)."""
    lines = tx._flat(lines)
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def csv_lines(columns: Sequence[pa.Array], terminator: str, unquoted: Sequence[int] = ()) -> bytes:
    """Render columns to CSV text, one line per row.

    `unquoted` lists column positions written raw even if they contain quotes: Taobao writes
    订单编号 as ="2987..." without wrapping it in quotes, and readers take it literally.
    """
    fields = [_csv_field(c, i not in unquoted) for i, c in enumerate(columns)]
    return _bytes_of(tx.concat(pc.binary_join_element_wise(*fields, ","), terminator))


class CsvWriter:
    """A CSV export written block by block (the generator renders large tables in chunks).

    Used as a context manager; `write` returns the 1-based record number of the block's first row.
    """

    def __init__(self, out: Written, path: Path, header: Sequence[str], encoding: str = "utf-8",
                 terminator: str = "\n", unquoted: Sequence[int] = (), bom: bool = False) -> None:
        self.out, self.path, self.encoding, self.terminator, self.unquoted = out, path, encoding, terminator, unquoted
        self.rows = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("wb")
        if bom:
            self._fh.write(b"\xef\xbb\xbf")
        self._fh.write((",".join(header) + terminator).encode(encoding))

    def write(self, columns: Sequence[pa.Array]) -> int:
        first = self.rows + 1
        n = len(columns[0]) if columns else 0
        for lo in range(0, n, BLOCK_ROWS):
            raw = csv_lines([c.slice(lo, BLOCK_ROWS) for c in columns], self.terminator, self.unquoted)
            self._fh.write(raw if self.encoding == "utf-8" else raw.decode("utf-8").encode(self.encoding))
        self.rows += n
        return first

    def close(self) -> None:
        self._fh.close()
        self.out.add(self.path, self.rows)

    def __enter__(self) -> CsvWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_csv(out: Written, path: Path, header: Sequence[str], columns: Sequence[pa.Array], encoding: str = "utf-8",
              terminator: str = "\n", unquoted: Sequence[int] = (), bom: bool = False) -> None:
    """Write a CSV export in the source system's encoding (utf-8, utf-8 with BOM, gbk, gb18030)."""
    with CsvWriter(out, path, header, encoding, terminator, unquoted, bom) as w:
        w.write(columns)


class JsonlWriter:
    """JSON lines written block by block; `cut_last_line_at` on close truncates the final line.

    The cut is made on characters of the decoded last line (an interrupted download), so the
    file stays valid UTF-8.
    """

    def __init__(self, out: Written, path: Path) -> None:
        self.out, self.path = out, path
        self.rows = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("wb")
        self._pending = b""

    def write(self, objects: pa.Array) -> int:
        first = self.rows + 1
        for lo in range(0, len(objects), BLOCK_ROWS):
            self._fh.write(self._pending)
            self._pending = _bytes_of(tx.concat(tx.fill(objects.slice(lo, BLOCK_ROWS), "{}"), "\n"))
        self.rows += len(objects)
        return first

    def close(self, cut_last_line_at: int | None = None) -> None:
        block = self._pending
        if cut_last_line_at is not None and block:
            start = block.rfind(b"\n", 0, len(block) - 1) + 1
            block = block[:start] + block[start:-1].decode("utf-8")[:cut_last_line_at].encode("utf-8")
        self._fh.write(block)
        self._fh.close()
        self.out.add(self.path, self.rows)


def write_jsonl(out: Written, path: Path, objects: pa.Array, cut_last_line_at: int | None = None) -> None:
    """Write one JSON object per line (see JsonlWriter)."""
    w = JsonlWriter(out, path)
    w.write(objects)
    w.close(cut_last_line_at)


def write_json(out: Written, path: Path, document: str, rows: int) -> None:
    """Write one API answer as it came back (UTF-8, compact)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(document.encode("utf-8"))
    out.add(path, rows)


def join_json(items: pa.Array, bounds: np.ndarray) -> list[str]:
    """Join pre-rendered JSON objects into comma-separated lists, one per [bounds[i], bounds[i+1]) group.

    Loops over groups (pages, chats), never over rows.
    """
    raw = _bytes_of(pc.binary_join_element_wise(items, ",", ""))
    lengths = pc.binary_length(items).to_numpy(zero_copy_only=False).astype(np.int64) + 1
    ends = np.concatenate([[0], np.cumsum(lengths)])
    return [raw[ends[a] : max(ends[b] - 1, ends[a])].decode("utf-8") for a, b in zip(bounds[:-1], bounds[1:])]


# --------------------------------------------------------------------------- XLSX

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" '
    'Target="docProps/app.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Microsoft Excel</Application></Properties>"
)


def _core(stamp: str) -> str:
    """Document properties with a fixed timestamp (the export's business date, never 'now')."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<dc:creator>quanyu-demo</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
    )


def _workbook(sheet: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def _column_letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _xml_escape(col: pa.Array) -> pa.Array:
    col = pc.replace_substring(col, "&", "&amp;")
    col = pc.replace_substring(col, "<", "&lt;")
    return pc.replace_substring(col, ">", "&gt;")


def _sheet_rows(columns: Sequence[pa.Array], numeric: Sequence[int], first_row: int) -> bytes:
    """Rows of sheet XML; empty cells are left out as Excel itself does."""
    n = len(columns[0])
    rownum = tx.ints(np.arange(first_row, first_row + n))
    cells = []
    for i, col in enumerate(columns):
        ref = tx.concat(f'<c r="{_column_letters(i)}', rownum)
        if i in numeric:
            cell = tx.concat(ref, '"><v>', col, "</v></c>")
        else:
            cell = tx.concat(ref, '" t="inlineStr"><is><t>', _xml_escape(col), "</t></is></c>")
        empty = pc.or_(pc.is_null(col), pc.equal(tx.fill(col, ""), ""))
        cells.append(tx._flat(pc.if_else(empty, "", cell)))
    rows = tx.concat('<row r="', rownum, '">', *cells, "</row>")
    return _bytes_of(rows)


def write_xlsx(
    out: Written,
    path: Path,
    header: Sequence[str],
    columns: Sequence[pa.Array],
    stamp: str,
    sheet: str = "Sheet1",
    numeric: Sequence[int] = (),
) -> None:
    """Write a one-sheet XLSX with inline strings, deterministically.

    openpyxl stamps 'now' into docProps and zip headers and needs a Python call per row;
    this writer builds the sheet XML vectorised and pins every timestamp, so the same data
    gives the same bytes. Readable by openpyxl and python-calamine.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [
        ("[Content_Types].xml", _CONTENT_TYPES),
        ("_rels/.rels", _ROOT_RELS),
        ("docProps/app.xml", _APP),
        ("docProps/core.xml", _core(stamp)),
        ("xl/workbook.xml", _workbook(sheet)),
        ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
        ("xl/styles.xml", _STYLES),
    ]
    n = len(columns[0]) if columns else 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, body in parts:
            zf.writestr(_zip_info(name), body.encode("utf-8"))
        # the sheet is streamed block by block so a 500k-row export never sits in memory as one string
        with zf.open(_zip_info("xl/worksheets/sheet1.xml"), "w") as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                     b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            fh.write(_sheet_rows([tx.pick([h], np.zeros(1, dtype=np.int64)) for h in header], (), 1))
            for lo in range(0, n, BLOCK_ROWS):
                fh.write(_sheet_rows([c.slice(lo, BLOCK_ROWS) for c in columns], numeric, lo + 2))
            fh.write(b"</sheetData></worksheet>")
    out.add(path, n)


def _zip_info(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed timestamp and permissions (zipfile would stamp 'now')."""
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info
