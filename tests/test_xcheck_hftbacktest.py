"""mm_env.data.to_hftbacktest / from_hftbacktest, and Replay-v0/v1 checked against hftbacktest.

The converter tests run on the crafted LOBSTER book of ``tests/lobster_fixtures.py`` and need
neither hftbacktest nor the real data: replaying the emitted events in a plain dict book must
reproduce every recorded row, and the trade events must be the book's trades. The comparison
with hftbacktest itself (``benchmarks/xcheck_hftbacktest.py``) is the slow test at the end.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mm_env.data import OrderBook
from mm_env.data import hftbacktest as H
from tests.conftest import AAPL_SAMPLE, GOOG_DAY, ROOT, data_dir, needs_pandas
from tests.lobster_fixtures import Lobster, dollars, make_lobster

HAS_HFTBACKTEST = importlib.util.find_spec("hftbacktest") is not None
needs_hftbacktest = pytest.mark.skipif(
    not HAS_HFTBACKTEST, reason="hftbacktest is not installed (pip install 'mm_env[xcheck]')"
)


@pytest.fixture(scope="module")
def lob() -> Lobster:
    return make_lobster()


@pytest.fixture(scope="module")
def lobster_book(lob: Lobster, tmp_path_factory: pytest.TempPathFactory) -> OrderBook:
    pytest.importorskip("pandas")
    from mm_env.data import load_lobster

    b, m = lob.write(tmp_path_factory.mktemp("lobster"))
    return load_lobster(b, m)


def snapshot_book(lob: Lobster) -> OrderBook:
    """The crafted book as snapshot data with a trades file (no messages), from arrays: NumPy
    only, as a snapshot loader would give it."""
    ex = np.isin(lob.messages[:, 1], (4, 5))
    trades = {
        "time": lob.time[ex],
        "price": lob.messages[ex, 4] / 10000.0,
        "size": lob.messages[ex, 3].astype(np.float64),
        "side": -lob.messages[ex, 5].astype(np.float64),
    }
    return OrderBook.from_arrays(
        lob.time,
        dollars(lob.book[:, 2::4]),
        lob.book[:, 3::4],
        dollars(lob.book[:, 0::4]),
        lob.book[:, 1::4],
        trades=trades,
        source="crafted snapshots",
    )


def last_rows(book: OrderBook) -> np.ndarray:
    """The last row of every distinct timestamp (what a state at that time shows)."""
    t = book.time
    return np.append(np.flatnonzero(t[1:] != t[:-1]), t.size - 1)


def assert_depth_reproduces(events: np.ndarray, book: OrderBook) -> None:
    ts, bp, bs, ap, asz = H.replay_depth(events, book.n_levels)
    rows = last_rows(book)
    t_ns = np.round(book.time * 1e9).astype(np.int64)
    idx = np.searchsorted(ts, t_ns[rows], side="right") - 1  # the state at each time
    assert (idx >= 0).all()
    for got, want in ((bp, book.bid_prices), (bs, book.bid_sizes)):
        np.testing.assert_array_equal(got[idx], want[rows])
    for got, want in ((ap, book.ask_prices), (asz, book.ask_sizes)):
        np.testing.assert_array_equal(got[idx], want[rows])


def book_levels(levels: dict[int, dict[float, float]], n: int) -> list[list[Any]]:
    out = []
    for flag, bid in ((H.BUY_EVENT, True), (H.SELL_EVENT, False)):
        prices = sorted(levels[flag], reverse=bid)[:n]
        out.append([(p, levels[flag][p]) for p in prices])
    return out


# ---- the format -------------------------------------------------------------------------------
@needs_hftbacktest
def test_dtype_and_flags_are_hftbacktests() -> None:
    import hftbacktest as hbt
    from hftbacktest.types import event_dtype

    assert H.EVENT_DTYPE == event_dtype
    assert H.EVENT_DTYPE.itemsize == 64
    for name in (
        "DEPTH_EVENT",
        "TRADE_EVENT",
        "DEPTH_CLEAR_EVENT",
        "DEPTH_SNAPSHOT_EVENT",
        "DEPTH_BBO_EVENT",
        "ADD_ORDER_EVENT",
        "CANCEL_ORDER_EVENT",
        "MODIFY_ORDER_EVENT",
        "FILL_EVENT",
        "EXCH_EVENT",
        "LOCAL_EVENT",
        "BUY_EVENT",
        "SELL_EVENT",
    ):
        assert getattr(H, name) == getattr(hbt, name), name


def test_import_needs_neither_hftbacktest_nor_pandas() -> None:
    code = (
        "import sys, mm_env, mm_env.data\n"
        "from mm_env.data import to_hftbacktest, from_hftbacktest\n"
        "bad = [m for m in ('hftbacktest', 'pandas') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ---- L2: snapshot, depth diffs, trades ---------------------------------------------------------
@needs_pandas
def test_l2_depth_replays_every_row(lobster_book: OrderBook) -> None:
    events = H.to_hftbacktest(lobster_book, "l2")
    assert_depth_reproduces(events, lobster_book)
    kinds = events["ev"] & H.KIND_MASK
    n_snap = int((kinds == H.DEPTH_SNAPSHOT_EVENT).sum())
    assert n_snap == int((~np.isnan(lobster_book.bid_prices[0])).sum()) + int(
        (~np.isnan(lobster_book.ask_prices[0])).sum()
    )
    assert (kinds[:n_snap] == H.DEPTH_SNAPSHOT_EVENT).all()  # the book is valid from the start


@needs_pandas
def test_l2_trades_are_the_books(lobster_book: OrderBook) -> None:
    events = H.to_hftbacktest(lobster_book, "l2", time_origin_ns=5)
    tr = events[(events["ev"] & H.KIND_MASK) == H.TRADE_EVENT]
    b = lobster_book
    assert b.trade_row is not None and b.trade_side is not None
    keep = b.trade_row > 0  # row 0 is the snapshot, which reflects its trade already
    assert (~keep).sum() <= 1
    np.testing.assert_array_equal(tr["px"], b.trade_price[keep])  # type: ignore[index]
    np.testing.assert_array_equal(tr["qty"], b.trade_size[keep])  # type: ignore[index]
    t_ns = np.round(b.time * 1e9).astype(np.int64) + 5
    np.testing.assert_array_equal(tr["exch_ts"], t_ns[b.trade_row[keep]])
    buy = (tr["ev"] & H.BUY_EVENT) == H.BUY_EVENT
    sell = (tr["ev"] & H.SELL_EVENT) == H.SELL_EVENT
    np.testing.assert_array_equal(buy, b.trade_side[keep] > 0)
    np.testing.assert_array_equal(sell, b.trade_side[keep] < 0)
    # a row's trades come before its depth update (the update reflects them)
    for i in np.flatnonzero((events["ev"] & H.KIND_MASK) == H.TRADE_EVENT):
        same = events["exch_ts"] == events["exch_ts"][i]
        depth = np.flatnonzero(same & ((events["ev"] & H.KIND_MASK) == H.DEPTH_EVENT))
        assert depth.size == 0 or depth.min() > i
    # without the hidden executions (type 5)
    visible = H.to_hftbacktest(b, "l2", hidden_trades=False)
    n_visible = int((b.messages["type"].to_numpy()[b.trade_row[keep]] == 4).sum())
    assert int(((visible["ev"] & H.KIND_MASK) == H.TRADE_EVENT).sum()) == n_visible


def test_snapshot_data_without_pandas(lob: Lobster) -> None:
    book = snapshot_book(lob)
    events = H.to_hftbacktest(book)  # auto: no messages, so L2
    assert not np.isin(events["ev"] & H.KIND_MASK, (H.ADD_ORDER_EVENT, H.FILL_EVENT)).any()
    assert_depth_reproduces(events, book)
    assert ((events["ev"] & H.EXCH_EVENT) != 0).all() and (
        (events["ev"] & H.LOCAL_EVENT) != 0
    ).all()


def test_timestamps_and_feed_latency(lob: Lobster) -> None:
    book = snapshot_book(lob)
    origin = 1_340_236_800 * 10**9  # 2012-06-21 00:00 UTC
    events = H.to_hftbacktest(book, feed_latency=0.0015, time_origin_ns=origin)
    assert events.dtype == H.EVENT_DTYPE
    assert events["exch_ts"][0] == origin + round(book.time[0] * 1e9)
    np.testing.assert_array_equal(events["local_ts"] - events["exch_ts"], 1_500_000)
    assert (np.diff(events["exch_ts"]) >= 0).all()
    same = H.to_hftbacktest(book)
    np.testing.assert_array_equal(same["local_ts"], same["exch_ts"])  # no feed latency


def test_removals_come_first_so_no_state_is_crossed(lob: Lobster) -> None:
    events = H.to_hftbacktest(snapshot_book(lob), "l2")
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    for e in events:
        if int(e["ev"]) & H.KIND_MASK not in (H.DEPTH_EVENT, H.DEPTH_SNAPSHOT_EVENT):
            continue
        side = bids if int(e["ev"]) & H.BUY_EVENT else asks
        if e["qty"] > 0:
            side[float(e["px"])] = float(e["qty"])
        else:
            side.pop(float(e["px"]), None)
        if bids and asks:
            assert max(bids) < min(asks)


def test_round_trip(lob: Lobster) -> None:
    book = snapshot_book(lob)
    back = H.from_hftbacktest(H.to_hftbacktest(book), book.n_levels)
    rows = last_rows(book)
    # one row per timestamp with an event (a halt's repeated rows have none)
    idx = np.searchsorted(back.time, book.time[rows], side="right") - 1
    np.testing.assert_array_equal(back.bid_prices[idx], book.bid_prices[rows])
    np.testing.assert_array_equal(back.ask_sizes[idx], book.ask_sizes[rows])
    assert book.trade_row is not None and back.trade_row is not None
    keep = book.trade_row > 0
    np.testing.assert_array_equal(back.trade_price, book.trade_price[keep])  # type: ignore[index]
    np.testing.assert_array_equal(back.trade_side, book.trade_side[keep])  # type: ignore[index]
    np.testing.assert_allclose(back.time[back.trade_row], book.time[book.trade_row[keep]])


# ---- L3: orders from the messages ------------------------------------------------------------
@needs_pandas
def test_l3_orders_replay_every_row(lobster_book: OrderBook) -> None:
    book = lobster_book
    events = H.to_hftbacktest(book)  # auto: LOBSTER with messages, so L3
    kinds = events["ev"] & H.KIND_MASK
    assert set(np.unique(kinds)) <= {
        H.ADD_ORDER_EVENT,
        H.CANCEL_ORDER_EVENT,
        H.MODIFY_ORDER_EVENT,
        H.FILL_EVENT,
        H.TRADE_EVENT,
    }
    states = {ts: [dict(v) for v in lv.values()] for ts, lv in H.iter_order_books(events)}
    keys = np.array(sorted(states))
    t_ns = np.round(book.time * 1e9).astype(np.int64)
    for r in last_rows(book):
        j = int(np.searchsorted(keys, t_ns[r], side="right")) - 1
        bids, asks = states[int(keys[j])]
        got = book_levels({H.BUY_EVENT: bids, H.SELL_EVENT: asks}, book.n_levels)
        want_b = [
            (float(p), float(s)) for p, s in zip(book.bid_prices[r], book.bid_sizes[r]) if p == p
        ]
        want_a = [
            (float(p), float(s)) for p, s in zip(book.ask_prices[r], book.ask_sizes[r]) if p == p
        ]
        assert got == [want_b, want_a], f"row {r}"
    # the fixture's first orders (ids 1001-1006) are not in its messages: stand-ins hold them
    assert (events["order_id"][kinds == H.ADD_ORDER_EVENT] >= H.SYNTHETIC_ID_BASE).any()
    # every visible execution is a fill of a resting order, on that order's side
    msgs = book.messages
    n_exec = int((msgs["type"].to_numpy()[1:] == 4).sum())
    assert int((kinds == H.FILL_EVENT).sum()) == n_exec
    known = {int(i) for i in msgs["order_id"]}
    fills = events[kinds == H.FILL_EVENT]
    assert all(int(i) in known or i >= H.SYNTHETIC_ID_BASE for i in fills["order_id"])


# ---- bad input ---------------------------------------------------------------------------------
def test_bad_input(lob: Lobster) -> None:
    book = snapshot_book(lob)
    bare = OrderBook(book.time, book.bid_prices, book.bid_sizes, book.ask_prices, book.ask_sizes)
    with pytest.raises(ValueError, match="no trades"):
        H.to_hftbacktest(bare)
    with pytest.raises(ValueError, match="mode must be one of"):
        H.to_hftbacktest(book, "l4")
    with pytest.raises(ValueError, match="message file"):
        H.to_hftbacktest(book, "l3")
    with pytest.raises(ValueError, match="message file"):
        H.to_hftbacktest(book, hidden_trades=False)
    for bad in (-0.001, math.nan, math.inf):
        with pytest.raises(ValueError, match="feed_latency"):
            H.to_hftbacktest(book, feed_latency=bad)
    with pytest.raises(ValueError, match="OrderBook"):
        H.to_hftbacktest("book.csv")  # type: ignore[arg-type]
    events_unit = OrderBook(
        book.time, book.bid_prices, book.bid_sizes, book.ask_prices, book.ask_sizes,
        trade_row=book.trade_row, trade_price=book.trade_price, trade_size=book.trade_size,
        trade_side=book.trade_side, time_unit="events",
    )  # fmt: skip
    with pytest.raises(ValueError, match="no timestamps"):
        H.to_hftbacktest(events_unit)
    events = H.to_hftbacktest(book)
    with pytest.raises(ValueError, match="out of order"):
        H.validate_events(events[::-1].copy())
    l3 = np.zeros(1, dtype=H.EVENT_DTYPE)
    l3["ev"] = H.ADD_ORDER_EVENT | H.EXCH_EVENT | H.BUY_EVENT
    with pytest.raises(ValueError, match="L3"):
        H.from_hftbacktest(l3)
    with pytest.raises(ValueError, match="structured"):
        H.from_hftbacktest(np.zeros(3))


# ---- both engines (slow) ------------------------------------------------------------------------
def _harness() -> Any:
    spec = importlib.util.spec_from_file_location(
        "xcheck_hftbacktest", ROOT / "benchmarks" / "xcheck_hftbacktest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["xcheck_hftbacktest"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def _data(rel: str) -> Path:
    path = data_dir() / rel
    if not path.is_dir():
        pytest.skip(f"{path} not found (set MM_ENV_DATA to the folder holding lobster/)")
    return path


def _both(rel: str) -> tuple[Any, Any, Any, Any]:
    pytest.importorskip("pandas")
    if not HAS_HFTBACKTEST:
        pytest.skip("hftbacktest is not installed (pip install 'mm_env[xcheck]')")
    from mm_env.data import load_book

    x = _harness()
    book = load_book(_data(rel))
    n = x.n_clock_steps(book)
    theirs = x.run_hftbacktest(H.to_hftbacktest(book, "l2"), x.SETTINGS["base"], n)
    ours = x.run_mm_env(
        book, "mm_env/Replay-v0", x.ADAPTERS["mm_env/Replay-v0"](x.SETTINGS["base"])
    )
    return x, book, ours, theirs


_RESULTS: dict[str, Any] = {}


def _cached(rel: str) -> tuple[Any, Any, Any, Any]:
    if rel not in _RESULTS:
        _RESULTS[rel] = _both(rel)
    return _RESULTS[rel]


@pytest.mark.slow
@pytest.mark.parametrize("rel", [AAPL_SAMPLE, GOOG_DAY], ids=["aapl", "goog"])
def test_replay_v0_agrees_with_hftbacktest_but_for_crossing(rel: str) -> None:
    """Replay-v0 (latency 0, its risk-averse queue, partial fills, no fees) against hftbacktest
    2.4.4 (risk-averse queue, partial-fill exchange, latency 0, no fees), one lot at the touch
    every second, on L2 events from ``to_hftbacktest``.

    Tolerances, from the rules of the two engines (``benchmarks/xcheck_findings.md``):

    * every Replay-v0 fill is an hftbacktest fill, same step, side and price (tolerance 0): the
      queue rules are the same (join behind the displayed size, trades at our price consume it,
      the displayed size caps it) and the converter puts a row's trades before its depth update,
      so neither engine counts an execution twice;
    * every hftbacktest-only fill is one where the recorded book crossed our quote (the other
      side arrived at or through our price after our level emptied without an execution that
      reached us): hftbacktest fills a resting order when the best opposite price reaches it,
      Replay-v0 fills only on recorded executions. Count tolerance per side = the number of such
      fills (0 on the AAPL sample, 9 + 9 of about 1,100 on the GOOG day); beyond them, none;
    * PnL: hftbacktest's minus Replay-v0's equals, to 1e-6, the value of those extra fills marked
      at the last mid (sum of side x (mid_end - price)); final positions differ by their net.
    """
    x, book, ours, theirs = _cached(rel)
    ours_fills = {(f[0], f[1]): f[2] for f in ours.fills}
    their_fills = {(f[0], f[1]): f for f in theirs.fills}
    only_ours = set(ours_fills) - set(their_fills)
    assert not only_ours, sorted(only_ours)[:5]
    for key, price in ours_fills.items():
        assert their_fills[key][2] == pytest.approx(price, abs=1e-9)
    extra = [their_fills[k] for k in sorted(set(their_fills) - set(ours_fills))]
    causes = [x.classify(book, f[1], f[2], f[4]) for f in extra]
    assert set(causes) <= {"crossed"}, [(f, c) for f, c in zip(extra, causes) if c != "crossed"]
    for side, n_ours, n_theirs, q_ours, q_theirs in (
        (1, ours.bid_fills, theirs.bid_fills, ours.bid_qty, theirs.bid_qty),
        (-1, ours.ask_fills, theirs.ask_fills, ours.ask_qty, theirs.ask_qty),
    ):
        n_crossed = sum(1 for f in extra if f[1] == side)
        assert n_theirs - n_ours == n_crossed
        assert q_theirs - q_ours == pytest.approx(sum(f[3] for f in extra if f[1] == side))
    net = sum(f[1] * f[3] for f in extra)
    assert theirs.position - ours.position == pytest.approx(net)
    assert theirs.final_mid == pytest.approx(ours.final_mid, abs=1e-9)
    value = sum(f[1] * f[3] * (theirs.final_mid - f[2]) for f in extra)
    assert theirs.pnl - ours.pnl == pytest.approx(value, abs=1e-6)
    if rel == AAPL_SAMPLE:  # the sample has no crossing: the engines agree exactly
        assert not extra
        assert (ours.bid_fills, ours.ask_fills, ours.position) == (6, 4, 2)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="Replay-v0 does not fill a resting quote that the book crosses (an order arriving at "
    "or through our price after our level emptied without an execution reaching us); "
    "hftbacktest does; Replay-v1 does too (test_replay_v1_equals_hftbacktest_fill_for_fill), "
    "Replay-v0 keeps its published rule",
)
def test_goog_fills_equal_hftbacktest_exactly() -> None:
    _, _, ours, theirs = _cached(GOOG_DAY)
    assert (ours.bid_fills, ours.ask_fills) == (theirs.bid_fills, theirs.ask_fills)


_V1: dict[tuple[str, str], tuple[Any, Any]] = {}


def _v1(rel: str, setting: str) -> tuple[Any, Any]:
    """(Replay-v1's result, hftbacktest's) for one setting of the harness, cached per run."""
    if (rel, setting) not in _V1:
        x, book, _, _ = _cached(rel)
        s = x.SETTINGS[setting]
        n = x.n_clock_steps(book)
        theirs = x.run_hftbacktest(H.to_hftbacktest(book, "l2"), s, n)
        ours = x.run_mm_env(book, "mm_env/Replay-v1", x.ADAPTERS["mm_env/Replay-v1"](s))
        _V1[(rel, setting)] = (ours, theirs)
    return _V1[(rel, setting)]


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["base", "fees"])
@pytest.mark.parametrize("rel", [AAPL_SAMPLE, GOOG_DAY], ids=["aapl", "goog"])
def test_replay_v1_equals_hftbacktest_fill_for_fill(rel: str, setting: str) -> None:
    """Replay-v1 with the risk-averse queue, latency 0 (and a 0.2 bp maker rebate, 0.3 bp taker
    fee in ``fees``) against hftbacktest 2.4.4 with the same: the same fills (step, side, price,
    quantity), position, fees and PnL (tolerance 1e-6: float sums in two orders). Replay-v1
    fills a resting quote that the book crosses, the rule Replay-v0 lacks."""
    ours, theirs = _v1(rel, setting)

    def rounded(fills: list) -> list:
        return sorted((f[0], f[1], round(f[2], 6), round(f[3], 6)) for f in fills)

    assert rounded(ours.fills) == rounded(theirs.fills)
    assert ours.position == pytest.approx(theirs.position, abs=1e-6)
    assert ours.fees == pytest.approx(theirs.fees, abs=1e-6)
    assert ours.pnl == pytest.approx(theirs.pnl, abs=1e-6)
    assert (setting == "fees") == (ours.fees != 0.0)


@pytest.mark.slow
def test_replay_v1_power2_differs_only_by_sub_lot_fills() -> None:
    """hftbacktest's power-2 queue against Replay-v1's on the GOOG day. The formulas are the
    same (``mm_env.execution``), but hftbacktest fills in whole lots (``lot_size`` 1) and
    mm_env in any quantity: a probabilistic front that ends a fraction of a lot short of zero
    fills that fraction in mm_env only. So: every hftbacktest fill is an mm_env fill (same
    step, side, price); every mm_env-only fill is smaller than a lot; the quantities of the
    shared fills differ by less than a lot in total; PnL differs by less than the value of
    those fractions moved across the day's price range."""
    ours, theirs = _v1(GOOG_DAY, "power2")
    mine = {(f[0], f[1], round(f[2], 6)): f[3] for f in ours.fills}
    their = {(f[0], f[1], round(f[2], 6)): f[3] for f in theirs.fills}
    assert set(their) <= set(mine)
    extra = [mine[k] for k in set(mine) - set(their)]
    assert all(q < 1.0 for q in extra), extra
    assert sum(abs(mine[k] - their[k]) for k in their) < 1.0
    frac = sum(extra) + sum(abs(mine[k] - their[k]) for k in their)
    assert abs(ours.pnl - theirs.pnl) <= frac * 50.0  # GOOG ranged within $50 that day


