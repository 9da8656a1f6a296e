"""Ground truth: which true person every landed record belongs to, and what was broken on purpose.

Truth lives in out/truth/, never under landing/, so ingest cannot read it. records.parquet is
buffered and written in large row groups in generation order, so it is byte-identical per seed.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from demo import text as tx

RECORDS_SCHEMA = pa.schema([("table", pa.string()), ("record_key", pa.string()), ("person_id", pa.string())])
FLUSH_ROWS = 1_000_000


@dataclass
class BadRow:
    """A row injected to be quarantined by ingest (not in records.parquet)."""

    table: str
    file: str
    line: int  # 1-based record number within the file (CSV header not counted)
    reason: str
    record_key: str


@dataclass
class Truth:
    """Collects record -> person truth and the injected anomalies."""

    root: Path
    rows: Counter = field(default_factory=Counter)
    written: Counter = field(default_factory=Counter)
    anomalies: Counter = field(default_factory=Counter)
    bad_rows: list[BadRow] = field(default_factory=list)
    _buffer: list[pa.Table] = field(default_factory=list)
    _buffered: int = 0
    _writer: pq.ParquetWriter | None = None

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def add(self, table: str, keys: pa.Array, person: np.ndarray) -> None:
        """Record the business keys of rows written to `table` and the true person (-1 = none)."""
        n = len(keys)
        if n == 0:
            return
        person = np.asarray(person, dtype=np.int64)
        pid = tx.where(person >= 0, tx.concat("P", tx.digits(np.maximum(person, 0) + 1, 8)), None)
        self._buffer.append(pa.table([tx.const(table, n), tx._flat(keys), pid], schema=RECORDS_SCHEMA))
        self._buffered += n
        self.rows[table] += n
        if self._buffered >= FLUSH_ROWS:
            self._flush()

    def rows_written(self, table: str, k: int) -> None:
        """Count data rows written for a table (bad rows and rows written twice included)."""
        self.written[table] += int(k)

    def count(self, name: str, k: int = 1) -> None:
        """Count an injected anomaly (identity defects and bad rows)."""
        self.anomalies[name] += int(k)

    def bad(self, row: BadRow) -> None:
        self.bad_rows.append(row)
        self.anomalies[f"bad_row:{row.table}:{row.reason}"] += 1

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = pa.concat_tables(self._buffer)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.root / "records.parquet", RECORDS_SCHEMA, compression="zstd",
                                            use_dictionary=["table", "person_id"])
        self._writer.write_table(table, row_group_size=FLUSH_ROWS * 2)
        self._buffer, self._buffered = [], 0

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
        with (self.root / "bad_rows.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["table", "file", "line", "reason", "record_key"])
            for b in self.bad_rows:
                w.writerow([b.table, b.file, b.line, b.reason, b.record_key])
