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

from ingest.contract import load_contracts
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
    max_garbled_text_share: float
    load_fresh_within_days: int
    row_change: RowChange
    max_cell_issue_share: float
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
    lists_problems: bool = False  # every row is something to fix: may be empty, warns when it is not
    ranges: dict[str, dict[str, float]] = field(default_factory=dict)
    fresh_within_days: dict[str, int] = field(default_factory=dict)


class RulesError(ValueError):
    """rules.yml is malformed; names the file and the key path of the offending entry."""


# The keys rules.yml may use at each level; anything else is a typo that would check nothing
# (``futur_ok`` would leave a table's coupon expiry dates failing as "in the future").
ROW_CHANGE_KEYS = ("min_ratio", "max_ratio", "history", "min_history")
RAW_DEFAULT_KEYS = ("earliest_timestamp", "future_tolerance_days", "max_quarantine_share", "min_rows_for_shares",
                    "max_garbled_text_share", "max_cell_issue_share",
                    "load_fresh_within_days", "row_change")
RAW_TABLE_KEYS = RAW_DEFAULT_KEYS + ("codes", "signed", "future_ok", "event_fresh_within_days", "may_be_empty")
CODE_KEYS = ("values", "seed", "column", "where")
MART_DEFAULT_KEYS = ("row_change",)
MART_KEYS = ("row_change", "key", "allow_empty", "lists_problems", "ranges", "fresh_within_days")
RANGE_KEYS = ("min_value", "max_value")
MARTS_MODELS_DIR = REPO_ROOT / "dbt_project" / "models" / "marts"


