"""Atomic file writes: a reader sees the old file or the new one, never a part of either.

Every writer of the lake, the GX verdicts, the build stamp and the published warehouse goes
through here: write under a temporary name beside the target (``.<name>.<pid>.tmp``, so two
processes never share one), ``fsync`` it, then ``os.replace`` it onto the target. A crash
leaves at most a temporary file, which no reader globs (``*.parquet``, ``*.json``), and which
``remove_orphaned_temps`` deletes once its writer is dead (``ingest.lake.heal`` runs it over the
lake before anything reads it). The ``fsync`` costs about 0.3 ms per small file on this
machine's disk (measured over 300 files): cheap next to a load, and without it a power cut
after the rename can leave an empty file that the load ledger vouches for.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp$")  # what temp_path writes
# A temporary file this old is an orphan even if a live process has its pid: pids are reused
# (a dead writer's number may belong to any process later). No writer takes that long over one
# file: the whole ingest of a 10M-member brand, every file, took 2,536 s (README), and a file
# streamed batch by batch is touched by every batch.
ORPHAN_AGE_SECONDS = 24 * 3600


def temp_path(target: Path) -> Path:
    """Where a writer of ``target`` in this process writes first."""
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (the publication of the warehouse asks for it)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def commit(temp: Path, target: Path, *, sync_dir: bool = False) -> None:
    """Move a fully written ``temp`` onto ``target``: fsync, rename, and (optionally) fsync the folder."""
    fsync_file(temp)
    os.replace(temp, target)
    if sync_dir:
        fsync_dir(target.parent)


@contextlib.contextmanager
def writing(target: Path, *, sync_dir: bool = False) -> Iterator[Path]:
    """``with writing(target) as temp:`` write ``temp``; on leaving the block it replaces ``target``
    (or is deleted if the block raised)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(target)
    try:
        yield temp
        commit(temp, target, sync_dir=sync_dir)
    finally:
        temp.unlink(missing_ok=True)


def write_bytes(target: Path, payload: bytes) -> None:
    with writing(target) as temp:
        temp.write_bytes(payload)


def write_json(target: Path, payload: Any) -> None:
    """Pretty JSON, UTF-8 and readable Chinese (``ensure_ascii=False``); non-JSON values as ``str``."""
    write_bytes(target, json.dumps(payload, ensure_ascii=False, indent=1, default=str).encode("utf-8"))


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): trust kill
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def is_orphaned_temp(path: Path, now: float | None = None) -> bool:
    """A ``temp_path`` file whose writer is gone: its pid runs no process, or it is older than
    ``ORPHAN_AGE_SECONDS``. A live writer's file is never one (its pid is alive and it is fresh).

    Pids are only meaningful on one machine and in one pid namespace: the lake is a local folder
    written by this machine's processes. Writers in another container sharing the folder would
    have their files taken for orphans; their commit would then fail loudly (the temporary file
    is gone), never commit a part of a file.
    """
    match = TEMP_NAME.match(path.name)
    if match is None:
        return False
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False  # committed or removed meanwhile
    return age > ORPHAN_AGE_SECONDS or not pid_alive(int(match["pid"]))


def remove_orphaned_temps(folder: Path) -> list[Path]:
    """Delete the orphaned temporary files directly in ``folder``; returns them. One listing when there are none."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        with os.scandir(folder) as entries:
            candidates = [Path(e.path) for e in entries if e.name.endswith(".tmp") and e.name.startswith(".")]
        for path in candidates:
            if is_orphaned_temp(path):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed
