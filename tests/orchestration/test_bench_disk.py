"""The nightly bench's disk figures: the warehouse folder's peak by file sizes, and the same peak as
the file system counts it (bench.nightly.FileSystemGrowth), which counts once the blocks a
copy-on-write clone of the served file shares with it (XFS, btrfs)."""
from __future__ import annotations

from bench.nightly import FileSystemGrowth, NightlyFigures, warehouse_folder_mb


def test_the_file_system_peak_is_the_folder_before_the_stage_plus_the_most_the_used_space_grew(tmp_path, monkeypatch):
    (tmp_path / "warehouse").mkdir()
    (tmp_path / "warehouse" / "quanyu.duckdb").write_bytes(b"\0" * 3 * 2**20)
    # used space as the samples see it: 1,000 MB at the start, a build clones (+2) and rewrites (+5), publishes
    readings = iter([1000.0, 1002.0, 1007.0, 1001.0])
    monkeypatch.setattr(FileSystemGrowth, "_used", staticmethod(lambda home: next(readings)))
    growth = FileSystemGrowth(tmp_path)
    samples = [growth(tmp_path) for _ in range(3)]  # run_stage's samples: the folder by file sizes
    assert samples == [warehouse_folder_mb(tmp_path)] * 3
    assert growth.base_mb == warehouse_folder_mb(tmp_path) == 3.0
    assert growth.peak_mb == 3.0 + 7.0


def test_the_bench_prints_both_ratios_against_the_served_file():
    figures = NightlyFigures(members=1_000_000, full_seconds=1692.1, nightly_seconds=625.7, full_peak_mb=13780,
                             nightly_peak_mb=12334, nightly_disk_peak_mb=28531, warehouse_mb=13182,
                             nightly_fs_peak_mb=24748)
    text = "\n".join(figures.lines())
    assert "= 2.16x (target <= 1.3x)" in text and "on the file system 24,748 MB = 1.88x" in text
    assert round(figures.ratio, 2) == 0.37
