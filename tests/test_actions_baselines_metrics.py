"""Action mapping round trips, the baselines' predict contract, and the metrics by hand."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mm_env
from baselines import Policy, RandomBaseline, SkewBaseline, SymmetricBaseline
from mm_env import ActionMapping
from mm_env.metrics import episode_metrics, max_drawdown, mean_and_se, sharpe_ratio, sortino_ratio
from tests.conftest import needs_sb3


@given(
    a0=st.floats(-1, 1),
    a1=st.floats(-1, 1),
    lo=st.floats(-5, 5),
    width=st.floats(0.01, 10),
    max_skew=st.floats(0.01, 3),
)
def test_action_mapping_round_trip(a0, a1, lo, width, max_skew) -> None:
    mapping = ActionMapping(lo, lo + width, max_skew)
    m, skew = mapping.to_spread_skew(np.array([a0, a1]))
    assert lo - 1e-9 <= m <= lo + width + 1e-9 and abs(skew) <= max_skew + 1e-12
    back = mapping.to_action(m, skew)
    np.testing.assert_allclose(back, [a0, a1], atol=1e-9)


def test_action_mapping_clips_and_named_example() -> None:
    env = gym.make("mm_env/Notebook-v0")
    mapping = env.unwrapped.action_mapping
    np.testing.assert_allclose(mapping.to_action(1.0, 0.0), [0.0, 0.0])  # action 0 = the touch
    m, skew = mapping.to_spread_skew([9.0, -9.0])
    assert (m, skew) == (5.0, -1.0)
    assert not mapping.in_range(6.0, 0.0)
    a = mapping.to_action(1.0, 0.3)
    env.reset(seed=0)
    _, _, _, _, info = env.step(a)
    assert info["spread_multiple"] == pytest.approx(1.0) and info["skew"] == pytest.approx(0.3)
    half = 0.5 * info["spread"]
    assert info["bid_quote"] == pytest.approx(info["mid"] - half * 1.3, abs=1e-12)
    assert info["ask_quote"] == pytest.approx(info["mid"] + half * 0.7, abs=1e-12)


def test_skew_baseline_is_the_notebook_rule_on_the_synthetic_book() -> None:
    env = gym.make(
        "mm_env/MarketMaking-v0",
        observation_dtype="float64",
        n_steps=300,
        spread_multiple_range=(0.0, 20.0),  # m < 0 (short, crossed quotes) is clipped to 0
        max_skew=20.0,
    )
    policy = SkewBaseline.for_env(env, kappa=0.6, phi=0.002)
    obs, info = env.reset(seed=2)
    tick = env.unwrapped.config.tick_size
    exact = 0
    for _ in range(300):
        inv, imb, s, mid = (
            info["inventory"],
            obs[0],
            obs[2] * env.unwrapped.config.spread_scale,
            None,
        )
        action, state = policy.predict(obs)
        assert state is None and action.dtype == np.float64
        obs, _, _, _, info = env.step(action)
        assert info["bid_quote"] < info["ask_quote"]
        if info["action_clipped"]:
            continue  # the rule's m < 0 crosses our quotes; the env clips it to m = 0
        exact += 1
        mid, s = info["mid"], info["spread"]
        rule_bid = mid - 0.5 * s * (1 + 0.6 * imb) - 0.002 * inv
        rule_ask = mid + 0.5 * s * (1 - 0.6 * imb) + 0.002 * inv
        # the env rounds away from the mid to the tick grid and keeps quotes post-only
        expect_bid = min(math.floor(rule_bid / tick + 1e-7), round(info["best_ask"] / tick) - 1)
        assert info["bid_quote"] / tick == pytest.approx(expect_bid)
        expect_ask = max(math.ceil(rule_ask / tick - 1e-7), round(info["best_bid"] / tick) + 1)
        if expect_ask > expect_bid:
            assert info["ask_quote"] / tick == pytest.approx(expect_ask)
    assert exact > 200


def test_baselines_follow_predict_protocol_batched_and_single() -> None:
    env = gym.make("mm_env/MarketMaking-v0")
    obs, _ = env.reset(seed=0)
    for policy in (
        SkewBaseline.for_env(env),
        SymmetricBaseline.for_env(env, 1.5),
        RandomBaseline.for_env(env, seed=1),
    ):
        assert isinstance(policy, Policy)
        a, _ = policy.predict(obs)
        assert a.shape == (2,) and np.all(np.abs(a) <= 1)
        b, _ = policy.predict(np.stack([obs, obs, obs]), None, np.ones(3, bool), True)
        assert b.shape == (3, 2)


def market_order_baselines(env) -> list:
    from baselines import GLFT, AlphaOptimal, AvellanedaStoikov, CarteaJaimungal

    policies = [
        SkewBaseline.for_env(env),
        SymmetricBaseline.for_env(env, 1.5),
        AvellanedaStoikov.for_env(env),
        GLFT.for_env(env),
        CarteaJaimungal.for_env(env),
    ]
    if env.unwrapped.config.midprice == "ou_alpha":
        policies.append(AlphaOptimal.for_env(env))
    return policies


@pytest.mark.parametrize("midprice", ["bm", "ou_alpha"])
def test_limit_order_baselines_send_no_market_order_on_a_market_order_env(midprice) -> None:
    """On a three-entry env (market_orders="linear_impact") every limit-order baseline returns
    its two-entry action with a third entry 0, single and batched, and runs a full episode
    that matches the plain env's draw for draw (a zero market order trades nothing)."""
    kw = {"midprice": midprice, "max_inventory": 5.0, "observation_dtype": "float64"}
    env = gym.make("mm_env/CarteaJaimungal-v0", **kw, market_orders="linear_impact")
    plain = gym.make("mm_env/CarteaJaimungal-v0", **kw)
    policies = market_order_baselines(env)
    plain_policies = market_order_baselines(plain)
    assert len(policies) == (6 if midprice == "ou_alpha" else 5)
    for policy, plain_policy in zip(policies, plain_policies):
        obs, _ = env.reset(seed=4)
        plain_obs, _ = plain.reset(seed=4)
        a, _ = policy.predict(obs)
        assert a.shape == (3,) and a[2] == 0.0
        np.testing.assert_array_equal(a[:2], plain_policy.predict(plain_obs)[0])
        batch, _ = policy.predict(np.stack([obs, obs]))
        assert batch.shape == (2, 3) and not batch[:, 2].any()
        done = False
        while not done:
            obs, reward, term, trunc, info = env.step(policy.predict(obs)[0])
            plain_obs, plain_reward, _, _, plain_info = plain.step(
                plain_policy.predict(plain_obs)[0]
            )
            assert reward == plain_reward and info["pnl"] == plain_info["pnl"]
            done = term or trunc
        assert info["step"] == env.unwrapped.config.n_steps and info["n_fills"] > 0


