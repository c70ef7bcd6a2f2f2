"""mm_env.execution: queue models, keep-priority, fills through our price, fees, latency,
post-only rejection, the exact queue from LOBSTER order ids, bad input, and v0 reproduced."""

from __future__ import annotations

import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="the loaders need pip install 'mm_env[data]'")

import mm_env
from mm_env.data import OrderBook, load_book
from mm_env.execution import (
    QM_LOG,
    QM_POWER,
    QM_POWER2,
    QM_POWER3,
    QM_RISK_AVERSE,
    LatencySampler,
    draw_latency,
    latency_quantiles,
    parse_queue_model,
    prob_depth,
    queue_prob,
)
from mm_env.scenarios.replay import BID_AHEAD, BID_BEHIND, OUR_BID_TICKS
from tests.conftest import AAPL_SAMPLE, GOOG_DAY
from tests.test_replay import (
    AAPL_585_48_LINES,
    bid_at,
    episode_from,
    n_steps_of,
    toy_book,
)

V1 = "mm_env/Replay-v1"


@pytest.fixture
def aapl(lobster_dir: Path) -> Path:
    return lobster_dir.parent / AAPL_SAMPLE


@pytest.fixture
def goog(lobster_dir: Path) -> Path:
    return lobster_dir.parent / GOOG_DAY


def run_fixed_id(env_id: str, book: OrderBook, m: float, skew: float, **overrides):
    n = n_steps_of(book)
    env = gym.make(env_id, data=book, n_levels=3, n_steps=n, **overrides)
    env.reset(seed=0)
    action = env.unwrapped.action_mapping.to_action(m, skew)
    out = []
    for _ in range(n):
        _, r, _, _, info = env.step(action)
        info["reward"] = r
        out.append(info)
    return out


# ---- v0 reproduced ----------------------------------------------------------------------------
def test_v0_reproduces_golden(lobster_dir: Path) -> None:
    """The v0 ids give the trajectories recorded before the execution module.

    Fill counts must match exactly and PnL to 1e-9 relative under any supported numpy/numba
    (another release may round a libm call differently in the last bit, as numpy 1.26 with
    numba 0.59 did: MarketMaking-v0 PnL moved by ~1e-14); the bit-exact digests are compared
    only under the releases they were recorded with (``RECORDED_WITH``).
    """
    import numba

    from tests.v0_golden import GOLDEN, RECORDED_WITH, run_all

    want = json.loads(GOLDEN.read_text())
    got = run_all()
    assert got.keys() == want.keys()
    for name, w in want.items():
        g = got[name]
        assert g["n_fills"] == w["n_fills"], name
        for key in ("final_pnl", "sum_reward"):
            assert g[key] == pytest.approx(w[key], rel=1e-9, abs=1e-9), (name, key)
    if (np.__version__, numba.__version__) == RECORDED_WITH:
        assert {k: v["digest"] for k, v in got.items()} == {k: v["digest"] for k, v in want.items()}


# ---- queue models, worked by hand --------------------------------------------------------------
def test_queue_model_formulas_by_hand() -> None:
    # front 4, level 10 -> 6 with no trades: chg = 4 cancelled, back = 6
    assert prob_depth(QM_RISK_AVERSE, 0.0, 4.0, 10.0, 6.0, 0.0) == 4.0  # min(4, 6)
    p = 36 / (36 + 16)  # power:2, back^2 / (back^2 + front^2)
    assert queue_prob(QM_POWER, 2.0, 4.0, 6.0) == pytest.approx(p)
    assert prob_depth(QM_POWER, 2.0, 4.0, 10.0, 6.0, 0.0) == pytest.approx(4 - (1 - p) * 4)
    assert queue_prob(QM_POWER2, 2.0, 4.0, 6.0) == pytest.approx(36 / 100)
    assert queue_prob(QM_POWER3, 2.0, 4.0, 6.0) == pytest.approx(1 - 0.16)
    pl = math.log(7) / (math.log(7) + math.log(5))
    assert prob_depth(QM_LOG, 0.0, 4.0, 10.0, 6.0, 0.0) == pytest.approx(4 - (1 - pl) * 4)
    # trades already taken off the front are not counted again as a depth decrease
    assert prob_depth(QM_POWER, 2.0, 4.0, 10.0, 6.0, 4.0) == 4.0
    # a growing level: only the cap
    assert prob_depth(QM_POWER, 2.0, 4.0, 6.0, 10.0, 0.0) == 4.0
    # front 9, back 1, 8 cancelled: p = 0.1, 9 - 0.9 * 8 + min(1 - 0.8, 0) = 1.8 <= 2 shown
    assert prob_depth(QM_POWER, 1.0, 9.0, 10.0, 2.0, 0.0) == pytest.approx(1.8)
    # front 2, back 8, 9 cancelled: p = 0.8, 2 - 0.2 * 9 + min(8 - 7.2, 0) = 0.2
    assert prob_depth(QM_POWER, 1.0, 2.0, 10.0, 1.0, 0.0) == pytest.approx(0.2)
    # front 2, back 8, 9 cancelled under log2-like odds that put most ahead: the estimate
    # 2 - (1 - p) 9 + min(8 - 9p, 0) is negative for p < 7/9; the queue ahead is clamped at 0
    p_low = queue_prob(QM_POWER2, 2.0, 2.0, 8.0)  # 64 / 100
    assert 2 - (1 - p_low) * 9 + min(8 - p_low * 9, 0) < 0
    assert prob_depth(QM_POWER2, 2.0, 2.0, 10.0, 1.0, 0.0) == 0.0
    assert parse_queue_model("q", "power:3") == (QM_POWER, 3.0)


