"""MarketMaking-v1: the synthetic book on mm_env.execution's rules — fees and rebates,
keep-priority, the level-data queue models on a hand-built cancellation, latency in steps,
bad input; MarketMaking-v0 stays as recorded (tests/test_execution.py::test_v0_reproduces_golden).
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import mm_env
from mm_env.actions import ActionMapping
from mm_env.execution import EXEC_INFO_KEYS
from mm_env.scenarios.synthetic import BID_AHEAD
from tests.test_synthetic import ScriptedFlow

V1 = "mm_env/MarketMaking-v1"


def run(env_id: str, seed: int, n_steps: int, m: float = 1.0, skew: float = 0.0, **kw):
    """One episode at a fixed (spread multiple, skew); per-step infos and the rewards."""
    env = gym.make(env_id, n_steps=n_steps, **kw)
    env.reset(seed=seed)
    a = env.unwrapped.action_mapping.to_action(m, skew)
    infos, rewards = [], []
    for _ in range(n_steps):
        _, r, _, _, info = env.step(a)
        infos.append(info)
        rewards.append(r)
    return infos, rewards


def traded(infos) -> tuple[float, float]:
    """(traded value, traded units) of an episode."""
    value = sum(i["bid_fill"] * i["bid_quote"] + i["ask_fill"] * i["ask_quote"] for i in infos)
    units = sum(i["bid_fill"] + i["ask_fill"] for i in infos)
    return value, units


# ---- registration and info --------------------------------------------------------------------
def test_v1_is_registered_with_its_rules_and_the_execution_info_keys() -> None:
    env = gym.make(V1)
    c = env.unwrapped.config
    assert (c.queue_model, c.keep_priority, c.fill_through) == ("power:1", True, True)
    assert c.maker_fee_bps == c.taker_fee_bps == c.entry_latency == c.response_latency == 0.0
    v0 = gym.make("mm_env/MarketMaking-v0").unwrapped.config
    assert (v0.queue_model, v0.keep_priority, v0.fill_through) == ("risk_averse", False, False)
    _, info = env.reset(seed=0)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert set(EXEC_INFO_KEYS) <= set(info)
    venv = gym.make_vec(V1, num_envs=3, vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    _, _, _, _, infos = venv.step(np.zeros((3, 2), dtype=np.float32))
    assert set(EXEC_INFO_KEYS) <= set(infos) and infos["fees"].shape == (3,)


# ---- fees --------------------------------------------------------------------------------------
def test_fees_change_cash_by_exactly_the_formula_and_rebates_raise_pnl() -> None:
    # Fees do not change the book or the fills, so the same seed gives the same trades.
    n = 2000
    plain, _ = run(V1, 3, n)
    fee, fee_r = run(V1, 3, n, maker_fee_bps=0.5, maker_fee_per_unit=0.001)
    rebate, _ = run(V1, 3, n, maker_fee_bps=-0.2)
    value, units = traded(plain)
    assert units > 50
    assert traded(fee) == (value, units) and traded(rebate) == (value, units)
    want = 0.5e-4 * value + 0.001 * units
    assert fee[-1]["fees"] == pytest.approx(want, rel=1e-9)
    assert fee[-1]["cash"] == pytest.approx(plain[-1]["cash"] - want, rel=1e-12, abs=1e-9)
    assert fee[-1]["pnl"] == pytest.approx(plain[-1]["pnl"] - want, abs=1e-9)
    assert sum(fee_r) == pytest.approx(fee[-1]["pnl"], abs=1e-8)  # the reward includes fees
    # a rebate of 0.2 bps raises PnL by 0.2 bps of the traded value
    assert rebate[-1]["pnl"] - plain[-1]["pnl"] == pytest.approx(0.2e-4 * value, rel=1e-6)
    assert rebate[-1]["fees"] == pytest.approx(-0.2e-4 * value, rel=1e-9)
    assert plain[-1]["fees"] == 0.0


def test_liquidation_pays_the_taker_fee() -> None:
    kw = {"liquidate_at_end": True}
    _, r0 = run(V1, 1, 300, skew=0.5, **kw)
    infos, r1 = run(V1, 1, 300, skew=0.5, taker_fee_bps=1.0, taker_fee_per_unit=0.003, **kw)
    q, mid = abs(infos[-1]["inventory"]), infos[-1]["mid"]
    assert q > 0
    assert r0[-1] - r1[-1] == pytest.approx(q * (0.003 + mid * 1e-4), rel=1e-9)
    assert r0[:-1] == r1[:-1]


# ---- keep priority -----------------------------------------------------------------------------
def still_book(**overrides):
    """tests/test_synthetic.still_book with the execution fields: bid 100.00 x 4 over 8 and 8,
    ask 100.01 x 4 over 8 and 8; only scripted market orders and hand-written sizes move it."""
    still = {
        "n_steps": 10,
        "n_levels": 3,
        "size_vol": 0.0,
        "size_persistence": 1.0,
        "improve_prob": 0.0,
        "mo_rate": 0.5,
        "mo_imbalance_sensitivity": 0.0,
        "mo_size_mean": 1.0,
    }
    config = mm_env.make_config("market_making", **{**still, **overrides})
    sim = mm_env.make_simulator("market_making", config, 1)
    sim.reset(np.random.default_rng(0))
    mapping = ActionMapping.from_config(config)

    def step(buy: float = 0.0, sell: float = 0.0, m: float = 1.0) -> dict[str, float]:
        sim.step(mapping.to_action(m, 0.0)[None, :], ScriptedFlow(0.5, 1.0, buy, sell))
        info = sim.info(0)
        info.update(sim.exec_info(0))
        return info

    return sim, step


def test_the_remainder_of_a_partly_filled_order_keeps_its_place() -> None:
    # tests/test_synthetic.test_a_partly_filled_quote_rejoins_at_the_back under keep_priority:
    #   step 1: our bid of 2 joins behind the 4 at 100.00; 2 join behind us (6 displayed).
    #   step 2: a sell of 5: the 4 ahead, then 1 of ours; our 1 left is now first (0 ahead),
    #           the 2 behind us stay displayed.
    #   step 3: the top-up of 1 joins behind those 2. A sell of 1.5: our 1 (first), then 0.5
    #           of the 2: a fill of 1 (the v0 rule re-joins all 2 behind the 2: no fill).
    fills = {}
    for keep in (False, True):
        sim, step = still_book(order_size=2.0, keep_priority=keep)
        assert step()["bid_fill"] == 0.0
        sim.bid_sizes[0, 0] += 2.0
        assert step(sell=5.0)["bid_fill"] == pytest.approx(1.0)
        fills[keep] = step(sell=1.5)["bid_fill"]
    assert fills == {False: 0.0, True: pytest.approx(1.0)}


def test_keep_priority_fills_at_least_as_much_as_the_v0_rule() -> None:
    # Same seeds, the touch quote, only keep_priority differs (risk-averse queue): the order
    # that keeps its place fills more. Summed over 6 seeds of 2000 steps.
    base = {"queue_model": "risk_averse", "fill_through": False, "order_size": 3.0}
    vol = {}
    for keep in (False, True):
        vol[keep] = sum(
            traded(run(V1, s, 2000, keep_priority=keep, **base)[0])[1] for s in range(6)
        )
    assert vol[True] >= vol[False] > 0, vol


# ---- queue models on a hand-built cancellation ------------------------------------------------
def model_p(model: str, front: float, back: float) -> float:
    """p of mm_env.execution's table, written out again by hand."""
    name, _, n = model.partition(":")
    f, b = front, back
    if name == "power":
        return b ** float(n) / (b ** float(n) + f ** float(n))
    if name == "power2":
        return b ** float(n) / (b + f) ** float(n)
    if name == "power3":
        return 1 - (f / (f + b)) ** float(n)
    if name == "log":
        return math.log(1 + b) / (math.log(1 + b) + math.log(1 + f))
    assert name == "log2"
    return math.log(1 + b) / math.log(1 + b + f)


