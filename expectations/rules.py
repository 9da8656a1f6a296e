"""Refinements of the generated suites, read from ``expectations/rules.yml``.

Code lists are resolved from the dbt seeds, so the gate and the staging models share one
definition of a known value (a status added to ``order_status_map.csv`` is accepted by both).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ingest.settings import REPO_ROOT

RULES_FILE = Path(__file__).resolve().parent / "rules.yml"
SEEDS_DIR = REPO_ROOT / "dbt_project" / "seeds"


@dataclass(frozen=True)
class RowChange:
    min_ratio: float
    max_ratio: float
    history: int = 5
    min_history: int = 3


@dataclass(frozen=True)
class RawRules:
    """Everything the raw suite of one table needs beyond its contract."""

    earliest_timestamp: str
    future_tolerance_days: int
    max_quarantine_share: float
    min_rows_for_shares: int
    max_unknown_code_share: float
    max_garbled_text_share: float
    load_fresh_within_days: int
    row_change: RowChange
    codes: dict[str, frozenset[str]] = field(default_factory=dict)
    signed: frozenset[str] = frozenset()
    future_ok: frozenset[str] = frozenset()
    event_fresh_within_days: dict[str, int] = field(default_factory=dict)
    may_be_empty: bool = False


@dataclass(frozen=True)
class MartRules:
    row_change: RowChange
    key: tuple[str, ...] = ()
    allow_empty: bool = False
    ranges: dict[str, dict[str, float]] = field(default_factory=dict)
    fresh_within_days: dict[str, int] = field(default_factory=dict)


@lru_cache(maxsize=2)
def _document(path: Path = RULES_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def seed_values(seed: str, column: str, where: dict[str, str] | None = None) -> frozenset[str]:
    """Normalised values of one seed column (rows filtered by ``where``)."""
    path = SEEDS_DIR / f"{seed}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and column not in rows[0]:
        raise ValueError(f"{RULES_FILE}: seed {seed} has no column {column!r}")
    selected = [r for r in rows if all(r.get(k) == str(v) for k, v in (where or {}).items())]
    if not selected:
        raise ValueError(f"{RULES_FILE}: seed {seed} has no rows for {where}")
    return frozenset(normalise_code(r[column]) for r in selected if r[column] not in (None, ""))


def normalise_code(value: Any) -> str:
    """How staging compares codes: trimmed, lower case."""
    return str(value).strip().lower()


def _codes(spec: dict[str, Any], where: str) -> dict[str, frozenset[str]]:
    codes = {}
    for column, source in (spec or {}).items():
        if "values" in source:
            codes[column] = frozenset(normalise_code(v) for v in source["values"])
        elif "seed" in source:
            codes[column] = seed_values(source["seed"], source["column"], source.get("where"))
        else:
            raise ValueError(f"{RULES_FILE}: {where}.codes.{column} needs values or seed")
    return codes


def raw_rules(table: str) -> RawRules:
    doc = _document()
    defaults = dict(doc["defaults"]["raw"])
    entry = dict((doc.get("raw") or {}).get(table) or {})
    merged = {**defaults, **{k: v for k, v in entry.items() if k in defaults}}
    return RawRules(
        earliest_timestamp=str(merged["earliest_timestamp"]),
        future_tolerance_days=int(merged["future_tolerance_days"]),
        max_quarantine_share=float(merged["max_quarantine_share"]),
        min_rows_for_shares=int(merged["min_rows_for_shares"]),
        max_unknown_code_share=float(merged["max_unknown_code_share"]),
        max_garbled_text_share=float(merged["max_garbled_text_share"]),
        load_fresh_within_days=int(merged["load_fresh_within_days"]),
        row_change=RowChange(**merged["row_change"]),
        codes=_codes(entry.get("codes"), f"raw.{table}"),
        signed=frozenset(entry.get("signed", ())),
        future_ok=frozenset(entry.get("future_ok", ())),
        event_fresh_within_days={k: int(v) for k, v in (entry.get("event_fresh_within_days") or {}).items()},
        may_be_empty=bool(entry.get("may_be_empty", False)),
    )


def mart_rules(model: str) -> MartRules:
    doc = _document()
    defaults = doc["defaults"]["marts"]
    entry = (doc.get("marts") or {}).get(model) or {}
    return MartRules(
        row_change=RowChange(**{**defaults["row_change"], **(entry.get("row_change") or {})}),
        key=tuple(entry.get("key", ())),
        allow_empty=bool(entry.get("allow_empty", False)),
        ranges={k: dict(v) for k, v in (entry.get("ranges") or {}).items()},
        fresh_within_days={k: int(v) for k, v in (entry.get("fresh_within_days") or {}).items()},
    )


def unknown_rule_entries(tables: set[str]) -> list[str]:
    """Raw entries of rules.yml that name no contract (a typo would silently check nothing)."""
    return sorted(set(_document().get("raw") or {}) - tables)
