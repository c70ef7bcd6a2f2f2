"""The registered envs under RLlib (its new API stack: ``PPOConfig``, env runners, RLModules).

``ray[rllib]`` pins gymnasium exactly (2.60.0: ``gymnasium==1.2.2``), so it lives in its own extra
and venv (``pip install 'mm_env[rllib]'``, ``make test-rllib``), apart from the main install's
newer gymnasium. Two ways to give RLlib an env, both through Gymnasium's registry:

- :func:`register_envs` registers every id of ``mm_env.ENV_IDS`` with Ray Tune's registry under
  the same name, so ``PPOConfig().environment("mm_env/MarketMaking-v0", env_config={...})``
  works on every env runner (local or remote: the creator imports ``mm_env`` in the process
  that makes the env). RLlib builds its env with ``gym.make_vec``:
  ``gym_env_vectorize_mode="sync"`` (RLlib's default) steps ``num_envs_per_env_runner`` copies
  of ``gym.make(id)``; ``"vector_entry_point"`` makes the native vector env
  (``mm_env.MarketMakingVectorEnv``, one numba kernel for all sub-envs).
- Without registering: the module-prefixed id ``"mm_env:mm_env/MarketMaking-v0"``, which
  Gymnasium resolves by importing ``mm_env`` in whichever process makes the env.

:func:`ppo_config` puts either together with small, CPU-only defaults.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

import mm_env

#: RLlib's env-runner vectorisation modes that work here (``gymnasium.VectorizeMode`` values)
VECTOR_MODES = ("sync", "async", "vector_entry_point")


def env_creator(env_id: str) -> Any:
    """A Tune-registry creator for ``env_id``: ``config`` is the ``env_config`` (scenario
    overrides); RLlib adds ``num_envs`` when it asks for a vector env (vector_entry_point)."""

    def create(config: Any) -> Any:
        # this closure reaches a remote env runner by value: register the ids in that process
        import mm_env  # noqa: F401

        kwargs = dict(config or {})
        num_envs = kwargs.pop("num_envs", None)
        if num_envs is None:
            return gym.make(env_id, **kwargs)
        return gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
        )

    return create


def register_envs() -> list[str]:
    """Register every env id with Ray Tune's registry (what RLlib looks names up in)."""
    from ray.tune.registry import register_env

    for env_id in mm_env.ENV_IDS:
        register_env(env_id, env_creator(env_id))
    return list(mm_env.ENV_IDS)


def ppo_config(
    env_id: str = "mm_env/MarketMaking-v0",
    env_config: dict[str, Any] | None = None,
    vectorize_mode: str = "sync",
    num_envs_per_env_runner: int = 8,
    num_env_runners: int = 0,
    train_batch_size: int = 4000,
    minibatch_size: int = 512,
    num_epochs: int = 5,
    gamma: float = 0.99,
    lr: float = 3e-4,
    seed: int | None = 0,
) -> Any:
    """An RLlib ``PPOConfig`` for one of our ids (registered first). ``num_env_runners=0``
    samples in the driver; ``vectorize_mode="vector_entry_point"`` uses the native vector env."""
    from ray.rllib.algorithms.ppo import PPOConfig

    if vectorize_mode not in VECTOR_MODES:
        raise ValueError(f"vectorize_mode must be one of {VECTOR_MODES} (got {vectorize_mode!r})")
    if env_id not in mm_env.ENV_IDS:
        raise ValueError(f"unknown env id {env_id!r}; known: {sorted(mm_env.ENV_IDS)}")
    register_envs()
    config = (
        PPOConfig()
        .environment(env_id, env_config=dict(env_config or {}))
        .env_runners(
            num_env_runners=num_env_runners,
            num_envs_per_env_runner=num_envs_per_env_runner,
            gym_env_vectorize_mode=vectorize_mode,
        )
        .training(
            train_batch_size_per_learner=train_batch_size,
            minibatch_size=minibatch_size,
            num_epochs=num_epochs,
            gamma=gamma,
            lr=lr,
        )
        .learners(num_learners=0)
    )
    if seed is not None:
        config = config.debugging(seed=seed)
    return config