def test_an_execution_never_fills_more_than_its_size() -> None:
    # Join 100.00 behind 2; 8 join behind us; 9 of the 10 are cancelled (front clamped at 0,
    # hftbacktest's estimate is 2 - 0.36 * 9 = -1.24), then a seller takes 1: our order of 5
    # fills 1, not 1 + 1.24.
    trades = {"time": [3], "price": [100.0], "size": [1.0], "side": [-1]}
    book = toy_book([2, 10, 1, 1, 1], trades)
    out = run_fixed_id(V1, book, 1.0, 0.0, order_size=5.0, queue_model="power2:2")
    assert sum(i["bid_fill"] for i in out) == pytest.approx(1.0)


def test_queue_models_on_a_toy_book() -> None:
    # Join 100.00 behind 5; it falls to 2 with no trade (3 cancelled), then a seller takes 3.
    # risk-averse: front min(5, 2) = 2, so 1 of the 3 fills us. power:1 (p = back / (back +
    # front) = 0 with nothing behind): all 3 cancelled ahead of us, front = min(5 - 3, 2) = 2:
    # the same here. Behind us first: the level grows to 9 (4 behind), then falls to 6 with no
    # trade: risk-averse front stays 5; power:1 p = 4/9, front = 5 - (5/9) 3 = 3.33; then a
    # seller takes 4: risk-averse 0 fill, power:1 0.67.
    trades = {"time": [3], "price": [100.0], "size": [4.0], "side": [-1]}
    book = toy_book([5, 9, 6, 6], trades)
    ra = run_fixed_id(V1, book, 1.0, 0.0, order_size=5.0, queue_model="risk_averse")
    pw = run_fixed_id(V1, book, 1.0, 0.0, order_size=5.0, queue_model="power:1")
    assert [i["bid_fill"] for i in ra] == [0.0, 0.0, 0.0]
    assert [i["bid_fill"] for i in pw] == pytest.approx([0.0, 0.0, 4 - (5 - 5 / 9 * 3)])


def test_partly_filled_order_keeps_its_place_in_v1() -> None:
    # test_replay.test_a_quote_filled_even_partly_rejoins_at_the_back, under keep_priority:
    #   step 1: behind 5, a seller takes 7: 2 of ours; our 3 left are first (0 ahead).
    #   step 2: the top-up of 2 joins behind the 4 displayed; a seller takes 4: our 3, then 1
    #           of the 4 between (the truth the v0 comment worked out: 3).
    #   step 3: our 2 (the top-up, now part 1) have 3 ahead; a top-up of 3 joins behind; a
    #           seller takes 2: nothing for us.
    trades = {"time": [1, 2, 3], "price": [100.0] * 3, "size": [7, 4, 2], "side": [-1, -1, -1]}
    infos = run_fixed_id(V1, toy_book([5, 4, 3, 3], trades), 1.0, 0.0, order_size=5.0)
    assert [i["bid_fill"] for i in infos] == [2.0, 3.0, 0.0]
    v0 = run_fixed_id("mm_env/Replay-v0", toy_book([5, 4, 3, 3], trades), 1.0, 0.0, order_size=5.0)
    assert [i["bid_fill"] for i in v0] == [2.0, 0.0, 2.0]


