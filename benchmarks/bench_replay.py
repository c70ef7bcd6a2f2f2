"""Replay speed on the GOOG LOBSTER day (147,916 events): single env and vector env.

Single env, three ways, to show where the time goes: through ``gym.make`` (Gymnasium's
checker and order-enforcing wrappers), the unwrapped env (our ``step``: validation, info dict),
and the bare simulator (``step_one``: one kernel call per step, no info dict), for Replay-v0 and
Replay-v1 (exact queue; with constant and lognormal latency). Vector env: env-steps per second
of ``MarketMakingVectorEnv`` at several N. Per-event stepping unless ``--clock`` is given
(seconds). Actions are pre-drawn. The repeats are interleaved (each repeat times every
configuration and way once); each figure is the best of ``--repeats``, with the min..max of the
repeats and the ratio to Replay-v0 timed the same way in the same run.

    python benchmarks/bench_replay.py [--steps 200000] [--sizes 1 64 1024] [--clock 1.0]

The data are found at $MM_ENV_DATA/lobster/GOOG_2012-06-21_10 (default ../shared/data).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import mm_env
from mm_env.data import load_book

ROOT = Path(__file__).resolve().parents[1]
ID = "mm_env/Replay-v0"


def goog_path() -> Path:
    base = Path(os.environ.get("MM_ENV_DATA", ROOT.parent / "shared" / "data"))
    return base / "lobster" / "GOOG_2012-06-21_10"


def time_loop(step, reset, actions: list, n_steps: int, repeats: int) -> list[float]:
    """Steps per second of each repeat."""
    rates = []
    for _ in range(repeats):
        reset()
        start = time.perf_counter()
        for i in range(n_steps):
            if step(actions[i & 1023]):
                reset()
        rates.append(n_steps / (time.perf_counter() - start))
    return rates


#: the configurations timed: (label, id, extra config); v1 on LOBSTER data: the exact queue
CONFIGS: list[tuple[str, str, dict[str, Any]]] = [
    ("Replay-v0", "mm_env/Replay-v0", {}),
    ("Replay-v1 exact queue", "mm_env/Replay-v1", {}),
    (
        "Replay-v1 exact, latency 1 ms",
        "mm_env/Replay-v1",
        {"entry_latency": 0.001, "response_latency": 0.001},
    ),
    (
        "Replay-v1 exact, lognormal latency",
        "mm_env/Replay-v1",
        {"entry_latency": "lognormal:0.001,0.5", "response_latency": 0.001},
    ),
]


def single_env_steppers(book, env_id: str = ID, **kw) -> dict[str, tuple[Any, Any]]:
    """(step, reset) per way of stepping one env: ``step(a)`` returns whether to reset."""
    env = gym.make(env_id, data=book, **kw)
    env.reset(seed=0)
    env.step(np.zeros(2, dtype=np.float32))

    def wrapped(a):
        _, _, term, trunc, _ = env.step(a[0])
        return term or trunc

    raw: Any = env.unwrapped  # MarketMakingEnv: its simulator is timed below

    def unwrapped(a):
        _, _, term, trunc, _ = raw.step(a[0])
        return term or trunc

    sim = raw.simulator
    gen = np.random.default_rng(0)

    def bare(a):
        sim.step_one(a[1][0], a[1][1], gen)
        return sim.truncated[0]

    return {
        "gym.make (wrappers)": (wrapped, env.reset),
        "unwrapped env": (unwrapped, raw.reset),
        "bare simulator": (bare, lambda: sim.reset(gen)),
    }


def vector_rate(book, n_envs: int, n_timed: int, repeats: int, **kw) -> float:
    venv = gym.make_vec(
        ID, num_envs=n_envs, vectorization_mode="vector_entry_point", data=book, **kw
    )
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, (n_envs, 2)).astype(np.float32) for _ in range(16)]
    venv.reset(seed=0)
    venv.step(actions[0])
    steps = max(16, n_timed // n_envs)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            venv.step(actions[i & 15])
        best = max(best, steps * n_envs / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--clock", type=float, default=None, help="step_seconds (default: events)")
    args = parser.parse_args()
    path = goog_path()
    if not path.is_dir():
        print(f"GOOG LOBSTER day not found at {path} (set MM_ENV_DATA); nothing to time")
        sys.exit(0)
    t0 = time.perf_counter()
    book = load_book(path)
    n_trades = 0 if book.trade_row is None else len(book.trade_row)
    print(
        f"loaded {book.n_rows:,} events x {book.n_levels} levels, "
        f"{n_trades:,} executions in {time.perf_counter() - t0:.2f} s; "
        f"mm_env {mm_env.__version__}, step {'per event' if args.clock is None else args.clock}"
    )
    kw = {"step_seconds": args.clock, "n_steps": 2000, "max_inventory": 100.0}
    rng = np.random.default_rng(0)
    actions = []
    for _ in range(1024):
        a = rng.uniform(-1, 1, 2).astype(np.float32)
        actions.append((a, tuple(a.tolist())))
    steppers = {
        label: single_env_steppers(book, env_id=env_id, **kw, **extra)
        for label, env_id, extra in CONFIGS
    }
    # interleaved: each repeat times every configuration and way once, so a slow spell of the
    # machine lands on all of them alike
    rates: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeats):
        for label, ways in steppers.items():
            for way, (step, reset) in ways.items():
                rates.setdefault((label, way), []).extend(
                    time_loop(step, reset, actions, args.steps, 1)
                )
    ref_label = CONFIGS[0][0]
    for label, ways in steppers.items():
        print(f"{label + ': single env':44} {'best steps/s':>13} {'min..max of repeats':>22} ratio")
        for way in ways:
            r = rates[(label, way)]
            ref = max(rates[(ref_label, way)])
            print(
                f"  {way:42} {max(r):13,.0f} {min(r):10,.0f}..{max(r):<10,.0f} {max(r) / ref:.2f}"
            )
    print(f"{'Replay-v0 vector env, N':32} {'env-steps/s':>12}")
    for n in args.sizes:
        sps = vector_rate(book, n, args.steps, args.repeats, **kw)
        print(f"{n:<32d} {sps:12,.0f}")


if __name__ == "__main__":
    main()