@pytest.mark.parametrize(
    "model", ["risk_averse", "power:1", "power:2", "power2:2", "power3:2", "log", "log2"]
)
def test_each_queue_model_moves_the_front_as_its_formula_says(model: str) -> None:
    # Our bid of 1 joins behind the 4 at 100.00 (front 4). 6 join behind us (10 displayed);
    # then 3 are cancelled (7 displayed), no execution: chg = 3, back = 6, and front becomes
    # 4 - (1 - p) 3 + min(6 - 3 p, 0) (mm_env.execution, "Queue models"), risk-averse
    # min(4, 7) = 4. Then 3 more are cancelled (4 displayed).
    sim, step = still_book(order_size=1.0, keep_priority=True, queue_model=model)
    step()
    assert sim.state[0, BID_AHEAD] == pytest.approx(4.0)
    sim.bid_sizes[0, 0] = 10.0
    step()
    assert sim.state[0, BID_AHEAD] == pytest.approx(4.0)  # growth: behind us
    sim.bid_sizes[0, 0] = 7.0
    step()
    if model == "risk_averse":
        want = 4.0
    else:
        p = model_p(model, 4.0, 6.0)
        want = min(4.0 - (1 - p) * 3.0 + min(6.0 - p * 3.0, 0.0), 7.0)
        assert want < 4.0
    assert sim.state[0, BID_AHEAD] == pytest.approx(want, rel=1e-12)
    front, back = want, 7.0 - want
    sim.bid_sizes[0, 0] = 4.0
    step()
    if model == "risk_averse":
        want = 4.0
    else:
        p = model_p(model, front, back)
        want = min(front - (1 - p) * 3.0 + min(back - p * 3.0, 0.0), 4.0)
        assert 0.0 < want < front
    assert sim.state[0, BID_AHEAD] == pytest.approx(want, rel=1e-12)
    # and the new front is what a sell must take before it reaches us
    info = step(sell=want + 0.25)
    assert info["bid_fill"] == pytest.approx(0.25)


