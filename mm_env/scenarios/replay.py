"""A recorded order book replayed through the shared core (``mm_env/Replay-v0``).

See :class:`mm_env.config.ReplayConfig` for the clock, the episodes and the train/test split.

Each step shows the agent the recorded book state (observation exactly as in the synthetic
scenarios: level-1 imbalance, spread, optional depth imbalances, ...); the agent's quotes are
placed against that state and the recorded events up to the next shown state are replayed
against them.

Steps. Per event (``step_seconds=None``) means one step per distinct timestamp: a step shows the
book after the last event of a timestamp and replays every event of the next timestamp against
the quotes placed on it. LOBSTER writes one marketable order that walks several price levels or
resting orders as several messages (book rows) with the same timestamp; a step per row would
refill our quote between them, so that one aggressive order could fill it several times. With a
step per timestamp that order meets our quote once, and the cap of ``order_size`` per side per
step holds against it. (A book without timestamps, a LOBSTER orderbook file read without its
message file, steps once per row.) On a clock (``step_seconds``) a step shows the last book state
at or before the end of its interval, so it never splits a timestamp either.

Fill model (the synthetic scenario's queue machinery, :func:`~mm_env.scenarios.synthetic.
queue_ahead` and :func:`~mm_env.scenarios.synthetic.sweep`, applied to real executions):

* Quotes are placed on the tick grid against the shown book by the core's rule
  (:mod:`mm_env.core`, "Quote placement"): rounded away from the mid, post-only, our ask at
  least one tick above our bid.
* Queue position. A quote joins behind the size displayed at its price when it is placed
  (conservative: every displayed order there is ahead of us); a quote that improves the best
  price has nothing ahead; a quote inside a gap of the book has nothing ahead; a quote beyond
  the visible levels has an unknown queue, counted as infinite until its price becomes visible.
  A quote keeps the position of our resting quote of the previous step only if it is the same
  order: same price, nothing of it filled in that step, and not larger (a quote grows when
  the inventory limit allowed less before). Otherwise it is placed anew, behind all the size
  displayed at its price: after any fill, partial or full, our quote re-joins at the back of
  the queue at its price, with its full size. The state holds one queue position per side, so
  a partly filled quote cannot keep its remainder's place while its top-up joins behind; sending
  the whole quote to the back is the conservative choice (an execution fills it no more than it
  would fill that remainder and top-up), where keeping the place for the topped-up size would
  let the top-up jump the orders that arrived in between.
  After every replayed event the queue ahead is refreshed to min(queue ahead, displayed size at
  our price): cancellations ahead of us move us up.
* Executions. A recorded execution of size v at price p against our side (a seller-initiated
  trade for our bid, a buyer-initiated one for our ask) fills us: entirely up to our remaining
  size when our price is strictly better than p (price priority: the aggressor met us first);
  after the queue ahead is consumed when our price equals p; not at all when our price is
  worse. An execution between two ticks (a hidden midpoint execution at half a cent) is
  compared at its own price: it never equals a quote's price. Partial fills; at most
  ``order_size`` per side per step and never beyond the inventory limit.
* Executions come from LOBSTER's message file (event types 4 and 5, visible and hidden) or the
  trades file of the snapshot layout (``trades_path=``, or an OrderBook loaded with it).
  Without either, and with ``infer_trades=True``, executions are inferred from depletion of the
  best levels: a best level whose size falls (price unchanged) or that disappears counts as
  executed by the missing size. Cancellations look the same, so inferred fills are an upper
  bound (optimistic).
* Our orders do not move the replayed book: the recorded book is shown as it was, whatever we
  traded, and our fills do not consume the executions seen by the queue ahead of anyone else.
  Sizes of our quotes should stay small against the displayed sizes for this to be credible.

Random contract: at reset, one integer per row (the episode's first step); steps draw nothing.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from mm_env.config import ReplayConfig
from mm_env.core import (
    ASK_QUOTE,
    BID_QUOTE,
    N_COMMON,
    N_COMMON_PARAMS,
    P_ORDER_SIZE,
    P_TOL,
    Simulator,
    begin_step,
    buy_capacity,
    fill_ask,
    fill_bid,
    grid_quotes,
    imbalance_of,
    quotes_from_action,
    sell_capacity,
    settle,
    step_kernel,
    write_observation,
)
from mm_env.data.book import OrderBook
from mm_env.scenarios.synthetic import EMPTY, queue_ahead, sweep

#: rows from which the multi-threaded build runs: this scenario's rows cost enough that the
#: second thread pays from a few hundred rows (replay at 1024 rows: 4.3M env-steps/s against
#: 2.5M serial), unlike the lighter rows of core.PARALLEL_MIN_ROWS
PARALLEL_MIN_ROWS = 256

# book-specific state columns
GRID = N_COMMON + 0  # index of the step shown now in the split's step grid
OUR_BID_TICKS = N_COMMON + 1  # price of our resting bid after the last step (NaN: none)
OUR_ASK_TICKS = N_COMMON + 2
BID_AHEAD = N_COMMON + 3  # displayed size ahead of our resting bid
ASK_AHEAD = N_COMMON + 4
OUR_BID_SIZE = N_COMMON + 5  # size of our resting bid (it keeps its place only if not larger)
OUR_ASK_SIZE = N_COMMON + 6
N_STATE = N_COMMON + 7

# book parameters
P_TICK = N_COMMON_PARAMS + 0


@njit(cache=True, inline="always")
def level_of(prices_t: NDArray[np.float64], quote_t: float, bid_side: bool) -> int:
    """Our quote's place on one side of a recorded book (prices in ticks, best first).

    -1: it improves the best price, or sits in a gap of the book (nothing displayed there);
    j: it joins level j; n_levels: beyond the visible (or recorded) levels.
    """
    n = prices_t.shape[0]
    for j in range(n):
        p = prices_t[j]
        if math.isnan(p):
            return n
        if p == quote_t:
            return j
        if (p < quote_t) if bid_side else (p > quote_t):
            return -1
    return n


@njit(cache=True, inline="always")
def displayed_ahead(
    prices_t: NDArray[np.float64],
    sizes: NDArray[np.float64],
    quote_t: float,
    bid_side: bool,
    ahead: float,
) -> float:
    """The queue ahead of a resting quote refreshed to the displayed size at its price."""
    level = level_of(prices_t, quote_t, bid_side)
    return queue_ahead(sizes, level, True, ahead) if level < sizes.shape[0] else ahead


@njit(cache=True, inline="always")
def _replay_observe(
    state, i, b, bid_t, bid_sz, ask_t, ask_sz, params, depths, obs
) -> None:  # pragma: no cover - inlined
    tick = params[P_TICK]
    bt = bid_t[b, 0]
    at = ask_t[b, 0]
    write_observation(
        obs,
        i,
        state,
        imbalance_of(bid_sz[b], ask_sz[b], 1),
        (at - bt) * tick,
        0.5 * (bt + at) * tick,
        bid_sz[b],
        ask_sz[b],
        depths,
        params,
    )


@njit(cache=True, inline="always")
def _replay_step_row(
    i,
    state,
    bid_t,
    bid_sz,
    ask_t,
    ask_sz,
    grid,
    trade_ptr,
    trade_t,
    trade_size,
    trade_side,
    params,
    actions,
    depths,
    obs,
    truncated,
    scratch,
) -> None:
    tick = params[P_TICK]
    tol_ticks = params[P_TOL] / tick
    g = int(state[i, GRID])
    a = grid[g]
    b = grid[g + 1]
    bt = bid_t[a, 0]
    at = ask_t[a, 0]
    begin_step(
        state,
        i,
        0.5 * (bt + at) * tick,
        bt * tick,
        at * tick,
        (at - bt) * tick,
        imbalance_of(bid_sz[a], ask_sz[a], 1),
    )
    qb, qa = quotes_from_action(state, i, actions[i, 0], actions[i, 1], params)
    qb_t, qa_t = grid_quotes(qb, qa, bt, at, tick, tol_ticks)
    state[i, BID_QUOTE] = qb_t * tick
    state[i, ASK_QUOTE] = qa_t * tick
    bid_size = min(params[P_ORDER_SIZE], buy_capacity(state, i, params))
    ask_size = min(params[P_ORDER_SIZE], sell_capacity(state, i, params))
    # the same order as our resting one (same price, untouched, not larger) keeps its place
    bid_same = qb_t == state[i, OUR_BID_TICKS] and bid_size <= state[i, OUR_BID_SIZE]
    ask_same = qa_t == state[i, OUR_ASK_TICKS] and ask_size <= state[i, OUR_ASK_SIZE]
    bid_level = level_of(bid_t[a], qb_t, True)
    ask_level = level_of(ask_t[a], qa_t, False)
    bid_ahead = queue_ahead(bid_sz[a], bid_level, bid_same, state[i, BID_AHEAD])
    ask_ahead = queue_ahead(ask_sz[a], ask_level, ask_same, state[i, ASK_AHEAD])
    bid_left = bid_size
    ask_left = ask_size
    # replay the recorded events a+1..b (the next timestamp's, per event) against our quotes
    for k in range(a + 1, b + 1):
        for j in range(trade_ptr[k], trade_ptr[k + 1]):
            p = trade_t[j]
            v = trade_size[j]
            cell = scratch[i]  # one-level book for sweep(): the execution's own volume
            cell[0] = v
            if trade_side[j] < 0.0:  # a seller hit the bids
                if bid_left > EMPTY:
                    rel = -1 if p < qb_t else (0 if p == qb_t else 1)
                    ours, bid_ahead = sweep(cell, rel, bid_ahead, bid_left, v)
                    bid_left -= fill_bid(state, i, ours, qb_t * tick, params)
            elif ask_left > EMPTY:  # a buyer lifted the asks
                rel = -1 if p > qa_t else (0 if p == qa_t else 1)
                ours, ask_ahead = sweep(cell, rel, ask_ahead, ask_left, v)
                ask_left -= fill_ask(state, i, ours, qa_t * tick, params)
        bid_ahead = displayed_ahead(bid_t[k], bid_sz[k], qb_t, True, bid_ahead)
        ask_ahead = displayed_ahead(ask_t[k], ask_sz[k], qa_t, False, ask_ahead)
    # a quote rests on only if nothing of it filled: after any fill it re-joins at the back
    state[i, OUR_BID_TICKS] = qb_t if bid_size > EMPTY and bid_left == bid_size else math.nan
    state[i, OUR_ASK_TICKS] = qa_t if ask_size > EMPTY and ask_left == ask_size else math.nan
    state[i, OUR_BID_SIZE] = bid_size
    state[i, OUR_ASK_SIZE] = ask_size
    state[i, BID_AHEAD] = bid_ahead
    state[i, ASK_AHEAD] = ask_ahead
    state[i, GRID] = g + 1
    truncated[i] = settle(state, i, params)
    _replay_observe(state, i, b, bid_t, bid_sz, ask_t, ask_sz, params, depths, obs)


@step_kernel()
def replay_step(
    state,
    bid_t,
    bid_sz,
    ask_t,
    ask_sz,
    grid,
    trade_ptr,
    trade_t,
    trade_size,
    trade_side,
    params,
    actions,
    depths,
    obs,
    truncated,
    active,
    scratch,
):
    """Step every active row (serial; for small batches and the single env)."""
    for i in range(state.shape[0]):
        if active[i]:
            _replay_step_row(
                i,
                state,
                bid_t,
                bid_sz,
                ask_t,
                ask_sz,
                grid,
                trade_ptr,
                trade_t,
                trade_size,
                trade_side,
                params,
                actions,
                depths,
                obs,
                truncated,
                scratch,
            )


@step_kernel(parallel=True)
def replay_step_parallel(
    state,
    bid_t,
    bid_sz,
    ask_t,
    ask_sz,
    grid,
    trade_ptr,
    trade_t,
    trade_size,
    trade_side,
    params,
    actions,
    depths,
    obs,
    truncated,
    active,
    scratch,
):
    """Step every active row on all cores (rows are independent; the book is read-only)."""
    for i in prange(state.shape[0]):
        if active[i]:
            _replay_step_row(
                i,
                state,
                bid_t,
                bid_sz,
                ask_t,
                ask_sz,
                grid,
                trade_ptr,
                trade_t,
                trade_size,
                trade_side,
                params,
                actions,
                depths,
                obs,
                truncated,
                scratch,
            )


@njit(cache=True)
def replay_reset_rows(state, rows, bid_t, bid_sz, ask_t, ask_sz, grid, params, depths, obs):
    tick = params[P_TICK]
    for i in rows:
        a = grid[int(state[i, GRID])]
        bt = bid_t[a, 0]
        at = ask_t[a, 0]
        state[i, OUR_BID_TICKS] = math.nan
        state[i, OUR_ASK_TICKS] = math.nan
        state[i, OUR_BID_SIZE] = 0.0
        state[i, OUR_ASK_SIZE] = 0.0
        imb = imbalance_of(bid_sz[a], ask_sz[a], 1)
        begin_step(state, i, 0.5 * (bt + at) * tick, bt * tick, at * tick, (at - bt) * tick, imb)
        _replay_observe(state, i, a, bid_t, bid_sz, ask_t, ask_sz, params, depths, obs)


# ---- preparing a loaded book for the kernels ----------------------------------------------------
_CACHE: OrderedDict[tuple[tuple[str, int, int], ...], OrderBook] = OrderedDict()
_CACHE_SIZE = 4


def _file_key(path: Path) -> tuple[str, int, int]:
    """(path, size, modification time) of a file or folder; size -1 when it does not exist
    (never cached: loading it raises, naming the missing file)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return str(path), -1, -1
    return str(path), stat.st_size, stat.st_mtime_ns


