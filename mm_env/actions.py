"""The map between actions in [-1, 1]^2 and (quoted spread multiple, skew), both ways."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mm_env.config import MarketConfig
from mm_env.core import _action_to_spread_skew


@dataclass(frozen=True)
class ActionMapping:
    """action[0] in [-1, 1] -> spread multiple m in [m_low, m_high] (affine);
    action[1] in [-1, 1] -> skew in [-max_skew, max_skew] (linear).

    Quotes: bid = mid - (m * s / 2)(1 + skew), ask = mid + (m * s / 2)(1 - skew), s the market
    spread. Out-of-range finite actions are clipped to [-1, 1] before mapping.

    Example: ``env.unwrapped.action_mapping.to_action(1.0, 0.3)`` is the action that quotes a
    spread of one market spread with skew 0.3.
    """

    m_low: float
    m_high: float
    max_skew: float

    @classmethod
    def from_config(cls, config: MarketConfig) -> ActionMapping:
        lo, hi = config.spread_multiple_range
        return cls(lo, hi, config.max_skew)

    def to_spread_skew(self, action: Any) -> tuple[Any, Any]:
        """(spread multiple, skew) of an action (or of a batch, last axis of size 2)."""
        a = np.asarray(action, dtype=np.float64)
        return _action_to_spread_skew(a[..., 0], a[..., 1], self.m_low, self.m_high, self.max_skew)

    def to_action(self, spread_multiple: Any, skew: Any, clip: bool = True) -> NDArray[np.float64]:
        """The action for a spread multiple and skew (arrays broadcast).

        With ``clip`` (the default) the action is clipped to [-1, 1], which is what the env
        would apply anyway; ``clip=False`` returns the exact preimage, possibly out of range.
        The result is float64 so that the env reproduces ``spread_multiple`` and ``skew`` to
        machine precision.
        """
        m = np.asarray(spread_multiple, dtype=np.float64)
        k = np.asarray(skew, dtype=np.float64)
        a0 = 2.0 * (m - self.m_low) / (self.m_high - self.m_low) - 1.0
        a1 = k / self.max_skew if self.max_skew > 0 else np.zeros_like(k)
        out = np.stack(np.broadcast_arrays(a0, a1), axis=-1)
        return np.clip(out, -1.0, 1.0) if clip else out

    def in_range(self, spread_multiple: Any, skew: Any) -> Any:
        """Whether (spread multiple, skew) can be expressed without clipping."""
        a = self.to_action(spread_multiple, skew, clip=False)
        return np.all(np.abs(a) <= 1.0 + 1e-12, axis=-1)