# ---- latency (steps) ---------------------------------------------------------------------------
def test_entry_latency_keeps_the_previous_order_live() -> None:
    # Touch quotes at steps 0 and 1, then a wider bid (99.99) at step 2, when a sell of 5
    # arrives. Latency 1: the touch bid goes live at step 1 (behind the 4 at 100.00) and is
    # still live at step 2 (the wider request in flight): the 4 ahead, then 1 of ours. Latency
    # 0: at step 2 the bid is at 99.99 behind 8: no fill. A fractional 0.4 acts as 1 step.
    out = {}
    for lat in (0.0, 1.0, 0.4):
        sim, step = still_book(order_size=2.0, keep_priority=True, entry_latency=lat)
        infos = [step(), step(), step(sell=5.0, m=3.0)]
        out[lat] = infos
    assert [i["bid_fill"] for i in out[0.0]] == [0.0, 0.0, 0.0]
    for lat in (1.0, 0.4):
        i0, i1, i2 = out[lat]
        assert (i0["bid_live"], i0["bid_in_flight"]) == (0.0, 1.0)
        assert (i1["bid_live"], i1["bid_in_flight"]) == (1.0, 0.0)
        assert i2["bid_fill"] == pytest.approx(1.0) and i2["bid_in_flight"] == 1.0
        assert i2["bid_quote"] == pytest.approx(99.99)


def test_response_latency_delays_the_observed_inventory() -> None:
    # A fill of 1 at step 0 (behind 4, a sell of 5). Response latency R: the observation shows
    # it after step ceil(R) (info["inventory"] is the true inventory at once).
    for lat, seen_after in ((0.0, 0), (1.0, 1), (1.5, 2), (2.0, 2)):
        sim, step = still_book(order_size=2.0, keep_priority=True, response_latency=lat)
        norm = sim.config.inventory_norm
        known = []
        for k in range(4):
            info = step(sell=5.0 if k == 0 else 0.0)
            assert info["inventory"] == pytest.approx(1.0)
            known.append(info["known_inventory"])
            assert sim.obs[0, 1] == pytest.approx(info["known_inventory"] / norm)
        assert known == [0.0] * seen_after + [pytest.approx(1.0)] * (4 - seen_after), lat


def test_post_only_request_that_would_cross_on_arrival_is_rejected() -> None:
    # Spread of 3 ticks (bid 100.00, ask 100.03) and improvements every step (improve_prob 1):
    # our bid, skewed to the top, is made post-only at 100.02; during step 0 the ask improves to
    # 100.02. With latency 1 the bid arrives at step 1 at or above the best ask: rejected.
    for lat, rejected in ((0.0, 0.0), (1.0, 1.0)):
        sim, step = still_book(
            order_size=1.0,
            keep_priority=True,
            entry_latency=lat,
            initial_spread_ticks=3,
            improve_prob=1.0,
            max_skew=2.0,
        )
        mapping = ActionMapping.from_config(sim.config)
        a = mapping.to_action(1.0, -2.0)[None, :]
        sim.step(a, ScriptedFlow(0.5, 1.0))
        assert sim.info(0)["bid_quote"] == pytest.approx(100.02)
        sim.step(a, ScriptedFlow(0.5, 1.0))
        assert sim.exec_info(0)["n_rejected"] == rejected
        if rejected:
            assert sim.exec_info(0)["bid_live"] == 0.0


def test_random_latency_draws_come_from_np_random_after_the_books() -> None:
    kw = {"entry_latency": "lognormal:2,0.5", "response_latency": (0.0, 3.0)}
    a = run(V1, 4, 500, **kw)[0]
    b = run(V1, 4, 500, **kw)[0]
    assert [i["pnl"] for i in a] == [i["pnl"] for i in b]
    assert any(i["bid_in_flight"] > 0 for i in a)
    assert any(i["known_inventory"] != i["inventory"] for i in a)


# ---- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field,value",
    [
        ("queue_model", "fifo"),
        ("queue_model", "exact"),
        ("queue_model", "power:0"),
        ("maker_fee_bps", math.nan),
        ("taker_fee_per_unit", math.inf),
        ("maker_fee_per_unit", -math.inf),
        ("entry_latency", -1.0),
        ("response_latency", math.nan),
        ("entry_latency", "lognormal:0,1"),
        ("keep_priority", 1),
    ],
)
def test_bad_execution_config_through_make_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        gym.make(V1, **{field: value})