def test_trade_through_and_crossing_fill_the_whole_order() -> None:
    # A seller executes 1 at 99.99, below our bid at 100.00: price priority met us first. v0
    # fills the 1 printed; v1 (fill_through) the whole remaining 5.
    trades = {"time": [1], "price": [99.99], "size": [1.0], "side": [-1]}
    book = toy_book([5, 5], trades)
    assert run_fixed_id("mm_env/Replay-v0", book, 1.0, 0.0, order_size=5.0)[0]["bid_fill"] == 1
    assert run_fixed_id(V1, book, 1.0, 0.0, order_size=5.0)[0]["bid_fill"] == 5.0
    # the ask side crosses down to our bid (row 1: bid 99.99, ask 100.00): filled whole at 100.00
    n = 2
    bp = np.array([[100.00, 99.99, 99.98], [99.99, 99.98, 99.97]])
    ap = np.array([[100.02, 100.03, 100.04], [100.00, 100.01, 100.02]])
    sz = np.full((n, 3), 5.0)
    crossed = OrderBook.from_arrays(np.arange(n, dtype=float), bp, sz, ap, sz, trades=None)
    info = (
        run_fixed_id(V1, crossed, 1.0, 0.0, order_size=5.0, infer_trades=False)[0]
        if False
        else None
    )
    info = run_fixed_id(V1, crossed, 1.0, 0.0, order_size=5.0)[0]
    assert info["bid_fill"] == 5.0 and info["cash"] == pytest.approx(-500.0)


# ---- fees --------------------------------------------------------------------------------------
def test_fees_rebate_sum_of_rewards_and_taker_on_liquidation(aapl: Path) -> None:
    book = load_book(aapl)
    kw = {"step_seconds": 0.02, "n_steps": 1500, "order_size": 100.0}
    plain = gym.make(V1, data=book, **kw)
    rebate = gym.make(V1, data=book, maker_fee_bps=-0.2, maker_fee_per_unit=0.0001, **kw)
    out = {}
    for name, env in (("plain", plain), ("rebate", rebate)):
        env.reset(seed=0)
        a = env.unwrapped.action_mapping.to_action(1.0, 0.0)
        total, value, units = 0.0, 0.0, 0.0
        for _ in range(kw["n_steps"]):
            _, r, _, _, info = env.step(a)
            total += r
            value += info["bid_fill"] * info["bid_quote"] + info["ask_fill"] * info["ask_quote"]
            units += info["bid_fill"] + info["ask_fill"]
        out[name] = (total, info, value, units)
    total, info, value, units = out["rebate"]
    assert units > 0
    fees = -0.2e-4 * value + 0.0001 * units
    assert info["fees"] == pytest.approx(fees, rel=1e-9)
    assert total == pytest.approx(info["pnl"], abs=1e-8)  # sum of rewards = PnL incl. fees
    assert info["pnl"] == pytest.approx(out["plain"][1]["pnl"] - fees, abs=1e-8)
    assert out["plain"][1]["fees"] == 0.0
    # liquidation pays the taker fee on |q| mid
    liq = {"liquidate_at_end": True, **kw}
    a0 = gym.make(V1, data=book, **liq)
    a1 = gym.make(V1, data=book, taker_fee_per_unit=0.003, taker_fee_bps=1.0, **liq)
    last = []
    for env in (a0, a1):
        env.reset(seed=0)
        act = env.unwrapped.action_mapping.to_action(1.0, 0.5)
        for _ in range(kw["n_steps"]):
            _, r, _, _, info = env.step(act)
        last.append((r, info))
    q, mid = abs(last[0][1]["inventory"]), last[0][1]["mid"]
    assert q > 0
    assert last[0][0] - last[1][0] == pytest.approx(q * (0.003 + mid * 1e-4), rel=1e-9)


# ---- latency -----------------------------------------------------------------------------------
def test_entry_latency_keeps_the_previous_order_live() -> None:
    # Rows at t = 0, 1, 2, 3 s. We bid 100.00 from step 0; entry latency 1.5 s: the order
    # reaches the market after the event at t = 1 and before t = 2. A seller takes 7 at t = 1
    # (nothing of ours is live: no fill, our request in flight) and 7 at t = 2 (we are live
    # behind the 5 displayed at t = 1: 2 fill).
    trades = {"time": [1, 2], "price": [100.0, 100.0], "size": [7.0, 7.0], "side": [-1, -1]}
    book = toy_book([5, 5, 5, 5], trades)
    zero = run_fixed_id(V1, book, 1.0, 0.0, order_size=5.0)
    lat = run_fixed_id(V1, book, 1.0, 0.0, order_size=5.0, entry_latency=1.5)
    assert [i["bid_fill"] for i in zero] == [2.0, 3.0, 0.0]  # keep_priority: 3 first, then 2
    assert [i["bid_fill"] for i in lat] == [0.0, 2.0, 0.0]
    assert [i["bid_in_flight"] for i in lat][:1] == [1.0] and lat[0]["bid_live"] == 0.0
    assert lat[1]["bid_live"] == 1.0