def resolve_data(data: Any, config: ReplayConfig) -> OrderBook:
    """The OrderBook to replay: ``data`` itself, or loaded from ``data`` / ``config.data_path``
    (a snapshot file with the trades of ``config.trades_path``, if given).

    Loaded paths are kept in a small in-process cache (by path, size and modification time of
    the book and of the trades file), so making many envs over one file reads it once.
    ``trades_path`` with an already-loaded OrderBook or with LOBSTER data raises
    ``ValueError``; a missing file raises ``FileNotFoundError``.
    """
    trades = config.trades_path
    if isinstance(data, OrderBook):
        if trades is not None:
            raise ValueError(
                f"config field 'trades_path': data= is an already-loaded OrderBook ({data.source})"
                ", which keeps the trades it was loaded with; pass the snapshot file's path as "
                "data=, or load it with its trades: mm_env.data.load_snapshots(path, trades_path)"
            )
        return data
    path = data if data is not None else config.data_path
    if path is None:
        raise ValueError(
            "the replay scenario needs data: gym.make('mm_env/Replay-v0', data=<path or "
            "mm_env.data.OrderBook>)"
        )
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"data must be a path or an mm_env.data.OrderBook, got {type(data)!r}")
    from mm_env.data.loaders import load_book

    p = Path(path).resolve()
    t = Path(trades).resolve() if trades is not None else None
    key = (_file_key(p),) if t is None else (_file_key(p), _file_key(t))
    if key not in _CACHE:
        _CACHE[key] = load_book(p, trades_path=t)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return _CACHE[key]


