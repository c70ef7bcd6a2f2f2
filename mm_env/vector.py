"""``MarketMakingVectorEnv``: N books stepped in one batched computation.

The same :class:`~mm_env.core.Simulator` as the single env, with ``num_envs`` rows: no second
implementation of the dynamics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from mm_env.actions import ActionMapping
from mm_env.config import MarketConfig
from mm_env.core import ACTION_CLIPPED, INFO_KEYS, N_INFO, REWARD, gather_columns
from mm_env.env import (
    check_reset_options,
    data_overrides,
    make_config,
    make_simulator,
    observation_space,
    real_array,
)
from mm_env.execution import EXEC_INFO_KEYS, N_EXEC_INFO, X_FEES

#: the reset options the vector env knows (see the class docstring)
RESET_OPTIONS: tuple[str, ...] = ("reset_mask",)

#: the ``_key`` entries of the info dict (Gymnasium's per-key masks)
_MASK_KEYS = tuple("_" + k for k in (*INFO_KEYS, "action_clipped"))


class MarketMakingVectorEnv(VectorEnv):
    """``num_envs`` independent market-making books stepped together (Gymnasium 1.x ``VectorEnv``).

    ``gym.make_vec("mm_env/MarketMaking-v0", num_envs=N, vectorization_mode="vector_entry_point")``
    returns this class; any config field can be overridden by keyword as with ``gym.make``.

    Spaces: ``single_observation_space`` / ``single_action_space`` are the single env's;
    ``observation_space`` / ``action_space`` are their ``batch_space``.

    Seeding: the vector env has one generator, ``np_random``; ``reset(seed=s)`` seeds it with
    ``s``. Every random draw is batched over the sub-envs (row i of each draw belongs to
    sub-env i), in the single env's per-step order. So with ``num_envs=1`` and the same seed and
    actions the trajectory is identical to the single env's; with N sub-envs each sub-env is an
    independent episode with the single env's law (tested).

    Autoreset: ``autoreset_mode`` (``AutoresetMode.NEXT_STEP``, Gymnasium's default, or
    ``SAME_STEP``) is declared in ``metadata``. NEXT_STEP: the step after a sub-env's episode
    ends resets that sub-env, ignores its action and returns its first observation with reward
    0 and terminated = truncated = False. SAME_STEP: a sub-env that ends is reset in the same
    step; the returned observation is the new episode's first; ``info["final_obs"]`` (an object
    array) and ``info["final_info"]`` (a dict of arrays with ``"_key"`` masks, Gymnasium's
    layout), both masked by ``"_final_obs"``/``"_final_info"``, hold the
    ended episode's last observation and info.

    Reset options: ``reset(options={"reset_mask": mask})`` resets only the sub-envs where
    ``mask`` is true; ``mask`` must be a bool array or a sequence of bools (``numpy.bool_``
    included) of length ``num_envs`` (ints, strings and other types raise ``ValueError``:
    ``['False', 'False']`` is not a mask); an all-false mask resets nothing. ``reset_mask`` is
    the only option (``RESET_OPTIONS``); any other key raises ``ValueError`` naming it.

    First reset: the first ``reset`` must reset every sub-env (no ``reset_mask``, or an
    all-true one); a partial mask then raises ``ValueError`` naming the sub-envs never reset,
    since they have no book yet. Gymnasium's ``SyncVectorEnv`` also leaves such sub-envs
    unreset (and fails at the next step, in each of them); this env refuses at the reset.

    Info: the single env's keys, each an array over sub-envs, with Gymnasium's ``"_key"`` masks.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        scenario: str = "market_making",
        config: MarketConfig | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        data: Any = None,
        **overrides: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"the vector env does not render (render_mode={render_mode!r})")
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError as exc:
            raise ValueError(
                f"autoreset_mode must be NEXT_STEP or SAME_STEP, got {autoreset_mode!r}"
            ) from exc
        if mode == AutoresetMode.DISABLED:
            raise ValueError("autoreset_mode DISABLED is not supported; use NEXT_STEP or SAME_STEP")
        self.metadata = {"render_modes": [], "autoreset_mode": mode}
        self.autoreset_mode = mode
        self.scenario = scenario
        self.config = make_config(scenario, config, **data_overrides(scenario, data, overrides))
        self._sim = make_simulator(scenario, self.config, num_envs, data)
        self.config = self._sim.config  # a replay records its data's spread unit
        self.num_envs = self._sim.n_envs
        self.render_mode = None
        self.observation_names = self._sim.names
        self.action_mapping = ActionMapping.from_config(self.config)
        self.single_observation_space = observation_space(self.config)
        self.single_action_space = spaces.Box(-1.0, 1.0, (self.config.action_dim,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._started = False
        # the info columns of the state (mm_env.core's, then the execution keys where the
        # book has them), gathered by one copy per step; every key's mask when all rows count:
        # one read-only array, built once
        execution = hasattr(self._sim, "exec_info")
        exec_cols = list(range(X_FEES, X_FEES + N_EXEC_INFO)) if execution else []
        self._info_cols = np.array(list(range(N_INFO)) + exec_cols, dtype=np.intp)
        self._gather_cols = np.append(self._info_cols, ACTION_CLIPPED)
        self._info_keys = INFO_KEYS + (EXEC_INFO_KEYS if execution else ())
        self._mask_keys = _MASK_KEYS + (tuple("_" + k for k in EXEC_INFO_KEYS) if execution else ())
        every_row = np.ones(self.num_envs, dtype=bool)
        every_row.flags.writeable = False
        self._every_row_masks = dict.fromkeys(self._mask_keys, every_row)

    @property
    def simulator(self) -> Any:
        return self._sim

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        if seed is not None:
            if isinstance(seed, (list, tuple)):
                raise ValueError(
                    "seed must be one integer: the vector env has one generator whose batched "
                    "draws give row i to sub-env i"
                )
            self._np_random, self._np_random_seed = seeding.np_random(seed)
        opts = check_reset_options(options, RESET_OPTIONS)
        mask = self._reset_mask(opts["reset_mask"]) if "reset_mask" in opts else None
        self._sim.reset(self.np_random, mask)
        if mask is None:
            self._autoreset[:] = False
        else:
            self._autoreset[mask] = False
        self._started = True
        return self._sim.obs.copy(), self._infos()

    def _reset_mask(self, value: Any) -> NDArray[np.bool_]:
        """``options["reset_mask"]`` checked (see the class docstring)."""
        what = "reset option 'reset_mask'"
        try:
            mask = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what} must be a sequence of bools, got {value!r}") from exc
        if mask.dtype != np.bool_:
            raise ValueError(
                f"{what} must be booleans (a bool array or a sequence of bools), got dtype "
                f"{mask.dtype}: {value!r}"
            )
        if mask.shape != (self.num_envs,):
            raise ValueError(
                f"{what} must have shape ({self.num_envs},) for {self.num_envs} sub-envs, "
                f"got shape {mask.shape}"
            )
        if not self._started and not mask.all():
            never = np.flatnonzero(~mask).tolist()
            raise ValueError(
                f"{what}: sub-envs {never} have never been reset (they have no book yet); the "
                "first reset must reset every sub-env: call reset() without reset_mask"
            )
        return mask

    def step(
        self, actions: Any
    ) -> tuple[NDArray[Any], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        sim = self._sim
        a = real_array(actions, "actions")
        dim = sim.action_dim
        if a.shape != (self.num_envs, dim):
            raise ValueError(
                f"actions must have shape ({self.num_envs}, {dim}), got shape {np.shape(actions)}"
            )
        terminated = np.zeros(self.num_envs, dtype=bool)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            pending = self._autoreset
            if pending.any():
                sim.reset(self.np_random, pending)
                if not pending.all():  # draws are batched over all rows, reset ones included
                    sim.step(a, self.np_random, active=~pending)
                sim.state[pending, REWARD] = 0.0
            else:
                sim.step(a, self.np_random)
            truncated = sim.truncated.copy()
            self._autoreset = truncated.copy()
            return sim.obs.copy(), sim.state[:, REWARD].copy(), terminated, truncated, self._infos()
        # SAME_STEP
        sim.step(a, self.np_random)
        truncated = sim.truncated.copy()
        rewards = sim.state[:, REWARD].copy()
        if truncated.any():
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(truncated):
                final_obs[i] = sim.obs[i].copy()
            # Gymnasium's layout: the ended sub-envs' infos batched, masked by truncation
            final_info = self._infos(mask=truncated.copy())
            sim.reset(self.np_random, truncated)
            infos = self._infos()
            infos["final_obs"], infos["_final_obs"] = final_obs, truncated.copy()
            infos["final_info"], infos["_final_info"] = final_info, truncated.copy()
        else:
            infos = self._infos()
        return sim.obs.copy(), rewards, terminated, truncated, infos

    def _infos(self, mask: NDArray[np.bool_] | None = None) -> dict[str, Any]:
        sim = self._sim
        infos: dict[str, Any]
        if sim.multithreaded:
            # the info columns and ACTION_CLIPPED gathered on both threads into a fresh block,
            # a row per key, a contiguous view per key. Rows padded by 64 bytes: unpadded, the
            # keys' rows lie a multiple of 4 KiB apart at N = 512, 1024, ..., and the stores
            # alias (at N = 1024 the gather took 70 µs instead of 6)
            n = self.num_envs
            block = np.empty((len(self._gather_cols), n + 8))
            gather_columns(sim.state, self._gather_cols, block)
            infos = dict(zip(self._info_keys, block[:-1, :n]))  # iterating a block: its rows
            infos["action_clipped"] = block[-1, :n] > 0
        else:
            # one copy of the rows' info columns, then a (strided) view per key
            cols = sim.state[:, self._info_cols]
            infos = dict(zip(self._info_keys, cols.T))  # iterating cols.T: columns
            infos["action_clipped"] = sim.state[:, ACTION_CLIPPED] > 0
        if mask is None:
            infos.update(self._every_row_masks)
        else:
            mask.flags.writeable = False  # one mask serves every key: read-only, not aliased
            infos.update(dict.fromkeys(self._mask_keys, mask))
        return infos

    def close_extras(self, **kwargs: Any) -> None:
        pass
