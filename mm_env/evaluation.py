"""Run any policy with a ``predict`` method for an episode and collect what happened.

One evaluation path for trained models and analytic baselines alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mm_env.metrics import EpisodeMetrics, episode_metrics

#: info series kept per step
SERIES_KEYS = (
    "mid",
    "best_bid",
    "best_ask",
    "bid_quote",
    "ask_quote",
    "bid_fill",
    "ask_fill",
    "cash",
    "inventory",
    "pnl",
    "imbalance",
    "spread",
    "n_fills",
)


@dataclass(frozen=True)
class Episode:
    """One episode: its seed, per-step info series, rewards, and metrics."""

    seed: int
    series: dict[str, NDArray[np.float64]]
    rewards: NDArray[np.float64]
    metrics: EpisodeMetrics


def run_episode(env: Any, policy: Any, seed: int, deterministic: bool = True) -> Episode:
    """Reset ``env`` with ``seed`` and step it with ``policy.predict`` until the episode ends."""
    obs, _ = env.reset(seed=seed)
    series: dict[str, list[float]] = {k: [] for k in SERIES_KEYS}
    rewards: list[float] = []
    state = None
    start = np.ones((1,), dtype=bool)
    done = False
    while not done:
        action, state = policy.predict(
            obs, state=state, episode_start=start, deterministic=deterministic
        )
        start = np.zeros((1,), dtype=bool)
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(float(reward))
        for k in SERIES_KEYS:
            series[k].append(info[k])
        done = terminated or truncated
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in series.items()}
    return Episode(seed, arrays, np.asarray(rewards), episode_metrics(arrays))
