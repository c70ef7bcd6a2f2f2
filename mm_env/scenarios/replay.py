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

Fill model: the rules of :mod:`mm_env.execution` (quote placement, our resting orders, the
queue models, fills through our price, latency, fees), stated there once, applied to the
recorded executions (Replay-v0: the risk-averse queue, the whole quote to the back after any
fill, no latency, no fees; Replay-v1: see :class:`~mm_env.env.MarketMakingEnv`'s Version
History). An execution between two ticks (a hidden midpoint execution at half a cent) is
compared at its own price: it never equals a quote's price. At most ``order_size`` per side per
step, never beyond the inventory limit.

* Executions come from LOBSTER's message file (event types 4 and 5, visible and hidden) or the
  trades file of the snapshot layout (``trades_path=``, or an OrderBook loaded with it).
  Without either, and with ``infer_trades=True``, executions are inferred from depletion of the
  best levels: a best level whose size falls (price unchanged) or that disappears counts as
  executed by the missing size. Cancellations look the same, so inferred fills are an upper
  bound (optimistic).
* Our orders do not move the replayed book: the recorded book is shown as it was, whatever we
  traded, and our fills do not consume the executions seen by the queue ahead of anyone else.
  Sizes of our quotes should stay small against the displayed sizes for this to be credible.

