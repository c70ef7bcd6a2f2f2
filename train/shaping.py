"""Training-only reward shaping for SB3 vector envs (evaluation always scores plain PnL).

``DampedPnL`` is the asymmetrically dampened PnL of Spooner, Fearnley, Savani & Koukorinis
(2018, "Market making via reinforcement learning", AAMAS, section 4.2): the step reward minus
``max(0, η · q_{t-1} · Δmid_t)``, so gains from holding inventory through a favourable mid move
are dampened by η while losses count in full; spread capture is untouched. It discourages
speculative inventory, the main source of reward noise in a mark-to-market objective.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnvWrapper

from mm_env.core import INVENTORY, MID


class DampedPnL(VecEnvWrapper):
    """Wraps an ``mm_env.sb3.MarketMakingVecEnv`` (directly or under VecMonitor)."""

    def __init__(self, venv: Any, damping: float = 1.0) -> None:
        if not np.isfinite(damping) or damping < 0:
            raise ValueError(f"damping must be a finite number >= 0 (got {damping!r})")
        super().__init__(venv)
        self.damping = float(damping)
        self._sim = venv.unwrapped.venv.simulator
        self._mid = np.zeros(venv.num_envs)
        self._inv = np.zeros(venv.num_envs)

    def reset(self) -> Any:
        obs = self.venv.reset()
        self._mid = self._sim.state[:, MID].copy()
        self._inv = self._sim.state[:, INVENTORY].copy()
        return obs

    def step_wait(self) -> Any:
        obs, rewards, dones, infos = self.venv.step_wait()
        mid = self._sim.state[:, MID].copy()
        inv = self._sim.state[:, INVENTORY].copy()
        end_mid, end_inv = mid.copy(), inv.copy()
        for i in np.flatnonzero(dones):  # the ended episode's last values, before the reset
            end_mid[i], end_inv[i] = infos[i]["mid"], infos[i]["inventory"]
        speculative = self._inv * (end_mid - self._mid)
        rewards = rewards - self.damping * np.maximum(speculative, 0.0).astype(rewards.dtype)
        self._mid, self._inv = mid, inv
        return obs, rewards, dones, infos
