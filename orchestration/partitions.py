"""Daily partitions of ingest: a landing file belongs to the day it landed (Beijing time).

The landing day of a file is the first date folder on its path under the landing folder
(``tmall/orders/2026-11-22/x.csv``, ``.../20261122/...`` or ``.../dt=2026-11-22/...``), else
its modification time in Asia/Shanghai. Dates in file names are not used: they are the
export's data period (``ExportOrderList_202610.csv``), not when it arrived.

Materialising the raw assets for a range of days loads the files that landed in those days
(new contents only, unless the run asks for a reload, e.g. after a contract fix); a backfill
is that over a range. The nightly run covers the days from the earliest to the latest that
still has an unloaded file, so a file that arrived late or was rejected yesterday is picked up
again. A run shows each day it covered as a partition (``day_outcomes``): materialised when
nothing of the day was refused, failed when a file of it was.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from dagster import DailyPartitionsDefinition

from ingest.contract import Contract
from ingest.engine import file_sha256, landing_files, landing_label, landing_refusal
from ingest.lake import all_ledger_rows, loaded_stems, stem
from ingest.settings import BUSINESS_TIMEZONE, BUSINESS_TZ, Paths, business_today

START_DATE = dt.date(2024, 1, 1)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
RELOAD_TAG = "quanyu/reload"
DATE_FOLDER = re.compile(r"^(?:dt=|date=)?(\d{4})-?(\d{2})-?(\d{2})$")

daily_partitions = DailyPartitionsDefinition(start_date=START_DATE.isoformat(), timezone=BUSINESS_TIMEZONE,
                                             end_offset=1)


def _clamp(day: dt.date, today: dt.date) -> dt.date:
    return min(max(day, START_DATE), today)


def landing_day(path: Path, landing: Path, today: dt.date | None = None) -> dt.date:
    """The partition a landing file belongs to (see the module docstring)."""
    today = today or business_today()
    for part in path.relative_to(landing).parts[:-1]:
        match = DATE_FOLDER.match(part)
        if match:
            try:
                return _clamp(dt.date(*map(int, match.groups())), today)
            except ValueError:
                continue
    modified = dt.datetime.fromtimestamp(path.lstat().st_mtime, tz=BUSINESS_TZ).date()  # a link: its own time
    return _clamp(modified, today)


def key_of(day: dt.date) -> str:
    return day.isoformat()


def range_tags(first: dt.date, last: dt.date) -> dict[str, str]:
    """Run tags that make one run cover a range of daily partitions."""
    return {RANGE_START_TAG: key_of(first), RANGE_END_TAG: key_of(last)}


def run_days(context) -> tuple[dt.date, dt.date] | None:
    """The landing days a run covers, or None for a run without partitions (every file)."""
    try:
        has_range = context.has_partition_key_range
    except Exception:  # noqa: BLE001 - contexts without partitions say so differently across versions
        has_range = False
    if not has_range:
        return None
    keys = context.partition_key_range
    return dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)


def files_in_days(contract: Contract, paths: Paths, days: tuple[dt.date, dt.date] | None) -> list[Path]:
    files = landing_files(contract, paths.landing)
    if days is None:
        return files
    first, last = days
    today = business_today()
    return [f for f in files if first <= landing_day(f, paths.landing, today) <= last]


@dataclass(frozen=True)
class PendingFile:
    """A landing file whose content is not in the load ledger yet."""

    contract: Contract
    path: Path
    label: str
    sha256: str
    day: dt.date


def _ledger_index(paths: Paths) -> dict[str, list[tuple[int, float]]]:
    """source_file -> [(bytes, loaded_at as epoch seconds)] of every load."""
    rows = all_ledger_rows(paths, "source_file, file_bytes, loaded_at", "where source_file is not null")
    index: dict[str, list[tuple[int, float]]] = {}
    for label, size, loaded_at in rows:
        stamp = loaded_at.replace(tzinfo=BUSINESS_TZ).timestamp() if loaded_at else 0.0
        index.setdefault(label, []).append((int(size), stamp))
    return index


def pending_files(contracts: list[Contract], paths: Paths, settle_seconds: float = 0.0,
                  now: dt.datetime | None = None) -> list[PendingFile]:
    """Landing files not loaded yet, without hashing files the ledger already vouches for.

    A file at a path the ledger knows, with the same size and not modified since that load, is
    taken as loaded; anything else is hashed and looked up by content. Files modified in the
    last ``settle_seconds`` are still being written and are left for the next look.
    """
    index = _ledger_index(paths)
    loaded: dict[str, set[str]] = {}
    clock = (now or dt.datetime.now(dt.UTC)).timestamp()
    today = business_today(now)
    pending = []
    for contract in contracts:
        for path in landing_files(contract, paths.landing):
            if landing_refusal(path, paths.landing):
                # a link is never read, not even hashed: pending under its name, so that a run of its
                # channel names it (the run key stays the same while it stays, so it triggers once)
                label = landing_label(path, paths.landing)
                marker = "refused:" + hashlib.sha256(label.encode()).hexdigest()
                pending.append(PendingFile(contract, path, label, marker, landing_day(path, paths.landing, today)))
                continue
            stat = path.stat()
            if clock - stat.st_mtime < settle_seconds:
                continue
            label = path.relative_to(paths.landing).as_posix()
            if any(size == stat.st_size and stat.st_mtime <= loaded + 1 for size, loaded in index.get(label, [])):
                continue
            sha = file_sha256(path)
            if contract.table not in loaded:
                loaded[contract.table] = loaded_stems(paths, contract.table)
            if stem(sha) in loaded[contract.table]:
                continue
            pending.append(PendingFile(contract, path, label, sha, landing_day(path, paths.landing, today)))
    return pending


def pending_range(contracts: list[Contract], paths: Paths, today: dt.date) -> tuple[dt.date, dt.date]:
    """From the earliest to the latest landing day with an unloaded file; with none, the latest
    landing day of any file (today if the landing folder is empty).

    A run materialises every day of its range (orchestration/ingest_assets.py), so the range
    stops at the last day that has a file: a nightly run on a day when nothing landed used to
    cover today and show it materialised, though no file of it exists (the demo run on three
    days showed three materialised days for files that all landed on the first).
    """
    days = [p.day for p in pending_files(contracts, paths)]
    if days:
        return min(days), max(days)
    landed = [landing_day(f, paths.landing, today) for c in contracts for f in landing_files(c, paths.landing)]
    latest = max(landed) if landed else today
    return latest, latest


# ---------------------------------------------------------------- what a run shows per landing day


@dataclass(frozen=True)
class DayOutcome:
    """One landing day of a raw asset after a run: its files in the lake and its refused files.

    Shown in Dagster as that day's partition: materialised when nothing of the day was refused
    (also a day of the run's range on which nothing landed: there is nothing missing, and its
    metadata says so), failed when a file of the day was refused by the contract or the gate.
    """

    day: dt.date
    in_lake: tuple[str, ...] = ()  # landing files of the day whose content the lake holds
    refused: tuple[str, ...] = ()  # landing files of the day refused in this run

    @property
    def failed(self) -> bool:
        return bool(self.refused)

    def metadata(self) -> dict[str, object]:
        """What the day's materialisation says (file names are paths under landing, never personal)."""
        note = (f"{len(self.in_lake)} landing file(s) of this day in the lake" if self.in_lake
                else "nothing landed this day for this table: nothing is missing")
        return {"landing_day": key_of(self.day), "files_in_lake": len(self.in_lake), "note": note}


