"""Replay-v0: checkers, the hand-worked queue fills, clock, episodes, split; the GOOG day."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import mm_env
from mm_env.data import OrderBook, load_book
from mm_env.scenarios.replay import step_grid
from tests.conftest import AAPL_SAMPLE, GOOG_DAY

ID = "mm_env/Replay-v0"


@pytest.fixture
def aapl(lobster_dir: Path) -> Path:
    return lobster_dir.parent / AAPL_SAMPLE


@pytest.fixture
def goog(lobster_dir: Path) -> Path:
    path = lobster_dir.parent / GOOG_DAY
    if not path.is_dir():
        pytest.skip(f"GOOG LOBSTER day not found at {path}")
    return path


def toy_book(bid_sizes_1: list[float], trades: dict | None, bid_1: list[float] | None = None):
    """Rows t = 0, 1, ...: bids 100.00 / 99.99 / 99.98, asks 100.02 / 100.03 / 100.04.

    ``bid_sizes_1``: the displayed size at 100.00 per row (0: the level is gone, the book then
    starts at 99.99). ``bid_1`` overrides the best bid price per row.
    """
    n = len(bid_sizes_1)
    bp = np.zeros((n, 3))
    bs = np.zeros((n, 3))
    for k, size in enumerate(bid_sizes_1):
        if size > 0:
            bp[k] = [100.00, 99.99, 99.98]
            bs[k] = [size, 5.0, 5.0]
        else:
            bp[k] = [99.99, 99.98, 99.97]
            bs[k] = [5.0, 5.0, 5.0]
        if bid_1 is not None:
            bp[k, 0] = bid_1[k]
    ap = np.tile([100.02, 100.03, 100.04], (n, 1))
    asz = np.full((n, 3), 5.0)
    return OrderBook.from_arrays(np.arange(n, dtype=float), bp, bs, ap, asz, trades=trades)


def run_fixed(book: OrderBook, m: float, skew: float, **overrides):
    env = gym.make(ID, data=book, n_levels=3, n_steps=book.n_rows - 1, **overrides)
    env.reset(seed=0)
    action = env.unwrapped.action_mapping.to_action(m, skew)
    infos = []
    for _ in range(book.n_rows - 1):
        _, _, _, _, info = env.step(action)
        infos.append(info)
    return infos


# ---- API ----------------------------------------------------------------------------------------
def test_gymnasium_and_sb3_check_env_warnings_as_errors(aapl: Path) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    for kwargs in ({}, {"step_seconds": 0.1, "obs_imbalance_levels": (5,), "obs_mid_change": True}):
        env = gym.make(ID, data=str(aapl), n_steps=50, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gym_check_env(env.unwrapped, skip_render_check=False)
            sb3_check_env(gym.make(ID, data=str(aapl), n_steps=50, **kwargs).unwrapped, warn=True)


def test_observation_is_the_recorded_book(aapl: Path) -> None:
    book = load_book(aapl)
    env = gym.make(ID, data=book, n_steps=100, obs_imbalance_levels=(10,))
    obs, info = env.reset(seed=5)
    sim = env.unwrapped.simulator
    k0 = sim.grid[int(sim.state[0, mm_env.core.N_COMMON])]
    scale = env.unwrapped.config.spread_scale
    assert scale == pytest.approx(np.median(book.spread))
    for k in range(k0, k0 + 20):
        assert obs[0] == pytest.approx(book.imbalance(1)[k], abs=1e-6)
        assert obs[2] == pytest.approx(book.spread[k] / scale, rel=1e-6)
        assert obs[3] == pytest.approx(book.imbalance(10)[k], abs=1e-6)
        obs, _, _, _, info = env.step(np.zeros(2))
        assert info["mid"] == pytest.approx(book.mid[k])  # the quotes met row k


def test_our_orders_do_not_move_the_book(aapl: Path) -> None:
    seen = []
    for action in (np.array([-1.0, 0.0]), np.array([1.0, 0.5])):
        env = gym.make(ID, data=str(aapl), n_steps=300)
        obs, _ = env.reset(seed=2)
        rows = [obs[[0, 2]]]
        for _ in range(300):
            obs, _, _, _, info = env.step(action)
            rows.append(obs[[0, 2]])
        seen.append((np.array(rows), info["n_fills"]))
    np.testing.assert_array_equal(seen[0][0], seen[1][0])
    assert seen[0][1] != seen[1][1]


def test_data_argument_errors(aapl: Path) -> None:
    with pytest.raises(ValueError, match="needs data"):
        gym.make(ID)
    with pytest.raises(ValueError, match="takes no data"):
        gym.make("mm_env/MarketMaking-v0", data=str(aapl))
    with pytest.raises(ValueError, match="'n_steps'.*998 steps"):
        gym.make(ID, data=str(aapl), n_steps=2000)
    with pytest.raises(ValueError, match="'tick_size'"):
        gym.make(ID, data=str(aapl), tick_size=0.1, n_steps=10)
    env = gym.make(ID, data=Path(aapl), n_steps=10)
    assert env.unwrapped.config.data_path == str(aapl)
    again = gym.make(ID, data_path=str(aapl), n_steps=10)  # the config alone suffices
    assert again.unwrapped.simulator.book is env.unwrapped.simulator.book  # loaded once


# ---- fills: hand-worked -----------------------------------------------------------------------
def test_hand_worked_queue_fill_at_the_best_bid() -> None:
    # We join the best bid 100.00 behind 5 displayed. Sellers then execute 3, 1 and 4 at 100.00.
    # 3: queue 5 -> 2 (display 2); 1: queue 2 -> 1 (display 1); 4: 1 ahead, then 3 fill us.
    trades = {"time": [1, 2, 3], "price": [100.0] * 3, "size": [3, 1, 4], "side": [-1, -1, -1]}
    book = toy_book([5, 2, 1, 0], trades)
    # m = 1, skew = 0 on spread 0.02 around 100.01: bid 100.00 (the touch), ask 100.02
    infos = run_fixed(book, 1.0, 0.0, order_size=5.0, max_inventory=100.0)
    assert [i["bid_quote"] for i in infos] == [100.0, 100.0, 100.0]
    assert [i["bid_fill"] for i in infos] == [0.0, 0.0, 3.0]  # a partial fill of 3 of 5
    assert [i["ask_fill"] for i in infos] == [0.0, 0.0, 0.0]
    assert infos[-1]["inventory"] == 3.0 and infos[-1]["cash"] == pytest.approx(-300.0)
    # order size 2 caps the same fill at 2
    infos = run_fixed(book, 1.0, 0.0, order_size=2.0)
    assert infos[-1]["bid_fill"] == 2.0


def test_cancellations_ahead_move_us_up_and_improving_fills_first() -> None:
    # the displayed 5 shrinks to 1 by cancellations (no trades): a 2-lot execution fills 1
    trades = {"time": [2], "price": [100.0], "size": [2], "side": [-1]}
    infos = run_fixed(toy_book([5, 1, 0], trades), 1.0, 0.0, order_size=5.0)
    assert sum(i["bid_fill"] for i in infos) == 1.0
    # a bid one tick better (100.01, improving) is ahead of the whole queue: fills 2 at once
    trades = {"time": [1], "price": [100.0], "size": [2], "side": [-1]}
    # m = 0 quotes at the mid 100.01; post-only keeps the ask at 100.02
    infos = run_fixed(toy_book([5, 3], trades), 0.0, 0.0, order_size=5.0)
    assert infos[0]["bid_quote"] == pytest.approx(100.01)
    assert infos[0]["bid_fill"] == 2.0
    # a bid below the traded price never fills
    infos = run_fixed(toy_book([5, 3], trades), 2.0, 0.0, order_size=5.0)
    assert infos[0]["bid_quote"] == pytest.approx(99.99) and infos[0]["bid_fill"] == 0.0


def test_buyer_executions_fill_our_ask_and_inventory_limits() -> None:
    trades = {"time": [1], "price": [100.02], "size": [9], "side": [1]}
    # m = 0, skew = 0: ask at the mid 100.01 (improves the 100.02 ask): filled first
    infos = run_fixed(toy_book([5, 5], trades), 0.0, 0.0, order_size=5.0, max_inventory=3.0)
    assert infos[0]["ask_fill"] == 3.0 and infos[0]["inventory"] == -3.0


def test_inferred_executions_without_trades() -> None:
    # no trades: the best bid shrinking 5 -> 2 (same price) is read as a 3-lot execution
    book = toy_book([5, 2, 2], None)
    infos = run_fixed(book, 0.0, 0.0, order_size=5.0)  # bid 100.01 improves: first in line
    assert infos[0]["bid_fill"] == 3.0
    assert gym.make(ID, data=book, n_levels=3, n_steps=2).unwrapped.simulator.trades_inferred
    with pytest.raises(ValueError, match="infer_trades"):
        gym.make(ID, data=book, n_levels=3, n_steps=2, infer_trades=False)


def test_lobster_executions_drive_fills(aapl: Path) -> None:
    # quoting at the touch over the sample fills; rewards sum to the final pnl
    env = gym.make(ID, data=str(aapl), n_steps=998, max_inventory=1e9, inventory_scale=1.0)
    env.reset(seed=0)
    action = env.unwrapped.action_mapping.to_action(1.0, 0.0)
    total = 0.0
    for _ in range(998):
        _, r, _, trunc, info = env.step(action)
        total += r
    assert trunc and info["n_fills"] > 0 and info["volume"] > 0
    assert total == pytest.approx(info["pnl"], abs=1e-6)


# ---- clock, episodes, split ----------------------------------------------------------------------
def test_clock_shows_the_last_state_of_each_interval(aapl: Path) -> None:
    book = load_book(aapl)
    config = mm_env.make_config("replay", step_seconds=1.0, n_steps=10)
    grid = step_grid(book, config)
    t0 = book.time[0]
    for g, row in enumerate(grid):
        assert book.time[row] <= t0 + g + 1e-9
        if row + 1 < book.n_rows:
            assert book.time[row + 1] > t0 + g
    assert grid.size == int((book.time[-1] - t0) // 1.0) + 1


def test_random_windows_from_np_random(aapl: Path) -> None:
    env = gym.make(ID, data=str(aapl), n_steps=100)
    starts = []
    for seed in range(6):
        env.reset(seed=seed)
        starts.append(env.unwrapped.simulator.time_of_step())
    assert len(set(starts)) > 1
    env.reset(seed=3)
    assert env.unwrapped.simulator.time_of_step() == starts[3]


def test_train_and_test_splits_never_share_hours(aapl: Path) -> None:
    book = load_book(aapl)
    cut = book.time[0] + 0.5 * (book.time[-1] - book.time[0])
    for kwargs in ({}, {"split_time": float(book.time[300])}):
        train = gym.make(ID, data=book, split="train", n_steps=50, **kwargs).unwrapped.simulator
        test = gym.make(ID, data=book, split="test", n_steps=50, **kwargs).unwrapped.simulator
        cut_k = kwargs.get("split_time", cut)
        assert book.time[train.grid].max() < cut_k <= book.time[test.grid].min()
        for seed in range(20):  # every step of every episode stays on its side
            for sim, before in ((train, True), (test, False)):
                sim.reset(np.random.default_rng(seed))
                assert (sim.time_of_step() < cut_k) == before
                for _ in range(50):
                    sim.step(np.zeros((1, 2)), np.random.default_rng(0))
                    assert (sim.time_of_step() < cut_k) == before


def test_vector_env_replays_the_same_law(aapl: Path) -> None:
    venv = gym.make_vec(
        ID, num_envs=4, vectorization_mode="vector_entry_point", data=str(aapl), n_steps=40
    )
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (4, 3)
    single = gym.make(ID, data=str(aapl), n_steps=40)
    one = gym.make_vec(
        ID, num_envs=1, vectorization_mode="vector_entry_point", data=str(aapl), n_steps=40
    )
    o1, _ = single.reset(seed=7)
    o2, _ = one.reset(seed=7)
    rng = np.random.default_rng(0)
    for _ in range(40):
        a = rng.uniform(-1, 1, 2)
        o1, r1, _, _, _ = single.step(a)
        o2, r2, _, _, _ = one.step(a[None, :])
        np.testing.assert_array_equal(o1, o2[0])
        assert r1 == r2[0]


# ---- the GOOG day -------------------------------------------------------------------------------
def next_nonzero_change(mid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each event t, the next non-zero mid change after t (and where one exists)."""
    dm = np.diff(mid)
    changes = np.flatnonzero(dm != 0)
    nxt = np.searchsorted(changes, np.arange(mid.size - 1))
    ok = nxt < changes.size
    return dm[changes[nxt[ok]]], ok