def data_source(data: Any) -> str | None:
    """What ``ReplayConfig.data_path`` records for a ``data`` argument."""
    if data is None:
        return None
    if isinstance(data, OrderBook):
        return data.source
    return str(data)


def infer_trades(book: OrderBook, n_levels: int) -> dict[str, NDArray[Any]]:
    """Executions inferred from the depletion of the best levels (an upper bound; see module)."""
    rows, prices, sizes, sides = [], [], [], []
    sides_data = ((-1.0, book.bid_prices, book.bid_sizes), (1.0, book.ask_prices, book.ask_sizes))
    for side, px, sz in sides_data:
        p0, s0 = px[:-1, 0], sz[:-1, 0]
        p1, s1 = px[1:, 0], sz[1:, 0]
        same = (p1 == p0) & (s1 < s0)
        gone = (p1 < p0) if side < 0 else (p1 > p0)
        for mask, amount in ((same, s0 - s1), (gone, s0)):
            k = np.flatnonzero(mask)
            rows.append(k + 1)
            prices.append(p0[k])
            sizes.append(amount[k])
            sides.append(np.full(k.size, side))
    r = np.concatenate(rows)
    order = np.argsort(r, kind="stable")
    return {
        "row": r[order].astype(np.int64),
        "price": np.concatenate(prices)[order],
        "size": np.concatenate(sizes)[order],
        "side": np.concatenate(sides)[order],
    }


