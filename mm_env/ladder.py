"""A discrete action: a ladder of quote depths per side, as a Gymnasium action wrapper.

``QuoteLadder(env)`` replaces the env's continuous action (spread multiple, skew) by
``Discrete(n)``: action i quotes the i-th (bid depth, ask depth) pair, each depth a multiple of
the current market half-spread s/2 measured from the mid: 1 is the touch (our bid at the best
bid), 2 is one half-spread behind it, and so on. The default ladder is every pair of
``levels=(1, 2, 3)`` (nine actions); ``pairs=`` gives any list, e.g. :data:`SPOONER_PAIRS`,
the nine depth pairs of Spooner, Fearnley, Savani & Koukorinis (2018), "Market making via
reinforcement learning", AAMAS (their market order that clears the inventory has no
counterpart in these envs and is left out).

A pair (b, a) is the env's action for spread multiple m = (b + a)/2 and skew
(b − a)/(b + a) (the env quotes bid = mid − (m s/2)(1 + skew), ask = mid + (m s/2)(1 − skew));
every pair must lie inside the env's action ranges, checked when the wrapper is made, so the
env never clips a ladder action. Depths are in units of the spread the quotes meet, the same
unit as the continuous action, so the map is exact whatever the spread.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from mm_env.actions import ActionMapping

#: Spooner et al. (2018)'s nine (bid, ask) depth pairs in multiples of a reference half-spread
SPOONER_PAIRS: tuple[tuple[float, float], ...] = (
    (1, 1),
    (2, 2),
    (3, 3),
    (4, 4),
    (5, 5),
    (1, 3),
    (3, 1),
    (2, 5),
    (5, 2),
)


def ladder_pairs(levels: Any) -> tuple[tuple[float, float], ...]:
    """Every (bid, ask) pair of ``levels`` (bid-major order)."""
    return tuple((float(b), float(a)) for b in levels for a in levels)


class QuoteLadder(gym.ActionWrapper[Any, np.int64, NDArray[np.floating]]):
    """``Discrete(len(pairs))`` over (bid, ask) depths in market half-spreads (see the module).

    ``QuoteLadder(gym.make("mm_env/MarketMaking-v0"))``; ``wrapper.pairs[i]`` is action i.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        levels: Any = (1, 2, 3),
        pairs: Any = None,
    ) -> None:
        super().__init__(env)
        pairs = ladder_pairs(levels) if pairs is None else tuple(tuple(p) for p in pairs)
        if not pairs:
            raise ValueError("QuoteLadder needs at least one (bid, ask) depth pair")
        config = env.unwrapped.config  # type: ignore[attr-defined]
        mapping = ActionMapping.from_config(config)
        actions = []
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"QuoteLadder pair {pair!r} is not a (bid, ask) pair")
            b, a = (float(x) for x in pair)
            if not (math.isfinite(b) and math.isfinite(a)) or b + a <= 0:
                raise ValueError(
                    f"QuoteLadder pair {pair!r}: depths must be finite with a positive sum"
                )
            m, skew = 0.5 * (b + a), (b - a) / (b + a)
            if not mapping.in_range(m, skew):
                lo, hi = config.spread_multiple_range
                raise ValueError(
                    f"QuoteLadder pair {pair!r} is spread multiple {m:g}, skew {skew:g}: outside "
                    f"the env's action ranges (multiple in [{lo}, {hi}], |skew| <= "
                    f"{config.max_skew}); widen them in the config or drop the pair"
                )
            actions.append(mapping.to_action(m, skew))
        self.pairs: tuple[tuple[float, float], ...] = tuple((float(b), float(a)) for b, a in pairs)
        self._actions = np.array(actions, dtype=np.float64)
        self.action_space = gym.spaces.Discrete(len(self.pairs))  # type: ignore[assignment]

    def action(self, action: Any) -> NDArray[np.float64]:
        """The env's continuous action for ladder action ``action``."""
        i = np.asarray(action)
        if i.shape != () or not np.issubdtype(i.dtype, np.integer):
            shown = i.item() if i.shape == () else action  # 1.5, not np.float64(1.5)
            raise ValueError(f"QuoteLadder action must be one integer, got {shown!r}")
        if not 0 <= int(i) < len(self.pairs):
            raise ValueError(f"QuoteLadder action {int(i)} is outside [0, {len(self.pairs) - 1}]")
        return self._actions[int(i)].copy()


__all__ = ["SPOONER_PAIRS", "QuoteLadder", "ladder_pairs"]
