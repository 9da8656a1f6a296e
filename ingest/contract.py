"""Channel contracts: the declared shape of every raw table (see contracts/README.md).

A contract is data: header aliases, value types, the business key. The engine never
special-cases a channel; adding one means adding a YAML file here and a staging model, and
regenerating dbt's sources (``python -m ingest.dbt_sources``).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"

AMOUNT = pa.decimal128(18, 2)
DECIMAL = pa.decimal128(18, 4)

# type -> (suffix of the landed column, Arrow type); None means the column never lands.
TYPE_OUTPUTS: dict[str, list[tuple[str, pa.DataType]] | None] = {
    "string": [("", pa.string())],
    "int": [("", pa.int64())],
    "decimal": [("", DECIMAL)],
    "amount": [("", AMOUNT)],
    "amount_fen": [("", AMOUNT)],
    "timestamp": [("", pa.timestamp("us"))],
    "date": [("", pa.date32())],
    "bool": [("", pa.bool_())],
    "json": [("", pa.string())],
    "mobile": [("_hash", pa.string()), ("_status", pa.string())],
    "hash": [("_hash", pa.string())],
    # a birthday: the year-month when both are known, the month alone when only it is (a birthday
    # campaign needs no year), and how precise the export was; the day is never kept (personal data)
    "year_month": [("_month", pa.string()), ("_month_of_year", pa.int8()), ("_precision", pa.string())],
    # receiver fields for probabilistic matching (issue 18; contracts/README.md, "Receiver types"):
    # a mobile column that may be masked: the mobile outputs, plus the visible digits' carrier prefix
    # (plain) and keyed hashes of the last four and last two visible digits
    "masked_mobile": [("_hash", pa.string()), ("_status", pa.string()), ("_prefix", pa.string()),
                      ("_tail4_hash", pa.string()), ("_tail2_hash", pa.string())],
    # a receiver's name: keyed hashes of the normalised full name, of the surname and of the full
    # name's toneless pinyin (homophone typos and names typed in pinyin)
    "person_name": [("_hash", pa.string()), ("_surname_hash", pa.string()), ("_phonetic_hash", pa.string())],
    # a whole address: province, city, district (plain, normalised) and keyed hashes of the
    # normalised detail and of its street token
    "address": [("_province", pa.string()), ("_city", pa.string()), ("_district", pa.string()),
                ("_hash", pa.string()), ("_street_hash", pa.string())],
    # the detail address alone (the region in columns of its own)
    "address_detail": [("_hash", pa.string()), ("_street_hash", pa.string())],
    # a province, city or district name, normalised (上海市 = 上海); not personal data
    "region": [("", pa.string())],
    "drop": None,
}
PII_TYPES = frozenset({"mobile", "hash", "year_month", "masked_mobile", "person_name", "address", "address_detail",
                       "drop"})
# types whose landed ``*_hash`` columns hold keyed hashes (re-keying maps them; orchestration/rekey.py)
HASHED_TYPES = ("mobile", "hash", "masked_mobile", "person_name", "address", "address_detail")

LINEAGE_FIELDS: list[tuple[str, pa.DataType]] = [
    ("_source_file", pa.string()),
    ("_source_row", pa.int64()),
    ("_file_sha256", pa.string()),
    ("_load_id", pa.string()),
    ("_loaded_at", pa.timestamp("us")),
    ("_hash_key_version", pa.string()),
    # "column: reason; ..." for optional values that could not be used and were nulled (the row
    # still loads; see ingest/values.py for the rule)
    ("_cell_issues", pa.string()),
    # when the export was made, as the file says it (ingest/export_time.py): staging's last word on
    # which version of a record is newer when the record's own times cannot tell
    ("_exported_at", pa.timestamp("us")),
]
QUARANTINE_SCHEMA = pa.schema(
    LINEAGE_FIELDS[:5]
    + [("reason", pa.string()), ("failed_columns", pa.string()), ("raw_record", pa.string())]
)


class ContractError(ValueError):
    """A contract file is malformed; names the file and the offending entry."""


def normalise_header(text: str) -> str:
    """Fold the cosmetic drift of real headers: full-width characters, case, outer spaces.

    Exports from the same back office differ in ``（秒）`` vs ``(秒)``, a trailing space or
    a BOM; none of that should make a column disappear.
    """
    return unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").strip().lower()


@dataclass(frozen=True)
class Column:
    """One canonical column and the header aliases it may arrive under."""

    name: str
    aliases: tuple[str, ...]
    type: str
    required: bool = False
    zero_tokens: tuple[str, ...] = ()
    unit: str | None = None
    future_ok: bool = False  # a time that may lie ahead (a coupon's expiry), not an export error
    identifier: bool = False  # a value that identifies a record or a person (never a reformatted number)
    # the source system writes this identifier as exactly N digits, zero-padded (a card 00012345): a
    # shorter all-digit value lost its zeros in a spreadsheet and is padded back, with a note
    zero_padded_to: int | None = None

    @property
    def outputs(self) -> list[tuple[str, pa.DataType]]:
        """The landed columns (name, Arrow type); empty for ``drop``."""
        return [(self.name + suffix, dtype) for suffix, dtype in TYPE_OUTPUTS[self.type] or []]

    @property
    def is_pii(self) -> bool:
        return self.type in PII_TYPES


@dataclass(frozen=True)
class Contract:
    """The declared shape of one raw table."""

    table: str
    channel: str
    description: str
    glob: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    record_path: tuple[str, ...] = ()
    explode: tuple[str, ...] = ()
    # columns whose values move forward when the record changes (an update, payment, refund time),
    # in order of preference; staging keeps the version with the latest of them (contracts/README.md)
    versioned_by: tuple[str, ...] = ()
    path: Path | None = None
    sha256: str = ""
    loaded_columns: tuple[Column, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loaded_columns", tuple(c for c in self.columns if c.type != "drop"))

    @property
    def data_schema(self) -> pa.Schema:
        return pa.schema([out for col in self.loaded_columns for out in col.outputs])

    @property
    def schema(self) -> pa.Schema:
        """Arrow schema of the raw table: canonical columns, then lineage."""
        return pa.schema(list(self.data_schema) + [pa.field(n, t) for n, t in LINEAGE_FIELDS])

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]


# The keys a contract may use at each level (contracts/README.md, "Keys"); anything else is a
# typo that would otherwise be ignored silently (``requried: true`` loads nothing as required).
TOP_LEVEL_KEYS = ("table", "channel", "description", "source", "key", "versioned_by", "columns")
REQUIRED_TOP_LEVEL_KEYS = ("table", "channel", "source", "key", "columns")
SOURCE_KEYS = ("glob", "record_path", "explode")
COLUMN_KEYS = ("name", "from", "type", "required", "zero_tokens", "unit", "future_ok", "identifier",
               "zero_padded_to")
# Without ``identifier:`` a column is an identifier when it is hashed, part of the key, or named
# like one (member_id, card_no, unionid, external_userid ...).
IDENTIFIER_NAME = re.compile(r"(_id|_no|_code|id|_nick|_pin)$")


def _reject_unknown(entry: dict, known: tuple[str, ...], where: str, what: str) -> None:
    """Raise on the first key of ``entry`` that is not in ``known``, naming file, entry and key."""
    for key in entry:
        if key not in known:
            raise ContractError(f"{where}: unknown key {key!r} in {what}; known keys: {', '.join(known)}")


def _mapping(value: Any, where: str, what: str) -> dict:
    if not isinstance(value, dict):
        raise ContractError(f"{where}: {what} must be a mapping, found {type(value).__name__} {value!r}")
    return value


def _strings(value: Any, where: str, what: str) -> tuple[str, ...]:
    """A list of scalars as strings; a bare string is refused (it would split into characters)."""
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) or v is None for v in value):
        raise ContractError(f"{where}: {what} must be a list of values, found {value!r}")
    return tuple(str(v) for v in value)


def _column(entry: Any, where: str, index: int, key: tuple[str, ...] = ()) -> Column:
    entry = _mapping(entry, where, f"columns[{index}]")
    label = f"column {entry['name']!r}" if "name" in entry else f"columns[{index}]"
    _reject_unknown(entry, COLUMN_KEYS, where, label)
    for key in ("name", "from"):
        if key not in entry:
            raise ContractError(f"{where}: {label} has no {key!r}; a column needs name and from")
    col_type = entry.get("type", "string")
    if col_type not in TYPE_OUTPUTS:
        raise ContractError(f"{where}: column {entry['name']!r} has unknown type {col_type!r}; "
                            f"known: {sorted(TYPE_OUTPUTS)}")
    if entry.get("unit") not in (None, "s", "ms"):
        raise ContractError(f"{where}: column {entry['name']!r} unit must be s or ms")
    if entry.get("required") and col_type == "drop":
        raise ContractError(f"{where}: column {entry['name']!r} cannot be required and dropped")
    padded = entry.get("zero_padded_to")
    if padded is not None and (isinstance(padded, bool) or not isinstance(padded, int) or not 1 < padded <= 64
                               or col_type not in ("string", "hash") or entry.get("identifier") is False):
        raise ContractError(f"{where}: column {entry['name']!r} zero_padded_to must be a number of digits "
                            f"(2 to 64) on a string or hash identifier, found {padded!r} on type {col_type!r}")
    return Column(
        name=entry["name"],
        aliases=_strings(entry["from"], where, f"column {entry['name']!r} from"),
        type=col_type,
        required=bool(entry.get("required", False)),
        zero_tokens=_strings(entry.get("zero_tokens", []), where, f"column {entry['name']!r} zero_tokens"),
        unit=entry.get("unit"),
        future_ok=_flag(entry, "future_ok", where),
        identifier=(_flag(entry, "identifier", where) if "identifier" in entry else
                    padded is not None or col_type == "hash" or entry["name"] in key
                    or bool(IDENTIFIER_NAME.search(entry["name"]))),
        zero_padded_to=padded,
    )


def _flag(entry: dict, name: str, where: str) -> bool:
    value = entry.get(name, False)
    if not isinstance(value, bool):
        raise ContractError(f"{where}: column {entry['name']!r} {name} must be true or false, found {value!r}")
    return value


VERSION_TYPES = ("timestamp", "date")


def _versioned_by(value: Any, columns: tuple[Column, ...], key: tuple[str, ...], where: str) -> tuple[str, ...]:
    """The ``versioned_by`` list, checked: landed time columns, outside the key, none that may lie ahead.

    A key column is the same in every version of a record and cannot tell them apart; a
    ``future_ok`` time (a coupon's expiry) is a promise, not the moment the record changed.
    """
    names = _strings(value, where, "versioned_by")
    by_name = {c.name: c for c in columns}
    for name in names:
        column = by_name.get(name)
        if column is None:
            raise ContractError(f"{where}: versioned_by names {name!r}, which is not a column; "
                                f"columns: {', '.join(by_name)}")
        if column.type not in VERSION_TYPES:
            raise ContractError(f"{where}: versioned_by column {name!r} is of type {column.type!r}; "
                                f"a record's version is told by a {' or '.join(VERSION_TYPES)} column")
        if name in key:
            raise ContractError(f"{where}: versioned_by column {name!r} is part of the key; it is the same in "
                                "every version of a record and cannot tell them apart")
        if column.future_ok:
            raise ContractError(f"{where}: versioned_by column {name!r} may lie ahead (future_ok); "
                                "it does not say when the record changed")
    if len(set(names)) != len(names):
        raise ContractError(f"{where}: versioned_by names a column twice: {list(names)}")
    return names


def parse_contract(text: str, where: str = "<contract>", path: Path | None = None) -> Contract:
    """Build a :class:`Contract` from YAML text, validating it strictly: an unknown key at any
    level (top, ``source``, a column) is an error naming the file, the entry and the known keys."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ContractError(f"{where}: not valid YAML: {exc}") from None
    doc = _mapping(doc, where, "the contract")
    _reject_unknown(doc, TOP_LEVEL_KEYS, where, "the contract")
    for key in REQUIRED_TOP_LEVEL_KEYS:
        if key not in doc:
            raise ContractError(f"{where}: missing top-level key {key!r}")
    source = _mapping(doc["source"], where, "source")
    _reject_unknown(source, SOURCE_KEYS, where, "source")
    if "glob" not in source:
        raise ContractError(f"{where}: source has no 'glob'")
    if not isinstance(doc["columns"], list):
        raise ContractError(f"{where}: columns must be a list, found {doc['columns']!r}")
    key = _strings(doc["key"], where, "key")
    columns = tuple(_column(c, where, i, key) for i, c in enumerate(doc["columns"]))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ContractError(f"{where}: duplicate column names")
    landed = {c.name for c in columns if c.type not in ("drop",)}
    missing_key = [k for k in key if k not in landed]
    if missing_key:
        raise ContractError(f"{where}: key columns {missing_key} are not landed columns")
    versioned_by = _versioned_by(doc.get("versioned_by", []), columns, key, where)
    return Contract(
        table=doc["table"],
        channel=doc["channel"],
        description=" ".join(str(doc.get("description", "")).split()),
        glob=source["glob"],
        key=key,
        columns=columns,
        record_path=_strings(source.get("record_path", []), where, "source.record_path"),
        explode=_strings(source.get("explode", []), where, "source.explode"),
        versioned_by=versioned_by,
        path=path,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


@lru_cache(maxsize=4)
def load_contracts(folder: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    """All contracts in ``folder`` keyed by table name, sorted."""
    contracts: dict[str, Contract] = {}
    for path in sorted(Path(folder).glob("*.yml")):
        contract = parse_contract(path.read_text(encoding="utf-8"), where=str(path), path=path)
        if contract.table in contracts:
            raise ContractError(f"{path}: table {contract.table!r} is declared twice")
        contracts[contract.table] = contract
    return contracts
