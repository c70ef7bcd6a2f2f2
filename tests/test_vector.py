"""The native vector env, its equivalence with the single env, and the SB3 adapter."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import mm_env
from mm_env import MarketMakingVectorEnv
from tests.conftest import env_kwargs, needs_sb3

IDS = list(mm_env.ENV_IDS)


@pytest.mark.parametrize("env_id", IDS)
def test_make_vec_returns_native_vector_env_with_batched_spaces(env_id: str) -> None:
    venv = gym.make_vec(
        env_id,
        **env_kwargs(env_id),
        num_envs=5,
        vectorization_mode="vector_entry_point",
        n_steps=30,
    )
    assert isinstance(venv.unwrapped, MarketMakingVectorEnv)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, info = venv.reset(seed=0)
    assert obs.shape == (5, venv.single_observation_space.shape[0])
    assert venv.observation_space.contains(obs)
    assert venv.action_space.shape == (5, 2)
    single = gym.make(env_id, **env_kwargs(env_id))
    _, single_info = single.reset(seed=0)
    assert set(single_info) <= set(info) and info["mid"].shape == (5,)


@pytest.mark.parametrize("env_id", IDS)
def test_one_sub_env_reproduces_the_single_env(env_id: str) -> None:
    """Same seed, same actions, across an autoreset: identical trajectories."""
    n = 40
    single = gym.make(env_id, **env_kwargs(env_id), n_steps=n)
    venv = gym.make_vec(
        env_id, **env_kwargs(env_id), num_envs=1, vectorization_mode="vector_entry_point", n_steps=n
    )
    rng = np.random.default_rng(1)
    actions = rng.uniform(-1, 1, (2 * n + 1, 2))
    s_obs, _ = single.reset(seed=9)
    v_obs, _ = venv.reset(seed=9)
    np.testing.assert_array_equal(v_obs[0], s_obs)
    for t in range(2 * n + 1):
        if t == n:  # NEXT_STEP: this step resets the sub-env and ignores the action
            v_obs, v_r, _, v_tr, _ = venv.step(actions[t : t + 1])
            s_obs, _ = single.reset()
            np.testing.assert_array_equal(v_obs[0], s_obs)
            assert v_r[0] == 0.0 and not v_tr[0]
            continue
        s_obs, s_r, _, s_tr, s_info = single.step(actions[t])
        v_obs, v_r, _, v_tr, v_info = venv.step(actions[t : t + 1])
        np.testing.assert_array_equal(v_obs[0], s_obs)
        assert v_r[0] == s_r and v_tr[0] == s_tr
        for k in ("cash", "inventory", "pnl", "bid_quote", "ask_quote"):
            assert v_info[k][0] == s_info[k]


def test_sub_envs_have_the_single_env_law() -> None:
    """Episode PnL and fills of 64 sub-envs vs 64 single-env episodes (other seeds): the
    difference of means is within 4 standard errors."""
    n, steps = 64, 300
    action = np.array([-0.5, 0.0])
    venv = MarketMakingVectorEnv(n, n_steps=steps)
    venv.reset(seed=100)
    for _ in range(steps):
        _, _, _, _, info = venv.step(np.tile(action, (n, 1)))
    v_pnl, v_fills = info["pnl"], info["n_fills"]
    s_pnl, s_fills = [], []
    env = gym.make("mm_env/MarketMaking-v0", n_steps=steps)
    for seed in range(n):
        env.reset(seed=seed)
        for _ in range(steps):
            _, _, _, _, sinfo = env.step(action)
        s_pnl.append(sinfo["pnl"])
        s_fills.append(sinfo["n_fills"])
    for a, b in ((v_pnl, np.array(s_pnl)), (v_fills, np.array(s_fills))):
        se = math.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
        assert abs(a.mean() - b.mean()) < 4 * se, (a.mean(), b.mean(), se)
    assert len(np.unique(v_pnl)) == n  # sub-envs are not copies of each other


def test_same_step_autoreset_gives_final_obs_and_info() -> None:
    venv = MarketMakingVectorEnv(3, autoreset_mode=AutoresetMode.SAME_STEP, n_steps=4)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    venv.reset(seed=0)
    for _ in range(3):
        venv.step(np.zeros((3, 2)))
    obs, _, _, trunc, info = venv.step(np.zeros((3, 2)))
    assert trunc.all() and info["_final_obs"].all()
    final = info["final_info"]  # Gymnasium's layout: batched arrays with masks
    assert (final["step"] == 4.0).all() and final["_step"].all()
    assert set(final) >= {"pnl", "_pnl", "inventory", "action_clipped"}
    assert (info["step"] == 0).all()  # already reset
    obs2, _, _, trunc2, _ = venv.step(np.zeros((3, 2)))
    assert not trunc2.any()


def test_reset_mask_and_bad_inputs() -> None:
    venv = MarketMakingVectorEnv(4, n_steps=50)
    venv.reset(seed=0)
    for _ in range(5):
        venv.step(np.zeros((4, 2)))
    _, info = venv.reset(options={"reset_mask": np.array([True, False, True, False])})
    np.testing.assert_array_equal(info["step"], [0, 5, 0, 5])
    with pytest.raises(ValueError, match="reset_mask"):
        venv.reset(options={"reset_mask": np.ones(3, bool)})
    with pytest.raises(ValueError, match="unknown reset options"):
        venv.reset(options={"bogus": 1})
    bad = np.zeros((4, 2))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="finite; got nan at env 2, entry 1"):
        venv.step(bad)
    with pytest.raises(ValueError, match="shape"):
        venv.step(np.zeros((3, 2)))
    for wrong in (np.full((4, 2), "0.5"), np.zeros((4, 2), complex), np.ones((4, 2), bool)):
        with pytest.raises(ValueError, match="real numbers"):
            venv.step(wrong)
    _, _, _, _, info = venv.step(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="read-only"):  # one shared mask: no aliased writes
        info["_mid"][0] = False
    with pytest.raises(ValueError, match="autoreset_mode"):
        MarketMakingVectorEnv(2, autoreset_mode="sometimes")


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_sync_and_async_vector_envs_still_work(env_id: str) -> None:
    for mode in ("sync", "async"):
        venv = gym.make_vec(
            env_id, **env_kwargs(env_id), num_envs=2, vectorization_mode=mode, n_steps=10
        )
        venv.reset(seed=0)
        for _ in range(12):
            obs, r, te, tr, info = venv.step(venv.action_space.sample())
        assert obs.shape == (2, venv.single_observation_space.shape[0])
        venv.close()


# ---- stable-baselines3 -----------------------------------------------------------------------
@needs_sb3
def test_sb3_adapter_contract() -> None:
    from mm_env.sb3 import make_sb3_vec_env

    venv = make_sb3_vec_env("mm_env/MarketMaking-v0", n_envs=3, seed=5, n_steps=4)
    obs = venv.reset()
    assert obs.shape == (3, 3)
    assert venv.get_attr("render_mode") == [None] * 3 and venv.render_mode is None
    assert venv.get_attr("observation_names", indices=[0])[0][0] == "imbalance"
    for _ in range(4):
        obs, rewards, dones, infos = venv.step(np.zeros((3, 2)))
        assert isinstance(infos, list) and len(infos) == 3 and rewards.dtype == np.float32
    assert dones.all()
    for info in infos:
        assert info["TimeLimit.truncated"] is True
        assert info["terminal_observation"].shape == (3,)
        assert info["step"] == 4.0
    venv.set_attr("foo", 1)
    assert venv.get_attr("foo") == [1, 1, 1]
    with pytest.raises(ValueError, match="every sub-env"):
        venv.set_attr("foo", 2, indices=[0])
    assert venv.env_is_wrapped(gym.Wrapper) == [False] * 3
    # seeding reproduces
    a = make_sb3_vec_env(n_envs=2, seed=1, n_steps=10)
    b = make_sb3_vec_env(n_envs=2, seed=1, n_steps=10)
    np.testing.assert_array_equal(a.reset(), b.reset())
    np.testing.assert_array_equal(a.step(np.ones((2, 2)))[0], b.step(np.ones((2, 2)))[0])
    with pytest.raises(ValueError, match="unknown env id"):
        make_sb3_vec_env("CartPole-v1")


@needs_sb3
def test_ppo_trains_on_adapter_with_vecnormalize_and_vecmonitor_and_evaluates_baseline() -> None:
    from stable_baselines3 import PPO
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    from baselines import SkewBaseline
    from mm_env.sb3 import make_sb3_vec_env

    venv = VecNormalize(VecMonitor(make_sb3_vec_env(n_envs=8, seed=0, n_steps=100)))
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=128, n_epochs=2, seed=0, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model.learn(2048)
    assert model.num_timesteps >= 2048
    eval_env = VecMonitor(make_sb3_vec_env(n_envs=4, seed=1, n_steps=100))
    policy = SkewBaseline.for_env(eval_env.venv.venv)
    rewards, lengths = evaluate_policy(
        policy, eval_env, n_eval_episodes=8, return_episode_rewards=True
    )
    assert len(rewards) == 8 and set(lengths) == {100}


@pytest.mark.parametrize("scenario", ["market_making", "notebook", "avellaneda_stoikov", "replay"])
def test_multi_threaded_kernels_step_exactly_as_the_serial_ones(scenario, monkeypatch) -> None:
    """Batches of PARALLEL_MIN_ROWS rows or more take the prange build; it must give the
    serial build's states bit for bit (rows are independent)."""
    import importlib

    from mm_env.core import PARALLEL_MIN_ROWS
    from mm_env.warmup import tiny_book

    module = importlib.import_module(
        f"mm_env.scenarios.{'synthetic' if scenario == 'market_making' else scenario}"
    )
    data = tiny_book() if scenario == "replay" else None
    config = mm_env.make_config(scenario, n_steps=3)
    n = PARALLEL_MIN_ROWS
    states = []
    for threshold in (PARALLEL_MIN_ROWS, 10**9):  # parallel, then serial
        monkeypatch.setattr(module, "PARALLEL_MIN_ROWS", threshold)
        sim = mm_env.make_simulator(scenario, config, n, data)
        rng = np.random.default_rng(5)
        sim.reset(rng)
        actions = np.random.default_rng(6).uniform(-1, 1, (3, n, 2))
        for a in actions:
            sim.step(a, rng)
        states.append((sim.state.copy(), sim.obs.copy()))
    np.testing.assert_array_equal(states[0][0], states[1][0])
    np.testing.assert_array_equal(states[0][1], states[1][1])