@pytest.mark.slow
def test_replay_v1_latency_10ms_differs_only_by_reporting() -> None:
    """10 ms entry and response latency on the GOOG day: the same fills, read differently.

    mm_env's ``info`` gives a step's fills at the step their exchange time falls in (several
    fills of one side in one step as one total at their mean price); the harness reads
    hftbacktest's fills when their response reaches the strategy, 10 ms later. So hftbacktest's
    fills are binned here by exchange time on mm_env's step grid (it starts at the book's
    first time), and per (step, side) the quantity and the traded value must agree, as must
    position and PnL (1e-6: float sums in two orders). Both engines decide whether to send a
    request on what the strategy knows (``mm_env.execution``, "The agent's view of its
    orders"): before that rule Replay-v1 re-sent a quote filled less than 10 ms before a
    decision at once, and made one fill (of about 1,100) that hftbacktest did not.
    """
    _, book, _, _ = _cached(GOOG_DAY)
    ours, theirs = _v1(GOOG_DAY, "lat10")
    t0 = float(book.time[0])

    def per_step(fills: list, step_of: Any) -> dict[tuple[int, int], tuple[float, float]]:
        out: dict[tuple[int, int], tuple[float, float]] = {}
        for f in fills:
            key = (step_of(f), f[1])
            q, v = out.get(key, (0.0, 0.0))
            out[key] = (q + f[3], v + f[3] * f[2])
        return out

    mine = per_step(ours.fills, lambda f: f[0])
    their = per_step(theirs.fills, lambda f: int(math.floor(f[4] - t0)))
    assert set(mine) == set(their)
    for k in mine:
        assert mine[k] == pytest.approx(their[k], abs=1e-6), k
    assert len(ours.fills) > 1000
    assert ours.position == pytest.approx(theirs.position, abs=1e-6)
    assert ours.pnl == pytest.approx(theirs.pnl, abs=1e-6)