def day_outcomes(paths: Paths, files: list[Path], in_lake: set[str], refused: set[str],
                 days: tuple[dt.date, dt.date] | None, today: dt.date | None = None) -> list[DayOutcome]:
    """The landing days a run touched, by partition key order.

    ``files``: the run's landing files; ``in_lake`` / ``refused``: labels (paths under landing)
    whose content the lake holds / that were refused. A refused file outside ``files`` (the gate
    judges every file not gated yet, also one the CLI loaded) counts for its own day if it is
    still in the landing folder. A run over ``days`` has an outcome for every day of the range.
    """
    today = today or business_today()
    in_lake_by_day: dict[dt.date, list[str]] = {}
    refused_by_day: dict[dt.date, list[str]] = {}
    seen = set()
    for path in files:
        label = landing_label(path, paths.landing)
        seen.add(label)
        day = landing_day(path, paths.landing, today)
        if label in refused:
            refused_by_day.setdefault(day, []).append(label)
        elif label in in_lake:
            in_lake_by_day.setdefault(day, []).append(label)
    for label in sorted(refused - seen):
        path = paths.landing / label
        if path.exists() or path.is_symlink():
            refused_by_day.setdefault(landing_day(path, paths.landing, today), []).append(label)
    touched = set(in_lake_by_day) | set(refused_by_day)
    if days is not None:
        first, last = days
        touched |= {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}
    return [DayOutcome(day, tuple(in_lake_by_day.get(day, ())), tuple(refused_by_day.get(day, ())))
            for day in sorted(touched)]
