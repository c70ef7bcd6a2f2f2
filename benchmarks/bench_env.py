"""Single-env speed through ``gym.make``: each scenario beside CartPole-v1, measured in this run.

Prints env-steps per second and the ratio to CartPole-v1 (target for MarketMaking-v0: >= 0.5).
The Avellaneda–Stoikov scenarios are also set beside a NumPy re-implementation of mbt-gym's
AS/Cartea–Jaimungal step with one trajectory (``benchmarks/mbt_reference.py``), measured in the
same run: column ``x mbt-style`` (target, issue 5: >= 2).
Each figure is the best of ``--repeats`` timed runs of ``--steps`` steps (resets included, a
fixed pre-drawn action sequence, so the policy costs nothing).

    python benchmarks/bench_env.py [--steps 200000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import mm_env

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mbt_reference import MbtStyleASEnv  # noqa: E402


def steps_per_second(env_id: str, n_steps: int, repeats: int) -> float:
    env = gym.make(env_id)
    space = env.action_space
    space.seed(0)
    actions = [space.sample() for _ in range(1024)]
    env.reset(seed=0)
    env.step(actions[0])  # warm-up (numba cache load, checker wrappers)
    best = 0.0
    for _ in range(repeats):
        env.reset(seed=0)
        start = time.perf_counter()
        for i in range(n_steps):
            _, _, term, trunc, _ = env.step(actions[i & 1023])
            if term or trunc:
                env.reset()
        best = max(best, n_steps / (time.perf_counter() - start))
    env.close()
    return best


def mbt_steps_per_second(n_steps: int, repeats: int) -> float:
    """The mbt-style reference with one trajectory, reset at the end of each episode."""
    env = MbtStyleASEnv(1)
    rng = np.random.default_rng(0)
    depths = [rng.uniform(0.0, 4.0 / 3.0, (1, 2)) for _ in range(1024)]
    best = 0.0
    for _ in range(repeats):
        env.reset()
        start = time.perf_counter()
        for i in range(n_steps):
            if env.step(depths[i & 1023])[2][0]:
                env.reset()
        best = max(best, n_steps / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, gymnasium {gym.__version__}, "
        f"mm_env {mm_env.__version__}; {args.steps} steps x best of {args.repeats}"
    )
    ref = steps_per_second("CartPole-v1", args.steps, args.repeats)
    mbt = mbt_steps_per_second(args.steps, args.repeats)
    print(
        f"{'env (gym.make, single)':32} {'steps/s':>12} {'x CartPole-v1':>14} {'x mbt-style':>12}"
    )
    print(f"{'CartPole-v1':32} {ref:12,.0f} {1.0:14.2f}")
    print(f"{'mbt-style AS (NumPy reference)':32} {mbt:12,.0f} {mbt / ref:14.2f}")
    for env_id, scenario in mm_env.ENV_IDS.items():
        if getattr(mm_env.SCENARIOS[scenario][1], "takes_data", False):
            continue  # replays need data: benchmarks/bench_replay.py
        sps = steps_per_second(env_id, args.steps, args.repeats)
        vs_mbt = sps / mbt if scenario in ("avellaneda_stoikov", "cartea_jaimungal") else None
        extra = f" {vs_mbt:12.2f}" if vs_mbt is not None else ""
        print(f"{env_id:32} {sps:12,.0f} {sps / ref:14.2f}{extra}")


if __name__ == "__main__":
    main()
