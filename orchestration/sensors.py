"""Materialise a channel as soon as its new export files land.

``landing_files`` looks at the landing folder every minute. For each channel with files whose
content is not in the load ledger yet (new exports, or rejected ones that were replaced), it
requests one run of that channel's raw assets over the landing days of those files. The run
key is the set of file hashes, so the same files never trigger twice, and a rejected file
that stays in place does not retrigger until it changes. Loading and gating early means a bad
export is reported within minutes instead of at the nightly build; the nightly build then
publishes. Files modified in the last minute are still being copied and wait for the next look.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from ingest.contract import Contract
from ingest.lake import heal
from ingest.settings import Paths, landing_settle_seconds
from orchestration.partitions import pending_files, range_tags
from orchestration.resources import QuanyuPaths

BUSY = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED]


def channel_requests(contracts: list[Contract], paths: Paths, settle_seconds: float) -> list[RunRequest]:
    """One run request per channel with unloaded files (see the module docstring).

    The lake is healed first, without waiting for a table another process holds (a tick must
    stay short; a busy table's ledger is read as it is, which at worst lists an entry twice).
    """
    from orchestration.ingest_assets import raw_key

    heal(paths, [c.table for c in contracts], wait=False)
    by_channel = defaultdict(list)
    for pending in pending_files(contracts, paths, settle_seconds=settle_seconds):
        by_channel[pending.contract.channel].append(pending)
    requests = []
    for channel, files in sorted(by_channel.items()):
        digest = hashlib.sha256("\n".join(sorted(f.sha256 for f in files)).encode()).hexdigest()[:16]
        days = [f.day for f in files]
        requests.append(RunRequest(
            run_key=f"{channel}:{digest}",
            asset_selection=sorted({raw_key(f.contract) for f in files}, key=lambda k: k.path),
            tags={**range_tags(min(days), max(days)), "quanyu/channel": channel,
                  "quanyu/trigger": "landing_files"}))
    return requests


def build_landing_sensor(contracts: list[Contract], job, build_job_name: str):
    @sensor(name="landing_files", job=job, minimum_interval_seconds=60,
            default_status=DefaultSensorStatus.STOPPED,
            description="Loads and gates a channel's new landing files as they arrive (one run per channel).")
    def landing_files(context: SensorEvaluationContext, quanyu: QuanyuPaths):
        building = context.instance.get_runs(RunsFilter(job_name=build_job_name, statuses=BUSY), limit=1)
        if building:
            return SkipReason(f"{build_job_name} is running; it loads new files itself")
        requests = channel_requests(contracts, quanyu.paths, landing_settle_seconds())
        if not requests:
            return SkipReason("no new landing files")
        return SensorResult(run_requests=requests)

    return landing_files
