"""The suppression list: keyed hashes of erased persons' identifiers, applied to every load.

An erased person must not come back when an old export is loaded again (a reload after a
contract fix, a back office re-sending last year's dump). So ``python -m orchestration.erase``
keeps, per erased identifier, the least that still recognises it at the door:

* ``identifier_type`` (``mobile``, ``crm_member_id`` ...: which columns to compare, see
  ``ingest/erasure.yml``), ``value_hash`` (HMAC-SHA256 with the lake's hash key: for a column
  ingest hashes anyway, such as ``mobile_hash``, the same hash; for an identifier stored as
  exported, such as a member id, its keyed hash), ``key_version`` (which key made it) and
  ``erasure_id`` (the erasure that asked for it; the erasure ledger holds no personal data).

No raw value, no name, no one_id, no count of orders. A keyed hash is still personal data under
PIPL (whoever holds the key can test a number against it), and it is kept on the legal ground
of honouring the erasure itself (PIPL art. 47; GDPR art. 17 with art. 17(3)(b)): without it the
next load of an old export would bring the person back.

The key matters: a hash made with one key never matches values hashed with another. When the
current key's version differs from an entry's, loading stops with ``SuppressionKeyError``
instead of letting erased persons in silently (docs/privacy.md, "Erasing a person").
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from ingest.pii import HashKey, keyed_hash, normalise_identifier_forms
from ingest.settings import Paths
from ingest.values import clean_text

CONFIG_PATH = Path(__file__).resolve().parent / "erasure.yml"
SUPPRESSION_SCHEMA = pa.schema([("identifier_type", pa.string()), ("value_hash", pa.string()),
                                ("key_version", pa.string()), ("erasure_id", pa.string())])
HASHED_SUFFIX = "_hash"  # a column ingest already keyed-hashed (types mobile and hash)


class ErasureConfigError(ValueError):
    """``ingest/erasure.yml`` names a table or column no contract has."""


class SuppressionKeyError(RuntimeError):
    """The suppression list was hashed with another key than the one loading now."""


def suppression_path(paths: Paths) -> Path:
    """The suppression list (one Parquet file beside the erasure ledger, ``ingest.lake.erasure_dir``)."""
    from ingest.lake import erasure_dir

    return erasure_dir(paths) / "suppression.parquet"


@lru_cache(maxsize=1)
def person_columns() -> dict[str, dict[str, str]]:
    """Raw table -> {column: identifier type}: the columns that name a person (``ingest/erasure.yml``),
    checked against the contracts' landed columns."""
    from ingest.contract import load_contracts

    document = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8")) or {}
    if set(document) != {"tables"}:
        raise ErasureConfigError(f"{CONFIG_PATH}: expected one key 'tables', found {sorted(document)}")
    contracts = load_contracts()
    out: dict[str, dict[str, str]] = {}
    for table, columns in (document["tables"] or {}).items():
        if table not in contracts:
            raise ErasureConfigError(f"{CONFIG_PATH}: table {table!r} has no contract; known: {sorted(contracts)}")
        landed = set(contracts[table].data_schema.names)
        for column in columns:
            if column not in landed:
                raise ErasureConfigError(f"{CONFIG_PATH}: {table}.{column} is not a landed column of the "
                                         f"contract; its columns are {sorted(landed)}")
        out[table] = dict(columns)
    return out


def is_hashed(column: str) -> bool:
    return column.endswith(HASHED_SUFFIX)


def hashed_types() -> frozenset[str]:
    """Identifier types whose columns hold keyed hashes already (their registry values are those hashes)."""
    return frozenset(t for cols in person_columns().values() for c, t in cols.items() if is_hashed(c))


def entry_hash(key: HashKey, identifier_type: str, value: str) -> str:
    """What the suppression list keeps for an identifier as the warehouse shows it: the value itself
    when it is a keyed hash already (a mobile), else its keyed hash."""
    return value if identifier_type in hashed_types() else keyed_hash(key, clean(value))


def clean(value: Any) -> str:
    """An identifier as exported, the way the ``string`` type lands it (``ingest.pii.normalise_identifier_forms``:
    full-width forms, zero-width characters and Unicode spaces; then ``ingest.values.clean_text``:
    trimmed, ``="..."``, leading apostrophes and tabs unwrapped; a null token is no identifier, ``""``).
    Quarantine evidence keeps the text as exported, so it is cleaned here exactly as ingest cleans it."""
    return clean_all([value])[0]


def clean_all(values: list[Any]) -> list[str]:
    """``clean`` over many values in one Arrow pass."""
    cleaned = clean_text(normalise_identifier_forms(pd.Series([str(v) for v in values], dtype="str")))
    return cleaned.fillna("").tolist()


# ---------------------------------------------------------------- the list


def read_entries(paths: Paths) -> pa.Table:
    """Every suppression entry (empty before the first erasure)."""
    path = suppression_path(paths)
    if not path.exists():
        return SUPPRESSION_SCHEMA.empty_table()
    stat = path.stat()
    return _read_cached(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int, size: int) -> pa.Table:
    """One read per version of the file and process (a load opens every landing file's loader)."""
    return pq.read_table(path, schema=SUPPRESSION_SCHEMA)


