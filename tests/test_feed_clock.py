"""Feed latency from the data's own second clock: ``OrderBook.recv_time`` (a snapshot file's
``local_timestamp``) and Replay's ``feed_latency="data"`` (mm_env.execution, "Latency")."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from mm_env.data import OrderBook
from mm_env.data.book import BookDataError
from mm_env.data.hftbacktest import to_hftbacktest

V1 = "mm_env/Replay-v1"
N_ROWS = 40


def crafted(recv_lag: np.ndarray | None) -> OrderBook:
    """A book whose best sizes change every row (so every row has its own imbalance), one row a
    second; ``recv_lag``: each row's receive delay in seconds (None: one clock)."""
    rng = np.random.default_rng(5)
    t = np.arange(N_ROWS, dtype=float)
    bp = np.tile([100.00, 99.99, 99.98], (N_ROWS, 1))
    ap = np.tile([100.02, 100.03, 100.04], (N_ROWS, 1))
    bs = rng.integers(1, 30, (N_ROWS, 3)).astype(float)
    asz = rng.integers(1, 30, (N_ROWS, 3)).astype(float)
    recv = None if recv_lag is None else t + recv_lag
    return OrderBook.from_arrays(t, bp, bs, ap, asz, recv_time=recv)


def observed_imbalance(book: OrderBook, **overrides: object) -> tuple[np.ndarray, np.ndarray]:
    kw = dict(data=book, n_levels=3, step_seconds=1.0, **overrides)
    # every step the data has: an episode from the first row (the start is otherwise random)
    n = gym.make(V1, n_steps=5, **kw).unwrapped.simulator.n_available_steps
    env = gym.make(V1, n_steps=n, **kw)
    obs, _ = env.reset(seed=0)
    k = env.unwrapped.observation_names.index("imbalance")
    action = env.unwrapped.action_mapping.to_action(1.0, 0.0)
    seen, pnl = [obs[k]], []
    for _ in range(n):
        obs, _, _, _, info = env.step(action)
        seen.append(obs[k])
        pnl.append(info["pnl"])
    return np.array(seen), np.array(pnl)


def test_constant_receive_delay_is_the_constant_feed_latency() -> None:
    # a receive clock exactly 0.4 s behind the exchange's is feed_latency=0.4: same trajectory
    data_obs, data_pnl = observed_imbalance(crafted(np.full(N_ROWS, 0.4)), feed_latency="data")
    const_obs, const_pnl = observed_imbalance(crafted(None), feed_latency=0.4)
    np.testing.assert_array_equal(data_obs, const_obs)
    np.testing.assert_array_equal(data_pnl, const_pnl)
    none_obs, _ = observed_imbalance(crafted(None))
    assert not np.array_equal(data_obs, none_obs)  # the delay shows: not the undelayed book


def test_varying_receive_delay_shows_the_last_row_received() -> None:
    lag = np.random.default_rng(9).uniform(0.0, 2.5, N_ROWS)
    lag = np.maximum.accumulate(np.arange(N_ROWS) + lag) - np.arange(N_ROWS)  # non-decreasing
    book = crafted(lag)
    seen, _ = observed_imbalance(book, feed_latency="data")
    assert book.recv_time is not None
    imb = book.imbalance(1)
    for k, x in enumerate(seen):  # step k's time is row 0's time + k seconds
        row = max(int(np.searchsorted(book.recv_time, float(k), side="right")) - 1, 0)
        assert x == pytest.approx(imb[row], abs=1e-6), k
    # a lag over one second makes some step show an older row than the one-clock book does
    assert any(
        np.searchsorted(book.recv_time, float(k), side="right") - 1 < k for k in range(len(seen))
    )


def test_feed_latency_data_needs_receive_times() -> None:
    with pytest.raises(ValueError, match="feed_latency.*receive timestamps"):
        gym.make(V1, data=crafted(None), n_levels=3, n_steps=5, feed_latency="data")


@pytest.mark.parametrize("bad", ["datum", "", "lognormal:1,1"])
def test_feed_latency_string_other_than_data_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="feed_latency"):
        gym.make(V1, data=crafted(None), n_levels=3, n_steps=5, feed_latency=bad)


def test_bad_receive_times_name_the_row() -> None:
    lag = np.full(N_ROWS, 0.1)
    lag[7] = -0.5  # received before it was sent
    with pytest.raises(BookDataError, match="line 8.*before its exchange time"):
        crafted(lag)
    book = OrderBook.from_arrays(
        np.arange(3.0),
        [[100.0]] * 3,
        [[1.0]] * 3,
        [[100.02]] * 3,
        [[1.0]] * 3,
        recv_time=[0.1, 1.1, np.nan],
        on_error="skip",
    )
    assert book.n_rows == 2 and book.recv_time is not None  # the NaN row dropped
    with pytest.raises(BookDataError, match="non-decreasing"):
        OrderBook.from_arrays(
            np.arange(3.0),
            [[100.0]] * 3,
            [[1.0]] * 3,
            [[100.02]] * 3,
            [[1.0]] * 3,
            recv_time=[0.5, 2.5, 2.0],
        )
    with pytest.raises(BookDataError, match="recv_time has shape"):
        OrderBook.from_arrays([0.0], [[100.0]], [[1.0]], [[100.02]], [[1.0]], recv_time=[0, 1])


