"""Vector-env speed: env-steps per second of the native vector env at several N, beside
gymnasium's ``CartPoleVectorEnv`` at the same N measured in the same run, and memory per
sub-env. Target: N=1024 >= 0.5x CartPoleVectorEnv.

The Avellaneda–Stoikov scenarios are also set beside a NumPy re-implementation of the step of
mbt-gym's vectorised AS/Cartea–Jaimungal env (``benchmarks/mbt_reference.py``; mbt-gym is not
on PyPI), measured in the same run: column ``x mbt-style``. Target (issue 5): >= 2x.

Actions are pre-drawn (the policy costs nothing); each figure is the median of ``--repeats``
runs of ``--seconds`` seconds at most; the ratio is the median over interleaved repeats of
(this env's rate / CartPoleVectorEnv's rate in the same repeat). Memory per sub-env is the
simulator's arrays (state, book, observation) divided by N.

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
    best = 0.0
    for _ in range(repeats):
        steps = 0
        start = time.perf_counter()
        while True:
            for a in actions:
                venv.step(a)
            steps += len(actions)
            elapsed = time.perf_counter() - start
            if elapsed > seconds or steps >= 200_000:
                break
        best = max(best, steps * n_envs / elapsed)
    return best


def sim_bytes(venv: MarketMakingVectorEnv) -> int:
    sim = venv.simulator
    return sum(v.nbytes for v in vars(sim).values() if isinstance(v, np.ndarray))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024, 8192])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    header = f"{'N':>6} {'env':31} {'env-steps/s':>14} {'x CartPoleVectorEnv':>20}"
    print(f"{header} {'bytes/sub-env':>14} {'x mbt-style':>12}")
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
        for _ in range(args.repeats):
            for name, venv in envs.items():
                runs[name].append(rate(venv, n, args.seconds, 1))

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
            print(
                f"{n:6d} {name:31} {sps:14,.0f} {ratio(name, 'CartPoleVectorEnv'):20.2f} "
                f"{mem:>14} {vs_mbt:>12}"
            )


if __name__ == "__main__":
    main()
