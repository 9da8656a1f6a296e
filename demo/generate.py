"""Generate the demo brand's landing files and their ground truth.

    python -m demo.generate --out var/demo --members 3000 [--seed N] [--end-date 2026-10-31] [--months 12]

Writes out/landing/<channel>/... (raw exports in each system's real format, readable through
ingest/contracts) and out/truth/ (who is who, and what was broken on purpose). Same arguments,
same bytes: re-ingesting regenerated files loads nothing new.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import date
from pathlib import Path

from demo import members as member_files
from demo import orders, products, receivers, report, targets, vendors, wecom, wecom_tags
from demo.calendar import Calendar
from demo.context import Ctx
from demo.pilot import PilotRecorder
from demo.truth import Truth
from demo.world import build_world
from demo.writers import Written

DEFAULT_SEED = 20261123


def generate(out: Path, members: int = 3000, seed: int = DEFAULT_SEED, end_date: date = date(2026, 10, 31),
             months: int = 12) -> dict:
    """Write landing files and truth for `members` persons over `months` months ending `end_date`.

    `out/landing` and `out/truth` are replaced (files left from a run with other arguments would
    otherwise be ingested). Returns the summary also written to out/truth/summary.json.
    """
    n = members
    out = Path(out)
    for sub in ("landing", "truth"):
        shutil.rmtree(out / sub, ignore_errors=True)
    cal = Calendar.ending(end_date, months)
    world = build_world(n, cal, seed)
    ctx = Ctx(world=world, out=Written(out), truth=Truth(out / "truth"), landing=out / "landing")

    draws = orders.all_draws(world)
    carry = orders.Carry()
    for mi, m in enumerate(cal.months):
        orders.pos_month(ctx, draws["pos"], m, mi)
        orders.mp_month(ctx, draws["mini_program_orders"], m, carry)
        orders.tmall_month(ctx, draws["tmall"], m, mi)
        orders.jd_month(ctx, draws["jd"], m)
        orders.douyin_month(ctx, draws["douyin"], m, mi)
        member_files.write_coupons_month(ctx, mi)

    member_files.write_crm_members(ctx)
    member_files.write_mp_members(ctx)
    member_files.write_tmall_bindings(ctx)
    member_files.write_douyin_bindings(ctx)
    member_files.write_referrals(ctx)

    events = wecom.event_table(world)
    listed = wecom.write_contacts(ctx)
    wecom_tags.write_corp_tag_lists(ctx)
    wecom_tags.write_get_sweeps(ctx, listed)
    wecom.write_events(ctx, events)
    pilot = PilotRecorder(world)
    wecom.write_guide_stats(ctx, events, pilot)
    pilot.write(out / "truth")
    groups = wecom.group_table(world)
    wecom.write_groups(ctx, groups)
    wecom.write_group_stats(ctx, groups)
    wecom.write_oa_followers(ctx)

    calls = vendors.call_table(world)
    vendors.write_calls(ctx, calls)
    vendors.write_marketing(ctx, calls)
    vendors.write_staff(ctx)
    vendors.write_stores(ctx)
    products.write_master(ctx)
    targets.write_targets(ctx)

    receivers.record_truth(world, ctx.truth)
    report.write_identity_traps(world, ctx.truth, out / "truth")
    ctx.truth.close()
    _mark_exports_complete(out / "landing")
    segments = report.write_persons(world, out / "truth" / "persons.parquet")
    args = {"members": n, "seed": seed, "end_date": end_date.isoformat(), "months": months}
    data = report.summary(world, ctx.truth, ctx.out.files, segments, args)
    report.write_summary(out / "truth" / "summary.json", data)
    report.write_readme(out / "truth" / "README.md", world, data)
    data["file_rows"] = dict(sorted(ctx.out.files.items()))
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (landing/ and truth/ are replaced)")
    parser.add_argument("--members", type=int, default=3000, help="number of persons (1,000 .. 10,000,000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 10, 31))
    parser.add_argument("--months", type=int, default=12)
    a = parser.parse_args(argv)
    t0 = time.perf_counter()
    data = generate(a.out, members=a.members, seed=a.seed, end_date=a.end_date, months=a.months)
    data.pop("file_rows")
    print(json.dumps(data, ensure_ascii=False, indent=2))
    print(f"done in {time.perf_counter() - t0:.1f}s -> {a.out}", file=sys.stderr)
    return 0


def _mark_exports_complete(landing: Path) -> None:
    """An empty ``_SUCCESS`` in every export folder once its files are written, as batch exporters
    do: ingest loads a line file whose last line is cut at once when the marker is newer than the
    file (an export that arrived broken), instead of waiting for a copy in progress to finish."""
    for folder in sorted({p.parent for p in landing.rglob("*") if p.is_file()}):
        (folder / "_SUCCESS").touch()


if __name__ == "__main__":
    raise SystemExit(main())
