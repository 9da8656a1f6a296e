"""Atomic file writes: a reader sees the old file or the new one, never a part of either.

Every writer of the lake, the GX verdicts, the build stamp and the published warehouse goes
through here: write under a temporary name beside the target (``.<name>.<pid>.tmp``, so two
processes never share one), ``fsync`` it, then ``os.replace`` it onto the target. A crash
leaves at most a temporary file, which no reader globs (``*.parquet``, ``*.json``). The
``fsync`` costs about 0.3 ms per small file on this machine's disk (measured over 300 files):
cheap next to a load, and without it a power cut after the rename can leave an empty file
that the load ledger vouches for.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


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
