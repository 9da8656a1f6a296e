"""Privacy audit: prove that no stored value is a raw mobile number.

Used by a blocking Dagster asset check on every raw table and by the tests over the whole
warehouse. A value counts as a raw mobile when an 11-digit CN mobile stands in it with no
letter or digit on either side: 19-digit order ids do not match, nor do the digit runs that
hex hashes and base64 ids contain by chance; ``135 1234 5678``, ``tel:13512345678`` and
``张三13512345678`` do. Columns named ``*_hash`` / ``_file_sha256`` are skipped outright.
"""
from __future__ import annotations

import duckdb

MOBILE_REGEX = r"(^|[^0-9A-Za-z])(\+?86)?1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}([^0-9A-Za-z]|$)"
SKIP_SUFFIXES = ("_hash", "_sha256", "_load_id")


def _text_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    described = con.sql(f"describe select * from {relation}").fetchall()
    return [name for name, dtype, *_ in described
            if dtype == "VARCHAR" and not name.endswith(SKIP_SUFFIXES)]


def raw_mobiles_in(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, int]:
    """Columns of ``relation`` (any SQL relation text) holding raw mobiles, with row counts."""
    columns = _text_columns(con, relation)
    if not columns:
        return {}
    counts = ", ".join(
        f"count(*) filter (where regexp_matches(\"{c}\", '{MOBILE_REGEX}')) as \"{c}\"" for c in columns)
    row = con.execute(f"select {counts} from {relation}").fetchall()[0]
    return {c: n for c, n in zip(columns, row) if n}


def parquet_relation(glob: str) -> str:
    return f"read_parquet('{glob}', union_by_name = true)"
