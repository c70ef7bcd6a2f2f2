"""Replay-v0: checkers, the hand-worked queue fills, clock, episodes, split; the GOOG day."""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="the loaders need pip install 'mm_env[data]'")
from gymnasium.utils.env_checker import check_env as gym_check_env

import mm_env
from mm_env.data import OrderBook, load_book, snapshot_columns
from mm_env.scenarios.replay import BID_AHEAD, GRID, step_grid
from tests.conftest import AAPL_SAMPLE, GOOG_DAY, needs_sb3
from tests.lobster_fixtures import DUMMY, make_lobster, snapshot_lines

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


def n_steps_of(book: OrderBook, **config) -> int:
    """Steps in a split of ``book`` (per event: one per distinct timestamp, less one)."""
    return step_grid(book, mm_env.make_config("replay", **config)).size - 1


def run_fixed(book: OrderBook, m: float, skew: float, **overrides):
    """The fixed quote (m, skew) over the whole book as one episode."""
    n = n_steps_of(book)
    env = gym.make(ID, data=book, n_levels=3, n_steps=n, **overrides)
    env.reset(seed=0)
    action = env.unwrapped.action_mapping.to_action(m, skew)
    infos = []
    for _ in range(n):
        _, _, _, _, info = env.step(action)
        infos.append(info)
    return infos


# ---- API ----------------------------------------------------------------------------------------
@needs_sb3
def test_gymnasium_and_sb3_check_env_warnings_as_errors(aapl: Path) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    for kwargs in ({}, {"step_seconds": 0.1, "obs_imbalance_levels": (5,), "obs_mid_change": True}):
        env = gym.make(ID, data=str(aapl), n_steps=50, **kwargs)
        env2 = gym.make(ID, data=str(aapl), n_steps=50, **kwargs)  # (v0: Gymnasium says v1 exists)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gym_check_env(env.unwrapped, skip_render_check=False)
            sb3_check_env(env2.unwrapped, warn=True)


def test_observation_is_the_recorded_book(aapl: Path) -> None:
    book = load_book(aapl)
    env = gym.make(ID, data=book, n_steps=100, obs_imbalance_levels=(10,))
    obs, info = env.reset(seed=5)
    sim = env.unwrapped.simulator
    g0 = int(sim.state[0, GRID])
    scale = env.unwrapped.config.spread_scale
    assert scale == pytest.approx(np.median(book.spread))
    for k in sim.grid[g0 : g0 + 20]:  # per event: the last row of each timestamp
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
    # per event: one step per distinct timestamp (890 among the 999 rows), less one
    with pytest.raises(ValueError, match="'n_steps'.*889 steps"):
        gym.make(ID, data=str(aapl), n_steps=2000)
    with pytest.raises(ValueError, match="'tick_size'"):
        gym.make(ID, data=str(aapl), tick_size=0.1, n_steps=10)
    env = gym.make(ID, data=Path(aapl), n_steps=10)
    assert env.unwrapped.config.data_path == str(aapl)
    again = gym.make(ID, data_path=str(aapl), n_steps=10)  # the config alone suffices
    assert again.unwrapped.simulator.book is env.unwrapped.simulator.book  # loaded once


