"""A child process for tests/adversarial/test_compaction_faults.py: compacts, loosens or heals a
lake table and dies (``os._exit``: no ``finally``, no ``atexit``, open files as the kernel
leaves them) the ``nth`` time it reaches ``step``, or pauses there until told to go on.

    python -m tests.adversarial.compaction_runner HOME OPERATION STEP NTH [pause]

OPERATION: compact | loosen | heal | load (a load whose small files commit as one segment,
``ingest.lake.commit_loaded``). STEP: a step ``ingest.lake._reached`` names
(``lake.COMPACTION_STEPS``, ``lake.LOOSENING_STEPS``), or one of ``WRITE_STEPS``, which stop
inside a file write. With ``pause`` the process writes ``HOME/reached`` at the step, waits for
``HOME/go``, then finishes. Exit code ``CRASHED`` after a crash, 0 when the operation finished.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest import atomic, lake
from ingest.settings import paths_from_env

TABLE = "wecom_guide_daily_stats"  # one export per guide per day: many small files
SEGMENT_BYTES = 96 << 10  # several segments from the small generated brand
MIN_FILES = 2
CRASHED = 75
# stops inside a write, not between steps
WRITE_STEPS = (
    "raw_temp_torn",  # the raw segment's temporary file half written
    "manifest_temp_written",  # the manifest's temporary file written and synced, not renamed
    "member_temp_written",  # loosening: a member's temporary file written, not renamed
)


def compact(paths) -> lake.CompactionReport:
    eligible = lake.ledger_entries(paths, TABLE)["file_sha256"].tolist()
    return lake.compact_table(paths, TABLE, eligible, segment_bytes=SEGMENT_BYTES, min_files=MIN_FILES)


def load(paths) -> None:
    from ingest.contract import load_contracts
    from ingest.engine import load_table
    from ingest.pii import HashKey

    load_table(load_contracts()[TABLE], paths, HashKey(b"faults", "test"), workers=1)


def loosened_sha(paths) -> str:
    """A file of the table's first segment: loosening it writes that segment back."""
    return lake.manifests(paths, TABLE)[0].shas[0]


def _arm(step: str, nth: int, stop) -> None:
    """Make ``stop()`` happen the ``nth`` time ``step`` is reached."""
    seen = {"count": 0}

    def reached() -> bool:
        seen["count"] += 1
        return seen["count"] == nth

    if step in lake.COMPACTION_STEPS + lake.LOOSENING_STEPS:
        lake._reached = lambda name: stop() if name == step and reached() else None
    elif step == "raw_temp_torn":
        real = lake._write_parquet

        def torn(table: pa.Table, target: Path) -> None:
            if target.parent.parent.name == lake.RAW and reached():
                sink = pa.BufferOutputStream()
                pq.write_table(table, sink, compression="zstd")
                data = sink.getvalue().to_pybytes()
                target.write_bytes(data[: len(data) // 2])
                stop()
            real(table, target)

        lake._write_parquet = torn
    elif step == "manifest_temp_written":
        real_json = lake.write_json

        def half_committed(target: Path, payload) -> None:
            if target.suffix == ".json" and reached():
                temp = atomic.temp_path(target)
                temp.write_text(str(payload))
                atomic.fsync_file(temp)
                stop()
            real_json(target, payload)

        lake.write_json = half_committed
    elif step == "member_temp_written":
        real_commit = lake.commit

        def uncommitted(temp: Path, target: Path, **kwargs) -> None:
            if reached():
                stop()
            real_commit(temp, target, **kwargs)

        lake.commit = uncommitted
    else:
        raise SystemExit(f"unknown step {step!r}; known: {lake.COMPACTION_STEPS + lake.LOOSENING_STEPS + WRITE_STEPS}")


def main(argv: list[str]) -> int:
    home, operation, step, nth, *mode = argv
    paths = paths_from_env({"QUANYU_HOME": home})

    def crash() -> None:
        os._exit(CRASHED)

    def pause() -> None:
        Path(home, "reached").touch()
        while not Path(home, "go").exists():
            time.sleep(0.05)

    _arm(step, int(nth), pause if mode == ["pause"] else crash)
    if operation == "compact":
        compact(paths)
    elif operation == "loosen":
        lake.loosen(paths, TABLE, [loosened_sha(paths)])
    elif operation == "heal":
        lake.heal(paths)
    elif operation == "load":
        load(paths)
    else:
        raise SystemExit(f"unknown operation {operation!r}: compact, loosen, heal or load")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
