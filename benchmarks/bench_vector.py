"""Vector-env speed: env-steps per second of the native vector env at several N, beside
gymnasium's ``CartPoleVectorEnv`` at the same N measured in the same run, and memory per
sub-env. Target: N=1024 >= 0.5x CartPoleVectorEnv.

The Avellaneda–Stoikov scenarios are also set beside a NumPy re-implementation of the step of
mbt-gym's vectorised AS/Cartea–Jaimungal env (``benchmarks/mbt_reference.py``; mbt-gym is not
on PyPI), measured in the same run: column ``x mbt-style``. Target (issue 5): >= 2x.

Actions are pre-drawn (the policy costs nothing); each figure is the median of ``--repeats``
runs of ``--seconds`` seconds at most; the ratio is the median over interleaved repeats of
(this env's rate / CartPoleVectorEnv's rate in the same repeat). Env-steps are counted as
Gymnasium's ``gymnasium.utils.performance.benchmark_vector_step`` counts them: in NEXT_STEP
autoreset mode a sub-env's reset step (the step after its episode ended) is not an env-step.
Column ``x CartPole (gym)``: the same ratio from ``benchmark_vector_step`` itself (its actions
sampled from the action space at every step, ``--seconds`` per run), for the Gymnasium vector
envs. Memory per sub-env is the simulator's arrays (state, book, observation, its helpers'
buffers) over N.

    python benchmarks/bench_vector.py [--sizes 1 64 1024 8192] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.utils.performance import benchmark_vector_step
from gymnasium.vector import AutoresetMode

import mm_env
from mm_env import MarketMakingVectorEnv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mbt_reference import MbtStyleASEnv  # noqa: E402

MBT = "mbt-style AS (NumPy reference)"


class MbtAdapter:
    """The reference with the vector-env calls ``rate`` makes: reset(seed), step(actions) with
    actions in [-1, 1] mapped to depths in [0, 4/3] (around the optimum 1/k), and a reset at
    the end of each episode as mbt-gym's SB3 wrapper does."""

    single_action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def __init__(self, n: int) -> None:
        self.env = MbtStyleASEnv(n)

    def reset(self, seed: int | None = None) -> None:
        self.env.reset()

    def step(self, actions: np.ndarray) -> None:
        _, _, dones, _ = self.env.step((actions.astype(np.float64) + 1.0) / 1.5)
        if dones[0]:
            self.env.reset()


def rate(venv, n_envs: int, seconds: float, repeats: int) -> float:
    rng = np.random.default_rng(0)
    if isinstance(venv.single_action_space, gym.spaces.Discrete):
        actions = [rng.integers(0, 2, n_envs) for _ in range(16)]
    else:
        actions = [rng.uniform(-1, 1, (n_envs, 2)).astype(np.float32) for _ in range(16)]
    venv.reset(seed=0)
    venv.step(actions[0])
    count_resets = getattr(venv, "metadata", {}).get("autoreset_mode") == AutoresetMode.NEXT_STEP
    best = 0.0
    for _ in range(repeats):
        steps = 0
        done = np.zeros(n_envs, dtype=bool)
        start = time.perf_counter()
        while True:
            for a in actions:
                out = venv.step(a)
                if count_resets:  # as benchmark_vector_step: reset steps are not env-steps
                    steps += n_envs - int(np.count_nonzero(done))
                    done = np.logical_or(out[2], out[3])
                else:
                    steps += n_envs
            elapsed = time.perf_counter() - start
            if elapsed > seconds or steps >= 200_000 * n_envs:
                break
        best = max(best, steps / elapsed)
    return best


def sim_bytes(venv: MarketMakingVectorEnv) -> int:
    """The simulator's arrays, and those of its helper objects (e.g. the draws' buffers)."""
    sim = venv.simulator
    total = 0
    for v in vars(sim).values():
        if isinstance(v, np.ndarray):
            total += v.nbytes
        elif hasattr(v, "__dict__") and not isinstance(v, type):
            total += sum(a.nbytes for a in vars(v).values() if isinstance(a, np.ndarray))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024, 8192])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    header = f"{'N':>6} {'env':31} {'env-steps/s (min..max)':>30} {'x CartPoleVectorEnv':>20}"
    print(f"{header} {'x CartPole (gym)':>17} {'bytes/sub-env':>14} {'x mbt-style':>12}")
    for n in args.sizes:
        envs: dict[str, Any] = {"CartPoleVectorEnv": CartPoleVectorEnv(num_envs=n)}
        for env_id, scenario in mm_env.ENV_IDS.items():
            if getattr(mm_env.SCENARIOS[scenario][1], "takes_data", False):
                continue  # replays need data: benchmarks/bench_replay.py
            envs[env_id] = MarketMakingVectorEnv(n, scenario)
        envs[MBT] = MbtAdapter(n)
        # interleaved: each repeat times every env once, so a slow spell of the machine hits
        # all of them; figures are medians over repeats
        runs: dict[str, list[float]] = {name: [] for name in envs}
        gym_runs: dict[str, list[float]] = {name: [] for name in envs if name != MBT}
        for _ in range(args.repeats):
            for name, venv in envs.items():
                runs[name].append(rate(venv, n, args.seconds, 1))
                if name in gym_runs:
                    gym_runs[name].append(benchmark_vector_step(venv, args.seconds, seed=0))

        def ratio(k: str, ref: str, runs: dict[str, list[float]] = runs) -> float:
            return float(np.median(np.array(runs[k]) / np.array(runs[ref])))

        for name, venv in envs.items():
            native = isinstance(venv, MarketMakingVectorEnv)
            mem = f"{sim_bytes(venv) / n:14,.0f}" if native else ""
            scenario = mm_env.ENV_IDS.get(name, "")
            vs_mbt = (
                f"{ratio(name, MBT):12.2f}"
                if scenario in ("avellaneda_stoikov", "cartea_jaimungal")
                else ""
            )
            sps = float(np.median(runs[name]))
            spread = f"{sps:,.0f} ({min(runs[name]):,.0f}..{max(runs[name]):,.0f})"
            vs_gym = (
                f"{ratio(name, 'CartPoleVectorEnv', gym_runs):17.2f}" if name in gym_runs else ""
            )
            print(
                f"{n:6d} {name:31} {spread:>30} {ratio(name, 'CartPoleVectorEnv'):20.2f} "
                f"{vs_gym:>17} {mem:>14} {vs_mbt:>12}"
            )


if __name__ == "__main__":
    main()