def _mapping(value: Any, where: str, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RulesError(f"{where}: {path} must be a mapping, found {type(value).__name__} {value!r}")
    return value


def _keys(value: Any, known: tuple[str, ...], where: str, path: str) -> dict[str, Any]:
    """``value`` as a mapping whose keys are all in ``known``, else the first unknown one named."""
    entry = _mapping(value, where, path)
    for key in entry:
        if key not in known:
            raise RulesError(f"{where}: unknown key {path}.{key}; known keys in {path}: {', '.join(known)}")
    return entry


def _names(value: Any, where: str, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{where}: {path} must be a list of column names, found {value!r}")
    return value


def _landed(columns: Any, landed: frozenset[str], where: str, path: str) -> None:
    for column in columns:
        if column not in landed:
            raise RulesError(f"{where}: unknown column {path}.{column}: the contract does not land it; "
                             f"landed columns: {', '.join(sorted(landed))}")


def _check_seed(source: dict[str, Any], where: str, path: str) -> None:
    """The seed exists and has the ``column`` and every ``where`` key as columns."""
    seeds = sorted(p.stem for p in SEEDS_DIR.glob("*.csv"))
    seed = source["seed"]
    if seed not in seeds:
        raise RulesError(f"{where}: unknown seed {seed!r} in {path}.seed; "
                         f"seeds in dbt_project/seeds: {', '.join(seeds)}")
    with (SEEDS_DIR / f"{seed}.csv").open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    if "column" not in source:
        raise RulesError(f"{where}: {path} names seed {seed} but no column")
    if source["column"] not in header:
        raise RulesError(f"{where}: {path}.column: seed {seed} has no column {source['column']!r}; "
                         f"its columns: {', '.join(header)}")
    for key in _mapping(source.get("where"), where, f"{path}.where"):
        if key not in header:
            raise RulesError(f"{where}: unknown key {path}.where.{key}: seed {seed} has no such column; "
                             f"its columns: {', '.join(header)}")


def _check_raw_entry(entry: dict[str, Any], landed: frozenset[str], where: str, path: str) -> None:
    if "row_change" in entry:
        _keys(entry["row_change"], ROW_CHANGE_KEYS, where, f"{path}.row_change")
    codes = _mapping(entry.get("codes"), where, f"{path}.codes")
    _landed(codes, landed, where, f"{path}.codes")
    for column, source in codes.items():
        source = _keys(source, CODE_KEYS, where, f"{path}.codes.{column}")
        if ("values" in source) == ("seed" in source):
            raise RulesError(f"{where}: {path}.codes.{column} needs either values or seed (with column)")
        if "values" in source and set(source) != {"values"}:
            raise RulesError(f"{where}: {path}.codes.{column}: column and where go with seed, not values")
        if "seed" in source:
            _check_seed(source, where, f"{path}.codes.{column}")
    for key in ("signed", "future_ok"):
        if key in entry:
            _landed(_names(entry[key], where, f"{path}.{key}"), landed, where, f"{path}.{key}")
    _landed(_mapping(entry.get("event_fresh_within_days"), where, f"{path}.event_fresh_within_days"),
            landed, where, f"{path}.event_fresh_within_days")


def check_rules(doc: Any, where: str, landed: dict[str, frozenset[str]], marts: frozenset[str]) -> dict[str, Any]:
    """Validate a rules.yml document; ``landed``: each contract's table -> its landed columns,
    ``marts``: the mart model names. Returns the document; raises :class:`RulesError` on the
    first unknown key, table, mart or column, naming the file and the key path."""
    doc = _keys(doc, ("defaults", "raw", "marts"), where, "rules")
    if "defaults" not in doc:
        raise RulesError(f"{where}: missing top-level key defaults")
    defaults = _keys(doc["defaults"], ("raw", "marts"), where, "defaults")
    for layer, known, required in (("raw", RAW_DEFAULT_KEYS, RAW_DEFAULT_KEYS), ("marts", MART_DEFAULT_KEYS, ())):
        entry = _keys(defaults.get(layer), known, where, f"defaults.{layer}")
        for key in ("row_change", *required):
            if key not in entry:
                raise RulesError(f"{where}: defaults.{layer} has no {key}")
        change = _keys(entry["row_change"], ROW_CHANGE_KEYS, where, f"defaults.{layer}.row_change")
        for key in ("min_ratio", "max_ratio") if layer == "marts" else ROW_CHANGE_KEYS:
            if key not in change:
                raise RulesError(f"{where}: defaults.{layer}.row_change has no {key}")
    for table, entry in _mapping(doc.get("raw"), where, "raw").items():
        if table not in landed:
            raise RulesError(f"{where}: unknown table raw.{table}: no contract in ingest/contracts declares it; "
                             f"known tables: {', '.join(sorted(landed))}")
        _check_raw_entry(_keys(entry, RAW_TABLE_KEYS, where, f"raw.{table}"), landed[table], where, f"raw.{table}")
    for model, entry in _mapping(doc.get("marts"), where, "marts").items():
        if model not in marts:
            raise RulesError(f"{where}: unknown mart marts.{model}: no model under dbt_project/models/marts; "
                             f"known marts: {', '.join(sorted(marts))}")
        entry = _keys(entry, MART_KEYS, where, f"marts.{model}")
        if "row_change" in entry:
            _keys(entry["row_change"], ROW_CHANGE_KEYS, where, f"marts.{model}.row_change")
        if "key" in entry:
            _names(entry["key"], where, f"marts.{model}.key")
        for column, bounds in _mapping(entry.get("ranges"), where, f"marts.{model}.ranges").items():
            _keys(bounds, RANGE_KEYS, where, f"marts.{model}.ranges.{column}")
        _mapping(entry.get("fresh_within_days"), where, f"marts.{model}.fresh_within_days")
    return doc


def mart_model_names(folder: Path = MARTS_MODELS_DIR) -> frozenset[str]:
    """The models dbt builds into the ``marts`` schema (dbt_project.yml: models/marts/ -> marts)."""
    return frozenset(p.stem for p in folder.rglob("*.sql"))


def load_rules(path: Path = RULES_FILE) -> dict[str, Any]:
    """Read and validate ``path`` against the shipped contracts and mart models."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {exc}") from None
    landed = {table: frozenset(c.data_schema.names) for table, c in load_contracts().items()}
    return check_rules(doc, str(path), landed, mart_model_names())


@lru_cache(maxsize=2)
def _document(path: Path = RULES_FILE) -> dict[str, Any]:
    return load_rules(path)


def seed_values(seed: str, column: str, where: dict[str, str] | None = None) -> frozenset[str]:
    """Normalised values of one seed column (rows filtered by ``where``)."""
    path = SEEDS_DIR / f"{seed}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and column not in rows[0]:
        raise RulesError(f"{RULES_FILE}: seed {seed} has no column {column!r}")
    selected = [r for r in rows if all(r.get(k) == str(v) for k, v in (where or {}).items())]
    if not selected:
        raise RulesError(f"{RULES_FILE}: seed {seed} has no rows for {where}")
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
            raise RulesError(f"{RULES_FILE}: {where}.codes.{column} needs values or seed")
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
        max_garbled_text_share=float(merged["max_garbled_text_share"]),
        max_cell_issue_share=float(merged["max_cell_issue_share"]),
        load_fresh_within_days=int(merged["load_fresh_within_days"]),
        row_change=RowChange(**{**defaults["row_change"], **(entry.get("row_change") or {})}),
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
        lists_problems=bool(entry.get("lists_problems", False)),
        ranges={k: dict(v) for k, v in (entry.get("ranges") or {}).items()},
        fresh_within_days={k: int(v) for k, v in (entry.get("fresh_within_days") or {}).items()},
    )