# ---- the first reset and reset_mask (issue 10) -------------------------------------------------
def test_first_reset_must_reset_every_sub_env() -> None:
    venv = MarketMakingVectorEnv(3, n_steps=50)
    with pytest.raises(ValueError, match=r"'reset_mask'.*sub-envs \[1, 2\] have never been reset"):
        venv.reset(seed=0, options={"reset_mask": np.array([True, False, False])})
    with pytest.raises(RuntimeError, match="reset"):  # the refused reset started nothing
        venv.step(np.zeros((3, 2)))
    venv.reset(seed=0, options={"reset_mask": np.ones(3, bool)})  # all of them: fine
    for _ in range(5):
        _, _, _, _, info = venv.step(np.zeros((3, 2)))
    assert np.all(np.abs(info["mid"] - 100.0) < 1.0)  # every sub-env on a real book
    _, info = venv.reset(options={"reset_mask": np.array([False, True, False])})  # now fine
    np.testing.assert_array_equal(info["step"], [5, 0, 5])
    fresh = MarketMakingVectorEnv(2, n_steps=50)
    fresh.reset(seed=0)
    fresh.reset(options={"reset_mask": [True, False]})  # a list of bools is a mask too


@pytest.mark.parametrize(
    "bad",
    [
        ["False", "False"],
        np.array(["True", "False"]),
        [0, 1],
        np.array([1, 0]),
        [0.0, 1.0],
        "TF",
        [True, False, True],
        [[True, False]],
        {"a": True},
    ],
)
def test_reset_mask_must_be_booleans_of_length_num_envs(bad) -> None:
    venv = MarketMakingVectorEnv(2, n_steps=50)
    venv.reset(seed=0)
    for _ in range(3):
        venv.step(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="reset option 'reset_mask' must"):
        venv.reset(options={"reset_mask": bad})
    _, info = venv.reset(options={"reset_mask": [np.True_, False]})
    np.testing.assert_array_equal(info["step"], [0, 3])  # the refused resets reset nothing


def test_vector_reset_options_must_be_a_dict_of_known_keys() -> None:
    venv = MarketMakingVectorEnv(2, n_steps=50)
    known = r"unknown reset options \['bogus'\]; known: \['reset_mask'\]"
    with pytest.raises(ValueError, match=known):
        venv.reset(options={"bogus": 1, "reset_mask": np.ones(2, bool)})
    with pytest.raises(ValueError, match="must be a dict or None"):
        venv.reset(options=("reset_mask",))