def test_goog_imbalance_predicts_the_next_mid_change(goog: Path) -> None:
    # the data README's +0.079: corr(level-1 imbalance at each event, the next non-zero mid
    # change after it), over all events (the plain next-event change gives +0.027: most
    # events leave the mid unchanged)
    book = load_book(goog)
    assert book.n_rows == 147_916 and book.n_skipped == 0
    change, ok = next_nonzero_change(book.mid)
    for levels, expected in ((1, 0.079), (5, 0.038), (10, 0.026)):
        corr = np.corrcoef(book.imbalance(levels)[:-1][ok], change)[0, 1]
        assert round(corr, 2) == round(expected, 2), (levels, corr)


@pytest.mark.slow
def test_goog_day_baselines(goog: Path) -> None:
    from baselines import SkewBaseline, SymmetricBaseline
    from mm_env.evaluation import run_episode

    book = load_book(goog)
    results = {}
    for name, make in (
        ("skew", lambda e: SkewBaseline.for_env(e, kappa=0.6, phi=0.01)),
        ("symmetric", lambda e: SymmetricBaseline.for_env(e, 1.0)),
    ):
        env = gym.make(ID, data=book, n_steps=book.n_rows - 1, max_inventory=100.0)
        ep = run_episode(env, make(env), seed=0)
        results[name] = ep.metrics
        print(name, ep.metrics.to_dict())
        assert ep.rewards.sum() == pytest.approx(ep.series["pnl"][-1], rel=1e-9, abs=1e-6)
        assert ep.series["n_fills"][-1] > 0
    assert set(results) == {"skew", "symmetric"}