def split_rows(book: OrderBook, config: ReplayConfig) -> tuple[int, int]:
    """First and one-past-last book row of the config's split."""
    t = book.time
    if config.split == "all":
        return 0, book.n_rows
    cut = config.split_time
    if cut is None:
        cut = t[0] + config.split_fraction * (t[-1] - t[0])
    k = int(np.searchsorted(t, cut, side="left"))
    return (0, k) if config.split == "train" else (k, book.n_rows)


def step_grid(book: OrderBook, config: ReplayConfig) -> NDArray[np.int64]:
    """The book row shown at each step of the split: per event, the last row of each distinct
    timestamp (the events of one timestamp are replayed together); on the clock, the last row
    at or before each tick."""
    r0, r1 = split_rows(book, config)
    if r1 - r0 < 2:
        raise ValueError(
            f"config field 'split': the {config.split!r} split of {book.source} has "
            f"{r1 - r0} rows; it needs at least 2"
        )
    if config.step_seconds is None:
        t = book.time[r0:r1]
        last = np.flatnonzero(t[1:] != t[:-1])  # the last row of every timestamp but the final
        grid = np.append(last + r0, r1 - 1).astype(np.int64)
        if grid.size < 2:
            raise ValueError(
                f"config field 'split': the {config.split!r} split of {book.source} has a "
                f"single timestamp ({t[0]}); per event it needs at least 2 distinct ones"
            )
        return grid
    if book.time_unit != "seconds":
        raise ValueError(
            f"config field 'step_seconds': {book.source} has no timestamps (a LOBSTER "
            "orderbook without its message file); step per event (step_seconds=None)"
        )
    t = book.time[r0:r1]
    n = int(math.floor((t[-1] - t[0]) / config.step_seconds + 1e-9)) + 1
    clock = t[0] + config.step_seconds * np.arange(n)
    return (np.searchsorted(t, clock, side="right") - 1 + r0).astype(np.int64)


