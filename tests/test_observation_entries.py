"""The optional observation entries of our orders (``obs_own_orders``) and of the trade flow
(``obs_trade_flow``) on MarketMaking-v0/v1 and Replay-v0/v1: names, bad values, bounds, the
values against the simulator's state and a Python re-computation, the dynamics unchanged,
vector N=1 against the single env, and the checkers."""

from __future__ import annotations

import copy
import math
import warnings

import gymnasium as gym
import numpy as np
import pytest

import mm_env
from mm_env.execution import O_FRONT, O_PRICE, col
from tests.conftest import GOOG_DAY, data_dir, env_kwargs, needs_sb3

ORDERS = (
    "bid_queue_ahead",
    "bid_live",
    "bid_in_flight",
    "ask_queue_ahead",
    "ask_live",
    "ask_in_flight",
)
ON = {"obs_own_orders": True, "obs_trade_flow": 8.0}
#: latency so that requests are in flight: steps for MarketMaking, seconds for Replay
LATENCY = {"mm_env/MarketMaking-v0": 3.0, "mm_env/MarketMaking-v1": 3.0}
IDS = ["mm_env/MarketMaking-v0", "mm_env/MarketMaking-v1", "mm_env/Replay-v0", "mm_env/Replay-v1"]


def _kw(env_id: str, latency: bool = True) -> dict:
    kw = dict(env_kwargs(env_id))
    if latency:
        kw["entry_latency"] = LATENCY.get(env_id, 0.05)  # Replay: 50 ms on a 20 ms clock
    return kw


def _busy(env_id: str, latency: bool = True) -> dict:
    """``_kw``, but Replay on the GOOG day per event (the AAPL sample has too few trades for
    the trade flow to move): skipped without the data."""
    if not env_id.startswith("mm_env/Replay"):
        return _kw(env_id, latency)
    path = data_dir() / GOOG_DAY
    if not path.is_dir():
        pytest.skip(f"the GOOG day is not at {path} (set MM_ENV_DATA)")
    pytest.importorskip("pandas")
    return {"data": str(path), **({"entry_latency": 0.05} if latency else {})}


def _run(env, seed: int, n: int, action_seed: int = 0, near_touch: bool = False):
    """An episode of random actions (``near_touch``: spread multiples 0.9 to 1 of the market
    spread, skews within ±0.05, so that our quotes mostly join the queues at the touch)."""
    rng = np.random.default_rng(action_seed)
    lo, hi = ([-0.55, -0.05], [-0.5, 0.05]) if near_touch else ([-1.1, -1.1], [1.1, 1.1])
    obs, _ = env.reset(seed=seed)
    out, infos = [obs], []
    for _ in range(n):
        obs, r, term, trunc, info = env.step(rng.uniform(lo, hi).astype(np.float32))
        out.append(obs)
        infos.append({**info, "reward": r})
        if term or trunc:
            break
    return np.array(out), infos


@pytest.mark.parametrize("scenario", ["market_making", "replay"])
def test_names_and_defaults(scenario: str) -> None:
    """Off by default (the observation is the one of before); on, the entries come last, in
    the documented order, after the other optional entries."""
    assert mm_env.make_config(scenario).component_observation_names == ()
    from mm_env.core import observation_names

    c = mm_env.make_config(scenario, obs_time_left=True, obs_imbalance_levels=(2,), **ON)
    assert observation_names(c) == (
        "imbalance",
        "inventory",
        "spread",
        "imbalance_2",
        "time_left",
        *ORDERS,
        "trade_flow",
    )
    only_flow = mm_env.make_config(scenario, obs_trade_flow=1.0)
    assert only_flow.component_observation_names == ("trade_flow",)
    only_orders = mm_env.make_config(scenario, obs_own_orders=True)
    assert only_orders.component_observation_names == ORDERS


@pytest.mark.parametrize("scenario", ["market_making", "replay"])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("obs_own_orders", 1),
        ("obs_own_orders", "yes"),
        ("obs_own_orders", None),
        ("obs_trade_flow", -1.0),
        ("obs_trade_flow", math.nan),
        ("obs_trade_flow", math.inf),
        ("obs_trade_flow", True),
        ("obs_trade_flow", "5"),
    ],
)
def test_bad_values_name_the_field(scenario: str, field: str, value) -> None:
    with pytest.raises(ValueError, match=f"config field '{field}'"):
        mm_env.make_config(scenario, **{field: value})


