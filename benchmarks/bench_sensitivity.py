"""The κ × φ sensitivity grid serially and as Ray tasks: wall time, speed-up, and a check that
both give the same numbers.

Repeats are interleaved (serial, Ray, serial, Ray, ...) so that a load change on a shared
machine hits both alike; the median and the range over repeats are printed. "Ray, cold" is
what a command costs: starting a local Ray (``ray.init``), its workers importing mm_env, the
grid, ``ray.shutdown``. "Ray, warm" runs the grid on a Ray already up, its workers started (a
notebook, a cluster). At 256 episodes and more a cell's kernel is itself multi-threaded
(numba, PARALLEL_MIN_ROWS), so the serial path already uses every core; Ray's tasks get one
thread each.

    python benchmarks/bench_sensitivity.py [--repeats 5] [--episodes 64] [--cpus 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from train.common import EVAL_SEED_BASE
from train.parallel import ray_session
from train.sensitivity import sensitivity

ENV_ID = "mm_env/MarketMaking-v0"
KAPPAS = [-1.0, -0.6, -0.3, 0.0, 0.3, 0.6, 1.0]  # the sensitivity command's default grid
PHIS = [0.0, 0.002, 0.005, 0.01, 0.02]


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def summary(name: str, seconds: list[float], serial: float | None) -> str:
    med = statistics.median(seconds)
    text = f"{name:<11} median {med:6.2f} s  range [{min(seconds):.2f}, {max(seconds):.2f}]"
    if serial is not None:
        text += f"  speed-up {serial / med:.2f}x"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=64)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    import ray

    overrides: dict = {}
    grid = (ENV_ID, overrides, KAPPAS, PHIS, EVAL_SEED_BASE, args.episodes)
    print(
        f"ray {ray.__version__}; {len(KAPPAS)} x {len(PHIS)} grid, {args.episodes} episodes per "
        f"cell, {ENV_ID}; local Ray with {args.cpus} CPUs; {args.repeats} interleaved repeats"
    )
    sensitivity(*grid[:2], [0.0], [0.0], EVAL_SEED_BASE, 2, workers=1, progress=False)  # warm
    serial_t, cold_t, warm_t = [], [], []
    reference = None
    for _ in range(args.repeats):
        t, serial = timed(lambda: sensitivity(*grid, workers=1, progress=False))
        serial_t.append(t)
        t, cold = timed(lambda: sensitivity(*grid, workers=args.cpus, progress=False))
        cold_t.append(t)
        with ray_session(num_cpus=args.cpus):
            # every worker started, with mm_env imported and its kernels loaded
            spin_up = [float(k) for k in range(4 * args.cpus)]
            sensitivity(*grid[:2], spin_up, [0.0], EVAL_SEED_BASE, 2, progress=False)
            t, warm = timed(lambda: sensitivity(*grid, progress=False))
        warm_t.append(t)
        for s in (serial, cold, warm):
            arrays = (s.pnl_mean, s.pnl_se, s.sharpe_mean, s.sharpe_se)  # type: ignore[attr-defined]
            if reference is None:
                reference = arrays
            for a, b in zip(arrays, reference):
                np.testing.assert_array_equal(a, b)
    med = statistics.median(serial_t)
    print(summary("serial", serial_t, None))
    print(summary("Ray, cold", cold_t, med))
    print(summary("Ray, warm", warm_t, med))
    print("all runs gave bit-identical grids")


if __name__ == "__main__":
    main()
