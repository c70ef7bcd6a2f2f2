"""The speed scripts that reach into the simulator's arrays still run (a tiny run: the figures
themselves are measured by ``make bench``, never asserted in tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_omp_wake_runs_and_prints_every_gap() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_omp_wake.py"), "--n", "300"]
        + ["--gaps", "0", "7", "--calls", "150"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    rows = [ln.split() for ln in out.splitlines()[2:]]
    assert [r[0] for r in rows] == ["0", "7"]
    for r in rows:  # gap, parallel median (p10-p90), serial median (p10-p90), ratio
        assert float(r[1]) > 0 and float(r[-1]) > 0