def test_other_scenarios_have_no_such_fields() -> None:
    for scenario in ("avellaneda_stoikov", "cartea_jaimungal", "notebook"):
        with pytest.raises(ValueError, match="obs_own_orders"):
            mm_env.make_config(scenario, obs_own_orders=True)


@pytest.mark.parametrize("env_id", IDS)
def test_entries_are_finite_within_bounds_and_move(env_id: str) -> None:
    """Over an episode with latency: every observation inside the declared Box, each entry
    taking the values its meaning allows (so a wiring mistake, e.g. a column always 0, fails):
    queue fractions strictly inside (0, 1) at times, both live states, requests in flight,
    the trade flow of both signs; live and in flight equal to ``info``'s."""
    env = gym.make(env_id, n_steps=400, **_busy(env_id), **ON)
    names = env.unwrapped.observation_names
    space = env.observation_space
    assert names[-7:] == (*ORDERS, "trade_flow")
    lo, hi = space.low[-7:], space.high[-7:]
    np.testing.assert_array_equal(lo, [0, 0, 0, 0, 0, 0, -1])
    np.testing.assert_array_equal(hi, [1, 1, 4, 1, 1, 4, 1])
    obs, infos = _run(env, seed=5, n=400, near_touch=True)
    assert np.isfinite(obs).all()
    assert all(space.contains(o) for o in obs)
    j = {n: names.index(n) for n in (*ORDERS, "trade_flow")}
    for side in ("bid", "ask"):
        q = obs[:, j[f"{side}_queue_ahead"]]
        assert ((q > 0) & (q < 1)).any(), side
        assert set(np.unique(obs[:, j[f"{side}_live"]])) == {0.0, 1.0}
        assert obs[:, j[f"{side}_in_flight"]].max() >= 1
        live = [i[f"{side}_live"] for i in infos]
        flight = [i[f"{side}_in_flight"] for i in infos]
        np.testing.assert_array_equal(obs[1:, j[f"{side}_live"]], live)
        np.testing.assert_array_equal(obs[1:, j[f"{side}_in_flight"]], flight)
        # no order, no place in a queue
        assert (q[obs[:, j[f"{side}_live"]] == 0] == 0).all()
    flow = obs[:, j["trade_flow"]]
    assert flow[0] == 0.0 and (flow > 0.05).any() and (flow < -0.05).any()


@pytest.mark.parametrize("env_id", IDS)
def test_the_entries_change_neither_the_dynamics_nor_the_draws(env_id: str) -> None:
    """Same seed and actions with and without the entries: the same rewards and info, the same
    leading observation entries (so the defaults' trajectories cannot have moved either)."""
    kw = _kw(env_id)
    a_obs, a_inf = _run(gym.make(env_id, n_steps=300, **kw), seed=2, n=300)
    b_obs, b_inf = _run(gym.make(env_id, n_steps=300, **kw, **ON), seed=2, n=300)
    np.testing.assert_array_equal(a_obs, b_obs[:, : a_obs.shape[1]])
    assert a_inf == b_inf


@pytest.mark.parametrize("env_id", ["mm_env/MarketMaking-v0", "mm_env/MarketMaking-v1"])
def test_synthetic_values_against_the_state_and_the_market_order_draws(env_id: str) -> None:
    """MarketMaking: the queue fraction is the front of our order (the execution state) over
    the size the shown book displays at its price; the trade flow is the moving average of the
    step's market orders re-drawn in Python from a copy of the generator (the random contract:
    uniforms 0 and 1 of ``rng.random((1, 6))``, the arrival probabilities rate·(1 ± s·I) at the
    step's imbalance, exponential sizes by inversion)."""
    h = 5.0
    on = {**ON, "obs_trade_flow": h}
    env = gym.make(env_id, n_steps=500, observation_dtype="float64", **on)
    env = env.unwrapped
    cfg = env.config
    names = env.observation_names
    alpha = 1.0 - 2.0 ** (-1.0 / h)
    obs, _ = env.reset(seed=11)
    rng = np.random.default_rng(1)
    ema = np.zeros(2)
    checked = 0
    for _ in range(500):
        draws = copy.deepcopy(env.np_random).random((1, 6))[0]
        obs, _, _, _, info = env.step(rng.uniform(-1, 1, 2))
        imb = info["imbalance"]
        vol = np.zeros(2)
        p_buy = cfg.mo_rate * (1 + cfg.mo_imbalance_sensitivity * imb)
        p_sell = cfg.mo_rate * (1 - cfg.mo_imbalance_sensitivity * imb)
        for k, (u, p) in enumerate(((draws[0], p_buy), (draws[1], p_sell))):
            if u < p:
                vol[k] = -cfg.mo_size_mean * math.log(1 - u / p)
        ema += alpha * (vol - ema)
        expect = (ema[0] - ema[1]) / ema.sum() if ema.sum() > 1e-12 else 0.0
        assert obs[names.index("trade_flow")] == pytest.approx(expect, abs=1e-12)
        state = env._sim.state[0]
        book = env._sim.book_snapshot()
        for s, side in enumerate(("bid", "ask")):
            price = state[col(s, O_PRICE)]
            got = obs[names.index(f"{side}_queue_ahead")]
            if math.isnan(price):
                assert got == 0.0
                continue
            prices = np.round(book[f"{side}_prices"] / cfg.tick_size)
            at = np.flatnonzero(prices == price)
            shown = book[f"{side}_sizes"][at[0]] if at.size else 0.0
            front = state[col(s, O_FRONT)]
            if at.size == 0 and (price - prices[0]) * (1 if s else -1) > 0:  # beyond the book
                assert got == 1.0
            else:
                assert got == pytest.approx(min(front / shown, 1.0) if shown > 0 else 0.0)
                checked += shown > 0 and 0 < front < shown
    assert checked > 20  # the fraction was checked strictly inside (0, 1) many times


