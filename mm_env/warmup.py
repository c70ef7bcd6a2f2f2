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


def warm_up() -> float:
    """Step every scenario once as a single env and as a large (multi-threaded) batch."""
    start = time.perf_counter()
    import mm_env
    from mm_env.core import PARALLEL_MIN_ROWS

    for scenario in mm_env.SCENARIOS:
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
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"mm_env kernels compiled and cached in {warm_up():.1f} s")
