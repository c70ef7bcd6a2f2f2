"""The speed scripts that reach into the simulator's arrays still run (a tiny run: the figures
themselves are measured by ``make bench``, never asserted in tests)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_omp_wake_runs_and_prints_every_gap_and_build() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_omp_wake.py"), "--n", "300"]
        + ["--gaps", "0", "7", "--calls", "150", "--steps", "120"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    gaps, in_step = out.split("\n\n")
    rows = [ln.split() for ln in gaps.splitlines()[2:]]
    assert [r[0] for r in rows] == ["0", "7"]
    for r in rows:  # gap, parallel median (p10-p90), serial median (p10-p90), ratio
        assert float(r[1]) > 0 and float(r[-1]) > 0
    lines = in_step.strip().splitlines()[2:]
    assert [ln.split()[0] for ln in lines] == ["parallel", "serial"]
    for ln in lines:  # build, then draws, kernel, info and step: each "median (p10-p90)"
        medians = [float(x) for x in re.findall(r"([\d.]+) +\(", ln)]
        assert len(medians) == 4 and all(0 < m < medians[3] for m in medians[:3])


def test_bench_omp_wake_refuses_too_few_calls() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_omp_wake.py"), "--calls", "50"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 2 and "--calls must be >= 105" in run.stderr
