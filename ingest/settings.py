"""Where things live and which clock the business keeps: the one place the environment enters.

Everything hangs off ``QUANYU_HOME`` (default ``./var``): the landing folder the channel
exports arrive in, the lake (ingest/lake.py owns its layout) and the DuckDB warehouse. Each
can be moved on its own with its own variable. ``paths_from_env`` reads them once; the rest
of the code receives a ``Paths`` (Dagster passes it as the ``quanyu`` resource), and
``Paths.as_env()`` hands the same folders to a subprocess (dbt) as ``QUANYU_*`` variables.

The business clock is Beijing time (Asia/Shanghai, UTC+8, no daylight saving): landing days,
load times, freshness windows and the nightly schedule all use ``BUSINESS_TZ``.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
BUSINESS_TIMEZONE = "Asia/Shanghai"
BUSINESS_TZ = ZoneInfo(BUSINESS_TIMEZONE)
ENV_NAMES = {"home": "QUANYU_HOME", "landing": "QUANYU_LANDING", "lake": "QUANYU_LAKE",
             "warehouse": "QUANYU_WAREHOUSE"}


@dataclass(frozen=True)
class Paths:
    """Resolved folders of one Quanyu installation."""

    home: Path
    landing: Path
    lake: Path
    warehouse: Path

    def as_env(self) -> dict[str, str]:
        """The folders as the ``QUANYU_*`` variables a subprocess (dbt, the ingest CLI) reads."""
        return {name: str(getattr(self, field)) for field, name in ENV_NAMES.items()}

    def ensure(self) -> Paths:
        for folder in (self.landing, self.lake, self.warehouse.parent):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def paths_from_env(env: Mapping[str, str] | None = None) -> Paths:
    """Resolve the installation's folders from ``QUANYU_*`` variables (absolute paths)."""
    env = os.environ if env is None else env
    home = Path(env.get("QUANYU_HOME", REPO_ROOT / "var")).resolve()
    return Paths(
        home=home,
        landing=Path(env.get("QUANYU_LANDING", home / "landing")).resolve(),
        lake=Path(env.get("QUANYU_LAKE", home / "lake")).resolve(),
        warehouse=Path(env.get("QUANYU_WAREHOUSE", home / "warehouse" / "quanyu.duckdb")).resolve(),
    )


def ingest_workers(env: Mapping[str, str] | None = None) -> int:
    """Worker processes for a large load: ``QUANYU_INGEST_WORKERS``, default the machine's cores."""
    value = (os.environ if env is None else env).get("QUANYU_INGEST_WORKERS", "")
    return max(1, int(value)) if value.strip() else (os.cpu_count() or 1)


def landing_settle_seconds(env: Mapping[str, str] | None = None) -> float:
    """How long a landing file must be unchanged before the sensor loads it
    (``QUANYU_LANDING_SETTLE_SECONDS``, default 60: a file still being copied waits)."""
    return float((os.environ if env is None else env).get("QUANYU_LANDING_SETTLE_SECONDS", "60"))


def declared_channels(env: Mapping[str, str] | None = None) -> frozenset[str] | None:
    """The channels (or raw tables) the brand says it has: ``QUANYU_CHANNELS``, comma-separated
    contract channel names (``tmall,jd,wecom``) or table names (``referrals``); None when unset,
    and the lake decides (an export with no loaded row is one the brand does not have)."""
    value = (os.environ if env is None else env).get("QUANYU_CHANNELS", "")
    names = frozenset(n.strip() for n in value.split(",") if n.strip())
    return names or None


def business_now() -> dt.datetime:
    """Wall-clock Beijing time without offset, to the second (how exports and the lake store times)."""
    return dt.datetime.now(BUSINESS_TZ).replace(tzinfo=None, microsecond=0)


def business_today(now: dt.datetime | None = None) -> dt.date:
    """The Beijing date of ``now`` (an aware moment, or naive UTC; default: now)."""
    moment = now or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BUSINESS_TZ).date()
