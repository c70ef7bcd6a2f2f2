"""A queue-reactive book on a tick grid, in which imbalance predicts the mid (``MarketMaking-v0``).

See :class:`mm_env.config.SyntheticConfig` for the model. The design follows the queue-reactive
idea of Huang, Lehalle & Rosenbaum (2015, "Simulating and analyzing order book data: the
queue-reactive model", JASA 110): order flow at the best levels depends on the state of the
book, and price changes happen when a best level is emptied.

Fills are depth-aware. Each market order sweeps the visible levels in price order; our quote
fills when the sweep reaches its price, after the displayed size that was resting at that price
when we joined (our queue position), and first when our quote improves the best price. Market
orders larger than the visible book execute against the visible levels only. Our orders are not
shown in the book and move it only by absorbing the market-order volume that fills them.

Quote placement and queue position: the rules of :mod:`mm_env.execution` (the v0 rule of
"Our resting orders": an order keeps its place only if it is the same price, nothing of it
filled and it is not larger; else the whole quote re-joins at the back) with the risk-averse
queue, applied to the sweep of each market order. No latency (:mod:`mm_env.execution`).

Random contract: per step and row, 6 uniforms then 2 standard normals, drawn as two arrays
``rng.random((n, 6))`` and ``rng.standard_normal((n, 2))``; at reset, per row, 2 * n_levels
standard normals for the initial level sizes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from mm_env.config import SyntheticConfig
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
    imbalance_of,
    quotes_from_action,
    sell_capacity,
    settle,
    step_kernel,
    write_observation,
)
from mm_env.execution import EMPTY, grid_quotes, queue_ahead, sweep

#: rows from which the multi-threaded build runs: this scenario's rows cost enough that the
#: second thread pays from a few hundred rows, unlike the lighter rows of
#: core.PARALLEL_MIN_ROWS (the Avellaneda–Stoikov and notebook scenarios)
PARALLEL_MIN_ROWS = 256

# book-specific state columns
BID_TICKS = N_COMMON + 0  # best bid, in ticks
ASK_TICKS = N_COMMON + 1
OUR_BID_TICKS = N_COMMON + 2  # price of our resting bid after the last step (NaN: none)
OUR_ASK_TICKS = N_COMMON + 3
BID_AHEAD = N_COMMON + 4  # displayed size ahead of our resting bid
ASK_AHEAD = N_COMMON + 5
OUR_BID_SIZE = N_COMMON + 6  # size of our resting bid (it keeps its place only if not larger)
OUR_ASK_SIZE = N_COMMON + 7
N_STATE = N_COMMON + 8

# book parameters
P_TICK = N_COMMON_PARAMS + 0
P_BEST_SIZE = N_COMMON_PARAMS + 1
P_DEEP_SIZE = N_COMMON_PARAMS + 2
P_PERSIST = N_COMMON_PARAMS + 3
P_SIZE_VOL = N_COMMON_PARAMS + 4
P_MO_RATE = N_COMMON_PARAMS + 5
P_MO_SENS = N_COMMON_PARAMS + 6
P_MO_SIZE = N_COMMON_PARAMS + 7
P_IMPROVE = N_COMMON_PARAMS + 8
P_IMPROVE_SIZE = N_COMMON_PARAMS + 9
P_MIN_SIZE = N_COMMON_PARAMS + 10
P_LOG_BEST_SIZE = N_COMMON_PARAMS + 11
P_LOG_DEEP_SIZE = N_COMMON_PARAMS + 12

# columns of the per-step uniforms and normals. An event's uniform u < p also gives its size:
# given the event, u / p is uniform on [0, 1), so no second draw is needed.
U_BUY, U_SELL, U_BID_LEVEL, U_ASK_LEVEL, U_BID_IMPROVE, U_ASK_IMPROVE = 0, 1, 2, 3, 4, 5
N_UNIFORMS = 6
Z_BID_BEST, Z_ASK_BEST = 0, 1
N_NORMALS = 2
SQRT3 = math.sqrt(3.0)


@njit(cache=True, inline="always")
def drop_empty_levels(sizes: NDArray[np.float64], fresh_size: float) -> int:
    """Drop emptied leading levels, shift the rest forward, refill the back; returns the count."""
    n = sizes.shape[0]
    d = 0
    while d < n and sizes[d] <= EMPTY:
        d += 1
    if d > 0:
        for j in range(n - d):
            sizes[j] = sizes[j + d]
        for j in range(n - d, n):
            sizes[j] = fresh_size
    return d


@njit(cache=True, inline="always")
def revert_log_size(
    size: float, log_target: float, persistence: float, vol: float, z: float, floor: float
) -> float:
    """One step of log-size reversion: log s += (1 - persistence)(log target - log s) + vol z."""
    log_s = math.log(max(size, floor))
    return math.exp(log_s + (1.0 - persistence) * (log_target - log_s) + vol * z)


@njit(cache=True, inline="always")
def split_uniform(u: float, n: int) -> tuple[int, float]:
    """A uniform on [0, 1) as (cell index in 0..n-1, uniform position inside the cell)."""
    x = u * n
    k = min(int(x), n - 1)
    return k, x - k


@njit(cache=True, inline="always")
def improve(sizes: NDArray[np.float64], new_size: float) -> None:
    """A new best level one tick better: shift levels back by one, the last one drops out."""
    for j in range(sizes.shape[0] - 1, 0, -1):
        sizes[j] = sizes[j - 1]
    sizes[0] = new_size


@njit(cache=True, inline="always")
def synthetic_observe(
    state: NDArray[np.float64],
    i: int,
    bid_sizes: NDArray[np.float64],
    ask_sizes: NDArray[np.float64],
    params: NDArray[np.float64],
    depths: NDArray[np.int64],
    obs: NDArray[np.float64],
) -> None:
    tick = params[P_TICK]
    bt = state[i, BID_TICKS]
    at = state[i, ASK_TICKS]
    write_observation(
        obs,
        i,
        state,
        imbalance_of(bid_sizes, ask_sizes, 1),
        (at - bt) * tick,
        0.5 * (bt + at) * tick,
        bid_sizes,
        ask_sizes,
        depths,
        params,
    )


@njit(cache=True, inline="always")
def _synthetic_step_row(
    i: int,
    state: NDArray[np.float64],
    bid_sizes: NDArray[np.float64],
    ask_sizes: NDArray[np.float64],
    params: NDArray[np.float64],
    actions: NDArray[np.float64],
    u: NDArray[np.float64],
    z: NDArray[np.float64],
    depths: NDArray[np.int64],
    obs: NDArray[np.float64],
    truncated: NDArray[np.bool_],
) -> None:
    tick = params[P_TICK]
    tol_ticks = params[P_TOL] / tick
    n_levels = bid_sizes.shape[1]
    floor = params[P_MIN_SIZE]
    bs = bid_sizes[i]
    asz = ask_sizes[i]
    bt = state[i, BID_TICKS]
    at = state[i, ASK_TICKS]
    # deeper-level churn: one uniform picks the level (1..L-1); its position inside that
    # level's cell, uniform on [0, 1), gives the shock, sqrt(3) * size_vol * (2 f - 1)
    # (mean 0, std size_vol), also used for levels refilled at the back of the book
    jb, fb = split_uniform(u[i, U_BID_LEVEL], n_levels - 1)
    ja, fa = split_uniform(u[i, U_ASK_LEVEL], n_levels - 1)
    bid_deep_shock = SQRT3 * params[P_SIZE_VOL] * (2.0 * fb - 1.0)
    ask_deep_shock = SQRT3 * params[P_SIZE_VOL] * (2.0 * fa - 1.0)
    jb += 1
    ja += 1
    imb = imbalance_of(bs, asz, 1)
    begin_step(state, i, 0.5 * (bt + at) * tick, bt * tick, at * tick, (at - bt) * tick, imb)
    qb, qa = quotes_from_action(state, i, actions[i, 0], actions[i, 1], params)
    # the tick grid (away from the mid), post-only, our ask >= our bid + 1 tick (core rule)
    qb_t, qa_t = grid_quotes(qb, qa, bt, at, tick, tol_ticks)
    state[i, BID_QUOTE] = qb_t * tick
    state[i, ASK_QUOTE] = qa_t * tick
    bid_size = min(params[P_ORDER_SIZE], buy_capacity(state, i, params))
    ask_size = min(params[P_ORDER_SIZE], sell_capacity(state, i, params))
    # the same order as our resting one (same price, untouched, not larger) keeps its place
    bid_same = qb_t == state[i, OUR_BID_TICKS] and bid_size <= state[i, OUR_BID_SIZE]
    ask_same = qa_t == state[i, OUR_ASK_TICKS] and ask_size <= state[i, OUR_ASK_SIZE]
    bid_level = int(bt - qb_t)
    ask_level = int(qa_t - at)
    bid_ahead = queue_ahead(bs, bid_level, bid_same, state[i, BID_AHEAD])
    ask_ahead = queue_ahead(asz, ask_level, ask_same, state[i, ASK_AHEAD])
    bid_left = bid_size
    ask_left = ask_size
    # 1. market orders, buyer first, at imbalance-dependent rates; exponential sizes
    rate = params[P_MO_RATE]
    sens = params[P_MO_SENS]
    p_buy = rate * (1.0 + sens * imb)
    if u[i, U_BUY] < p_buy:
        volume = -params[P_MO_SIZE] * math.log(1.0 - u[i, U_BUY] / p_buy)
        ours, ask_ahead = sweep(asz, ask_level, ask_ahead, ask_size, volume)
        ask_left -= fill_ask(state, i, ours, qa_t * tick, params)
        at += drop_empty_levels(asz, params[P_DEEP_SIZE] * math.exp(ask_deep_shock))
    p_sell = rate * (1.0 - sens * imb)
    if u[i, U_SELL] < p_sell:
        volume = -params[P_MO_SIZE] * math.log(1.0 - u[i, U_SELL] / p_sell)
        ours, bid_ahead = sweep(bs, bid_level, bid_ahead, bid_size, volume)
        bid_left -= fill_bid(state, i, ours, qb_t * tick, params)
        bt -= drop_empty_levels(bs, params[P_DEEP_SIZE] * math.exp(bid_deep_shock))
    # 2. limit-order flow: best sizes and one deeper level revert in log; the spread narrows
    persist = params[P_PERSIST]
    vol = params[P_SIZE_VOL]
    log_best = params[P_LOG_BEST_SIZE]
    log_deep = params[P_LOG_DEEP_SIZE]
    bs[0] = revert_log_size(bs[0], log_best, persist, vol, z[i, Z_BID_BEST], floor)
    asz[0] = revert_log_size(asz[0], log_best, persist, vol, z[i, Z_ASK_BEST], floor)
    if n_levels > 1:
        bs[jb] = revert_log_size(bs[jb], log_deep, persist, 1.0, bid_deep_shock, floor)
        asz[ja] = revert_log_size(asz[ja], log_deep, persist, 1.0, ask_deep_shock, floor)
    # both sides may improve; when only one tick of room is left, the side whose uniform is
    # smaller goes first (either side with probability 1/2, so the book has no drift)
    p_imp = params[P_IMPROVE]
    u_bid = u[i, U_BID_IMPROVE]
    u_ask = u[i, U_ASK_IMPROVE]
    for side in range(2):
        bid_turn = (side == 0) == (u_bid <= u_ask)
        uu = u_bid if bid_turn else u_ask
        if at - bt > 1.0 and uu < p_imp:
            size = max(-params[P_IMPROVE_SIZE] * math.log(1.0 - uu / p_imp), floor)
            if bid_turn:
                improve(bs, size)
                bt += 1.0
            else:
                improve(asz, size)
                at -= 1.0
    state[i, BID_TICKS] = bt
    state[i, ASK_TICKS] = at
    # a quote rests on only if nothing of it filled: after any fill it re-joins at the back
    state[i, OUR_BID_TICKS] = qb_t if bid_size > EMPTY and bid_left == bid_size else math.nan
    state[i, OUR_ASK_TICKS] = qa_t if ask_size > EMPTY and ask_left == ask_size else math.nan
    state[i, OUR_BID_SIZE] = bid_size
    state[i, OUR_ASK_SIZE] = ask_size
    state[i, BID_AHEAD] = bid_ahead
    state[i, ASK_AHEAD] = ask_ahead
    truncated[i] = settle(state, i, params)
    synthetic_observe(state, i, bs, asz, params, depths, obs)


@step_kernel()
def synthetic_step(
    state, bid_sizes, ask_sizes, params, actions, u, z, depths, obs, truncated, active
):
    """Step every active row (serial; for small batches and the single env)."""
    for i in range(state.shape[0]):
        if active[i]:
            _synthetic_step_row(
                i, state, bid_sizes, ask_sizes, params, actions, u, z, depths, obs, truncated
            )


@step_kernel(parallel=True)
def synthetic_step_parallel(
    state, bid_sizes, ask_sizes, params, actions, u, z, depths, obs, truncated, active
):
    """Step every active row on all cores (rows are independent)."""
    for i in prange(state.shape[0]):
        if active[i]:
            _synthetic_step_row(
                i, state, bid_sizes, ask_sizes, params, actions, u, z, depths, obs, truncated
            )


@njit(cache=True)
def synthetic_reset_rows(
    state: NDArray[np.float64],
    rows: NDArray[np.intp],
    bid_sizes: NDArray[np.float64],
    ask_sizes: NDArray[np.float64],
    params: NDArray[np.float64],
    depths: NDArray[np.int64],
    obs: NDArray[np.float64],
) -> None:
    tick = params[P_TICK]
    for i in rows:
        bt = state[i, BID_TICKS]
        at = state[i, ASK_TICKS]
        state[i, OUR_BID_TICKS] = math.nan
        state[i, OUR_ASK_TICKS] = math.nan
        state[i, OUR_BID_SIZE] = 0.0
        state[i, OUR_ASK_SIZE] = 0.0
        imb = imbalance_of(bid_sizes[i], ask_sizes[i], 1)
        begin_step(state, i, 0.5 * (bt + at) * tick, bt * tick, at * tick, (at - bt) * tick, imb)
        synthetic_observe(state, i, bid_sizes[i], ask_sizes[i], params, depths, obs)


class SyntheticSimulator(Simulator):
    """The queue-reactive tick-grid book and its depth-aware fills."""

    config: SyntheticConfig
    n_state = N_STATE

    def __init__(self, config: SyntheticConfig, n_envs: int = 1) -> None:
        super().__init__(config, n_envs)
        self.bid_sizes = np.zeros((self.n_envs, config.n_levels))
        self.ask_sizes = np.zeros((self.n_envs, config.n_levels))

    def book_params(self) -> list[float]:
        c = self.config
        return [
            c.tick_size,
            c.best_size_mean,
            c.deep_size_mean,
            c.size_persistence,
            c.size_vol,
            c.mo_rate,
            c.mo_imbalance_sensitivity,
            c.mo_size_mean,
            c.improve_prob,
            c.improve_size_mean,
            c.min_level_size,
            math.log(c.best_size_mean),
            math.log(c.deep_size_mean),
        ]

    def _reset_rows(self, rows: NDArray[np.intp], rng: np.random.Generator) -> None:
        c = self.config
        L = c.n_levels
        # initial sizes: each level at its stationary log-normal law
        stationary_sd = c.size_vol / math.sqrt(max(1.0 - c.size_persistence**2, 1e-12))
        z = rng.standard_normal((rows.size, 2, L))
        means = np.full(L, c.deep_size_mean)
        means[0] = c.best_size_mean
        self.bid_sizes[rows] = means * np.exp(stationary_sd * z[:, 0, :])
        self.ask_sizes[rows] = means * np.exp(stationary_sd * z[:, 1, :])
        bid_ticks = round(c.initial_price / c.tick_size)
        self.state[rows, BID_TICKS] = bid_ticks
        self.state[rows, ASK_TICKS] = bid_ticks + c.initial_spread_ticks
        synthetic_reset_rows(
            self.state, rows, self.bid_sizes, self.ask_sizes, self.params, self.depths, self.obs
        )

    def _step_kernel(
        self, actions: NDArray[np.float64], rng: np.random.Generator, active: NDArray[np.bool_]
    ) -> None:
        u = rng.random((self.n_envs, N_UNIFORMS))
        z = rng.standard_normal((self.n_envs, N_NORMALS))
        kernel = synthetic_step_parallel if self.n_envs >= PARALLEL_MIN_ROWS else synthetic_step
        kernel(
            self.state,
            self.bid_sizes,
            self.ask_sizes,
            self.params,
            actions,
            u,
            z,
            self.depths,
            self.obs,
            self.truncated,
            active,
        )

    def book_snapshot(self, row: int = 0) -> dict[str, NDArray[np.float64]]:
        tick = self.config.tick_size
        k = np.arange(self.config.n_levels)
        bt, at = self.state[row, BID_TICKS], self.state[row, ASK_TICKS]
        return {
            "bid_prices": (bt - k) * tick,
            "bid_sizes": self.bid_sizes[row].copy(),
            "ask_prices": (at + k) * tick,
            "ask_sizes": self.ask_sizes[row].copy(),
        }
