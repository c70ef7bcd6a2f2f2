"""What each stylised component of the Avellaneda–Stoikov family costs (issue 14).

For each variant (the default AvellanedaStoikov-v0, then one component changed at a time):
env-steps per second of the single env through ``gym.make`` and of the native vector env with
``--num-envs`` sub-envs (serial build), beside CartPole-v1 (single) measured in the same run.
Repeats are interleaved (variant 1, 2, ..., then again), each figure is the median over
``--repeats`` with the spread (min–max) in brackets; ratios are to the default AS variant
and to CartPole-v1, median over repeats of the ratio within a repeat. Actions are pre-drawn.

``--default-only`` times the default variant and CartPole only (for a checkout without the
components, e.g. main before issue 14: compare its ``x CartPole`` with this one's).
``--variant TEXT`` (repeatable) adds only the variants whose name contains TEXT to the default
(``--variant market_orders``: the default and market-order rows).

    python benchmarks/bench_components.py [--steps 50000] [--repeats 5] [--num-envs 1024]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from typing import Any

import gymnasium as gym
import numpy as np

import mm_env

AS_ID = "mm_env/AvellanedaStoikov-v0"

VARIANTS: dict[str, dict[str, Any]] = {
    "default (bm, poisson, exponential, pnl)": {},
    "midprice=gbm": {"midprice": "gbm", "sigma": 0.02},
    "midprice=ou": {"midprice": "ou"},
    "midprice=ou_alpha": {"midprice": "ou_alpha"},
    "midprice=jump_bm": {"midprice": "jump_bm"},
    "midprice=jump_ou": {"midprice": "jump_ou"},
    "midprice=heston": {"midprice": "heston"},
    "midprice=cev": {"midprice": "cev"},
    "arrivals=hawkes": {"arrivals": "hawkes"},
    "arrivals=inventory": {"arrivals": "inventory"},
    "fill_function=power": {"fill_function": "power"},
    "fill_function=triangular": {"fill_function": "triangular"},
    "reward=exp_utility": {"reward": "exp_utility"},
    "market_orders=linear_impact": {
        "market_orders": "linear_impact",
        "temporary_impact": 0.1,
        "permanent_impact": 0.01,
    },
}


def single_rate(env_id: str, kwargs: dict[str, Any], n_steps: int) -> float:
    env = gym.make(env_id, **kwargs)
    space = env.action_space
    space.seed(0)
    actions = [space.sample() for _ in range(1024)]
    env.reset(seed=0)
    env.step(actions[0])  # warm-up
    env.reset(seed=0)
    start = time.perf_counter()
    for i in range(n_steps):
        _, _, term, trunc, _ = env.step(actions[i & 1023])
        if term or trunc:
            env.reset()
    return n_steps / (time.perf_counter() - start)


def vector_rate(kwargs: dict[str, Any], num_envs: int, n_steps: int) -> float:
    venv = gym.make_vec(AS_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    rng = np.random.default_rng(0)
    shape = venv.single_action_space.shape
    assert shape is not None  # a Box
    dim = shape[0]  # 3 with market orders
    actions = [rng.uniform(-1, 1, (num_envs, dim)).astype(np.float32) for _ in range(16)]
    venv.reset(seed=0)
    venv.step(actions[0])
    steps = max(n_steps // num_envs, 20)
    start = time.perf_counter()
    for i in range(steps):
        venv.step(actions[i & 15])
    return steps * num_envs / (time.perf_counter() - start)


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):10,.0f} [{min(values):,.0f}–{max(values):,.0f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--default-only", action="store_true")
    parser.add_argument("--variant", action="append", default=[], metavar="TEXT")
    args = parser.parse_args()
    names = list(VARIANTS)
    if args.default_only:
        names = names[:1]
    elif args.variant:
        unknown = [t for t in args.variant if not any(t in name for name in names[1:])]
        if unknown:
            parser.error(f"no variant name contains {unknown}; variants: {names[1:]}")
        names = names[:1] + [n for n in names[1:] if any(t in n for t in args.variant)]
    variants = {name: VARIANTS[name] for name in names}
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, gymnasium {gym.__version__}, "
        f"mm_env from {mm_env.__file__}; {args.steps} steps, {args.repeats} interleaved repeats"
    )
    cart: list[float] = []
    single: dict[str, list[float]] = {name: [] for name in variants}
    vector: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        cart.append(single_rate("CartPole-v1", {}, args.steps))
        for name, kwargs in variants.items():
            single[name].append(single_rate(AS_ID, kwargs, args.steps))
            vector[name].append(vector_rate(kwargs, args.num_envs, 20 * args.steps))
    base = next(iter(variants))
    print(f"{'CartPole-v1 (single)':40} {fmt(cart)} steps/s")
    print(
        f"{'AS variant':40} {'single steps/s [min–max]':>30} {'x default':>9} {'x CartPole':>10}"
        f" {f'vector N={args.num_envs} steps/s':>32} {'x default':>9}"
    )
    for name in variants:
        s_ratio = statistics.median(a / b for a, b in zip(single[name], single[base]))
        c_ratio = statistics.median(a / b for a, b in zip(single[name], cart))
        v_ratio = statistics.median(a / b for a, b in zip(vector[name], vector[base]))
        print(
            f"{name:40} {fmt(single[name]):>30} {s_ratio:9.2f} {c_ratio:10.2f}"
            f" {fmt(vector[name]):>32} {v_ratio:9.2f}"
        )


if __name__ == "__main__":
    main()
