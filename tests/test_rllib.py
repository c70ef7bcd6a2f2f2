"""RLlib's PPO (new API stack) on the registered envs: a couple of training iterations on a tiny
batch, through ``gym.make`` copies (RLlib's default ``sync`` vectorisation, on a remote env
runner) and through the native vector env (``vector_entry_point``). Slow, and only where
``ray[rllib]`` is installed (``make test-rllib``: its own venv, since RLlib pins gymnasium)."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("ray.rllib", reason="RLlib is not installed (pip install 'mm_env[rllib]')")
pytest.importorskip("torch", reason="RLlib's PPO here runs on torch")

import mm_env
from train.rllib import ppo_config

BATCH = 200  # env-steps per iteration: 4 sub-envs x 50-step episodes


def _train_twice(config) -> tuple[list[dict], object]:
    algo = config.build_algo()
    try:
        results = [algo.train() for _ in range(2)]
        env = algo.env_runner.env if algo.env_runner is not None else None
        return results, env
    finally:
        algo.stop()


def _check(results: list[dict]) -> None:
    for i, result in enumerate(results, 1):
        runners = result["env_runners"]
        assert runners["num_env_steps_sampled_lifetime"] == i * BATCH
        assert runners["num_episodes_lifetime"] == i * BATCH // 50
        assert math.isfinite(runners["episode_return_mean"])
        assert math.isfinite(result["learners"]["default_policy"]["total_loss"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "runners"), [("vector_entry_point", 0), ("vector_entry_point", 1), ("sync", 1)]
)
def test_rllib_ppo_trains_on_the_registered_env(local_ray, mode: str, runners: int) -> None:
    config = ppo_config(
        "mm_env/MarketMaking-v0",
        {"n_steps": 50},
        vectorize_mode=mode,
        num_envs_per_env_runner=4,
        num_env_runners=runners,
        train_batch_size=BATCH,
        minibatch_size=100,
        num_epochs=1,
    )
    results, env = _train_twice(config)
    _check(results)
    if runners == 0:  # the driver's own env runner: the native vector env, not 4 copies
        assert isinstance(env.unwrapped, mm_env.MarketMakingVectorEnv)
        assert env.unwrapped.num_envs == 4


@pytest.mark.slow
def test_rllib_takes_the_module_prefixed_gym_id_without_registering(local_ray) -> None:
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (
        PPOConfig()
        .environment("mm_env:mm_env/AvellanedaStoikov-v0", env_config={"n_steps": 50})
        .env_runners(num_env_runners=1, num_envs_per_env_runner=4)
        .training(train_batch_size_per_learner=BATCH, minibatch_size=100, num_epochs=1)
    )
    results, _ = _train_twice(config)
    _check(results)