def test_tick_grid_names_the_line_and_float32_parquet_is_on_it(tmp_path: Path) -> None:
    """float32 Parquet prices on a cent grid replay on it; a price truly off it is named."""
    pytest.importorskip("pyarrow")
    lob = make_lobster()
    csv = tmp_path / "book.csv"
    csv.write_text("\n".join(snapshot_lines(lob)) + "\n")
    frame = pd.read_csv(csv)
    frame = frame.astype({c: np.float32 for c in frame.columns if c != "timestamp"})
    good = tmp_path / "float32.parquet"
    frame.to_parquet(good)
    env = gym.make(ID, data=str(good), n_levels=5, n_steps=50)
    sim = env.unwrapped.simulator
    bids = lob.book[:, 2::4]
    ticks = np.where(np.abs(bids) == DUMMY, np.nan, bids / 100)
    np.testing.assert_array_equal(sim.bid_ticks, ticks)  # on the grid, exactly
    frame.loc[17, "ask_px_2"] = np.float32(frame.loc[17, "ask_px_2"] + 0.005)
    off = tmp_path / "off.parquet"
    frame.to_parquet(off)
    price = float(lob.book[17, 4] + 50) / 10000
    expected = (
        f"'tick_size': ask prices of {off} are not on a grid of 0.01: line 19, level 2: "
        f"{price!r} is 0.5 ticks off (1 prices off"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        gym.make(ID, data=str(off), n_levels=5, n_steps=50)
    book = load_book(off)  # in memory: the row is named
    with pytest.raises(ValueError, match=re.escape("0.01: row 17, level 2: ")):
        gym.make(ID, data=OrderBook.from_arrays(*_arrays(book)), n_levels=5, n_steps=50)


def _arrays(book: OrderBook) -> tuple:
    return book.time, book.bid_prices, book.bid_sizes, book.ask_prices, book.ask_sizes


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


def bid_at(env: gym.Env, price: float) -> np.ndarray:
    """The action putting our bid at ``price`` against the book shown now (skew 0: the ask is as
    far above the mid as the bid is below it)."""
    snap = env.unwrapped.simulator.book_snapshot()
    best_bid, best_ask = snap["bid_prices"][0], snap["ask_prices"][0]
    m = (0.5 * (best_bid + best_ask) - price) / (0.5 * (best_ask - best_bid))
    return env.unwrapped.action_mapping.to_action(m, 0.0)


# Lines (1-based) of the AAPL sample's message file: time, type, order id, size, price x 10000,
# direction. The test checks them against the file, so the hand arithmetic below cannot drift.
AAPL_585_48_LINES = {
    360: "34206.292254316,1,16818198,27,5854800,1",  # the 8th order at 585.48: 229 displayed
    367: "34208.48306653,1,16914630,100,5854900,1",  # 585.49 becomes the best bid
    368: "34208.70287486,3,16818091,7,5854800,1",
    369: "34208.703312634,3,16818125,53,5854800,1",
    370: "34208.839912684,3,16818137,52,5854800,1",
    371: "34208.840433832,3,16818156,1,5854800,1",
    374: "34209.442788623,3,16818175,5,5854800,1",
    377: "34209.489945829,4,16675969,225,5856800,-1",  # a buyer lifts the 585.68 ask
    381: "34209.525706867,3,16818181,45,5854800,1",
    382: "34209.54252448,4,16675969,28,5856800,-1",
    390: "34209.784078285,5,0,44,5855000,1",  # hidden buy executed at 585.50
    391: "34209.784078285,4,16949037,27,5854900,1",  # 585.49 emptied: 585.48 is best again
    392: "34209.786185996,4,16818182,39,5854800,1",
    393: "34209.786185996,4,16818198,27,5854800,1",
    394: "34209.786185996,4,16675936,34,5854700,1",
}


def episode_from(book: OrderBook, row: int, **overrides) -> gym.Env:
    """The test split from ``row``'s time as one episode (as long as the split: it starts at
    the last row of that timestamp), reset."""
    split = {"split": "test", "split_time": float(book.time[row])}
    env = gym.make(ID, data=book, n_steps=n_steps_of(book, **split), **split, **overrides)
    env.reset(seed=0)
    return env


def test_hand_worked_fill_on_real_aapl_messages(aapl: Path) -> None:
    # Worked by hand from the raw AAPL files (message line k produced orderbook line k; book
    # row k - 1 here). Orderbook line 360: ask 585.68 x 396, bid 585.48 x 229. The 229 at 585.48
    # are eight buy orders, 7 + 53 + 52 + 1 + 5 + 45 + 39 + 27 (ids 16818091, ..125, ..137, ..156,
    # ..175, ..181, ..182, ..198, lines 350-360), the last added by line 360 itself.
    #
    # We bid 585.48 (the best bid) for 50 shares from the state of line 360 on, and keep that
    # price at every step. Per event is per timestamp: a step shows the book after the last
    # line of a timestamp and replays every line of the next timestamp (lines 361-383, 388 and
    # 389 have a timestamp each; 384-387, 390-391 and 392-394 share one each: 28 steps). Our
    # queue ahead, conservative: all 229. No order joins 585.48 after us, so it is exact here.
    #   367  new 100 @ 585.49: a better bid, we stay at 585.48 (level 2), ahead 229
    #   368  delete  7 @ 585.48 (16818091)    ahead 229 - 7  = 222
    #   369  delete 53 @ 585.48 (16818125)    ahead 222 - 53 = 169
    #   370  delete 52 @ 585.48 (16818137)    ahead 169 - 52 = 117
    #   371  delete  1 @ 585.48 (16818156)    ahead 117 - 1  = 116
    #   374  delete  5 @ 585.48 (16818175)    ahead 116 - 5  = 111
    #   381  delete 45 @ 585.48 (16818181)    ahead 111 - 45 = 66  (= 39 + 27, the two left)
    #   384-387, 390, 391  executions at 585.50 / 585.49: better bids than ours, no fill
    # One step replays 392-394 (34209.786185996: one marketable sell of 100 shares):
    #   392  execution 39 @ 585.48 (16818182, direction +1: a seller hit it)  ahead 66 - 39 = 27
    #   393  execution 27 @ 585.48 (16818198)  ahead 27 - 27 = 0, nothing left for us; 585.48
    #        is gone from the book (best bid 585.47 x 100), our bid now improves the best bid
    #   394  execution 34 @ 585.47 (16675936): the seller sold at 585.47 below our 585.48, so
    #        price priority gives the 34 to us: bid fill 34 of our 50 (a partial fill)
    # The sell of 39 + 27 + 34 = 100 shares walked 585.48 then 585.47; with us at 585.48 its
    # last 34 would have been ours.
    # Inventory 34, cash -34 x 585.48 = -19906.32. Our ask (as far above the mid as the bid is
    # below) is 585.69 when the buyers of lines 377 and 382 lift 585.68: no ask fill.
    lines = (aapl / "AAPL_2012-06-21_34200000_57600000_message_10.csv").read_text().splitlines()
    for k, raw in AAPL_585_48_LINES.items():
        assert lines[k - 1] == raw, k
    book = load_book(aapl)
    start = 360 - 1  # the book row of line 360 (its timestamp has no other line)
    env = episode_from(book, start, order_size=50.0, max_inventory=100.0)
    sim = env.unwrapped.simulator
    assert sim.grid[0] == start and sim.time_of_step() == book.time[start]
    # the last line each step replays
    last_lines = [*range(361, 384), 387, 388, 389, 391, 394]
    ahead_after = [229] * 7 + [222, 169, 117] + [116] * 3 + [111] * 7 + [66] * 7 + [0]
    fills, ahead = [], []
    for line in last_lines:
        _, _, _, _, info = env.step(bid_at(env, 585.48))
        assert sim.grid[int(sim.state[0, GRID])] == line - 1  # now showing that line's book
        assert info["bid_quote"] == pytest.approx(585.48), line
        assert info["ask_fill"] == 0.0, line
        fills.append(info["bid_fill"])
        ahead.append(sim.state[0, BID_AHEAD])
    assert ahead == ahead_after
    assert fills == [0.0] * 27 + [34.0]
    assert info["inventory"] == 34.0
    assert info["cash"] == pytest.approx(-34 * 585.48, abs=1e-9)


def test_one_marketable_order_fills_a_quote_once_on_real_aapl_messages(aapl: Path) -> None:
    # Lines 392-394 (34209.786185996) are one marketable sell of 100 shares that LOBSTER writes
    # as three executions: 39 and 27 @ 585.48, then 34 @ 585.47. A 20-share bid at 585.49 is
    # better than all three: the seller meets it first and it fills 20, once. (One step per
    # book row refilled it to 20 between the rows: 20 + 20 + 20 = 60 from that one order.)
    lines = (aapl / "AAPL_2012-06-21_34200000_57600000_message_10.csv").read_text().splitlines()
    for k in (390, 391, 392, 393, 394):
        assert lines[k - 1] == AAPL_585_48_LINES[k], k
    book = load_book(aapl)
    # from line 390's time: lines 390-391 share it, so the episode starts at the book of line
    # 391 (bid 585.48 x 66 over 585.47 x 100, ask 585.67 x 18): 585.49 improves the best bid
    env = episode_from(book, 390 - 1, order_size=20.0, max_inventory=100.0)
    sim = env.unwrapped.simulator
    fills = []
    while sim.grid[int(sim.state[0, GRID])] < 394 - 1:  # until the book after line 394 shows
        _, _, _, _, info = env.step(bid_at(env, 585.49))
        assert info["bid_quote"] == pytest.approx(585.49)
        fills.append(info["bid_fill"])
    assert fills == [20.0]  # one step for the whole order
    assert sim.grid[0] == 391 - 1
    assert info["inventory"] == 20.0 and info["cash"] == pytest.approx(-20 * 585.49)


def test_one_step_per_timestamp() -> None:
    # rows 1-3 share time 1: one marketable sell of 9 written as three executions, 3 and 2 at
    # 100.00 (the level empties: the book starts at 99.99 from row 2), then 4 at 99.99
    book = dataclasses.replace(
        toy_book([5, 2, 0, 0, 5], None),
        time=np.array([0.0, 1.0, 1.0, 1.0, 2.0]),
        trade_row=np.array([1, 2, 3]),
        trade_price=np.array([100.0, 100.0, 99.99]),
        trade_size=np.array([3.0, 2.0, 4.0]),
        trade_side=np.full(3, -1.0),
    )
    config = mm_env.make_config("replay", n_levels=3)
    assert step_grid(book, config).tolist() == [0, 3, 4]  # the last row of each timestamp
    assert n_steps_of(book, split="test", split_time=1.0) == 1  # grid [3, 4]
    assert n_steps_of(book, split="train", split_time=2.0) == 1  # grid [0, 3]
    # m = 0: bid at the mid 100.01 (improves the best bid 100.00), order size 2: the sell meets
    # it first and fills it, 2 once; the next step shows row 3 (mid 100.005, bid 100.00)
    infos = run_fixed(book, 0.0, 0.0, order_size=2.0)
    assert [i["bid_quote"] for i in infos] == pytest.approx([100.01, 100.0])
    assert [i["bid_fill"] for i in infos] == [2.0, 0.0]
    # a book of one timestamp has no step
    same = dataclasses.replace(book, time=np.ones(5))
    with pytest.raises(ValueError, match="'split'.*a single timestamp"):
        step_grid(same, config)


def test_a_quote_filled_even_partly_rejoins_at_the_back() -> None:
    # Bid 100.00 (m = 1: the best bid), order size 5. Displayed at 100.00 per row: 5, 4, 3, 3.
    #   step 1 (row 0 -> row 1): behind 5; a seller takes 7: the 5 ahead, then 2 of ours (3 of
    #          our 5 left). 4 new shares are displayed at 100.00 in row 1, all behind our 3.
    #   step 2 (row 1 -> row 2): our bid was filled, so it is placed anew, topped up to 5, at
    #          the back: behind the 4 displayed. A seller takes 4: the 4 ahead, nothing for us.
    #          (Keeping the place for all 5 would fill 4; the truth, with our 3 left ahead of
    #          the 4 and a top-up of 2 behind them, is 3; rejoining the back gives 0 <= 3.)
    #          3 new shares displayed in row 2, behind us; 0 ahead.
    #   step 3 (row 2 -> row 3): nothing of our bid filled in step 2: same order, same place,
    #          0 ahead (not the 3 displayed). A seller takes 2: both ours.
    trades = {"time": [1, 2, 3], "price": [100.0] * 3, "size": [7, 4, 2], "side": [-1, -1, -1]}
    infos = run_fixed(toy_book([5, 4, 3, 3], trades), 1.0, 0.0, order_size=5.0)
    assert [i["bid_quote"] for i in infos] == [100.0] * 3
    assert [i["bid_fill"] for i in infos] == [2.0, 0.0, 2.0]
    assert infos[-1]["inventory"] == 4.0 and infos[-1]["cash"] == pytest.approx(-400.0)
    # A bid that grows is a new order too. max_inventory 3 caps the bid at 3 (ask: 3 too).
    #   step 1: a buyer takes 7 at 100.02: the 5 displayed ahead of our ask, then 2 of ours
    #           (inventory -2); a seller takes 2 at 100.00: 5 -> 3 ahead of our bid of 3.
    #   step 2: the bid may now be 5 (3 + 2): placed anew behind the 5 displayed (keeping the
    #           place, 3 ahead, would fill 1 of the next seller's 4): no fill.
    trades = {
        "time": [1, 1, 2],
        "price": [100.02, 100.0, 100.0],
        "size": [7, 2, 4],
        "side": [1, -1, -1],
    }
    infos = run_fixed(toy_book([5, 5, 5], trades), 1.0, 0.0, order_size=5.0, max_inventory=3.0)
    assert [i["ask_fill"] for i in infos] == [2.0, 0.0]
    assert [i["bid_fill"] for i in infos] == [0.0, 0.0]


def write_snapshots_and_trades(folder: Path) -> tuple[Path, Path]:
    """A snapshot file (times 0-3: bid 100.00 x 5 over 99.99 x 5, ask 100.02 / 100.03 x 5; the
    100.00 level gone from time 2) and a trades file: a seller takes 7 at 100.00 at time 1.5."""
    bid_1 = [100.00, 100.00, 99.99, 99.99]
    frame = pd.DataFrame(
        {
            "timestamp": [0.0, 1.0, 2.0, 3.0],
            "ask_px_1": 100.02,
            "ask_qty_1": 5.0,
            "bid_px_1": bid_1,
            "bid_qty_1": 5.0,
            "ask_px_2": 100.03,
            "ask_qty_2": 5.0,
            "bid_px_2": [round(p - 0.01, 2) for p in bid_1],
            "bid_qty_2": 5.0,
        }
    )
    book = folder / "book.csv"
    trades = folder / "trades.csv"
    frame[snapshot_columns(2)].to_csv(book, index=False)
    trades.write_text("timestamp,price,size,side\n1.5,100.00,7,sell\n")
    return book, trades


def test_trades_path_reaches_the_env_without_loading(tmp_path: Path) -> None:
    book, trades = write_snapshots_and_trades(tmp_path)
    kwargs = {"n_levels": 2, "n_steps": 3, "order_size": 5.0}
    # at the best bid 100.00 behind 5: the 7-lot sale (row 2) takes the 5, then 2 of ours
    env = gym.make(ID, data=str(book), trades_path=str(trades), **kwargs)
    assert not env.unwrapped.simulator.trades_inferred
    assert env.unwrapped.config.trades_path == str(trades)
    assert env.unwrapped.config.to_dict()["trades_path"] == str(trades)
    env.reset(seed=0)
    action = env.unwrapped.action_mapping.to_action(1.0, 0.0)  # m = 1: bid at the best bid
    infos = [env.step(action)[4] for _ in range(3)]
    assert [i["bid_quote"] for i in infos] == pytest.approx([100.0, 100.0, 99.99])
    assert [i["bid_fill"] for i in infos] == [0.0, 2.0, 0.0]
    assert infos[-1]["inventory"] == 2.0 and infos[-1]["cash"] == pytest.approx(-200.0)
    # the saved config alone (paths, a Path object recorded as its string) makes the same env
    again = gym.make(ID, data_path=str(book), trades_path=trades, **kwargs)
    assert again.unwrapped.config.trades_path == str(trades)
    assert again.unwrapped.simulator.book is env.unwrapped.simulator.book  # loaded once
    # without the trades file the same book infers executions (the 5 that vanished): no fill
    inferred = gym.make(ID, data=str(book), **kwargs)
    assert inferred.unwrapped.simulator.trades_inferred
    assert inferred.unwrapped.config.trades_path is None


def test_trades_path_errors(tmp_path: Path) -> None:
    book, trades = write_snapshots_and_trades(tmp_path)
    kwargs = {"n_levels": 2, "n_steps": 3}
    with pytest.raises(ValueError, match="'trades_path'.*already-loaded OrderBook"):
        gym.make(ID, data=load_book(book), trades_path=str(trades), **kwargs)
    lobster = tmp_path / "TEST_2012-06-21_0_1_orderbook_1.csv"  # LOBSTER: it has its messages
    lobster.write_text("1000200,5,1000000,5\n1000200,5,1000000,4\n")
    for data in (lobster, tmp_path):  # the file, or the folder holding it
        with pytest.raises(ValueError, match="LOBSTER data: its executions come from its message"):
            gym.make(ID, data=str(data), trades_path=str(trades), n_levels=1, n_steps=1)
    with pytest.raises(FileNotFoundError, match="no trades file at .*missing.csv"):
        gym.make(ID, data=str(book), trades_path=str(tmp_path / "missing.csv"), **kwargs)
    with pytest.raises(ValueError, match="config field 'trades_path'"):
        gym.make(ID, data=str(book), trades_path=7, **kwargs)
    with pytest.raises(ValueError, match="config field 'trades_path'"):
        gym.make(ID, data=str(book), trades_path="", **kwargs)


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
    env = gym.make(ID, data=str(aapl), n_steps=889, max_inventory=1e9, inventory_scale=1.0)
    env.reset(seed=0)
    action = env.unwrapped.action_mapping.to_action(1.0, 0.0)
    total = 0.0
    for _ in range(889):
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
        # the whole day per event (one step per distinct timestamp), the default max_inventory
        # 10: the README's figures
        env = gym.make(ID, data=book, n_steps=n_steps_of(book), max_inventory=10.0)
        ep = run_episode(env, make(env), seed=0)
        results[name] = ep.metrics
        print(name, ep.metrics.to_dict())
        assert ep.rewards.sum() == pytest.approx(ep.series["pnl"][-1], rel=1e-9, abs=1e-6)
        assert ep.series["n_fills"][-1] > 0
    assert set(results) == {"skew", "symmetric"}


@needs_sb3
def test_sb3_adapter_keeps_the_replayed_book(aapl: Path) -> None:
    from mm_env.sb3 import MarketMakingVecEnv

    venv = gym.make_vec(
        ID, num_envs=2, vectorization_mode="vector_entry_point", data=str(aapl), n_steps=20
    )
    adapter = MarketMakingVecEnv(venv.unwrapped)  # NEXT_STEP: rebuilt with SAME_STEP
    assert adapter.venv.simulator.book is venv.unwrapped.simulator.book
    obs = adapter.reset()
    assert obs.shape == (2, 3)


@needs_sb3
def test_a_replay_model_is_evaluated_with_the_spread_unit_it_was_trained_with(
    aapl: Path, tmp_path, capsys
):
    """The observation divides the spread by the training split's median spread. evaluate and
    compare take the run's config (data_path, split, n_steps and that resolved spread unit)
    from its config.json: a model trained on the morning (split "train") is evaluated on the
    afternoon with only --set split=test, under its training unit; a --set of another unit
    (another observation) is refused, naming the trained one."""
    import json

    from train.__main__ import main
    from train.fit import FitConfig, fit

    run = fit(
        FitConfig(
            env_id=ID,
            total_timesteps=64,
            n_envs=2,
            overrides={"data_path": str(aapl), "n_steps": 20, "split": "train"},
            eval_freq=10**6,
            checkpoint_freq=10**6,
            n_eval_episodes=2,
            run_root=str(tmp_path),
            hyperparams={"n_steps": 32, "batch_size": 64, "n_epochs": 1},
            progress_bar=False,
        )
    )
    book = load_book(aapl)
    unit = json.loads((run / "config.json").read_text())["scenario_config"]["spread_unit"]
    train_rows = book.time < book.time[0] + 0.5 * (book.time[-1] - book.time[0])
    assert unit == pytest.approx(float(np.median(book.spread[train_rows])))
    test_unit = float(np.median(book.spread[~train_rows]))
    assert test_unit != pytest.approx(unit)  # the afternoon alone would resolve another unit
    out = tmp_path / "e"
    argv = ["evaluate", str(run), "--episodes", "2", "--out", str(out), "--set", "split=test"]
    assert main(argv) == 0
    assert "overrides the training run's split='train'" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env_id"] == ID and summary["config"]["spread_unit"] == unit
    assert summary["config"]["split"] == "test" and summary["config"]["n_steps"] == 20
    assert main([*argv, "--set", f"spread_unit={test_unit!r}"]) == 2
    err = capsys.readouterr().err
    assert "another observation/action interface" in err and f"{unit!r} (trained)" in err


def test_an_execution_between_ticks_is_compared_at_its_own_price() -> None:
    """A hidden midpoint sale at 100.005 (half a tick) never reached a bid at 100.00, however
    small the queue there; a bid at 100.01, above the sale price, was met first and fills.
    (Rounded to the even tick, 100.00, the sale used to fill the bid at 100.00 after its
    one-lot queue.)"""
    rows = 3
    book = OrderBook.from_arrays(
        np.arange(rows, dtype=float),
        np.full((rows, 1), 100.00),
        np.full((rows, 1), 1.0),
        np.full((rows, 1), 100.02),
        np.full((rows, 1), 1.0),
        trades={"time": [1.0], "price": [100.005], "size": [5.0], "side": [-1.0]},
    )
    fills = {}
    for m, bid in ((1.0, 100.00), (0.0, 100.01)):  # market spread 0.02 around mid 100.01
        env = gym.make(ID, data=book, n_levels=1, n_steps=rows - 1)
        env.reset(seed=0)
        assert env.unwrapped.simulator.trade_ticks.tolist() == [10000.5]
        action = env.unwrapped.action_mapping.to_action(m, 0.0)
        _, _, _, _, info = env.step(action)
        assert info["bid_quote"] == pytest.approx(bid)
        fills[bid] = info["bid_fill"]
    assert fills == {100.00: 0.0, 100.01: 1.0}