class ReplaySimulator(Simulator):
    """A recorded book (shared, read-only, by every row) and fills against its executions."""

    config: ReplayConfig
    n_state = N_STATE
    takes_data = True

    def __init__(self, config: ReplayConfig, n_envs: int = 1, data: Any = None) -> None:
        book = resolve_data(data, config)
        if book.n_levels < config.n_levels:
            raise ValueError(
                f"config field 'n_levels': {book.source} has {book.n_levels} levels per side, "
                f"fewer than n_levels={config.n_levels}; pass n_levels={book.n_levels}"
            )
        if config.spread_unit is None:  # record the data's median spread in the config
            r0, r1 = split_rows(book, config)
            config = config.replace(spread_unit=float(np.median(book.spread[r0:r1])))
        super().__init__(config, n_envs)
        self.book = book
        self._scratch = np.zeros((self.n_envs, 1))
        tick = config.tick_size
        L = config.n_levels
        self.bid_ticks = self._to_ticks(book.bid_prices[:, :L], "bid prices")
        self.ask_ticks = self._to_ticks(book.ask_prices[:, :L], "ask prices")
        self.bid_sizes = np.ascontiguousarray(book.bid_sizes[:, :L])
        self.ask_sizes = np.ascontiguousarray(book.ask_sizes[:, :L])
        self.grid = step_grid(book, config)
        n_avail = self.grid.size - 1
        if n_avail < config.n_steps:
            raise ValueError(
                f"config field 'n_steps': the {config.split!r} split of {book.source} has "
                f"{n_avail} steps (step_seconds={config.step_seconds}), fewer than "
                f"n_steps={config.n_steps}"
            )
        trades: dict[str, Any]
        if book.has_trades:
            trades = {
                "row": book.trade_row,
                "price": book.trade_price,
                "size": book.trade_size,
                "side": book.trade_side,
            }
            self.trades_inferred = False
        elif config.infer_trades:
            trades = infer_trades(book, L)
            self.trades_inferred = True
        else:
            raise ValueError(
                f"config field 'infer_trades': {book.source} has no trades or messages; "
                "set infer_trades=True to infer executions from best-level depletion"
            )
        counts = np.bincount(np.asarray(trades["row"], dtype=np.int64), minlength=book.n_rows)
        self.trade_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # Execution prices in ticks, kept fractional when off the grid: NASDAQ's hidden midpoint
        # executions print at half cents (GOOG 2012-06-21 has 50). The kernel only compares
        # them with our quote's tick (better, equal, worse), so a fractional tick is exact, where
        # rounding would put a 585.485 sale at 585.48 and fill a bid there that it never met.
        # Within 1e-6 tick of the grid it is floating-point noise and snaps to the grid.
        exact = np.asarray(trades["price"], dtype=np.float64) / tick
        nearest = np.round(exact)
        self.trade_ticks = np.where(np.abs(exact - nearest) <= 1e-6, nearest, exact)
        self.trade_size = np.asarray(trades["size"], dtype=np.float64)
        self.trade_side = np.asarray(trades["side"], dtype=np.float64)

    def _to_ticks(self, prices: NDArray[np.float64], what: str) -> NDArray[np.float64]:
        """Prices as whole ticks; one more than 1e-6 tick off the grid raises, naming its line.

        (float32 Parquet prices are read as the decimals they store, so a decimal grid holds:
        :func:`mm_env.data.loaders._float32_as_decimal`.)
        """
        tick = self.config.tick_size
        ticks = np.round(prices / tick)
        off = np.abs(prices / tick - ticks)  # NaN for empty levels, never > 1e-6
        bad = off > 1e-6
        if bad.any():
            k, j = (int(x) for x in np.argwhere(bad)[0])
            lines = self.book.lines
            where = f"line {int(lines[k])}" if lines is not None else f"row {k}"
            raise ValueError(
                f"config field 'tick_size': {what} of {self.book.source} are not on a grid of "
                f"{tick}: {where}, level {j + 1}: {float(prices[k, j])!r} is {off[k, j]:.3g} "
                f"ticks off ({int(bad.sum())} prices off, by up to {np.nanmax(off):.3g} ticks); "
                "pass the data's tick_size"
            )
        return np.ascontiguousarray(ticks)

    def book_params(self) -> list[float]:
        return [self.config.tick_size]

    @property
    def n_available_steps(self) -> int:
        """Steps in the split (episodes are windows of n_steps of them)."""
        return int(self.grid.size - 1)

    def _reset_rows(self, rows: NDArray[np.intp], rng: np.random.Generator) -> None:
        last_start = self.n_available_steps - self.config.n_steps
        self.state[rows, GRID] = rng.integers(0, last_start + 1, size=rows.size)
        replay_reset_rows(
            self.state,
            rows,
            self.bid_ticks,
            self.bid_sizes,
            self.ask_ticks,
            self.ask_sizes,
            self.grid,
            self.params,
            self.depths,
            self.obs,
        )

    def _step_kernel(
        self, actions: NDArray[np.float64], rng: np.random.Generator, active: NDArray[np.bool_]
    ) -> None:
        kernel = replay_step_parallel if self.n_envs >= PARALLEL_MIN_ROWS else replay_step
        kernel(
            *self._book_args, actions, self.depths, self.obs, self.truncated, active, self._scratch
        )

    def _step_one_kernel(self, rng: np.random.Generator) -> None:
        """The single env's hot path: the serial kernel with its arguments prepared once (a
        replay step draws nothing)."""
        args = self.__dict__.get("_one_args")
        if args is None:
            args = (
                *self._book_args,
                self._one_action,
                self.depths,
                self.obs,
                self.truncated,
                self._all_rows,
                self._scratch,
            )
            self.__dict__["_one_args"] = args
        replay_step(*args)

    @property
    def _book_args(self) -> tuple[Any, ...]:
        """The kernels' read-only book arguments and the state (built once: the hot path)."""
        args = self.__dict__.get("_book_args_cache")
        if args is None:
            args = (
                self.state,
                self.bid_ticks,
                self.bid_sizes,
                self.ask_ticks,
                self.ask_sizes,
                self.grid,
                self.trade_ptr,
                self.trade_ticks,
                self.trade_size,
                self.trade_side,
                self.params,
            )
            self.__dict__["_book_args_cache"] = args
        return args

    def book_snapshot(self, row: int = 0) -> dict[str, NDArray[np.float64]]:
        k = self.grid[int(self.state[row, GRID])]
        tick = self.config.tick_size
        return {
            "bid_prices": self.bid_ticks[k] * tick,
            "bid_sizes": self.bid_sizes[k].copy(),
            "ask_prices": self.ask_ticks[k] * tick,
            "ask_sizes": self.ask_sizes[k].copy(),
        }

    def time_of_step(self, row: int = 0) -> float:
        """The recorded time of the book state row ``row`` shows now."""
        return float(self.book.time[self.grid[int(self.state[row, GRID])]])