def test_random_baseline_draws_over_the_whole_action_box() -> None:
    env = gym.make("mm_env/AvellanedaStoikov-v0", market_orders="linear_impact")
    obs, _ = env.reset(seed=0)
    policy = RandomBaseline.for_env(env, seed=2)
    batch, _ = policy.predict(np.stack([obs] * 500))
    assert batch.shape == (500, 3) and np.abs(batch).max() <= 1.0
    assert batch[:, 2].min() < -0.9 and batch[:, 2].max() > 0.9  # market orders both ways
    env.step(policy.predict(obs)[0])
    assert RandomBaseline(seed=2).predict(obs)[0].shape == (2,)  # no config: two entries


def test_symmetric_baseline_rejects_out_of_range() -> None:
    env = gym.make("mm_env/MarketMaking-v0")
    with pytest.raises(ValueError, match="spread_multiple"):
        SymmetricBaseline.for_env(env, 9.0)
    with pytest.raises(ValueError, match="kappa"):
        SkewBaseline.for_env(env, kappa=math.nan)
    with pytest.raises(ValueError, match="not an mm_env"):
        SkewBaseline.for_env(gym.make("CartPole-v1"))


@needs_sb3
def test_evaluate_policy_accepts_skew_baseline() -> None:
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    env = Monitor(gym.make("mm_env/MarketMaking-v0", n_steps=100))
    rewards, lengths = evaluate_policy(
        SkewBaseline.for_env(env), env, n_eval_episodes=2, return_episode_rewards=True
    )
    assert lengths == [100, 100] and len(rewards) == 2


# ---- metrics on hand-computed series -----------------------------------------------------------
def test_sharpe_sortino_drawdown_by_hand() -> None:
    pnl = [1.0, 0.0, 2.0, 1.0]  # changes: 1, -1, 2, -1
    ret = np.array([1.0, -1.0, 2.0, -1.0])
    assert sharpe_ratio(pnl) == pytest.approx(0.25 / ret.std() * 2.0)
    assert sharpe_ratio(pnl, 100) == pytest.approx(0.25 / ret.std() * 10.0)
    assert sortino_ratio(pnl) == pytest.approx(0.25 / math.sqrt(2 / 4) * 2.0)
    assert max_drawdown(pnl) == pytest.approx(1.0)
    assert max_drawdown([-1.0, -3.0, 2.0]) == pytest.approx(3.0)  # from the flat start
    assert math.isnan(sharpe_ratio([0.0, 0.0]))
    with pytest.raises(ValueError):
        sharpe_ratio([])
    assert mean_and_se([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0 / math.sqrt(3)))


def test_episode_metrics_by_hand() -> None:
    infos = {
        "pnl": [0.1, 0.3],
        "inventory": [1.0, -1.0],
        "bid_fill": [1.0, 0.0],
        "ask_fill": [0.0, 2.0],
        "mid": [10.0, 10.0],
        "bid_quote": [9.9, 9.8],
        "ask_quote": [10.2, 10.05],
        "n_fills": [1, 2],
    }
    m = episode_metrics(infos)
    assert m.final_pnl == 0.3 and m.n_fills == 2 and m.volume == 3.0
    assert m.spread_capture_per_unit == pytest.approx((0.1 + 2 * 0.05) / 3)
    assert (m.min_inventory, m.max_inventory, m.mean_abs_inventory) == (-1.0, 1.0, 1.0)


def test_notebook_imbalance_is_identically_zero() -> None:
    env = gym.make("mm_env/Notebook-v0", n_steps=50)
    obs, _ = env.reset(seed=0)
    for _ in range(50):
        assert obs[0] == 0.0
        obs, *_ = env.step(np.zeros(2))
    assert mm_env.NotebookConfig().spread_scale == pytest.approx(
        2 * (0.04 + 0.02 * math.sqrt(2 / math.pi))
    )
