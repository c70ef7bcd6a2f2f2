"""Accounting invariants over random action sequences (hypothesis), on both scenarios."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mm_env
from tests.conftest import env_kwargs

IDS = list(mm_env.ENV_IDS)

actions_st = st.lists(
    st.tuples(
        st.one_of(st.floats(-3, 3), st.sampled_from([-1.0, 1.0, 0.0])),
        st.one_of(st.floats(-3, 3), st.sampled_from([-1.0, 1.0, 0.0])),
    ),
    min_size=1,
    max_size=60,
)


def run(env_id: str, seed: int, actions, **overrides):
    env = gym.make(env_id, **env_kwargs(env_id), n_steps=len(actions), **overrides)
    _, info = env.reset(seed=seed)
    steps = [info]
    rewards = []
    for a in actions:
        _, r, _, trunc, info = env.step(np.array(a))
        rewards.append(r)
        steps.append(info)
    assert trunc
    return env, np.array(rewards), steps


@pytest.mark.parametrize("env_id", IDS)
@settings(max_examples=40, deadline=None)
@given(actions=actions_st, seed=st.integers(0, 2**31 - 1))
def test_rewards_sum_to_final_pnl_and_cash_moves_only_by_fills(env_id, actions, seed) -> None:
    env, rewards, steps = run(
        env_id,
        seed,
        actions,
        max_inventory=3.0,
        inventory_scale=3.0,
        inventory_penalty=0.0,  # the reward is then exactly the PnL change
        terminal_inventory_penalty=0.0,
    )
    final = steps[-1]
    assert rewards.sum() == pytest.approx(final["pnl"], abs=1e-9 * max(1.0, abs(final["cash"])))
    for prev, cur in zip(steps[:-1], steps[1:]):
        # cash and inventory change only by this step's fills, at our quoted prices
        assert cur["inventory"] - prev["inventory"] == pytest.approx(
            cur["bid_fill"] - cur["ask_fill"], abs=1e-12
        )
        expected_cash = (
            prev["cash"] - cur["bid_fill"] * cur["bid_quote"] + cur["ask_fill"] * cur["ask_quote"]
        )
        assert cur["cash"] == pytest.approx(expected_cash, rel=0, abs=1e-9)
        assert cur["pnl"] == pytest.approx(cur["cash"] + cur["inventory"] * cur["mid"], abs=1e-9)
        assert cur["bid_fill"] >= 0 and cur["ask_fill"] >= 0
        # inventory never beyond its limit
        assert abs(cur["inventory"]) <= 3.0 + 1e-12


@pytest.mark.parametrize("env_id", IDS)
def test_inventory_limit_holds_under_one_sided_pressure(env_id: str) -> None:
    # a quote far inside on the bid and far out on the ask: the book sells to us all episode
    env = gym.make(
        env_id, **env_kwargs(env_id), max_inventory=2.5, inventory_scale=2.5, n_steps=500
    )
    env.reset(seed=0)
    mapping = env.unwrapped.action_mapping
    # m = 1, skew = -1: bid at the mid (inside the touch), ask a full spread above it
    action = mapping.to_action(1.0, -1.0)
    peak = 0.0
    for _ in range(500):
        _, _, _, _, info = env.step(action)
        peak = max(peak, info["inventory"])
        assert abs(info["inventory"]) <= 2.5 + 1e-12
    assert peak == pytest.approx(2.5)  # the limit is reached, so the check bites


@pytest.mark.parametrize("env_id", IDS)
def test_penalties(env_id: str) -> None:
    rng = np.random.default_rng(0)
    actions = [tuple(rng.uniform(-1, 1, 2)) for _ in range(400)]
    unpenalised = {"inventory_penalty": 0.0, "terminal_inventory_penalty": 0.0}
    _, plain, steps = run(env_id, 5, actions, max_inventory=5.0, inventory_scale=5.0, **unpenalised)
    _, pen, _ = run(
        env_id,
        5,
        actions,
        max_inventory=5.0,
        inventory_scale=5.0,
        inventory_penalty=0.01,
        terminal_inventory_penalty=0.5,
        liquidate_at_end=True,
    )
    inv = np.array([s["inventory"] for s in steps[1:]])
    expected = plain - 0.01 * inv**2
    q, spread = inv[-1], steps[-1]["spread"]
    expected[-1] -= 0.5 * q**2 + abs(q) * spread / 2
    np.testing.assert_allclose(pen, expected, atol=1e-12)
    assert np.any(inv != 0)
