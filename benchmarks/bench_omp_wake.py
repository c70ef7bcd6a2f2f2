"""What waking OpenMP's second thread costs MarketMaking-v0's multi-threaded kernel.

Between two steps' parallel regions the main thread works alone (the action checks, the copies,
the info dict, the caller's loop); if that takes longer than libgomp's idle thread spins
(``GOMP_SPINCOUNT``, mm_env sets 1000: 20–30 µs here), that thread sleeps and the next
parallel region must wake it. (Until the step's draws and info gather ran on both threads,
``mm_env.draws`` and ``mm_env.core.gather_columns``, that gap was about 70 µs.) This
times one step of the kernel alone (N rows, the state of a running vector env) after a busy
gap of G µs on the main thread, for the multi-threaded and the serial build, interleaved in
one process: at G = 0 the parallel build runs at its back-to-back speed; the excess at larger
G is the wake-up. Each cell: ``--calls`` calls in five blocks, the builds' blocks interleaved;
medians and 10th–90th percentiles.

Then, inside real vector steps (``--steps``, pre-drawn actions): the step's draws, its kernel,
its info dict and the whole ``step``, timed by wrapping the simulator's ``_step_kernel``, the
kernels it calls and the env's ``_infos``, for the multi-threaded build (two-thread draws and
gather) and the serial one (the threshold ``PARALLEL_MIN_ROWS`` raised: NumPy's draws and
gather), medians and 10th–90th percentiles.

    python benchmarks/bench_omp_wake.py [--n 1024] [--gaps 0 5 20 50 100 200] [--calls 2000]
        [--steps 5000]

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

#: calls at the start of each block that are not timed (they warm the caches)
WARM_CALLS = 20


def run_kernel(kernel, sim, actions, u, z, active) -> None:
    """One step of a MarketMaking kernel on ``sim``'s arrays, as its ``_step_kernel`` calls it."""
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
        active,
        sim.unseen,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--gaps", type=float, nargs="+", default=[0, 5, 20, 50, 100, 200])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=5000)
    args = parser.parse_args()
    if args.calls < 5 * (WARM_CALLS + 1):
        parser.error(f"--calls must be >= {5 * (WARM_CALLS + 1)} (five blocks, each warming up)")
    if args.n < 1 or args.steps < 1 or min(args.gaps) < 0:
        parser.error("--n and --steps must be positive and --gaps non-negative")
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
        run_kernel(kernel, sim, actions, u, z, sim._all_rows)
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
                    if j >= WARM_CALLS:  # the first calls of a block warm the caches
                        times[name].append(elapsed)
        cells = []
        for name in kernels:
            t = np.array(times[name])
            p10, p50, p90 = np.percentile(t, [10, 50, 90])
            cells.append(f"{p50:7.1f} ({p10:6.1f}-{p90:6.1f})")
        ratio = np.median(times["parallel"]) / np.median(times["serial"])
        print(f"{gap:7.0f} {cells[0]:>24} {cells[1]:>24} {ratio:18.2f}")
    print(f"\ninside {args.steps} vector steps: µs, median (10th-90th percentile)")
    print(f"{'build':>9} {'draws':>22} {'kernel':>22} {'info':>22} {'step':>22}")
    for build, threshold in (("parallel", synthetic.PARALLEL_MIN_ROWS), ("serial", n + 1)):
        synthetic.PARALLEL_MIN_ROWS, saved = threshold, synthetic.PARALLEL_MIN_ROWS
        try:
            parts = in_step(n, args.steps)
        finally:
            synthetic.PARALLEL_MIN_ROWS = saved
        cells = []
        for name in ("draws", "kernel", "info", "step"):
            p10, p50, p90 = np.percentile(parts[name], [10, 50, 90])
            cells.append(f"{p50:6.1f} ({p10:5.1f}-{p90:5.1f})")
        print(f"{build:>9} {cells[0]:>22} {cells[1]:>22} {cells[2]:>22} {cells[3]:>22}")


def in_step(n: int, steps: int) -> dict[str, np.ndarray]:
    """Times of the draws, the kernel and the whole step of a vector env (see the docstring).

    The simulator's own ``_step_kernel`` runs (its draws, its choice of build); the two kernels
    it looks up in :mod:`mm_env.scenarios.synthetic` are wrapped to time them, and the draws
    (with the call's own overhead) are the rest of ``_step_kernel``."""
    venv = MarketMakingVectorEnv(n, "market_making")
    sim = venv.simulator
    times: dict[str, list[float]] = {"draws": [], "kernel": [], "info": [], "step": []}
    clock = time.perf_counter
    step_kernel = sim._step_kernel
    names = ("synthetic_step", "synthetic_step_parallel")
    kernels = {name: getattr(synthetic, name) for name in names}

    def timed(function, key="kernel"):
        def run(*args):
            start = clock()
            out = function(*args)
            times[key].append(clock() - start)
            return out

        return run

    def timed_step_kernel(actions, rng, active) -> None:
        start = clock()
        step_kernel(actions, rng, active)
        times["draws"].append(clock() - start - times["kernel"][-1])

    for name, kernel in kernels.items():
        setattr(synthetic, name, timed(kernel))
    sim._step_kernel = timed_step_kernel
    venv._infos = timed(venv._infos, "info")  # type: ignore[method-assign]
    try:
        venv.reset(seed=0)
        acts = [
            np.random.default_rng(k).uniform(-1, 1, (n, 2)).astype(np.float32) for k in range(16)
        ]
        for j in range(steps):
            start = clock()
            venv.step(acts[j % 16])
            times["step"].append(clock() - start)
    finally:
        for name, kernel in kernels.items():
            setattr(synthetic, name, kernel)
    skip = min(500, steps // 10)  # the first steps warm the caches
    return {k: np.array(v[skip:]) * 1e6 for k, v in times.items()}


if __name__ == "__main__":
    main()