def test_response_latency_delays_the_observed_inventory() -> None:
    trades = {"time": [1], "price": [100.0], "size": [7.0], "side": [-1]}
    book = toy_book([5, 5, 5, 5], trades)
    n = n_steps_of(book)
    env = gym.make(V1, data=book, n_levels=3, n_steps=n, order_size=5.0, response_latency=1.5)
    env.reset(seed=0)
    a = env.unwrapped.action_mapping.to_action(1.0, 0.0)
    norm = env.unwrapped.config.inventory_norm
    obs, _, _, _, info = env.step(a)  # filled 2 at t = 1; seen at t = 2.5
    assert info["inventory"] == 2.0 and info["known_inventory"] == 0.0 and obs[1] == 0.0
    obs, _, _, _, info = env.step(a)  # now t = 2
    assert info["known_inventory"] == 0.0
    obs, _, _, _, info = env.step(a)  # t = 3
    assert info["known_inventory"] == 2.0 and obs[1] == pytest.approx(2.0 / norm)


def test_post_only_order_that_would_cross_on_arrival_is_rejected() -> None:
    # We bid 100.01 (improving, one tick under the ask 100.02) at t = 0 with latency 1.5 s; at
    # t = 1 the best ask falls to 100.01: arriving, the bid would cross: rejected.
    n = 4
    bp = np.tile([100.00, 99.99, 99.98], (n, 1))
    ap = np.tile([100.02, 100.03, 100.04], (n, 1))
    ap[1:] = [100.01, 100.02, 100.03]
    sz = np.full((n, 3), 5.0)
    book = OrderBook.from_arrays(np.arange(n, dtype=float), bp, sz, ap, sz, trades=None)
    out = run_fixed_id(V1, book, 0.0, 0.0, entry_latency=1.5)
    assert out[0]["bid_quote"] == pytest.approx(100.01)
    assert out[1]["n_rejected"] >= 1.0 and out[1]["bid_live"] == 0.0
    assert run_fixed_id(V1, book, 0.0, 0.0)[-1]["n_rejected"] == 0.0


def test_random_latency_draws_come_from_np_random(aapl: Path) -> None:
    book = load_book(aapl)
    kw = {"step_seconds": 0.02, "n_steps": 400, "entry_latency": "lognormal:0.01,0.5"}
    runs = []
    for _ in range(2):
        env = gym.make(V1, data=book, **kw)
        env.reset(seed=3)
        a = env.unwrapped.action_mapping.to_action(1.0, 0.0)
        runs.append([env.step(a)[4]["bid_fill"] for _ in range(400)])
    assert runs[0] == runs[1]


@pytest.mark.parametrize(
    ("entry", "response"),
    [
        ("lognormal:0.01,0.5", 0.002),
        (0.0, (0.001, 0.004, 0.002)),
        ("lognormal:2,1", "lognormal:1,0"),
    ],
)
def test_latency_sampler_is_the_documented_quantile_rule(entry: object, response: object) -> None:
    # the compiled sampler must give exactly the draws of the random contract: one
    # rng.random((n, 2)) per step, each column through draw_latency's quantile rule
    const_e = entry if isinstance(entry, float) else 0.0
    const_r = response if isinstance(response, float) else 0.0
    sampler = LatencySampler(entry, response, const_e, const_r)
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(11)
    out = np.full((7, 2), np.nan)
    for _ in range(50):
        sampler.draw(rng_a, out)
        u = rng_b.random((7, 2))
        want_e = draw_latency(latency_quantiles("entry_latency", entry), const_e, u[:, 0])
        want_r = draw_latency(latency_quantiles("response_latency", response), const_r, u[:, 1])
        np.testing.assert_array_equal(out[:, 0], want_e)
        np.testing.assert_array_equal(out[:, 1], want_r)
    assert rng_a.random() == rng_b.random()  # the same amount drawn


