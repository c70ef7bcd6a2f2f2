"""The ``predict`` protocol every policy follows, trained or analytic."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray


@runtime_checkable
class Policy(Protocol):
    """stable-baselines3's ``predict`` signature.

    ``observation`` is one observation or a batch (first axis); the action has the matching
    shape. ``state`` is a recurrent state (``None`` for these policies) and is returned as is.
    """

    def predict(
        self,
        observation: NDArray[Any],
        state: tuple[NDArray[Any], ...] | None = None,
        episode_start: NDArray[Any] | None = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[Any], tuple[NDArray[Any], ...] | None]: ...


def env_config(env: Any) -> Any:
    """The ``MarketConfig`` of an env, a wrapped env, or a vector env made by this package."""
    base = getattr(env, "unwrapped", env)
    config = getattr(base, "config", None)
    if config is None:
        raise ValueError(f"{type(env).__name__} is not an mm_env environment (no .config)")
    return config


def as_batch(observation: Any) -> tuple[NDArray[np.float64], bool]:
    """Observation as a float64 2-D batch, and whether the input was a single observation."""
    obs = np.asarray(observation, dtype=np.float64)
    if obs.ndim == 1:
        return obs[None, :], True
    if obs.ndim != 2:
        raise ValueError(f"observation must be 1-D or a 2-D batch, got shape {obs.shape}")
    return obs, False