Random contract: at reset, one integer per row (the episode's first step); steps draw nothing,
unless a latency is a distribution (:mod:`mm_env.execution`, "Latency").
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from mm_env.config import ReplayConfig
from mm_env.core import (
    ASK_QUOTE,
    BID_QUOTE,
    INVENTORY,
    MID,
    P_INV_NORM,
    P_LIQUIDATE,
    P_ORDER_SIZE,
    REWARD,
    Simulator,
    begin_step,
    buy_capacity,
    imbalance_of,
    quotes_from_action,
    row_function,
    sell_capacity,
    settle,
    step_kernel,
    write_observation,
)
from mm_env.data.book import OrderBook
from mm_env.execution import (
    EMPTY,
    EXEC_INFO_KEYS,
    N_EXEC_INFO,
    N_EXEC_STATE,
    N_UNSEEN,
    O_BEHIND,
    O_FRONT,
    O_FRONT2,
    O_JOIN,
    O_JOIN2,
    O_N_PEND,
    O_PEND,
    O_PRICE,
    O_SIZE,
    O_SIZE2,
    QM_EXACT,
    QM_RISK_AVERSE,
    RING_COLS,
    X_BID_FLIGHT,
    X_BID_LIVE,
    X_FEES,
    X_KNOWN_INV,
    X_REJECTED,
    LatencySampler,
    arrive,
    col,
    depth_update,
    displayed_at,
    exec_params,
    exec_record,
    execution_share,
    fill,
    first_rows,
    grid_quotes,
    known_inventory,
    note_arrival,
    parse_queue_model,
    pop_request,
    reset_orders,
    send_requests,
    taker_fee,
    update_trade_flow,
    write_order_observation,
)

#: rows from which the multi-threaded build runs: this scenario's rows cost enough that the
#: second thread pays from a few hundred rows (replay at 1024 rows: 4.3M env-steps/s against
#: 2.5M serial), unlike the lighter rows of core.PARALLEL_MIN_ROWS
PARALLEL_MIN_ROWS = 256

# book-specific state columns (after the execution block, mm_env.execution)
GRID = N_EXEC_STATE + 0  # index of the step shown now in the split's step grid
N_STATE = N_EXEC_STATE + 1
# the v0 names of our-order columns, for callers that read them
OUR_BID_TICKS = col(0, O_PRICE)
OUR_ASK_TICKS = col(1, O_PRICE)
BID_AHEAD = col(0, O_FRONT)
ASK_AHEAD = col(1, O_FRONT)
BID_BEHIND = col(0, O_BEHIND)


class ReplayArrays(NamedTuple):
    """The read-only recorded book and the step grid, by name (built inside the kernels from
    their positional arrays: a tuple argument costs a slow type check per call)."""

    bid_t: NDArray[np.float64]  # (rows, levels) prices in ticks
    bid_sz: NDArray[np.float64]
    ask_t: NDArray[np.float64]
    ask_sz: NDArray[np.float64]
    time: NDArray[np.float64]  # (rows,) data clock
    grid: NDArray[np.int64]  # (steps + 1, 2): [g, 0] the book row ending step g, [g, 1] the
    #                          row the agent observes then (feed latency)
    step_time: NDArray[np.float64]  # (steps + 1,) the decision time of each step
    trade_ptr: NDArray[np.int64]  # trades of row k: trade_ptr[k]:trade_ptr[k + 1]
    trades: NDArray[np.float64]  # (n, 3): price in ticks (fractional between ticks), size,
    #                              aggressor side (+1 buyer, -1 seller)
    msgs: NDArray[np.float64]  # exact queue, per row (else 1 row): LOBSTER type, size, price in
    #                            ticks, side (0 resting buy, 1 resting sell), execution.first_rows


@row_function()
def _replay_observe(state, i, b, d, params, depths, obs, ep) -> None:  # pragma: no cover
    tick = ep.tick
    bt = d.bid_t[b, 0]
    at = d.ask_t[b, 0]
    write_observation(
        obs,
        i,
        state,
        imbalance_of(d.bid_sz[b], d.ask_sz[b], 1),
        (at - bt) * tick,
        0.5 * (bt + at) * tick,
        d.bid_sz[b],
        d.ask_sz[b],
        depths,
        params,
    )
    if ep.track_response:
        obs[i, 1] = state[i, X_KNOWN_INV] / params[P_INV_NORM]
    if ep.obs_orders_at >= 0 or ep.obs_flow_at >= 0:
        ours_b = state[i, col(0, O_PRICE)]
        ours_a = state[i, col(1, O_PRICE)]
        shown_b = 0.0 if math.isnan(ours_b) else displayed_at(d.bid_t[b], d.bid_sz[b], ours_b, True)
        shown_a = (
            0.0 if math.isnan(ours_a) else displayed_at(d.ask_t[b], d.ask_sz[b], ours_a, False)
        )
        write_order_observation(obs, i, state, shown_b, shown_a, ep)


@row_function()
def _exact_message(state, i, k, d, params, ep, ring, seen_at) -> None:
    """The exact queue's reading of message row ``k`` (mm_env.execution, "exact")."""
    typ = int(d.msgs[k, 0])
    if typ < 1 or typ > 5:
        return  # cross trades (6) and halts (7): no visible order moves
    side = int(d.msgs[k, 3])
    b = col(side, 0)
    price = state[i, b + O_PRICE]
    left = state[i, b + O_SIZE] + state[i, b + O_SIZE2]
    if math.isnan(price) or left <= EMPTY:
        return
    p = d.msgs[k, 2]
    v = d.msgs[k, 1]
    if p != price:
        if typ >= 4 and ((p < price) if side == 0 else (p > price)):  # through our price
            fill(
                state,
                i,
                side,
                left if ep.fill_through else min(v, left),
                price,
                params,
                ep,
                ring,
                seen_at,
            )
        return
    first = d.msgs[k, 4]
    if typ == 1:
        state[i, b + O_BEHIND] += v
        return
    if typ == 5:  # hidden: a displayed order has priority over it
        if state[i, b + O_FRONT] <= EMPTY:
            fill(state, i, side, min(v, left), price, params, ep, ring, seen_at)
        return
    two = state[i, b + O_SIZE2] > EMPTY
    if two and first < state[i, b + O_JOIN2]:
        state[i, b + O_FRONT2] -= v
    if first < state[i, b + O_JOIN]:  # an order ahead of us
        state[i, b + O_FRONT] = max(state[i, b + O_FRONT] - v, 0.0)
        return
    state[i, b + O_BEHIND] = max(state[i, b + O_BEHIND] - v, 0.0)
    if typ == 4:  # an order behind part 1 executed: the aggressor passed part 1
        q = min(v, state[i, b + O_SIZE])
        if two and first >= state[i, b + O_JOIN2]:
            q += min(v - q, state[i, b + O_SIZE2])
        fill(state, i, side, q, price, params, ep, ring, seen_at)


@row_function()
def _reach_market(state, i, d, r, k, until, strict, seen_at, ep) -> None:  # pragma: no cover
    """The requests in flight that reach the market before ``until`` (``strict``; else by it)
    arrive against book row ``r`` (join row ``k``, exact queue); a rejection is seen at
    ``seen_at``."""
    for side in range(2):
        c = col(side, O_N_PEND)
        while state[i, c] > 0.0 and (
            state[i, col(side, O_PEND + 2)] < until
            if strict
            else state[i, col(side, O_PEND + 2)] <= until
        ):
            p, s = pop_request(state, i, side)
            rejected = state[i, X_REJECTED]
            if side == 0:
                arrive(state, i, 0, p, s, d.bid_t[r], d.bid_sz[r], d.ask_t[r, 0], k, ep)
            else:
                arrive(state, i, 1, p, s, d.ask_t[r], d.ask_sz[r], d.bid_t[r, 0], k, ep)
            note_arrival(state, i, side, rejected, seen_at)


@row_function()
def _replay_step_row(i, state, d, params, ep, actions, lat, depths, obs, truncated, ring) -> None:
    tick = ep.tick
    g = int(state[i, GRID])
    a = d.grid[g, 0]
    b = d.grid[g + 1, 0]
    o = d.grid[g, 1]  # the book the agent observed (a, without feed latency)
    t0 = d.step_time[g]
    bt = d.bid_t[o, 0]
    at = d.ask_t[o, 0]
    begin_step(
        state,
        i,
        0.5 * (bt + at) * tick,
        bt * tick,
        at * tick,
        (at - bt) * tick,
        imbalance_of(d.bid_sz[o], d.ask_sz[o], 1),
    )
    qb, qa = quotes_from_action(state, i, actions[i, 0], actions[i, 1], params)
    qb_t, qa_t = grid_quotes(qb, qa, bt, at, tick, ep.tol_ticks)
    state[i, BID_QUOTE] = qb_t * tick
    state[i, ASK_QUOTE] = qa_t * tick
    bid_size = min(params[P_ORDER_SIZE], buy_capacity(state, i, params))
    ask_size = min(params[P_ORDER_SIZE], sell_capacity(state, i, params))
    exact = ep.queue_model == QM_EXACT
    entry = lat[i, 0] if ep.random_latency else ep.entry_latency
    seen_delay = lat[i, 1] if ep.random_latency else ep.response_latency
    if send_requests(state, i, qb_t, bid_size, qa_t, ask_size, t0, entry, ep):
        # no latency: the requests reach the market at once, against the book shown now
        arrive(state, i, 0, qb_t, bid_size, d.bid_t[a], d.bid_sz[a], d.ask_t[a, 0], a + 1, ep)
        arrive(state, i, 1, qa_t, ask_size, d.ask_t[a], d.ask_sz[a], d.bid_t[a, 0], a + 1, ep)
    elif entry == 0.0:  # the requests sent now reach the market at once, as above
        _reach_market(state, i, d, a, a + 1, t0, False, t0 + seen_delay, ep)
    for k in range(a + 1, b + 1):
        tk = d.time[k]
        # requests that reached the market before event k meet the book before it
        _reach_market(state, i, d, k - 1, k, tk, True, tk + seen_delay, ep)
        seen_at = tk + seen_delay
        if exact:
            _exact_message(state, i, k, d, params, ep, ring, seen_at)
        else:
            for j in range(d.trade_ptr[k], d.trade_ptr[k + 1]):
                p = d.trades[j, 0]
                v = d.trades[j, 1]
                if d.trades[j, 2] < 0.0:  # a seller hit the bids
                    our = state[i, col(0, O_PRICE)]
                    if not math.isnan(our):
                        rel = -1 if p < our else (0 if p == our else 1)
                        q = execution_share(state, i, 0, rel, v, ep)
                        fill(state, i, 0, q, our, params, ep, ring, seen_at)
                else:  # a buyer lifted the asks
                    our = state[i, col(1, O_PRICE)]
                    if not math.isnan(our):
                        rel = -1 if p > our else (0 if p == our else 1)
                        q = execution_share(state, i, 1, rel, v, ep)
                        fill(state, i, 1, q, our, params, ep, ring, seen_at)
        # the book after event k: queue models, and a book crossing our quotes
        our = state[i, col(0, O_PRICE)]
        if not math.isnan(our):
            shown = displayed_at(d.bid_t[k], d.bid_sz[k], our, True)
            _after_depth(state, i, 0, shown, k, ep)
            if ep.fill_through and d.ask_t[k, 0] <= our:
                left = state[i, col(0, O_SIZE)] + state[i, col(0, O_SIZE2)]
                fill(state, i, 0, left, our, params, ep, ring, seen_at)
        our = state[i, col(1, O_PRICE)]
        if not math.isnan(our):
            shown = displayed_at(d.ask_t[k], d.ask_sz[k], our, False)
            _after_depth(state, i, 1, shown, k, ep)
            if ep.fill_through and d.bid_t[k, 0] >= our:
                left = state[i, col(1, O_SIZE)] + state[i, col(1, O_SIZE2)]
                fill(state, i, 1, left, our, params, ep, ring, seen_at)
    state[i, GRID] = g + 1
    now = d.step_time[g + 1]
    truncated[i] = settle(state, i, params)
    if truncated[i] and params[P_LIQUIDATE] > 0.0:  # crossing the spread pays the taker fee
        state[i, REWARD] -= taker_fee(abs(state[i, INVENTORY]), state[i, MID], ep)
    for side in range(2):
        state[i, X_BID_LIVE + side] = 0.0 if math.isnan(state[i, col(side, O_PRICE)]) else 1.0
        state[i, X_BID_FLIGHT + side] = state[i, col(side, O_N_PEND)]
    if ep.track_response:
        state[i, X_KNOWN_INV] = known_inventory(state, i, ring, now, state[i, INVENTORY])
    else:
        state[i, X_KNOWN_INV] = state[i, INVENTORY]
    if ep.flow_alpha > 0.0:  # the executions between the book observed before and the one now
        bought = 0.0
        sold = 0.0
        for j in range(d.trade_ptr[o + 1], d.trade_ptr[d.grid[g + 1, 1] + 1]):
            if d.trades[j, 2] < 0.0:
                sold += d.trades[j, 1]
            else:
                bought += d.trades[j, 1]
        update_trade_flow(state, i, bought, sold, ep)
    _replay_observe(state, i, d.grid[g + 1, 1], d, params, depths, obs, ep)


@row_function()
def _after_depth(state, i, side, shown, k, ep) -> None:
    b = col(side, 0)
    if ep.queue_model == QM_EXACT:
        if math.isinf(shown):
            # LOBSTER's message file covers the visible levels only: while our price is beyond
            # them, orders come and go unseen. Back in view: front capped, the rest behind.
            state[i, b + O_BEHIND] = -1.0
        elif math.isinf(state[i, b + O_FRONT]):
            # joined beyond the visible levels: from the moment it shows, all of it is ahead
            state[i, b + O_FRONT] = shown
            state[i, b + O_BEHIND] = 0.0
            state[i, b + O_JOIN] = k + 1
        elif not math.isinf(shown):
            state[i, b + O_FRONT] = min(state[i, b + O_FRONT], shown)
            if state[i, b + O_BEHIND] < 0.0:  # part 2 became part 1: the rest is behind it
                state[i, b + O_BEHIND] = shown - state[i, b + O_FRONT]
        return
    depth_update(state, i, side, shown, ep)


@njit(cache=True, inline="always")
def _row(
    i,
    state,
    bid_t,
    bid_sz,
    ask_t,
    ask_sz,
    time,
    grid,
    step_time,
    trade_ptr,
    trades,
    msgs,
    params,
    ep_rec,
    actions,
    lat,
    depths,
    obs,
    truncated,
    ring,
) -> None:
    """One row, its book and parameters by name (built here: a parallel loop cannot take a
    record or a tuple of arrays from outside its body)."""
    d = ReplayArrays(bid_t, bid_sz, ask_t, ask_sz, time, grid, step_time, trade_ptr, trades, msgs)
    _replay_step_row(i, state, d, params, ep_rec[0], actions, lat, depths, obs, truncated, ring)


@step_kernel()
def replay_step(
    state,
    bid_t,
    bid_sz,
    ask_t,
    ask_sz,
    time,
    grid,
    step_time,
    trade_ptr,
    trades,
    msgs,
    params,
    ep_rec,
    actions,
    lat,
    depths,
    obs,
    truncated,
    active,
    ring,
):
    """Step every active row (serial; for small batches and the single env)."""
    for i in range(state.shape[0]):
        if active[i]:
            _row(
                i,
                state,
                bid_t,
                bid_sz,
                ask_t,
                ask_sz,
                time,
                grid,
                step_time,
                trade_ptr,
                trades,
                msgs,
                params,
                ep_rec,
                actions,
                lat,
                depths,
                obs,
                truncated,
                ring,
            )


@step_kernel(parallel=True)
def replay_step_parallel(
    state,
    bid_t,
    bid_sz,
    ask_t,
    ask_sz,
    time,
    grid,
    step_time,
    trade_ptr,
    trades,
    msgs,
    params,
    ep_rec,
    actions,
    lat,
    depths,
    obs,
    truncated,
    active,
    ring,
):
    """Step every active row on all cores (rows are independent; the book is read-only)."""
    for i in prange(state.shape[0]):
        if active[i]:
            _row(
                i,
                state,
                bid_t,
                bid_sz,
                ask_t,
                ask_sz,
                time,
                grid,
                step_time,
                trade_ptr,
                trades,
                msgs,
                params,
                ep_rec,
                actions,
                lat,
                depths,
                obs,
                truncated,
                ring,
            )


@njit(cache=True)
def replay_reset_rows(
    state,
    rows,
    bid_t,
    bid_sz,
    ask_t,
    ask_sz,
    time,
    grid,
    step_time,
    trade_ptr,
    trades,
    msgs,
    params,
    depths,
    obs,
    ep_rec,
):
    d = ReplayArrays(bid_t, bid_sz, ask_t, ask_sz, time, grid, step_time, trade_ptr, trades, msgs)
    ep = ep_rec[0]
    tick = ep.tick
    for i in rows:
        g = int(state[i, GRID])
        o = d.grid[g, 1]
        bt = d.bid_t[o, 0]
        at = d.ask_t[o, 0]
        reset_orders(state, i)
        imb = imbalance_of(d.bid_sz[o], d.ask_sz[o], 1)
        begin_step(state, i, 0.5 * (bt + at) * tick, bt * tick, at * tick, (at - bt) * tick, imb)
        _replay_observe(state, i, o, d, params, depths, obs, ep)


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
        self.multithreaded = self.n_envs >= PARALLEL_MIN_ROWS
        self.book = book
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
        self._setup_execution(book, config)

    def _setup_execution(self, book: OrderBook, config: ReplayConfig) -> None:
        """The execution parameters (mm_env.execution) and the arrays its rules read."""
        model, n = parse_queue_model("queue_model", config.queue_model)
        msgs = book.messages
        has_ids = msgs is not None and len(msgs) == book.n_rows
        if model < 0:  # auto
            model = QM_EXACT if has_ids else QM_RISK_AVERSE
        if model == QM_EXACT and not has_ids:
            raise ValueError(
                f"config field 'queue_model': 'exact' needs order ids (a LOBSTER message file); "
                f"{book.source} has none; use 'risk_averse', 'power:N', 'log' or 'auto'"
            )
        self.queue_model = model
        self.exec = exec_params(config, model, n)
        self._latency_draws = LatencySampler(
            config.entry_latency,
            config.response_latency,
            self.exec.entry_latency,
            self.exec.response_latency,
        )
        self.latency = np.zeros((self.n_envs, 2))
        self.latency[:, 0] = self.exec.entry_latency
        self.latency[:, 1] = self.exec.response_latency
        self.unseen = np.zeros((self.n_envs, N_UNSEEN, RING_COLS))
        if model == QM_EXACT:
            m_type = msgs["type"].to_numpy(dtype=np.int64)
            m_price = msgs["price"].to_numpy(dtype=np.float64) / config.tick_size
            nearest = np.round(m_price)
            m_msgs = np.column_stack(
                [
                    m_type,
                    msgs["size"].to_numpy(dtype=np.float64),
                    np.where(np.abs(m_price - nearest) <= 1e-6, nearest, m_price),
                    np.where(msgs["direction"].to_numpy(dtype=np.int64) > 0, 0, 1),
                    first_rows(msgs["order_id"].to_numpy(dtype=np.int64), m_type),
                ]
            ).astype(np.float64)
        else:
            m_msgs = np.zeros((1, 5))
        t = np.asarray(book.time, dtype=np.float64)
        if config.step_seconds is None:
            step_time = t[self.grid]
        else:
            r0, _ = split_rows(book, config)
            step_time = t[r0] + config.step_seconds * np.arange(self.grid.size)
        if isinstance(
            config.feed_latency, str
        ):  # "data": the book as received: the data's second clock
            if book.recv_time is None:
                raise ValueError(
                    f"config field 'feed_latency': 'data' needs receive timestamps in the data "
                    f"({book.source} has one clock; a snapshot file gives them as a "
                    "'local_timestamp' column)"
                )
            recv = np.asarray(book.recv_time, dtype=np.float64)
            obs_row = np.clip(np.searchsorted(recv, step_time, side="right") - 1, 0, None)
        elif config.feed_latency > 0.0:
            obs_row = np.searchsorted(t, step_time - config.feed_latency, side="right") - 1
            obs_row = np.clip(obs_row, 0, None)
        else:
            obs_row = self.grid
        self._exec_rec = exec_record(self.exec)
        self.data = ReplayArrays(
            self.bid_ticks,
            self.bid_sizes,
            self.ask_ticks,
            self.ask_sizes,
            np.ascontiguousarray(t),
            np.ascontiguousarray(np.column_stack([self.grid, obs_row]).astype(np.int64)),
            np.ascontiguousarray(step_time, dtype=np.float64),
            self.trade_ptr,
            np.ascontiguousarray(
                np.column_stack([self.trade_ticks, self.trade_size, self.trade_side])
                .astype(np.float64)
                .reshape(-1, 3)
            ),
            np.ascontiguousarray(m_msgs),
        )

    def exec_info(self, row: int = 0) -> dict[str, float]:
        """The execution info keys of one row (mm_env.execution): fees, rejections, which
        orders are live and how many requests are in flight, the inventory the agent knows."""
        return dict(zip(EXEC_INFO_KEYS, self.state[row, X_FEES : X_FEES + N_EXEC_INFO].tolist()))

    def _draw_latency(self, rng: np.random.Generator) -> None:
        if self.exec.random_latency:
            self._latency_draws.draw(rng, self.latency)

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
        return []

    @property
    def n_available_steps(self) -> int:
        """Steps in the split (episodes are windows of n_steps of them)."""
        return int(self.grid.size - 1)

    def _reset_rows(self, rows: NDArray[np.intp], rng: np.random.Generator) -> None:
        last_start = self.n_available_steps - self.config.n_steps
        self.state[rows, GRID] = rng.integers(0, last_start + 1, size=rows.size)
        self.unseen[rows] = 0.0
        replay_reset_rows(
            self.state, rows, *self.data, self.params, self.depths, self.obs, self._exec_rec
        )

    def _step_kernel(
        self, actions: NDArray[np.float64], rng: np.random.Generator, active: NDArray[np.bool_]
    ) -> None:
        self._draw_latency(rng)
        kernel = replay_step_parallel if self.multithreaded else replay_step
        kernel(
            self.state,
            *self.data,
            self.params,
            self._exec_rec,
            actions,
            self.latency,
            self.depths,
            self.obs,
            self.truncated,
            active,
            self.unseen,
        )

    def _step_one_kernel(self, rng: np.random.Generator) -> None:
        """The single env's hot path: the serial kernel with its arguments prepared once (a
        replay step draws nothing unless a latency is random)."""
        args = self.__dict__.get("_one_args")
        if args is None:
            args = (
                self.state,
                *self.data,
                self.params,
                self._exec_rec,
                self._one_action,
                self.latency,
                self.depths,
                self.obs,
                self.truncated,
                self._all_rows,
                self.unseen,
            )
            self.__dict__["_one_args"] = args
        if self.exec.random_latency:
            self._draw_latency(rng)
        replay_step(*args)

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
