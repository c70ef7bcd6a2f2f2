"""Compile and cache every kernel once: ``python -m mm_env.warmup`` (``make`` runs it at install).

numba compiles a kernel on its first call and caches the machine code beside the sources, so
after this the first ``reset``/``step`` of any scenario, single or vector, takes milliseconds.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def tiny_book() -> Any:
    """A 4-row, 10-level in-memory book with one trade, to compile the replay kernels."""
    from mm_env.data import OrderBook

    levels = np.arange(10)
    bid = 100.0 - 0.01 * levels
    ask = 100.01 + 0.01 * levels
    rows = 4
    return OrderBook.from_arrays(
        np.arange(rows, dtype=float),
        np.tile(bid, (rows, 1)),
        np.full((rows, 10), 5.0),
        np.tile(ask, (rows, 1)),
        np.full((rows, 10), 5.0),
        trades={"time": [1.0], "price": [100.0], "size": [2.0], "side": [-1.0]},
        source="warm-up book",
    )


def warm_up(scenarios: tuple[str, ...] | None = None) -> float:
    """Step every scenario (or those named) once as a single env and as a large
    (multi-threaded) batch."""
    start = time.perf_counter()
    import mm_env
    from mm_env.core import PARALLEL_MIN_ROWS, gather_columns

    for scenario in scenarios or tuple(mm_env.SCENARIOS):
        data = tiny_book() if getattr(mm_env.SCENARIOS[scenario][1], "takes_data", False) else None
        for n_envs in (1, PARALLEL_MIN_ROWS):
            config = mm_env.make_config(scenario, n_steps=2)
            for dtype in ("float32", "float64"):
                sim = mm_env.make_simulator(
                    scenario, config.replace(observation_dtype=dtype), n_envs, data
                )
                rng = np.random.default_rng(0)
                sim.reset(rng)
                sim.step(np.zeros((n_envs, 2)), rng)
                if sim.multithreaded:  # the vector env's info gather follows the kernel
                    cols = np.arange(2, dtype=np.intp)
                    gather_columns(sim.state, cols, np.empty((cols.size, n_envs + 8)))
    return time.perf_counter() - start


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scenario",
        action="append",
        help="compile this scenario's kernels only (repeatable; default: every scenario). "
        "E.g. the compile time of the Avellaneda-Stoikov kernels: NUMBA_CACHE_DIR=$(mktemp -d) "
        "/usr/bin/time -v python -m mm_env.warmup --scenario avellaneda_stoikov",
    )
    args = parser.parse_args()
    names = tuple(args.scenario) if args.scenario else None
    from mm_env import SCENARIOS

    unknown = sorted(set(names or ()) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; known: {sorted(SCENARIOS)}")
    print(f"mm_env kernels compiled and cached in {warm_up(names):.1f} s")