@pytest.mark.parametrize("env_id", ["mm_env/Replay-v0", "mm_env/Replay-v1"])
def test_replay_trade_flow_against_the_recorded_executions(env_id: str) -> None:
    """Replay: the trade flow is the moving average of the recorded executions (by aggressor
    side) between the book observed before the step and the one observed after it."""
    from mm_env.scenarios.replay import GRID, ReplayArrays

    h = 3.0
    kw = _busy(env_id, latency=False)
    env = gym.make(env_id, n_steps=300, observation_dtype="float64", obs_trade_flow=h, **kw)
    env = env.unwrapped
    d = ReplayArrays(*env._sim.data)
    alpha = 1.0 - 2.0 ** (-1.0 / h)
    env.reset(seed=4)
    ema = np.zeros(2)
    moved = 0
    for _ in range(300):
        g = int(env._sim.state[0, GRID])
        obs, *_ = env.step(np.zeros(2))
        rows = range(d.grid[g, 1] + 1, d.grid[g + 1, 1] + 1)
        vol = np.zeros(2)
        for k in rows:
            for j in range(d.trade_ptr[k], d.trade_ptr[k + 1]):
                vol[0 if d.trades[j, 2] > 0 else 1] += d.trades[j, 1]
        moved += vol.sum() > 0
        ema += alpha * (vol - ema)
        expect = (ema[0] - ema[1]) / ema.sum() if ema.sum() > 1e-12 else 0.0
        assert obs[-1] == pytest.approx(expect, abs=1e-12)
    assert moved > 10


@pytest.mark.parametrize("env_id", IDS)
def test_vector_of_one_is_the_single_env(env_id: str) -> None:
    kw = _kw(env_id)
    data = kw.pop("data", None)
    single = gym.make(env_id, n_steps=200, data=data, **kw, **ON) if data else None
    single = single or gym.make(env_id, n_steps=200, **kw, **ON)
    cfg = single.unwrapped.config
    vec = mm_env.MarketMakingVectorEnv(1, mm_env.ENV_IDS[env_id], cfg, data=data)
    rng = np.random.default_rng(3)
    o1, _ = single.reset(seed=9)
    ov, _ = vec.reset(seed=9)
    np.testing.assert_array_equal(o1, ov[0])
    for _ in range(150):
        a = rng.uniform(-1, 1, 2).astype(np.float32)
        o1, r1, *_ = single.step(a)
        ov, rv, *_ = vec.step(a[None, :])
        np.testing.assert_array_equal(o1, ov[0])
        assert r1 == rv[0]


@pytest.mark.parametrize("env_id", ["mm_env/MarketMaking-v1", "mm_env/Replay-v1"])
def test_gymnasium_check_env(env_id: str) -> None:
    from gymnasium.utils.env_checker import check_env

    env = gym.make(env_id, n_steps=50, **_kw(env_id), **ON)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)


@needs_sb3
@pytest.mark.parametrize("env_id", ["mm_env/MarketMaking-v1", "mm_env/Replay-v1"])
def test_sb3_check_env(env_id: str) -> None:
    from stable_baselines3.common.env_checker import check_env

    env = gym.make(env_id, n_steps=50, **_kw(env_id), **ON)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, warn=True)
