"""Which exports the brand has: the channels it declared, or what the lake holds.

Not every brand sells on Douyin, buys marketing or runs referrals. An export the brand does
not have is *absent*: its raw table stays empty, the marts built only from it stay empty, and
neither is a failure. An export the brand has but that delivered nothing is not absent: its
empty marts still block publication and its freshness still warns.

* ``QUANYU_CHANNELS`` set (contract channels or table names): every other export is absent;
* unset: an export with no loaded row in the lake is absent (inferred from landing).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from ingest import lake
from ingest.contract import Contract
from ingest.settings import Paths, declared_channels

NOT_DECLARED = "not among the brand's channels (QUANYU_CHANNELS)"
NOTHING_LOADED = "no row loaded from any landing file (the brand has no such export)"


def absent_reason(contract: Contract, rows_loaded: int, declared: frozenset[str] | None) -> str | None:
    """Why the brand does not have ``contract``'s export (``rows_loaded``: rows the lake holds of
    it; ``declared``: settings.declared_channels()), or None when it has it."""
    if declared is not None:
        return None if contract.channel in declared or contract.table in declared else NOT_DECLARED
    return NOTHING_LOADED if rows_loaded == 0 else None


def absent_exports(paths: Paths, contracts: Iterable[Contract],
                   env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Raw table -> why the brand does not have that export, for every absent export."""
    declared = declared_channels(env)
    absent: dict[str, str] = {}
    for contract in contracts:
        # the ledger is read only when the lake decides
        rows = 0 if declared is not None else int(lake.ledger_entries(paths, contract.table)["rows_loaded"].sum())
        reason = absent_reason(contract, rows, declared)
        if reason:
            absent[contract.table] = reason
    return absent