def add_entries(paths: Paths, entries: list[dict[str, str]]) -> int:
    """Append entries not in the list yet (atomically); returns how many were new."""
    from ingest.lake import write_parquet_atomically

    current = read_entries(paths)
    have = set(zip(current.column("identifier_type").to_pylist(), current.column("value_hash").to_pylist(),
                   current.column("key_version").to_pylist()))
    new = [e for e in entries if (e["identifier_type"], e["value_hash"], e["key_version"]) not in have]
    new = list({(e["identifier_type"], e["value_hash"], e["key_version"]): e for e in new}.values())
    if new:
        merged = pa.concat_tables([current, pa.Table.from_pylist(new, schema=SUPPRESSION_SCHEMA)])
        write_parquet_atomically(merged, suppression_path(paths))
    return len(new)


# ---------------------------------------------------------------- matching rows


@dataclass
class Suppressor:
    """Finds the rows of one table that name a suppressed identifier."""

    table: str
    columns: dict[str, str]  # column -> identifier type
    hashes: dict[str, frozenset[str]]  # identifier type -> suppressed value hashes
    key: HashKey

    @classmethod
    def from_entries(cls, table: str, entries: pa.Table, key: HashKey, *, source: str = "") -> Suppressor | None:
        """The suppressor of ``table`` for ``entries`` (None when none of them concerns it). Raises
        ``SuppressionKeyError`` when an entry was hashed with another key version than ``key``."""
        columns = person_columns().get(table, {})
        if not columns or entries.num_rows == 0:
            return None
        versions = set(entries.column("key_version").to_pylist())
        if versions - {key.version}:
            others = sorted(versions - {key.version})
            stale = sum(1 for v in entries.column("key_version").to_pylist() if v != key.version)
            raise SuppressionKeyError(
                f"{source or 'suppression list'}: {stale} entr{'y' if stale == 1 else 'ies'} of erased persons "
                f"are keyed with hash key version(s) {others}, but the key loading table {table!r} is version "
                f"{key.version!r}; a hash made with one key never matches values hashed with another, so "
                f"erased persons would load again. Nothing is loaded: re-key the suppression list together with "
                f"the lake, or load with the key it was made with (docs/privacy.md, 'Erasing a person')")
        wanted = set(columns.values())
        hashes: dict[str, set[str]] = {}
        for kind, value in zip(entries.column("identifier_type").to_pylist(), entries.column("value_hash").to_pylist()):
            if kind in wanted:
                hashes.setdefault(kind, set()).add(value)
        if not hashes:
            return None
        return cls(table, columns, {k: frozenset(v) for k, v in hashes.items()}, key)

    @classmethod
    def for_table(cls, paths: Paths, table: str, key: HashKey) -> Suppressor | None:
        """The suppressor of ``table`` from the installation's suppression list."""
        return cls.from_entries(table, read_entries(paths), key, source=str(suppression_path(paths)))

    def _matching(self, column: str, values: pa.ChunkedArray | pa.Array) -> pa.Array | None:
        """The raw values of ``column`` that are suppressed (None: none can be)."""
        suppressed = self.hashes.get(self.columns[column])
        if not suppressed:
            return None
        if is_hashed(column):
            return pa.array(sorted(suppressed), pa.string())
        distinct = [v for v in pc.unique(values).to_pylist() if v is not None]
        return pa.array([v for v, text in zip(distinct, clean_all(distinct))
                         if text and keyed_hash(self.key, text) in suppressed], pa.string())

    def raw_mask(self, data: pa.Table) -> np.ndarray:
        """True for rows of a raw table (contract columns) naming a suppressed identifier."""
        mask = np.zeros(data.num_rows, dtype=bool)
        for column in self.columns:
            if column not in data.column_names or not data.num_rows:
                continue
            values = data.column(column)
            if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
                values = pc.cast(values, pa.string())
            matching = self._matching(column, values)
            if matching is not None and len(matching):
                mask |= pc.fill_null(pc.is_in(values, value_set=matching), False).to_numpy(zero_copy_only=False)
        return mask

    def quarantine_mask(self, data: pa.Table, mapping: dict[str, str]) -> np.ndarray:
        """True for quarantined rows whose evidence (``raw_record``, the non-personal fields as
        exported; ``mapping``: column -> the file's header) names a suppressed identifier. Hashed
        columns are never in the evidence (redacted), so only identifiers kept as exported can match."""
        mask = np.zeros(data.num_rows, dtype=bool)
        plain = {c: t for c, t in self.columns.items() if not is_hashed(c) and c in mapping and t in self.hashes}
        if not plain or not data.num_rows:
            return mask
        for i, text in enumerate(data.column("raw_record").to_pylist()):
            try:
                record = json.loads(text) if text else {}
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            for column, kind in plain.items():
                value = record.get(mapping[column])
                if value not in (None, "") and keyed_hash(self.key, clean(value)) in self.hashes[kind]:
                    mask[i] = True
                    break
        return mask


def suppress(suppressor: Suppressor | None, raw: pa.Table, bad: pa.Table,
             mapping: dict[str, str]) -> tuple[pa.Table, pa.Table, int]:
    """The ingest hook: ``raw`` and ``bad`` (quarantine) rows without suppressed persons, and how many went."""
    if suppressor is None:
        return raw, bad, 0
    raw_mask, bad_mask = suppressor.raw_mask(raw), suppressor.quarantine_mask(bad, mapping)
    if not raw_mask.any() and not bad_mask.any():
        return raw, bad, 0
    return (raw.filter(pa.array(~raw_mask)), bad.filter(pa.array(~bad_mask)),
            int(raw_mask.sum()) + int(bad_mask.sum()))

