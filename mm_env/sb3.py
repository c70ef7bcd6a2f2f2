"""stable-baselines3 adapter: the native vector env as an SB3 ``VecEnv``.

Imported only when used (it imports stable-baselines3). ::

    from mm_env.sb3 import make_sb3_vec_env
    venv = make_sb3_vec_env("mm_env/MarketMaking-v0", n_envs=64, seed=0, n_steps=2000)
    model = PPO("MlpPolicy", venv).learn(100_000)

SB3's contract, honoured: ``step`` returns (obs, rewards, dones, infos) with a list of one dict
per sub-env; an ended sub-env is reset in the same step, and its info carries
``"terminal_observation"`` and ``"TimeLimit.truncated"`` (True: episodes end only by
truncation) plus the final step's full info. Other steps' info dicts are empty (the
per-step values are in ``adapter.venv`` info arrays; building N dicts of 18 keys each step
would cost more than the step). ``seed(s)`` then ``reset()`` seeds the single generator with
``s`` (SB3 assigns s + i to sub-env i; here row i of every batched draw is sub-env i's).
``get_attr``/``set_attr``/``env_method`` reach the vector env, whose attributes are shared by
all sub-envs; ``get_attr("render_mode")`` is ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

import mm_env
from mm_env.vector import MarketMakingVectorEnv


class MarketMakingVecEnv(VecEnv):
    """SB3 ``VecEnv`` over a :class:`~mm_env.vector.MarketMakingVectorEnv` (same-step reset)."""

    def __init__(self, venv: MarketMakingVectorEnv) -> None:
        if not isinstance(venv, MarketMakingVectorEnv):
            raise ValueError(f"expected a MarketMakingVectorEnv, got {type(venv).__name__}")
        if venv.autoreset_mode != AutoresetMode.SAME_STEP:
            venv = MarketMakingVectorEnv(
                venv.num_envs,
                venv.scenario,
                venv.config,
                autoreset_mode=AutoresetMode.SAME_STEP,
                data=getattr(venv.simulator, "book", None),  # a replay's loaded book
            )
        self.venv = venv
        self._actions: np.ndarray | None = None
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)

    # ---- core API ----------------------------------------------------------------------------
    def reset(self) -> np.ndarray:
        seed = self._seeds[0]
        obs, _ = self.venv.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() without step_async()")
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        self._actions = None
        dones = terminated | truncated
        out: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            for i in np.flatnonzero(dones):
                final = infos["final_info"]
                info = {k: v[i].item() for k, v in final.items() if not k.startswith("_")}
                info["terminal_observation"] = infos["final_obs"][i]
                info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                out[i] = info
        return obs, rewards.astype(np.float32), dones, out

    def close(self) -> None:
        self.venv.close()

    # ---- attributes --------------------------------------------------------------------------
    def _indices(self, indices: VecEnvIndices) -> list[int]:
        return list(self._get_indices(indices))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        idx = self._indices(indices)
        if attr_name == "render_mode":
            return [None] * len(idx)
        if not hasattr(self.venv, attr_name):
            raise AttributeError(f"mm_env vector env has no attribute {attr_name!r}")
        value = getattr(self.venv, attr_name)
        return [value] * len(idx)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        if len(self._indices(indices)) != self.num_envs:
            raise ValueError(
                f"set_attr({attr_name!r}) must target every sub-env: their attributes are shared"
            )
        setattr(self.venv, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        idx = self._indices(indices)
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * len(idx)

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False] * len(self._indices(indices))

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs

    def _get_indices(self, indices: VecEnvIndices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return indices


def make_sb3_vec_env(
    env_id: str = "mm_env/MarketMaking-v0",
    n_envs: int = 8,
    seed: int | None = None,
    **overrides: Any,
) -> MarketMakingVecEnv:
    """An SB3 ``VecEnv`` of ``n_envs`` books of a registered id (on the rules the id registers,
    :data:`mm_env.ID_KWARGS`), config fields by keyword."""
    if env_id not in mm_env.ENV_IDS:
        raise ValueError(f"unknown env id {env_id!r}; known: {sorted(mm_env.ENV_IDS)}")
    fields = {**mm_env.ID_KWARGS.get(env_id, {}), **overrides}
    venv = MarketMakingVectorEnv(
        n_envs, mm_env.ENV_IDS[env_id], autoreset_mode=AutoresetMode.SAME_STEP, **fields
    )
    adapter = MarketMakingVecEnv(venv)
    if seed is not None:
        adapter.seed(seed)
    return adapter
