"""What follows a load, composed once for the raw assets and the CLI: gate, then compact.

The gate judges and the lake acts (docs/architecture.md, "Layers"): ``expectations.raw`` reads
the lake and returns a verdict per file; this step carries the verdicts out through
``ingest.lake``, which owns the lake's files (take rejected files out, keep passing verdicts),
then compacts what passed.

Kept free of Dagster so that ``python -m orchestration.cli`` starts as fast as a plain loader.
"""
from __future__ import annotations

from dataclasses import dataclass

from expectations.raw import RawGateResult, judge_raw_table, plan_raw_gate
from ingest import lake
from ingest.contract import Contract
from ingest.lake import CompactionReport, compact_table
from ingest.settings import Paths


@dataclass
class GatedLoad:
    """What one table's gate and compaction did after a load."""

    gate: RawGateResult
    compaction: CompactionReport


def gate_table(contract: Contract, paths: Paths, run_name: str) -> RawGateResult:
    """The raw gate over every file of the table not gated yet, its verdicts carried out.

    The gate reads a file where it is, loose or in a segment; a rejected file in a segment is
    written back per file first (``lake.reject``), so it leaves the lake on its own.
    """
    plan = plan_raw_gate(contract, paths)
    gate = judge_raw_table(contract, paths, plan, run_name)
    for verdict in gate.verdicts:
        if verdict.passed:
            lake.record_verdict(paths, contract.table, verdict.file_sha256, verdict.record)
        else:
            lake.reject_with_verdict(paths, contract.table, verdict.file_sha256, verdict.record)
    return gate


def gate_and_compact(contract: Contract, paths: Paths, run_name: str) -> GatedLoad:
    """The raw gate over every file not gated yet, then compaction of the files that passed.

    The raw asset runs this after each load; ``python -m orchestration.cli --gate`` runs the same.
    Compaction does not wait for a table another process holds (a dbt build reading the lake
    holds every table for its whole run): it is skipped, and the next load compacts.
    """
    gate = gate_table(contract, paths, run_name)
    return GatedLoad(gate, compact_table(paths, contract.table, gate.passed, wait=False))