def write_csv(path: Path, local: list[str]) -> Path:
    lines = ["timestamp,local_timestamp,ask_px_1,ask_qty_1,bid_px_1,bid_qty_1"]
    for k, loc in enumerate(local):
        lines.append(f"{k}.0,{loc},100.02,{3 + k},100.00,{5 + k}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_snapshot_file_local_timestamp_is_the_receive_clock(tmp_path: Path) -> None:
    pytest.importorskip("pandas", reason="the snapshot loader needs pandas (train extra)")
    from mm_env.data import load_snapshots

    book = load_snapshots(write_csv(tmp_path / "s.csv", ["0.25", "1.5", "2.5", "3.75"]))
    np.testing.assert_array_equal(book.recv_time, [0.25, 1.5, 2.5, 3.75])
    iso = ["2024-01-01T00:00:00.25Z", "2024-01-01T00:00:01.5Z"]
    lines = ["timestamp,local_timestamp,ask_px_1,ask_qty_1,bid_px_1,bid_qty_1"]
    lines += [
        "2024-01-01T00:00:00Z," + iso[0] + ",100.02,3,100.00,5",
        "2024-01-01T00:00:01Z," + iso[1] + ",100.02,4,100.00,6",
    ]
    (tmp_path / "iso.csv").write_text("\n".join(lines) + "\n")
    both = load_snapshots(tmp_path / "iso.csv")
    assert both.recv_time is not None
    # float64 seconds since 1970 resolve about 0.24 us (2**-22 s) in 2024
    np.testing.assert_allclose(both.recv_time - both.time, [0.25, 0.5], rtol=0, atol=5e-7)
    assert load_snapshots(write_csv(tmp_path / "n.csv", ["0", "1"])).n_rows == 2


def test_snapshot_file_bad_local_timestamps(tmp_path: Path) -> None:
    pytest.importorskip("pandas", reason="the snapshot loader needs pandas (train extra)")
    from mm_env.data import load_snapshots

    with pytest.raises(BookDataError, match="line 3.*before its exchange time"):
        load_snapshots(write_csv(tmp_path / "early.csv", ["0.5", "0.9", "2.5"]))
    skipped = load_snapshots(write_csv(tmp_path / "e2.csv", ["0.5", "0.9", "2.5"]), on_error="skip")
    assert skipped.n_rows == 2 and skipped.skipped_lines == (3,)
    with pytest.raises(BookDataError, match="line 3"):
        load_snapshots(write_csv(tmp_path / "text.csv", ["0.5", "soon", "2.5"]))
    with pytest.raises(BookDataError, match="non-decreasing"):
        load_snapshots(write_csv(tmp_path / "back.csv", ["0.5", "3.0", "2.5"]))


def with_trades(book: OrderBook) -> OrderBook:
    """``book`` with two trades (hftbacktest's format needs some)."""
    trades = {"time": [3.0, 9.0], "price": [100.02, 100.0], "size": [1.0, 2.0], "side": [1, -1]}
    return OrderBook.from_arrays(
        book.time,
        book.bid_prices,
        book.bid_sizes,
        book.ask_prices,
        book.ask_sizes,
        trades=trades,
        recv_time=book.recv_time,
    )


def test_to_hftbacktest_takes_local_ts_from_the_receive_clock() -> None:
    lag = np.linspace(0.001, 0.004, N_ROWS)
    book = with_trades(crafted(lag))
    events = to_hftbacktest(book, "l2")
    delay_ns = events["local_ts"] - events["exch_ts"]
    assert delay_ns.min() >= 1_000_000 and delay_ns.max() <= 4_000_000
    assert np.unique(delay_ns).size > 1  # each row's own delay
    with pytest.raises(ValueError, match="feed_latency"):
        to_hftbacktest(book, "l2", feed_latency=0.001)


def test_receive_clock_round_trips_through_hftbacktest_events() -> None:
    from mm_env.data.hftbacktest import from_hftbacktest

    lag = np.linspace(0.001, 0.004, N_ROWS)
    book = with_trades(crafted(lag))
    back = from_hftbacktest(to_hftbacktest(book, "l2"), n_levels=3)
    assert back.recv_time is not None and back.n_rows == book.n_rows
    np.testing.assert_allclose(back.recv_time, book.recv_time, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(back.bid_sizes, book.bid_sizes)
    one_clock = from_hftbacktest(to_hftbacktest(with_trades(crafted(None)), "l2"), n_levels=3)
    assert one_clock.recv_time is None
    shifted = from_hftbacktest(
        to_hftbacktest(with_trades(crafted(None)), "l2", feed_latency=0.002), 3
    )
    assert shifted.recv_time is not None
    np.testing.assert_allclose(shifted.recv_time - shifted.time, 0.002, rtol=0, atol=1e-9)
