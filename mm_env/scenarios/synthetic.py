"""A queue-reactive book on a tick grid, in which imbalance predicts the mid (``MarketMaking-v0``,
``-v1``).

See :class:`mm_env.config.SyntheticConfig` for the model. The design follows the queue-reactive
idea of Huang, Lehalle & Rosenbaum (2015, "Simulating and analyzing order book data: the
queue-reactive model", JASA 110): order flow at the best levels depends on the state of the
book, and price changes happen when a best level is emptied.

Fills are depth-aware. Each market order sweeps the visible levels in price order; our quote
fills when the sweep reaches its price, after the displayed size that was resting at that price
when we joined (our queue position), and first when our quote improves the best price. Market
orders larger than the visible book execute against the visible levels only. Our orders are not
shown in the book and move it only by absorbing the market-order volume that fills them.

Execution: the rules of :mod:`mm_env.execution` (quote placement, our resting orders in its
``O_*`` state columns, keep-priority, the level-data queue models, fees), applied to this book:

* A market order sweeping our side (:func:`sweep`) meets our order where its price is: what of
  it reaches our price takes the displayed size ahead of us, then us
  (:func:`mm_env.execution.execution_share`), then the rest. A sweep through our price has
  filled all of our order on the way (price priority), whatever ``fill_through``.
* The limit-order flow (log-size reversion, churn of a deeper level, improvements) changes
  the size displayed at our price for reasons other than executions: cancellations or
  additions. After the step's flow the queue model reads it
  (:func:`mm_env.execution.depth_update`; the risk-averse cap is the v0 rule, applied at the
  next step in v0, with the same result). With ``fill_through`` a book whose other side
  improved onto our quote fills the whole remaining order at our price.
* Fees: the maker fee on each fill; the taker fee on ``liquidate_at_end`` (reward only, as
  the liquidation cost itself).

Latency, in steps (this book has no clock inside a step). The events of step k (its market
orders, then the limit-order flow) happen between the decision at time k and the observation
at time k + 1. A request decided at k with entry latency L reaches the market at k + L, and
meets the events of step m only if k + L <= m: so it is live from step k + ceil(L), against
the book at the start of that step (post-only rejection there), and until then the previous
order stays live and can fill. A fill of step k is reported at k + 1 and seen by the agent at
k + 1 + R (response latency R), i.e. in the observation after step k + ceil(R); so does its
effect on the agent's view of its order, which decides whether a request is sent
(:mod:`mm_env.execution`, "The agent's view of its orders"): a side filled in step k sends its
quote again at the decision of step k + 1 + ceil(R) at the earliest.
A fractional latency therefore acts as the next whole number of steps. Distributions
(``"lognormal:MEDIAN,SIGMA"``, ``"file:PATH"``, a tuple) as in :mod:`mm_env.execution`, in
steps.

Random contract: per step and row, 6 uniforms then 2 standard normals, drawn as two arrays
``rng.random((n, 6))`` and ``rng.standard_normal((n, 2))``; then, only if the entry or response
latency is a distribution, ``rng.random((n, 2))`` (:mod:`mm_env.execution`, "Latency"); at
reset, per row, 2 * n_levels standard normals for the initial level sizes. (So with constant
latencies the draws are those of MarketMaking-v0.) From ``PARALLEL_MIN_ROWS`` rows the step's
two arrays are computed on two threads by :mod:`mm_env.draws`: the same numbers, and the
generator left in the same state.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from mm_env.config import SyntheticConfig
from mm_env.core import (
    ASK_QUOTE,
    BID_QUOTE,
    INVENTORY,
    MID,
    N_COMMON_PARAMS,
    P_INV_NORM,
    P_LIQUIDATE,
    P_ORDER_SIZE,
    REWARD,
    STEP,
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
from mm_env.draws import UniformNormalDraws
from mm_env.execution import (
    EMPTY,
    EXEC_INFO_KEYS,
    N_EXEC_INFO,
    N_EXEC_STATE,
    N_UNSEEN,
    O_FRONT,
    O_N_PEND,
    O_PEND,
    O_PRICE,
    O_REQ,
    O_SIZE,
    O_SIZE2,
    O_TRADED,
    QM_EXACT,
    RING_COLS,
    X_BID_FLIGHT,
    X_BID_LIVE,
    X_FEES,
    X_KNOWN_INV,
    X_REJECTED,
    LatencySampler,
    ahead_of,
    arrive_at_inline,
    col,
    depth_update_inline,
    exec_params,
    exec_record,
    execution_share_inline,
    fill_inline,
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
#: second thread pays from a few hundred rows, unlike the lighter rows of
#: core.PARALLEL_MIN_ROWS (the Avellaneda–Stoikov and notebook scenarios)
PARALLEL_MIN_ROWS = 256

# book-specific state columns (after the execution block, mm_env.execution)
BID_TICKS = N_EXEC_STATE + 0  # best bid, in ticks
ASK_TICKS = N_EXEC_STATE + 1
N_STATE = N_EXEC_STATE + 2
# the v0 names of our-order columns (mm_env.execution's O_* block), for callers that read them
OUR_BID_TICKS = col(0, O_PRICE)  # price of our resting bid (NaN: none)
OUR_ASK_TICKS = col(1, O_PRICE)
BID_AHEAD = col(0, O_FRONT)  # displayed size ahead of our resting bid
ASK_AHEAD = col(1, O_FRONT)
OUR_BID_SIZE = col(0, O_REQ)  # size last requested (the v0 rule: same place only if not larger)
OUR_ASK_SIZE = col(1, O_REQ)
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
def drop_empty_levels(sizes: NDArray[np.float64], deep_mean: float, shock: float) -> int:
    """Drop emptied leading levels, shift the rest forward, refill the back at
    ``deep_mean * exp(shock)``; returns the count."""
    n = sizes.shape[0]
    d = 0
    while d < n and sizes[d] <= EMPTY:
        d += 1
    if d > 0:
        fresh_size = deep_mean * math.exp(shock)
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
def level_of_price(best_t: float, price_t: float, bid_side: bool, n_levels: int) -> int:
    """Our price's level on a side of consecutive ticks from ``best_t`` (-1: improving the
    best price; ``n_levels``: beyond the visible levels) — :func:`mm_env.execution.level_of`
    for this book."""
    k = (best_t - price_t) if bid_side else (price_t - best_t)
    if k < 0.0:
        return -1
    if k >= n_levels:
        return n_levels
    return int(k)


@njit(cache=True, inline="always")
def shown_at(sizes: NDArray[np.float64], best_t: float, price_t: float, bid_side: bool) -> float:
    """Size displayed at ``price_t`` (0 improving; inf beyond the visible levels)."""
    n = sizes.shape[0]
    level = level_of_price(best_t, price_t, bid_side, n)
    return ahead_of(level, n, sizes[level] if 0 <= level < n else 0.0, False, 0.0)


@njit(cache=True, inline="always")
def sweep(
    state: NDArray[np.float64],
    i: int,
    side: int,
    sizes: NDArray[np.float64],
    level: int,
    volume: float,
    ep: Any,
) -> float:
    """A market order of ``volume`` walks one side's levels (``sizes``, best first, consumed in
    place) against our order of that side at ``level`` (-1: it improves the best price and is
    hit first; ``>= len(sizes)``: beyond the visible book, never reached). Returns our share
    (before the inventory limit): what reaches our price takes the displayed size ahead of us,
    then our order (:func:`mm_env.execution.execution_share`), then the rest of the level.
    Market orders larger than the visible book execute against the visible levels only.
    """
    b = col(side, 0)
    live = not math.isnan(state[i, b + O_PRICE])
    remaining = volume
    ours = 0.0
    if live and level < 0:
        ours = execution_share_inline(state, i, side, 0, remaining, ep)
        state[i, b + O_TRADED] -= remaining  # nothing displayed at our price
        remaining -= ours
    for j in range(sizes.shape[0]):
        if remaining <= 0.0:
            break
        if live and j == level:
            take = min(remaining, state[i, b + O_FRONT])
            ours = execution_share_inline(state, i, side, 0, remaining, ep)
            # O_TRADED counts executions of displayed orders at our price (ours are not shown)
            state[i, b + O_TRADED] -= ours
            sizes[j] -= take
            remaining -= take
            remaining -= ours
        take = min(remaining, sizes[j])
        sizes[j] -= take
        remaining -= take
    return ours


@njit(cache=True, inline="always")
def synthetic_observe(
    state: NDArray[np.float64],
    i: int,
    bid_sizes: NDArray[np.float64],
    ask_sizes: NDArray[np.float64],
    params: NDArray[np.float64],
    depths: NDArray[np.int64],
    obs: NDArray[np.float64],
    ep: Any,
) -> None:
    tick = ep.tick
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
    if ep.track_response:
        obs[i, 1] = state[i, X_KNOWN_INV] / params[P_INV_NORM]
    if ep.obs_orders_at >= 0 or ep.obs_flow_at >= 0:
        ours_b = state[i, col(0, O_PRICE)]
        ours_a = state[i, col(1, O_PRICE)]
        shown_b = 0.0 if math.isnan(ours_b) else shown_at(bid_sizes, bt, ours_b, True)
        shown_a = 0.0 if math.isnan(ours_a) else shown_at(ask_sizes, at, ours_a, False)
        write_order_observation(obs, i, state, shown_b, shown_a, ep)


@njit(cache=True, inline="always")
def _arrive(state, i, side, price_t, size, bs, asz, bt, at, ep) -> None:  # pragma: no cover
    """A request reaches the market, whose book is (bt, bs) and (at, asz) now."""
    bid = side == 0
    sizes = bs if bid else asz
    n = sizes.shape[0]
    level = level_of_price(bt if bid else at, price_t, bid, n)
    sz = sizes[level] if 0 <= level < n else 0.0
    arrive_at_inline(state, i, side, price_t, size, level, n, sz, at if bid else bt, 0.0, ep)


@row_function()
def _synthetic_step_row(
    i, state, bid_sizes, ask_sizes, params, ep, actions, u, z, lat, depths, obs, truncated, ring
) -> None:  # pragma: no cover
    tick = ep.tick
    n_levels = bid_sizes.shape[1]
    floor = params[P_MIN_SIZE]
    bs = bid_sizes[i]
    asz = ask_sizes[i]
    bt = state[i, BID_TICKS]
    at = state[i, ASK_TICKS]
    t = state[i, STEP]  # the decision time, in steps
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
    qb_t, qa_t = grid_quotes(qb, qa, bt, at, tick, ep.tol_ticks)
    state[i, BID_QUOTE] = qb_t * tick
    state[i, ASK_QUOTE] = qa_t * tick
    bid_size = min(params[P_ORDER_SIZE], buy_capacity(state, i, params))
    ask_size = min(params[P_ORDER_SIZE], sell_capacity(state, i, params))
    entry = lat[i, 0] if ep.random_latency else ep.entry_latency
    seen_at = t + 1.0 + (lat[i, 1] if ep.random_latency else ep.response_latency)
    if send_requests(state, i, qb_t, bid_size, qa_t, ask_size, t, entry, ep):
        # no latency: the requests reach the market at once, against the book shown now
        for side in range(2):
            p, sz = (qb_t, bid_size) if side == 0 else (qa_t, ask_size)
            _arrive(state, i, side, p, sz, bs, asz, bt, at, ep)
    else:
        for side in range(2):
            c = col(side, O_N_PEND)  # requests that reach the market by now meet this step
            while state[i, c] > 0.0 and state[i, col(side, O_PEND + 2)] <= t:
                p, sz = pop_request(state, i, side)
                rejected = state[i, X_REJECTED]
                _arrive(state, i, side, p, sz, bs, asz, bt, at, ep)
                note_arrival(state, i, side, rejected, seen_at)
    # 1. market orders, buyer first (they sweep the ask side, side 1), at imbalance-dependent
    # rates; exponential sizes
    rate = params[P_MO_RATE]
    sens = params[P_MO_SENS]
    bought = 0.0
    sold = 0.0
    for side in range(1, -1, -1):
        buy = side == 1
        p_mo = rate * (1.0 + sens * imb) if buy else rate * (1.0 - sens * imb)
        u_mo = u[i, U_BUY] if buy else u[i, U_SELL]
        if u_mo < p_mo:
            volume = -params[P_MO_SIZE] * math.log(1.0 - u_mo / p_mo)
            sizes = asz if buy else bs
            our = state[i, col(side, O_PRICE)]
            best = at if buy else bt
            level = n_levels if math.isnan(our) else level_of_price(best, our, not buy, n_levels)
            ours = sweep(state, i, side, sizes, level, volume, ep)
            fill_inline(state, i, side, ours, our, params, ep, ring, seen_at)
            dropped = drop_empty_levels(
                sizes, params[P_DEEP_SIZE], ask_deep_shock if buy else bid_deep_shock
            )
            if buy:
                bought = volume
                at += dropped
            else:
                sold = volume
                bt -= dropped
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
    # 3. the queue model reads the sizes now displayed at our prices (cancellations and
    # additions), and a book that reached our quote fills it (fill_through)
    for side in range(2):
        bid = side == 0
        our = state[i, col(side, O_PRICE)]
        if not math.isnan(our):
            shown = shown_at(bs if bid else asz, bt if bid else at, our, bid)
            depth_update_inline(state, i, side, shown, ep)
            if ep.fill_through and ((at <= our) if bid else (bt >= our)):
                left = state[i, col(side, O_SIZE)] + state[i, col(side, O_SIZE2)]
                fill_inline(state, i, side, left, our, params, ep, ring, seen_at)
    truncated[i] = settle(state, i, params)
    if truncated[i] and params[P_LIQUIDATE] > 0.0:  # crossing the spread pays the taker fee
        state[i, REWARD] -= taker_fee(abs(state[i, INVENTORY]), state[i, MID], ep)
    for side in range(2):
        state[i, X_BID_LIVE + side] = 0.0 if math.isnan(state[i, col(side, O_PRICE)]) else 1.0
        state[i, X_BID_FLIGHT + side] = state[i, col(side, O_N_PEND)]
    if ep.track_response:
        state[i, X_KNOWN_INV] = known_inventory(state, i, ring, t + 1.0, state[i, INVENTORY])
    else:
        state[i, X_KNOWN_INV] = state[i, INVENTORY]
    update_trade_flow(state, i, bought, sold, ep)
    synthetic_observe(state, i, bs, asz, params, depths, obs, ep)


@step_kernel()
def synthetic_step(
    state,
    bid_sizes,
    ask_sizes,
    params,
    ep_rec,
    actions,
    u,
    z,
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
            _synthetic_step_row(
                i,
                state,
                bid_sizes,
                ask_sizes,
                params,
                ep_rec[0],
                actions,
                u,
                z,
                lat,
                depths,
                obs,
                truncated,
                ring,
            )


@step_kernel(parallel=True)
def synthetic_step_parallel(
    state,
    bid_sizes,
    ask_sizes,
    params,
    ep_rec,
    actions,
    u,
    z,
    lat,
    depths,
    obs,
    truncated,
    active,
    ring,
):
    """Step every active row on all cores (rows are independent)."""
    for i in prange(state.shape[0]):
        if active[i]:
            _synthetic_step_row(
                i,
                state,
                bid_sizes,
                ask_sizes,
                params,
                ep_rec[0],
                actions,
                u,
                z,
                lat,
                depths,
                obs,
                truncated,
                ring,
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
    ep_rec: Any,
) -> None:
    ep = ep_rec[0]
    tick = ep.tick
    for i in rows:
        bt = state[i, BID_TICKS]
        at = state[i, ASK_TICKS]
        reset_orders(state, i)
        imb = imbalance_of(bid_sizes[i], ask_sizes[i], 1)
        begin_step(state, i, 0.5 * (bt + at) * tick, bt * tick, at * tick, (at - bt) * tick, imb)
        synthetic_observe(state, i, bid_sizes[i], ask_sizes[i], params, depths, obs, ep)


class SyntheticSimulator(Simulator):
    """The queue-reactive tick-grid book and its depth-aware fills."""

    config: SyntheticConfig
    n_state = N_STATE

    def __init__(self, config: SyntheticConfig, n_envs: int = 1) -> None:
        super().__init__(config, n_envs)
        self.bid_sizes = np.zeros((self.n_envs, config.n_levels))
        self.ask_sizes = np.zeros((self.n_envs, config.n_levels))
        model, n = parse_queue_model("queue_model", config.queue_model)
        if model < 0:  # auto: no order ids here
            model = 0
        if model == QM_EXACT:  # SyntheticConfig refuses it; a guard for hand-built configs
            raise ValueError("config field 'queue_model': 'exact' needs order ids (Replay only)")
        self.queue_model = model
        self.exec = exec_params(config, model, n)
        self._exec_rec = exec_record(self.exec)
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
        self.multithreaded = self.n_envs >= PARALLEL_MIN_ROWS
        self._draws = UniformNormalDraws(self.n_envs, N_UNIFORMS, N_NORMALS, self.multithreaded)

    def exec_info(self, row: int = 0) -> dict[str, float]:
        """The execution info keys of one row (mm_env.execution)."""
        return dict(zip(EXEC_INFO_KEYS, self.state[row, X_FEES : X_FEES + N_EXEC_INFO].tolist()))

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
        self.unseen[rows] = 0.0
        synthetic_reset_rows(
            self.state,
            rows,
            self.bid_sizes,
            self.ask_sizes,
            self.params,
            self.depths,
            self.obs,
            self._exec_rec,
        )

    def _step_kernel(
        self, actions: NDArray[np.float64], rng: np.random.Generator, active: NDArray[np.bool_]
    ) -> None:
        u, z = self._draws.draw(rng)
        if self.exec.random_latency:  # after the book's draws (random contract)
            self._latency_draws.draw(rng, self.latency)
        kernel = synthetic_step_parallel if self.multithreaded else synthetic_step
        kernel(
            self.state,
            self.bid_sizes,
            self.ask_sizes,
            self.params,
            self._exec_rec,
            actions,
            u,
            z,
            self.latency,
            self.depths,
            self.obs,
            self.truncated,
            active,
            self.unseen,
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
