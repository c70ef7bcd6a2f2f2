"""The ``predict`` protocol every policy follows, trained or analytic."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from mm_env.actions import ActionMapping


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


class SpreadSkewPolicy:
    """Base of the rules that decide a (spread multiple, skew) per observation.

    Subclasses call ``super().__init__(config)`` (which sets :attr:`mapping`, an
    :class:`~mm_env.actions.ActionMapping`, and :attr:`action_dim`) and implement
    ``spread_skew(observation) -> (m, skew)`` over a batch; ``predict`` turns those into
    float64 actions (clipped to the action range, as the env would).

    Market orders: these are limit-order policies. On an env whose action has a third entry
    (``market_orders="linear_impact"``, ``config.action_dim == 3``) ``predict`` returns that
    entry as 0, a market order of size zero, so the policy quotes exactly as it would on the
    two-entry env and never crosses the spread.
    """

    mapping: Any
    action_dim: int

    def __init__(self, config: Any) -> None:
        self.mapping = ActionMapping.from_config(config)
        self.action_dim = int(config.action_dim)

    def spread_skew(self, observation: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        raise NotImplementedError

    def predict(
        self,
        observation: NDArray[Any],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float64], Any]:
        _, single = as_batch(observation)
        m, skew = self.spread_skew(observation)
        action = self.mapping.to_action(m, skew)
        if self.action_dim > 2:  # the market order (and any later entry): none
            zeros = np.zeros((action.shape[0], self.action_dim - 2))
            action = np.concatenate([action, zeros], axis=1)
        return (action[0] if single else action), state
