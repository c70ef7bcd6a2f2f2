"""Fixed policies of the seed notebook's family: the κ/φ skew rule, a symmetric spread, random."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from baselines.base import SpreadSkewPolicy, as_batch, env_config
from mm_env.config import MarketConfig


class SkewBaseline(SpreadSkewPolicy):
    """The notebook's section-9 rule, ``bid = mid - (s/2)(1 + κI) - φ·inv`` and
    ``ask = mid + (s/2)(1 - κI) + φ·inv``, with s the current market spread, I the imbalance
    (observation entry 0) and inv the inventory.

    In the env's action terms this is the spread multiple ``m = 1 + 2φ·inv/s`` and the skew
    ``κ·I/m``. It is exact while those lie inside the env's action ranges; outside them the env
    clips, as it would for any policy (the env flags it in ``info["action_clipped"]``). Note the
    notebook's φ·inv term widens both quotes when long and narrows them when short: it is not an
    inventory skew. φ is in price units per unit of inventory.

    Made for an env in one line: ``SkewBaseline.for_env(env, kappa=0.6, phi=0.01)``.
    Actions are float64, so the rule is reproduced to machine precision; pass
    ``observation_dtype="float64"`` to the env for exactness (float32 observations round the
    spread and inventory the rule reads to about 1e-7 relative).
    """

    def __init__(self, config: MarketConfig, kappa: float = 0.6, phi: float = 0.01) -> None:
        for name, value in (("kappa", kappa), ("phi", phi)):
            if not np.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value!r}")
        super().__init__(config)
        self.kappa = float(kappa)
        self.phi = float(phi)
        self.inventory_norm = config.inventory_norm
        self.spread_scale = config.spread_scale

    @classmethod
    def for_env(cls, env: Any, kappa: float = 0.6, phi: float = 0.01) -> SkewBaseline:
        return cls(env_config(env), kappa, phi)

    def spread_skew(self, observation: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(spread multiple, skew) of the rule for a batch of observations."""
        obs, _ = as_batch(observation)
        imbalance = obs[:, 0]
        inventory = obs[:, 1] * self.inventory_norm
        spread = obs[:, 2] * self.spread_scale
        m = 1.0 + 2.0 * self.phi * inventory / spread
        safe_m = np.where(m == 0.0, 1.0, m)
        skew = np.where(m == 0.0, 0.0, self.kappa * imbalance / safe_m)
        return m, skew

    def __repr__(self) -> str:
        return f"SkewBaseline(kappa={self.kappa}, phi={self.phi})"


class SymmetricBaseline(SpreadSkewPolicy):
    """A fixed symmetric spread: ``spread_multiple`` market spreads, centred on the mid."""

    def __init__(self, config: MarketConfig, spread_multiple: float = 1.0) -> None:
        super().__init__(config)
        if not self.mapping.in_range(spread_multiple, 0.0):
            lo, hi = config.spread_multiple_range
            raise ValueError(
                f"spread_multiple {spread_multiple!r} is outside the env's range [{lo}, {hi}]"
            )
        self.spread_multiple = float(spread_multiple)

    @classmethod
    def for_env(cls, env: Any, spread_multiple: float = 1.0) -> SymmetricBaseline:
        return cls(env_config(env), spread_multiple)

    def spread_skew(self, observation: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The same (spread multiple, no skew) for every observation of the batch."""
        obs, _ = as_batch(observation)
        return np.full(obs.shape[0], self.spread_multiple), np.zeros(obs.shape[0])

    def __repr__(self) -> str:
        return f"SymmetricBaseline(spread_multiple={self.spread_multiple})"


class RandomBaseline:
    """Uniform random actions over the env's whole action box, [-1, 1]^action_dim, from its own
    seeded generator: [-1, 1]^2, or [-1, 1]^3 with market orders (a random market order too,
    unlike the limit-order policies, which send none). Without a config, two entries."""

    def __init__(self, config: MarketConfig | None = None, seed: int | None = 0) -> None:
        self.rng = np.random.default_rng(None if seed is None else int(seed))
        self.action_dim = 2 if config is None else int(config.action_dim)

    @classmethod
    def for_env(cls, env: Any, seed: int | None = 0) -> RandomBaseline:
        return cls(env_config(env), seed)

    def predict(
        self,
        observation: NDArray[Any],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float64], Any]:
        obs, single = as_batch(observation)
        action = self.rng.uniform(-1.0, 1.0, size=(obs.shape[0], self.action_dim))
        return (action[0] if single else action), state

    def __repr__(self) -> str:
        return "RandomBaseline()"
