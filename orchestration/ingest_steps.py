"""What follows a load, composed once for the raw assets and the CLI: gate, then compact.

Kept free of Dagster so that ``python -m orchestration.cli`` starts as fast as a plain loader.
"""
from __future__ import annotations

from dataclasses import dataclass

from expectations.raw import RawGateResult, gate_raw_table
from ingest.contract import Contract
from ingest.lake import CompactionReport, compact_table
from ingest.settings import Paths


@dataclass
class GatedLoad:
    """What one table's gate and compaction did after a load."""

    gate: RawGateResult
    compaction: CompactionReport


def gate_and_compact(contract: Contract, paths: Paths, run_name: str) -> GatedLoad:
    """The raw gate over every file not gated yet, then compaction of the files that passed.

    The raw asset runs this after each load; ``python -m orchestration.cli --gate`` runs the same.
    Compaction does not wait for a table another process holds (a dbt build reading the lake
    holds every table for its whole run): it is skipped, and the next load compacts.
    """
    gate = gate_raw_table(contract, paths, run_name=run_name)
    return GatedLoad(gate, compact_table(paths, contract.table, gate.passed, wait=False))