# ---- exact queue -------------------------------------------------------------------------------
def test_hand_worked_fill_on_real_aapl_messages_exact_queue(aapl: Path) -> None:
    # tests/test_replay.py's hand-worked AAPL fill, with the exact queue: the 229 at 585.48 are
    # eight orders all ahead of us; the six deletes (368-381) and two executions (392, 393) are
    # of orders ahead, so front goes 229, 222, ..., 66, 0 exactly as there. Line 394 executes
    # 34 at 585.47, through our 585.48: 34 with fill_through off, all 50 with it on.
    lines = (aapl / "AAPL_2012-06-21_34200000_57600000_message_10.csv").read_text().splitlines()
    for k, raw in AAPL_585_48_LINES.items():
        assert lines[k - 1] == raw, k
    book = load_book(aapl)
    last_lines = [*range(361, 384), 387, 388, 389, 391, 394]
    ahead_after = [229] * 7 + [222, 169, 117] + [116] * 3 + [111] * 7 + [66] * 7 + [0]
    for through, final in ((False, 34.0), (True, 50.0)):
        env = episode_from(book, 359, order_size=50.0, max_inventory=100.0)
        env = gym.make(
            V1,
            data=book,
            n_steps=env.unwrapped.config.n_steps,
            split="test",
            split_time=float(book.time[359]),
            order_size=50.0,
            max_inventory=100.0,
            fill_through=through,
        )
        env.reset(seed=0)
        sim = env.unwrapped.simulator
        assert sim.queue_model == mm_env.execution.QM_EXACT
        fills, ahead = [], []
        for _ in last_lines:
            _, _, _, _, info = env.step(bid_at(env, 585.48))
            fills.append(info["bid_fill"])
            ahead.append(sim.state[0, BID_AHEAD])
        assert ahead[:-1] == ahead_after[:-1]
        assert fills == [0.0] * 27 + [final]


def test_exact_queue_front_plus_behind_is_the_displayed_size_on_goog(goog: Path) -> None:
    book = load_book(goog)
    n = 20000
    env = gym.make(V1, data=book, n_steps=n, order_size=100.0, max_inventory=1e9)
    env.reset(seed=1)
    sim = env.unwrapped.simulator
    rng = np.random.default_rng(0)
    checked = 0
    a = np.zeros(2, dtype=np.float32)
    for t in range(n):
        a = np.array([rng.choice([-1.0, -0.6, 1.0]), 0.0], dtype=np.float32) if t % 50 == 0 else a
        env.step(a)
        price = sim.state[0, OUR_BID_TICKS]
        front = sim.state[0, BID_AHEAD]
        if math.isnan(price) or math.isinf(front):
            continue
        k = sim.grid[int(sim.state[0, mm_env.scenarios.replay.GRID])]
        row = sim.bid_ticks[k]
        j = np.flatnonzero(row == price)
        if not j.size and price < np.nanmin(row):
            continue  # beyond the visible levels: the displayed size is unknown
        shown = float(sim.bid_sizes[k, j[0]]) if j.size else 0.0
        assert front + sim.state[0, BID_BEHIND] == pytest.approx(shown, abs=1e-9), t
        checked += 1
    assert checked > n // 4


# ---- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field,value",
    [
        ("entry_latency", -0.1),
        ("entry_latency", math.nan),
        ("response_latency", math.inf),
        ("feed_latency", -1.0),
        ("maker_fee_bps", math.nan),
        ("taker_fee_per_unit", math.inf),
        ("queue_model", "fifo"),
        ("queue_model", "power:-1"),
        ("entry_latency", "lognormal:0,1"),
        ("entry_latency", (0.1, -0.2)),
    ],
)
def test_bad_execution_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        mm_env.ReplayConfig(**{field: value})
    # the same through gym.make, as a user meets it
    book = toy_book([5, 5], None)
    with pytest.raises(ValueError, match=field):
        gym.make(V1, data=book, n_levels=3, n_steps=1, **{field: value})


def test_bad_latency_files_name_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# nothing\n")
    bad = tmp_path / "bad.txt"
    bad.write_text("0.001\nfast\n")
    for path in (empty, bad, tmp_path / "missing.txt"):
        with pytest.raises(ValueError, match=path.name):
            mm_env.ReplayConfig(entry_latency=f"file:{path}")
    good = tmp_path / "good.txt"
    good.write_text("0.001\n0.002\n")
    mm_env.ReplayConfig(entry_latency=f"file:{good}")


def test_exact_queue_needs_order_ids() -> None:
    book = toy_book([5, 5], None)
    with pytest.raises(ValueError, match="queue_model"):
        gym.make(V1, data=book, n_levels=3, n_steps=1, queue_model="exact")
    # auto falls back to the risk-averse queue
    env = gym.make(V1, data=book, n_levels=3, n_steps=1)
    assert env.unwrapped.simulator.queue_model == QM_RISK_AVERSE
