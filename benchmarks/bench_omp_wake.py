"""What waking OpenMP's second thread costs MarketMaking-v0's multi-threaded kernel.

Inside a vector step the kernel runs after ~100 µs of Python and NumPy (the action checks, the
random draws, the info dict), long enough for libgomp's idle thread to stop spinning
(``GOMP_SPINCOUNT``, mm_env sets 1000) and sleep; the next parallel region must wake it. This
times one step of the kernel alone (N rows, the state of a running vector env) after a busy
gap of G µs on the main thread, for the multi-threaded and the serial build, interleaved in
one process: at G = 0 the parallel build runs at its back-to-back speed; the excess at larger
G is the wake-up. Each cell: ``--calls`` calls in five blocks, the builds' blocks interleaved;
medians and 10th–90th percentiles.

    python benchmarks/bench_omp_wake.py [--n 1024] [--gaps 0 5 20 50 100 200] [--calls 2000]

Run it under another spin (``GOMP_SPINCOUNT=10000 python benchmarks/bench_omp_wake.py``) to see
the wake-up go; ``benchmarks/bench_omp_wait.py`` measures what a longer spin costs elsewhere.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mm_env import MarketMakingVectorEnv
from mm_env.core import STEP
from mm_env.scenarios import synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--gaps", type=float, nargs="+", default=[0, 5, 20, 50, 100, 200])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    n = args.n
    venv = MarketMakingVectorEnv(n, "market_making")
    venv.reset(seed=0)
    for _ in range(20):  # a running book: orders resting, fills happening
        venv.step(np.random.default_rng(0).uniform(-1, 1, (n, 2)))
    sim = venv.simulator
    rng = np.random.default_rng(1)
    actions = rng.uniform(-1, 1, (n, 2))
    u = rng.random((n, synthetic.N_UNIFORMS))
    z = rng.standard_normal((n, synthetic.N_NORMALS))
    kernels = {
        "parallel": synthetic.synthetic_step_parallel,
        "serial": synthetic.synthetic_step,
    }

    def call(kernel) -> float:
        sim.state[:, STEP] = 0.0  # never reaches the episode's end
        start = time.perf_counter()
        kernel(
            sim.state,
            sim.bid_sizes,
            sim.ask_sizes,
            sim.params,
            sim._exec_rec,
            actions,
            u,
            z,
            sim.latency,
            sim.depths,
            sim.obs,
            sim.truncated,
            sim._all_rows,
            sim.unseen,
        )
        return time.perf_counter() - start

    print(f"N = {n}: kernel µs after a busy gap, median (10th-90th percentile)")
    print(f"{'gap µs':>7} {'parallel':>24} {'serial':>24} {'parallel / serial':>18}")
    for gap in args.gaps:
        times: dict[str, list[float]] = {name: [] for name in kernels}
        for _ in range(5):  # blocks of consecutive calls of one build, the builds interleaved
            for name, kernel in kernels.items():
                for j in range(args.calls // 5):
                    until = time.perf_counter() + gap * 1e-6
                    while time.perf_counter() < until:
                        pass
                    elapsed = call(kernel) * 1e6
                    if j >= 20:  # the first calls of a block warm the caches
                        times[name].append(elapsed)
        cells = []
        for name in kernels:
            t = np.array(times[name])
            p10, p50, p90 = np.percentile(t, [10, 50, 90])
            cells.append(f"{p50:7.1f} ({p10:6.1f}-{p90:6.1f})")
        ratio = np.median(times["parallel"]) / np.median(times["serial"])
        print(f"{gap:7.0f} {cells[0]:>24} {cells[1]:>24} {ratio:18.2f}")


if __name__ == "__main__":
    main()
