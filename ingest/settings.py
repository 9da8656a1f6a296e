"""Where things live, read from the environment so that Dagster, dbt, tests and CI agree.

Everything hangs off ``QUANYU_HOME`` (default ``./var``): the landing folder the channel
exports arrive in, the lake (raw and quarantine Parquet, the load ledger) and the DuckDB
warehouse. Each can be moved on its own with its own variable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Paths:
    """Resolved folders of one Quanyu installation."""

    home: Path
    landing: Path
    lake: Path
    warehouse: Path

    @property
    def raw(self) -> Path:
        return self.lake / "raw"

    @property
    def quarantine(self) -> Path:
        return self.lake / "quarantine"

    @property
    def ledger(self) -> Path:
        return self.lake / "loads"

    def ensure(self) -> "Paths":
        for folder in (self.landing, self.raw, self.quarantine, self.ledger, self.warehouse.parent):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def paths_from_env(env: dict[str, str] | None = None) -> Paths:
    """Resolve the installation's folders from ``QUANYU_*`` variables (absolute paths)."""
    env = dict(os.environ if env is None else env)
    home = Path(env.get("QUANYU_HOME", REPO_ROOT / "var")).resolve()
    return Paths(
        home=home,
        landing=Path(env.get("QUANYU_LANDING", home / "landing")).resolve(),
        lake=Path(env.get("QUANYU_LAKE", home / "lake")).resolve(),
        warehouse=Path(env.get("QUANYU_WAREHOUSE", home / "warehouse" / "quanyu.duckdb")).resolve(),
    )
