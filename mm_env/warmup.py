"""Compile and cache every kernel once: ``python -m mm_env.warmup`` (``make`` runs it at install).

numba compiles a kernel on its first call and caches the machine code beside the sources, so
after this the first ``reset``/``step`` of any scenario, single or vector, takes milliseconds.
"""

from __future__ import annotations

import time

import numpy as np


def warm_up() -> float:
    """Step every scenario once as a single env and as a large (multi-threaded) batch."""
    start = time.perf_counter()
    import mm_env
    from mm_env.core import PARALLEL_MIN_ROWS

    for scenario in mm_env.SCENARIOS:
        for n_envs in (1, PARALLEL_MIN_ROWS):
            config = mm_env.make_config(scenario, n_steps=2)
            for dtype in ("float32", "float64"):
                sim = mm_env.make_simulator(
                    scenario, config.replace(observation_dtype=dtype), n_envs
                )
                rng = np.random.default_rng(0)
                sim.reset(rng)
                sim.step(np.zeros((n_envs, 2)), rng)
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"mm_env kernels compiled and cached in {warm_up():.1f} s")
