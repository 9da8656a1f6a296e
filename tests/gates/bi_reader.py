"""A BI tool's reads, as Superset makes them: SQLAlchemy + duckdb-engine, read-only, a new
connection per query batch. Run as a separate process; one JSON line per observation.

    python tests/gates/bi_reader.py WAREHOUSE OUT.jsonl STOP_FILE
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def observe(engine) -> dict:
    with engine.connect() as con:
        build_id = con.execute(text("select build_id from meta.build")).scalar_one()
        expected = con.execute(text("select row_count from meta.tables where table_schema = 'marts' "
                                    "and table_name = 'dim_member'")).scalar_one()
        actual = con.execute(text("select count(*) from marts.dim_member")).scalar_one()
        orders = con.execute(text("select count(*) from marts.fct_orders")).scalar_one() \
            if con.execute(text("select count(*) from information_schema.tables where table_schema = 'marts' "
                                "and table_name = 'fct_orders'")).scalar_one() else None
    return {"build_id": build_id, "expected": expected, "actual": actual, "orders": orders}


def main(warehouse: str, out: str, stop: str) -> None:
    engine = create_engine(f"duckdb:///{Path(warehouse).resolve()}?access_mode=read_only", poolclass=NullPool)
    with open(out, "a", encoding="utf-8") as log:
        while not Path(stop).exists():
            started = time.time()
            try:
                row = {"at": started, **observe(engine)}
            except Exception as exc:  # noqa: BLE001 - every failure is what the test looks for
                row = {"at": started, "error": f"{type(exc).__name__}: {exc}"}
            log.write(json.dumps(row) + "\n")
            log.flush()
            time.sleep(0.05)


if __name__ == "__main__":
    main(*sys.argv[1:4])
