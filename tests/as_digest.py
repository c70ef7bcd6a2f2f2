"""A digest of default Avellaneda–Stoikov-family trajectories, to prove new components leave
the default ids unchanged.

``python -m tests.as_digest`` (run from the repository root) records the digest of the code
it imports into ``tests/data/as_default_digest.json``; it was run on main before the stylised
components (issue 14) were added, and ``tests/test_stylised.py`` compares the current code
with it at a relative tolerance of 1e-12 (not bit for bit: numpy/numba releases may round a
last digit differently).

Each case steps a fixed seeded action sequence through the single env (gym.make) and through
the native vector env (8 rows, and PARALLEL_MIN_ROWS rows for the multi-threaded build), across
an episode end, and records sums that every step's numbers feed into.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import mm_env  # noqa: F401  (registers the ids)

PATH = Path(__file__).resolve().parent / "data" / "as_default_digest.json"

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "as_default": ("mm_env/AvellanedaStoikov-v0", {}),
    "as_gaussian_exponential": (
        "mm_env/AvellanedaStoikov-v0",
        {"mid_increments": "gaussian", "fill_probability": "exponential"},
    ),
    "as_penalties": (
        "mm_env/AvellanedaStoikov-v0",
        {"inventory_penalty": 0.01, "terminal_inventory_penalty": 0.1, "liquidate_at_end": True},
    ),
    "cj_default": ("mm_env/CarteaJaimungal-v0", {}),
}


def _single(env_id: str, kwargs: dict[str, Any]) -> list[float]:
    env = gym.make(env_id, observation_dtype="float64", **kwargs)
    n = env.unwrapped.config.n_steps
    actions = np.random.default_rng(11).uniform(-1.0, 1.0, (n + 50, 2))
    obs, _ = env.reset(seed=7)
    totals = np.zeros(6)
    for t in range(n + 50):
        if t == n:
            obs, _ = env.reset()
        obs, reward, _, _, info = env.step(actions[t])
        totals += (
            reward,
            obs.sum(),
            info["mid"],
            info["bid_quote"],
            info["ask_quote"],
            info["inventory"],
        )
    return [*totals.tolist(), info["cash"], info["pnl"], info["n_fills"]]


def _vector(env_id: str, kwargs: dict[str, Any], num_envs: int, steps: int) -> list[float]:
    venv = gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        observation_dtype="float64",
        **kwargs,
    )
    actions = np.random.default_rng(12).uniform(-1.0, 1.0, (steps, num_envs, 2))
    venv.reset(seed=8)
    totals = np.zeros(5)
    for t in range(steps):
        obs, rewards, _, _, info = venv.step(actions[t])
        totals += (
            rewards.sum(),
            obs.sum(),
            info["mid"].sum(),
            info["cash"].sum(),
            info["inventory"].sum(),
        )
    return totals.tolist()


def digest() -> dict[str, list[float]]:
    from mm_env.core import PARALLEL_MIN_ROWS

    out: dict[str, list[float]] = {}
    for name, (env_id, kwargs) in CASES.items():
        out[f"{name}/single"] = _single(env_id, kwargs)
        n = gym.make(env_id, **kwargs).unwrapped.config.n_steps
        out[f"{name}/vector8"] = _vector(env_id, kwargs, 8, n + 30)
    out["as_default/parallel"] = _vector("mm_env/AvellanedaStoikov-v0", {}, PARALLEL_MIN_ROWS, 20)
    return out


if __name__ == "__main__":
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(json.dumps(digest(), indent=1) + "\n")
    print(f"wrote {PATH}")
