"""Execution: how our quotes meet a tick-grid market — the one statement of the rules.

Used by ``MarketMaking`` (:mod:`mm_env.scenarios.synthetic`) and ``Replay``
(:mod:`mm_env.scenarios.replay`); every other docstring links here. Notation (as in
hftbacktest's ``src/backtest/models/queue.rs``): for one resting order of ours at a price level,
``front`` is the displayed quantity queued ahead of it, ``back`` the displayed quantity behind it.

Quote placement
    The action gives bid = mid − (m s / 2)(1 + skew), ask = mid + (m s / 2)(1 − skew)
    (:func:`mm_env.core.quotes_from_action`). On the tick grid (:func:`grid_quotes`) the quotes
    are rounded away from the mid (bid down, ask up; within ``touch_tolerance`` of a tick counts
    as on it), made post-only against the book the agent observes (a bid at or above the best
    ask moves to one tick below it, an ask at or below the best bid to one tick above it), and
    our ask is always at least one tick above our bid. A side's size is
    ``min(order_size, inventory room)``; size 0 cancels that side.

Our resting orders (state columns ``O_*`` below, one block per side)
    A side holds at most one order, in at most two parts: part 1 (size, ``front``) and, with
    ``keep_priority``, part 2, size added to it later, which queues behind part 1 and behind
    everything displayed when it was added. A request (price, size) reaching the market
    (after the entry latency):

    * another price, or no order: a new order, behind everything displayed at its price (the
      queue model's join rule below);
    * the same price, ``keep_priority=True`` (the exchanges' price-time priority: NASDAQ, the
      LOBSTER venue, and most crypto venues): a smaller size reduces the order (part 2 first)
      and keeps its place; a larger size keeps the remainder's place and the added size joins
      at the back (part 2);
    * the same price, ``keep_priority=False`` (the v0 rule): the order keeps its place only if
      nothing of it filled since it was placed and it is not larger; otherwise the whole
      quote re-joins at the back with its full size;
    * post-only: a bid at or above the best ask at arrival (an ask at or below the best bid) is
      rejected (``info["n_rejected"]``) and the side has no order until the next request. At
      zero latency this never happens (quotes are made post-only against the same book).

Queue models (``queue_model``). At join, ``front`` = the size displayed at our price; a quote
that improves the best price or sits in a gap of the book has ``front = 0``; beyond the visible
levels ``front`` is unknown (infinite) until its price becomes visible, then the displayed size.

    * An execution of size v at our price: ``front -= v``; what passes ``front`` fills us
      (partial fills). Through our price (the aggressor reached a worse price, so price priority
      met us first): with ``fill_through`` the whole remaining order fills (our level was
      exhausted: hftbacktest's rule), else ``min(v, remaining)`` (v0). With ``fill_through`` a
      book that crosses our quote (best ask <= our bid, best bid >= our ask) also fills the whole
      remaining order at our price.
    * A depth update at our price from ``prev`` to ``new`` displayed, with ``traded`` the
      executions at our price seen since the previous update (so an execution is never counted
      both as a trade and as a depth decrease): ``chg = prev - new - traded``.
      ``risk_averse`` (hftbacktest ``RiskAdverseQueueModel``; the v0 rule): ``front = min(front,
      new)`` — cancellations move us up only through the cap. Probabilistic
      (hftbacktest ``ProbQueueModel::depth``): if ``chg < 0`` (the level grew)
      ``front = min(front, new)``; else with ``back = prev - front`` and ``p = prob(front, back)``
      the probability that the cancellation was behind us,
      ``front = max(min(front - (1 - p) chg + min(back - p chg, 0), new), 0)``
      (:func:`prob_depth`). The clamp at 0 is ours: hftbacktest's estimate goes below 0 when
      more is cancelled than its split puts ahead of us (on the GOOG day, touch quotes each
      second, power2:2: 1,291 of 46,000 side-steps, down to -82 shares), and its next trade at
      our price then fills ``-front`` more than the trade's own size; here the queue ahead is
      never negative, so an execution never fills us for more than its size (the same fills
      whenever our order is no larger than the execution). With

      ========== =================================================== ===========================
      model      ``p``                                               hftbacktest
      ========== =================================================== ===========================
      power:N    back^N / (back^N + front^N)                         ``PowerProbQueueFunc``
      power2:N   back^N / (back + front)^N                           ``PowerProbQueueFunc2``
      power3:N   1 - (front / (front + back))^N                      ``PowerProbQueueFunc3``
      log        ln(1 + back) / (ln(1 + back) + ln(1 + front))       ``LogProbQueueFunc``
      log2       ln(1 + back) / ln(1 + back + front)                 ``LogProbQueueFunc2``
      ========== =================================================== ===========================

      (a non-finite ``p``, e.g. 0/0, counts as 1, as hftbacktest does).
    * ``exact`` (LOBSTER message data only; hftbacktest's L3 FIFO model): every order resting at
      our price when our order arrives is ahead of it, including orders resting before the file
      began; orders submitted later are behind it. ``front`` falls exactly when an order ahead
      is executed (type 4), partly cancelled (2) or deleted (3); an execution of an order behind
      us means the aggressor passed us, so it fills us (up to its size). Hidden executions (5)
      do not touch the visible queue (at our price they fill us only with ``front = 0``: a
      displayed order has priority over hidden ones); halts (7) change nothing. LOBSTER's
      message file of N levels carries only the messages within those N levels: while our
      price is beyond them (and when we join there), orders come and go unseen, so when it
      comes back into view ``front = min(front, displayed)`` and the rest is behind us. The loader's
      ``first_row`` (the message row at which each order id first appeared, -1 for orders
      present before the file began) decides ahead/behind: an order is ahead of a part joined
      before row j iff its ``first_row < j``.

Latency (Replay: seconds on the data's clock, per-event and clock stepping alike)
    * entry (``entry_latency``): a request decided at time t reaches the market at
      ``max(t + latency, arrival of the previous request)`` (one session's messages arrive in
      order); until then the previous order stays live and can fill. At most
      ``N_PENDING`` requests per side are in flight; a further one replaces the newest.
    * response (``response_latency``): a fill at exchange time t reaches the agent's observed
      inventory (observation entry ``inventory``) at t + latency; ``info["inventory"]`` is the
      true inventory. The same holds for the agent's view of its own orders (below).
    * feed (``feed_latency``, constant): the observation shows the book as it was that long
      before the step's time, and quotes are built from that book. ``feed_latency="data"``:
      from the data's own receive clock (``OrderBook.recv_time``; a snapshot file's
      ``local_timestamp``): the last row received by the step's time.
    * a constant, ``"lognormal:MEDIAN,SIGMA"`` (exp of a normal with mean ln MEDIAN, s.d.
      SIGMA), or an empirical sample (a tuple of seconds, or ``"file:PATH"``, one number a line)
      drawn with replacement. Random contract: per step, if entry or response latency is
      random, ``rng.random((n_envs, 2))`` after the scenario's own draws (column 0 entry,
      column 1 response), mapped through the distribution's quantile function.
    MarketMaking: entry and response latency in steps, the same rules (its book has no clock
    inside a step: a fractional latency acts as the next whole number of steps; details in
    :mod:`mm_env.scenarios.synthetic`), no feed latency.

The agent's view of its orders (when to send a request)
    At each decision a side sends a request iff the wanted (price, size) differs from what the
    agent believes rests on that side, :func:`send_requests` (both books call it). The agent
    knows what it sent (price, size) at once; it learns of a fill of that order, and of a
    post-only rejection, only the response latency after the event (the latency drawn for the
    step of the event). So it believes: its last request, less the fills of that request's
    order it has seen (fills that happened while a later request was in flight do not count:
    that request sets the size anew), or no order once it has seen a rejection. After a
    partial fill it has seen it sends the full size again (``keep_priority``: the difference
    joins at the back); after a fill it has not seen yet it sends nothing, as a strategy that
    only knows its responses would (hftbacktest's). With no response latency the agent's view
    is the exchange's at once, so this is the exchange's order once the requests in flight
    arrive (:func:`last_requested`); with no latency at all the quotes simply arrive each step.

Observation entries of our orders and of the trade flow (optional, off by default; the
scenarios call :func:`write_order_observation`, written after every other entry)
    * ``obs_own_orders``: per side (bid first), ``*_queue_ahead``: ``front`` of part 1 as a
      fraction of the size displayed at its price in the book the agent observes, clipped to
      [0, 1] (0 with no order, or when the order improves the best price or sits in a gap; 1
      beyond the visible levels, where ``front`` is unknown); ``*_live``: 1 when an order
      rests at the market (``info["bid_live"]``); ``*_in_flight``: the requests of that side
      in flight, 0 to ``N_PENDING`` (``info["bid_in_flight"]``).
    * ``obs_trade_flow`` = h > 0 (a half-life in steps): ``trade_flow`` =
      (B − S) / (B + S), B and S exponential moving averages of the market-order volume
      bought and sold per step, ``B += α (b − B)`` with α = 1 − 2^(−1/h) (0 before any trade);
      in [−1, 1].

Fees (``maker_fee_bps``, ``taker_fee_bps`` per traded value in basis points; ``maker_fee_per_unit``,
``taker_fee_per_unit`` per unit traded; a negative maker fee is a rebate). Each of our fills is a
maker fill and pays ``q price maker_fee_bps / 1e4 + q maker_fee_per_unit`` from cash at the
fill, so PnL and reward include it; ``info["fees"]`` is the episode's cumulative fees (negative:
net rebate). ``liquidate_at_end`` crosses the spread, so its cost adds the taker fee on
``|q| mid``. Defaults are zero: the venues of our data charge tiered, member-specific fees
(NASDAQ's 2012 schedule: about 0.30 ¢/share taker, 0.20–0.29 ¢/share rebate), so pick yours.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from mm_env.core import N_COMMON, fill_ask, fill_bid, row_function

EMPTY = 1e-12  # a level (or an order) with less than this is empty

# ---- queue models --------------------------------------------------------------------------------
QM_RISK_AVERSE = 0
QM_POWER = 1
QM_POWER2 = 2
QM_POWER3 = 3
QM_LOG = 4
QM_LOG2 = 5
QM_EXACT = 6
_QUEUE_MODELS = {"power": QM_POWER, "power2": QM_POWER2, "power3": QM_POWER3}
QUEUE_MODEL_NAMES = (
    "risk_averse",
    "power:N",
    "power2:N",
    "power3:N",
    "log",
    "log2",
    "exact",
    "auto",
)


def parse_queue_model(field: str, value: Any) -> tuple[int, float]:
    """``(model code, n)`` of a ``queue_model`` string; ``"auto"`` is resolved by the caller.

    Raises ``ValueError`` naming ``field`` for anything else.
    """
    if isinstance(value, str):
        if value == "risk_averse":
            return QM_RISK_AVERSE, 0.0
        if value == "log":
            return QM_LOG, 0.0
        if value == "log2":
            return QM_LOG2, 0.0
        if value == "exact":
            return QM_EXACT, 0.0
        if value == "auto":
            return -1, 0.0
        name, sep, n = value.partition(":")
        if sep and name in _QUEUE_MODELS:
            try:
                v = float(n)
            except ValueError:
                v = math.nan
            if math.isfinite(v) and v > 0:
                return _QUEUE_MODELS[name], v
    raise ValueError(
        f"config field {field!r}: unknown queue model {value!r}; one of {QUEUE_MODEL_NAMES} "
        "(N > 0, e.g. 'power:2')"
    )


@njit(cache=True, inline="always")
def queue_prob(model: int, n: float, front: float, back: float) -> float:
    """``p``, the probability that a cancellation at our level was behind us (module table)."""
    f = max(front, 0.0)
    b = max(back, 0.0)
    if model == QM_POWER:  # queue.rs PowerProbQueueFunc: back^n / (back^n + front^n)
        p = b**n / (b**n + f**n) if b + f > 0.0 else math.nan
    elif model == QM_POWER2:  # queue.rs PowerProbQueueFunc2: back^n / (back + front)^n
        p = b**n / (b + f) ** n if b + f > 0.0 else math.nan
    elif model == QM_POWER3:  # queue.rs PowerProbQueueFunc3: 1 - (front / (front + back))^n
        p = 1.0 - (f / (f + b)) ** n if b + f > 0.0 else math.nan
    elif model == QM_LOG:  # queue.rs LogProbQueueFunc: ln(1+back) / (ln(1+back) + ln(1+front))
        lb = math.log1p(b)
        p = lb / (lb + math.log1p(f)) if b + f > 0.0 else math.nan
    else:  # QM_LOG2, queue.rs LogProbQueueFunc2: ln(1 + back) / ln(1 + back + front)
        p = math.log1p(b) / math.log1p(b + f) if b + f > 0.0 else math.nan
    return p if math.isfinite(p) else 1.0


@njit(cache=True, inline="always")
def prob_depth(model: int, n: float, front: float, prev: float, new: float, traded: float) -> float:
    """``front`` after a depth update (module docstring, "Queue models"; queue.rs
    ``ProbQueueModel::depth`` for the probabilistic models)."""
    if model == QM_RISK_AVERSE or model == QM_EXACT:
        return min(front, new)
    chg = prev - new - traded
    if chg < 0.0:
        return min(front, new)
    back = prev - front
    p = queue_prob(model, n, front, back)
    return max(min(front - (1.0 - p) * chg + min(back - p * chg, 0.0), new), 0.0)


# ---- quote placement ----------------------------------------------------------------------------
@njit(cache=True, inline="always")
def grid_quotes(
    qb: float, qa: float, best_bid_t: float, best_ask_t: float, tick: float, tol_ticks: float
) -> tuple[float, float]:
    """Our (bid, ask) in ticks on a tick grid (module docstring, "Quote placement").

    Rounded away from the mid (a quote within ``tol_ticks`` of a tick counts as on it),
    post-only against the best prices ``best_bid_t`` / ``best_ask_t`` (in ticks), and the ask
    at least one tick above the bid.
    """
    bid_t = min(math.floor(qb / tick + tol_ticks), best_ask_t - 1.0)
    ask_t = max(math.ceil(qa / tick - tol_ticks), best_bid_t + 1.0)
    if ask_t < bid_t + 1.0:
        ask_t = bid_t + 1.0
    return bid_t, ask_t


@njit(cache=True, inline="always")
def ahead_of(
    level: int, n_levels: int, level_size: float, same_order: bool, previous: float
) -> float:
    """Displayed size ahead of our quote at ``level`` of a side showing ``n_levels`` levels, with
    ``level_size`` displayed there (-1: improving or in a gap, nothing ahead; ``>= n_levels``:
    beyond the visible book, infinite). ``same_order``: it keeps its place, ``previous`` ahead of
    it, never more than displayed; otherwise behind everything displayed.
    """
    if level < 0:
        return 0.0
    if level >= n_levels:
        return math.inf  # beyond the visible book: never reached
    if same_order:
        return min(previous, level_size)
    return level_size


@njit(cache=True, inline="always")
def queue_ahead(sizes: NDArray[np.float64], level: int, same_order: bool, previous: float) -> float:
    """:func:`ahead_of` for a side whose sizes (best first) are ``sizes``."""
    n = sizes.shape[0]
    return ahead_of(level, n, sizes[level] if 0 <= level < n else 0.0, same_order, previous)


@njit(cache=True, inline="always")
def level_of(prices_t: NDArray[np.float64], quote_t: float, bid_side: bool) -> int:
    """Our quote's place on one side of a book (prices in ticks, best first, NaN = empty).

    -1: it improves the best price, or sits in a gap of the book (nothing displayed there);
    j: it joins level j; len(prices_t): beyond the visible (or recorded) levels.
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
def displayed_at(
    prices_t: NDArray[np.float64], sizes: NDArray[np.float64], quote_t: float, bid_side: bool
) -> float:
    """Size displayed at ``quote_t`` (0 in a gap or improving; inf beyond the visible levels)."""
    level = level_of(prices_t, quote_t, bid_side)
    if level < 0:
        return 0.0
    if level >= sizes.shape[0]:
        return math.inf
    return sizes[level]


# ---- parameters by name -------------------------------------------------------------------------
class ExecParams(NamedTuple):
    """The execution parameters a kernel reads, by name (built by :func:`exec_params`)."""

    tick: float  # price grid
    tol_ticks: float  # touch_tolerance / tick
    queue_model: int  # QM_*
    queue_n: float  # N of the power models
    keep_priority: bool
    fill_through: bool
    maker_bps: float  # maker fee, fraction of traded value (bps / 1e4)
    maker_unit: float  # maker fee per unit
    taker_bps: float
    taker_unit: float
    entry_latency: float  # constant part (seconds on the data clock); draws come in arrays
    response_latency: float
    random_latency: bool  # draws are passed in (column 0 entry, 1 response)
    track_response: bool  # response latency > 0 or random: observed inventory lags
    obs_orders_at: int  # observation column of bid_queue_ahead (obs_own_orders), else -1
    obs_flow_at: int  # observation column of trade_flow (obs_trade_flow), else -1
    flow_alpha: float  # the trade flow's EMA weight 1 - 2^(-1/half-life), 0 when off


def exec_params(config: Any, queue_model: int, queue_n: float) -> ExecParams:
    """The :class:`ExecParams` of a config (a SyntheticConfig or ReplayConfig)."""
    from mm_env.core import observation_names

    names = observation_names(config)
    half_life = float(getattr(config, "obs_trade_flow", 0.0))
    tick = float(config.tick_size)
    entry = getattr(config, "entry_latency", 0.0)
    resp = getattr(config, "response_latency", 0.0)
    random_lat = not isinstance(entry, (int, float)) or not isinstance(resp, (int, float))
    return ExecParams(
        tick=tick,
        tol_ticks=float(config.touch_tolerance) / tick,
        queue_model=int(queue_model),
        queue_n=float(queue_n),
        keep_priority=bool(config.keep_priority),
        fill_through=bool(config.fill_through),
        maker_bps=float(config.maker_fee_bps) * 1e-4,
        maker_unit=float(config.maker_fee_per_unit),
        taker_bps=float(config.taker_fee_bps) * 1e-4,
        taker_unit=float(config.taker_fee_per_unit),
        entry_latency=float(entry) if isinstance(entry, (int, float)) else 0.0,
        response_latency=float(resp) if isinstance(resp, (int, float)) else 0.0,
        random_latency=random_lat,
        track_response=random_lat or float(resp) > 0.0,
        obs_orders_at=names.index("bid_queue_ahead") if "bid_queue_ahead" in names else -1,
        obs_flow_at=names.index("trade_flow") if "trade_flow" in names else -1,
        flow_alpha=1.0 - 2.0 ** (-1.0 / half_life) if half_life > 0.0 else 0.0,
    )


def exec_record(ep: ExecParams) -> NDArray[Any]:
    """:class:`ExecParams` as a one-element structured array, the form the kernels take (numba
    reads its fields by name, ``ep.tick``; a named tuple argument costs a slow type check on
    every call from Python)."""
    kinds = {int: np.int64, bool: np.bool_, float: np.float64}
    dtype = np.dtype([(k, kinds[type(v)]) for k, v in ep._asdict().items()])
    rec = np.zeros(1, dtype=dtype)
    for k, v in ep._asdict().items():
        rec[k] = v
    return rec


# ---- latency distributions ---------------------------------------------------------------
def latency_quantiles(field: str, value: Any) -> NDArray[np.float64] | None:
    """A latency spec as a sorted sample whose empirical quantile function maps uniforms to
    draws (``None`` for a constant). Lognormal specs are tabulated at 4096 quantiles.

    Raises ``ValueError`` naming ``field`` (or the file) for a bad spec.
    """
    if isinstance(value, bool):
        raise ValueError(
            f"config field {field!r}: must be seconds or a distribution (got {value!r})"
        )
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"config field {field!r}: must be finite and >= 0 (got {value!r})")
        return None
    if isinstance(value, str) and value.startswith("lognormal:"):
        try:
            med, sig = (float(x) for x in value[len("lognormal:") :].split(","))
        except ValueError:
            med, sig = math.nan, math.nan
        if not (math.isfinite(med) and med > 0 and math.isfinite(sig) and sig >= 0):
            raise ValueError(
                f"config field {field!r}: 'lognormal:MEDIAN,SIGMA' needs MEDIAN > 0 and "
                f"SIGMA >= 0, finite (got {value!r})"
            )
        from statistics import NormalDist

        u = (np.arange(4096) + 0.5) / 4096
        z = np.array([NormalDist().inv_cdf(float(x)) for x in u])
        return np.asarray(med * np.exp(sig * z), dtype=np.float64)
    if isinstance(value, str) and value.startswith("file:"):
        path = Path(value[len("file:") :])
        try:
            text = path.read_text()
        except OSError as exc:
            raise ValueError(
                f"config field {field!r}: cannot read latency file {path}: {exc}"
            ) from None
        vals = []
        for k, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            try:
                v = float(s)
            except ValueError:
                raise ValueError(
                    f"latency file {path} (config field {field!r}), line {k}: not a number: {s!r}"
                ) from None
            if not math.isfinite(v) or v < 0:
                raise ValueError(
                    f"latency file {path} (config field {field!r}), line {k}: latency must be "
                    f"finite and >= 0 (got {s!r})"
                )
            vals.append(v)
        if not vals:
            raise ValueError(f"latency file {path} (config field {field!r}) has no latencies")
        return np.sort(np.array(vals, dtype=np.float64))
    if isinstance(value, tuple) and value:
        arr = (
            np.asarray(value, dtype=np.float64)
            if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
            else np.array([np.nan])
        )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(
                f"config field {field!r}: an empirical sample must be finite seconds >= 0 "
                f"(got {value!r})"
            )
        return np.sort(arr)
    raise ValueError(
        f"config field {field!r}: seconds (>= 0), 'lognormal:MEDIAN,SIGMA', 'file:PATH' or a "
        f"non-empty tuple of seconds (got {value!r})"
    )


def draw_latency(
    quantiles: NDArray[np.float64] | None, constant: float, u: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Latencies for uniforms ``u`` (the empirical quantile function of ``quantiles``)."""
    if quantiles is None:
        return np.full(u.shape, constant)
    idx = np.minimum((u * quantiles.size).astype(np.int64), quantiles.size - 1)
    return quantiles[idx]


@njit(cache=True)
def _latencies_from_uniforms(
    out: NDArray[np.float64],
    u: NDArray[np.float64],
    entry_q: NDArray[np.float64],
    resp_q: NDArray[np.float64],
    entry: float,
    resp: float,
) -> None:  # pragma: no cover
    """:func:`draw_latency` for both latencies of every row in one compiled call (an empty
    sample means the constant): the same index rule, so the same draws, without the numpy
    temporaries that cost more than the step itself on a single env."""
    for i in range(out.shape[0]):
        for k in range(2):
            q = entry_q if k == 0 else resp_q
            if q.size == 0:
                out[i, k] = entry if k == 0 else resp
            else:
                out[i, k] = q[min(int(u[i, k] * q.size), q.size - 1)]


class LatencySampler:
    """The per-step latency draws of a scenario (random contract: one ``rng.random((n, 2))``
    per step, column 0 the entry latency, column 1 the response latency, each mapped through
    its empirical quantile function, :func:`draw_latency`; a constant latency uses its column
    of uniforms for nothing). Only used when a latency is a distribution."""

    def __init__(self, entry: Any, response: Any, entry_constant: float, resp_constant: float):
        empty = np.zeros(0)
        eq = latency_quantiles("entry_latency", entry)
        rq = latency_quantiles("response_latency", response)
        self.entry_q = empty if eq is None else eq
        self.resp_q = empty if rq is None else rq
        self.entry = float(entry_constant)
        self.resp = float(resp_constant)

    def draw(self, rng: np.random.Generator, out: NDArray[np.float64]) -> None:
        """Fill ``out`` (n_envs x 2) with this step's latencies."""
        u = rng.random((out.shape[0], 2))
        _latencies_from_uniforms(out, u, self.entry_q, self.resp_q, self.entry, self.resp)


# ---- state columns of our orders ----------------------------------------------------------
# One block per side, side 0 = bid, side 1 = ask, at the same offsets in every scenario.
N_PENDING = 4  # requests in flight per side
O_PRICE = 0  # price of our live order, in ticks (NaN: none)
O_SIZE = 1  # part 1: size left
O_FRONT = 2  # part 1: displayed size ahead of it
O_SIZE2 = 3  # part 2 (size added at the back under keep_priority)
O_FRONT2 = 4
O_REQ = 5  # size last requested (the v0 rule: an order keeps its place only if not larger)
O_FILLED = 6  # 1 when part of the order filled since it was placed (the v0 rule)
O_LEVEL = 7  # size displayed at our price at the last depth update (probabilistic models)
O_TRADED = 8  # executions at our price since then
O_BEHIND = 9  # exact queue: size behind part 1
O_JOIN = 10  # exact queue: the row before which part 1 joined (orders first seen earlier: ahead)
O_JOIN2 = 11
O_N_PEND = 12  # requests in flight
O_PEND = 13  # N_PENDING x (price ticks, size, arrival time), oldest first
# the agent's view of its order (module docstring, "The agent's view"; used with a response latency)
O_SENT_PRICE = O_PEND + 3 * N_PENDING  # price of the last request sent (ticks; NaN: none)
O_SENT_SIZE = O_SENT_PRICE + 1  # its size
O_N_SENT = O_SENT_PRICE + 2  # requests sent this episode: the last one's number
O_SEEN_FILLED = O_SENT_PRICE + 3  # fills of the last request's order the agent has seen
O_REJECT_SEEN = O_SENT_PRICE + 4  # when the agent learns the last request was rejected (inf)
SIDE_COLS = O_SENT_PRICE + 5
EXEC0 = N_COMMON  # first column of the execution block
# row-level execution columns (after both side blocks), contiguous: the extra info keys
X_FEES = EXEC0 + 2 * SIDE_COLS  # cumulative fees this episode (negative: net rebate)
X_REJECTED = X_FEES + 1  # post-only requests rejected this episode
X_BID_LIVE = X_FEES + 2  # our bid is resting at the market (1) or not (0)
X_ASK_LIVE = X_FEES + 3
X_BID_FLIGHT = X_FEES + 4  # requests of the bid side in flight
X_ASK_FLIGHT = X_FEES + 5
X_KNOWN_INV = X_FEES + 6  # the inventory the agent knows (fills older than response latency)
N_EXEC_INFO = 7
X_N_UNSEEN = X_FEES + N_EXEC_INFO  # fills not yet seen by the agent (in the fill ring)
X_FLOW_BUY = X_N_UNSEEN + 1  # EMA of the market-order volume bought per step (obs_trade_flow)
X_FLOW_SELL = X_N_UNSEEN + 2  # ... and sold
N_EXEC_STATE = X_N_UNSEEN + 3  # scenario columns start here
N_UNSEEN = 16  # fills the ring holds; when full, the oldest counts as seen
# the fill ring's columns: when the agent sees the fill, its signed quantity, the side, and the
# number of the request whose order filled (-1: filled while requests of that side were in flight)
R_SEEN_AT = 0
R_QTY = 1
R_SIDE = 2
R_REQUEST = 3
RING_COLS = 4
EXEC_INFO_KEYS: tuple[str, ...] = (
    "fees",
    "n_rejected",
    "bid_live",
    "ask_live",
    "bid_in_flight",
    "ask_in_flight",
    "known_inventory",
)


@njit(cache=True, inline="always")
def col(side: int, c: int) -> int:
    """State column ``c`` (an ``O_*`` offset) of ``side`` (0 bid, 1 ask)."""
    return EXEC0 + side * SIDE_COLS + c


# legacy names (the v0 column meanings, now in the execution block)
OUR_BID_TICKS = col(0, O_PRICE)
OUR_ASK_TICKS = col(1, O_PRICE)
BID_AHEAD = col(0, O_FRONT)
ASK_AHEAD = col(1, O_FRONT)


@njit(cache=True, inline="always")
def reset_orders(state: NDArray[np.float64], i: int) -> None:
    """No order, nothing in flight (episode start)."""
    for s in range(2):
        b = EXEC0 + s * SIDE_COLS
        state[i, b + O_PRICE] = math.nan
        for c in range(1, SIDE_COLS):
            state[i, b + c] = 0.0
        state[i, b + O_JOIN] = -1.0
        state[i, b + O_JOIN2] = -1.0
        state[i, b + O_SENT_PRICE] = math.nan
        state[i, b + O_REJECT_SEEN] = math.inf
    for c in range(X_FEES, N_EXEC_STATE):
        state[i, c] = 0.0


@njit(cache=True, inline="always")
def _see(state: NDArray[np.float64], i: int, ring: NDArray[np.float64], j: int) -> None:
    """The agent sees ring entry ``j``: a fill of its last request's order lowers what it
    believes rests (module docstring, "The agent's view")."""
    side = int(ring[i, j, R_SIDE])
    b = EXEC0 + side * SIDE_COLS
    if ring[i, j, R_REQUEST] == state[i, b + O_N_SENT]:
        state[i, b + O_SEEN_FILLED] += abs(ring[i, j, R_QTY])


@njit(cache=True, inline="always")
def record_unseen(
    state: NDArray[np.float64],
    i: int,
    ring: NDArray[np.float64],
    seen_at: float,
    qty: float,
    side: int,
) -> None:
    """A fill of signed ``qty`` on ``side`` the agent sees at ``seen_at`` (response latency)."""
    n = int(state[i, X_N_UNSEEN])
    if n == N_UNSEEN:  # full: the oldest counts as seen
        _see(state, i, ring, 0)
        for j in range(n - 1):
            for c in range(RING_COLS):
                ring[i, j, c] = ring[i, j + 1, c]
        n -= 1
    b = EXEC0 + side * SIDE_COLS
    ring[i, n, R_SEEN_AT] = seen_at
    ring[i, n, R_QTY] = qty
    ring[i, n, R_SIDE] = side
    ring[i, n, R_REQUEST] = state[i, b + O_N_SENT] if state[i, b + O_N_PEND] == 0.0 else -1.0
    state[i, X_N_UNSEEN] = n + 1


@njit(cache=True, inline="always")
def known_inventory(
    state: NDArray[np.float64], i: int, ring: NDArray[np.float64], now: float, inventory: float
) -> float:
    """The inventory the agent knows at ``now``: fills not yet seen are left out. The fills
    seen by ``now`` leave the ring and update the agent's view of its orders."""
    n = int(state[i, X_N_UNSEEN])
    k = 0
    unseen = 0.0
    for j in range(n):
        if ring[i, j, R_SEEN_AT] > now:
            for c in range(RING_COLS):
                ring[i, k, c] = ring[i, j, c]
            unseen += ring[i, j, R_QTY]
            k += 1
        else:
            _see(state, i, ring, j)
    state[i, X_N_UNSEEN] = k
    return inventory - unseen


#: observation names of obs_own_orders, in order (module docstring, "Observation entries")
ORDER_OBSERVATION_NAMES: tuple[str, ...] = (
    "bid_queue_ahead",
    "bid_live",
    "bid_in_flight",
    "ask_queue_ahead",
    "ask_live",
    "ask_in_flight",
)


@njit(cache=True, inline="always")
def update_trade_flow(state: NDArray[np.float64], i: int, buy: float, sell: float, ep: Any) -> None:
    """One step of the trade flow's moving averages (``buy``, ``sell``: the step's market-order
    volume on each side); nothing when ``obs_trade_flow`` is off."""
    a = ep.flow_alpha
    if a > 0.0:
        state[i, X_FLOW_BUY] += a * (buy - state[i, X_FLOW_BUY])
        state[i, X_FLOW_SELL] += a * (sell - state[i, X_FLOW_SELL])


@njit(cache=True, inline="always")
def write_order_observation(
    obs: Any, i: int, state: NDArray[np.float64], shown_bid: float, shown_ask: float, ep: Any
) -> None:
    """The entries of ``obs_own_orders`` and ``obs_trade_flow`` of row ``i`` (module docstring,
    "Observation entries"); ``shown_bid``/``shown_ask``: the size the observed book displays at
    our order's price (0 improving or in a gap, inf beyond the visible levels, any value with
    no order). Needs the live and in-flight columns of this step written first."""
    c = ep.obs_orders_at
    if c >= 0:
        for side in range(2):
            live = state[i, X_BID_LIVE + side] > 0.0
            shown = shown_bid if side == 0 else shown_ask
            front = state[i, col(side, O_FRONT)]
            frac = 0.0
            if live and shown > EMPTY:
                if math.isinf(shown) or math.isinf(front):
                    frac = 1.0
                else:
                    frac = min(max(front / shown, 0.0), 1.0)
            obs[i, c] = frac
            obs[i, c + 1] = 1.0 if live else 0.0
            obs[i, c + 2] = state[i, X_BID_FLIGHT + side]
            c += 3
    if ep.obs_flow_at >= 0:
        buy = state[i, X_FLOW_BUY]
        sell = state[i, X_FLOW_SELL]
        total = buy + sell
        obs[i, ep.obs_flow_at] = (buy - sell) / total if total > EMPTY else 0.0


@njit(cache=True, inline="always")
def maker_fee(qty: float, price: float, ep: Any) -> float:
    """Fee of a maker fill (negative: rebate)."""
    return qty * (price * ep.maker_bps + ep.maker_unit)


@njit(cache=True, inline="always")
def taker_fee(qty: float, price: float, ep: Any) -> float:
    """Fee of a taker trade of ``qty`` (> 0) at ``price``."""
    return qty * (price * ep.taker_bps + ep.taker_unit)


@njit(cache=True, inline="always")
def charge(state: NDArray[np.float64], i: int, fee: float) -> None:
    """Take a fee from cash (so from PnL and reward) and add it to the episode's fees."""
    state[i, X_FEES] += fee
    state[i, 9] -= fee  # core.CASH


@njit(cache=True, inline="always")
def push_request(
    state: NDArray[np.float64], i: int, side: int, price_t: float, size: float, arrival: float
) -> None:
    """Send a request; it reaches the market at ``max(arrival, previous arrival)``."""
    b = EXEC0 + side * SIDE_COLS
    n = int(state[i, b + O_N_PEND])
    if n > 0:
        arrival = max(arrival, state[i, b + O_PEND + 3 * (n - 1) + 2])
    if n == N_PENDING:
        n -= 1  # full: replace the newest
    k = b + O_PEND + 3 * n
    state[i, k] = price_t
    state[i, k + 1] = size
    state[i, k + 2] = arrival
    state[i, b + O_N_PEND] = n + 1
    state[i, b + O_SENT_PRICE] = price_t  # the agent knows what it sent at once
    state[i, b + O_SENT_SIZE] = size
    state[i, b + O_N_SENT] += 1.0
    state[i, b + O_SEEN_FILLED] = 0.0
    state[i, b + O_REJECT_SEEN] = math.inf


@njit(cache=True, inline="always")
def pop_request(state: NDArray[np.float64], i: int, side: int) -> tuple[float, float]:
    """Remove the oldest request in flight; returns (price ticks, size)."""
    b = EXEC0 + side * SIDE_COLS
    n = int(state[i, b + O_N_PEND])
    p = state[i, b + O_PEND]
    s = state[i, b + O_PEND + 1]
    for j in range(3, 3 * n):
        state[i, b + O_PEND + j - 3] = state[i, b + O_PEND + j]
    state[i, b + O_N_PEND] = n - 1
    return p, s


@njit(cache=True, inline="always")
def last_requested(state: NDArray[np.float64], i: int, side: int) -> tuple[float, float]:
    """(price, size) the market will hold once the requests in flight arrive."""
    b = EXEC0 + side * SIDE_COLS
    n = int(state[i, b + O_N_PEND])
    if n > 0:
        k = b + O_PEND + 3 * (n - 1)
        return state[i, k], state[i, k + 1]
    return state[i, b + O_PRICE], state[i, b + O_SIZE] + state[i, b + O_SIZE2]


@njit(cache=True, inline="always")
def believed_order(
    state: NDArray[np.float64], i: int, side: int, now: float, ep: Any
) -> tuple[float, float]:
    """(price, size) the agent believes rests (or will rest) on ``side`` at ``now``: module
    docstring, "The agent's view". Without a response latency, what the exchange will hold
    once the requests in flight arrive (:func:`last_requested`)."""
    if not ep.track_response:
        return last_requested(state, i, side)
    b = EXEC0 + side * SIDE_COLS
    if now >= state[i, b + O_REJECT_SEEN]:
        return math.nan, 0.0
    return state[i, b + O_SENT_PRICE], state[i, b + O_SENT_SIZE] - state[i, b + O_SEEN_FILLED]


@njit(cache=True, inline="always")
def send_requests(
    state: NDArray[np.float64],
    i: int,
    bid_t: float,
    bid_size: float,
    ask_t: float,
    ask_size: float,
    now: float,
    entry: float,
    ep: Any,
) -> bool:
    """The agent's requests at decision time ``now`` (module docstring, "The agent's view"):
    a side whose wanted (price, size) differs from :func:`believed_order` sends a request,
    reaching the market at ``now + entry`` (:func:`push_request`). Returns True, sending
    nothing, when there is no latency at all (no entry or response latency, nothing in
    flight): the caller then has both quotes arrive at once, against the book shown now."""
    b0 = EXEC0 + O_N_PEND
    if (
        entry == 0.0
        and not ep.track_response
        and state[i, b0] == 0.0
        and state[i, b0 + SIDE_COLS] == 0.0
    ):
        return True
    for side in range(2):
        p = bid_t if side == 0 else ask_t
        s = bid_size if side == 0 else ask_size
        lp, ls = believed_order(state, i, side, now, ep)
        if not (p == lp and s == ls) and not (s <= EMPTY and ls <= EMPTY):
            push_request(state, i, side, p, s, now + entry)
    return False


@njit(cache=True, inline="always")
def note_arrival(
    state: NDArray[np.float64], i: int, side: int, rejected_before: float, seen_at: float
) -> None:
    """After a request arrived (:func:`arrive_at`): if post-only rejected it
    (``X_REJECTED`` grew from ``rejected_before``) and it is the agent's last request, the
    agent learns at ``seen_at`` (the response latency) that the side has no order."""
    b = EXEC0 + side * SIDE_COLS
    if state[i, X_REJECTED] > rejected_before and state[i, b + O_N_PEND] == 0.0:
        state[i, b + O_REJECT_SEEN] = seen_at


@njit(cache=True, inline="always")
def arrive(
    state: NDArray[np.float64],
    i: int,
    side: int,
    price_t: float,
    size: float,
    prices_t: NDArray[np.float64],
    sizes: NDArray[np.float64],
    opp_best_t: float,
    join_row: float,
    ep: Any,
) -> None:
    """:func:`arrive_at` for a side given as price (ticks) and size arrays, best first."""
    level = level_of(prices_t, price_t, side == 0)
    n = sizes.shape[0]
    level_size = sizes[level] if 0 <= level < n else 0.0
    arrive_at(state, i, side, price_t, size, level, n, level_size, opp_best_t, join_row, ep)


def arrive_at(
    state: NDArray[np.float64],
    i: int,
    side: int,
    price_t: float,
    size: float,
    level: int,
    n_levels: int,
    level_size: float,
    opp_best_t: float,
    join_row: float,
    ep: Any,
) -> None:
    """A request (price, size) reaches the market: module docstring, "Our resting orders".

    The book: our price is at ``level`` of our side (:func:`level_of`: -1 improving or in a gap,
    ``n_levels`` beyond the visible levels), ``level_size`` displayed there; ``opp_best_t`` is
    the other side's best price. ``join_row``: the first message row after arrival (exact
    queue)."""
    b = EXEC0 + side * SIDE_COLS
    bid = side == 0
    if size <= EMPTY or math.isnan(price_t):
        state[i, b + O_PRICE] = math.nan
        state[i, b + O_SIZE] = 0.0
        state[i, b + O_SIZE2] = 0.0
        state[i, b + O_REQ] = 0.0
        return
    if (price_t >= opp_best_t) if bid else (price_t <= opp_best_t):  # post-only: would cross
        state[i, X_REJECTED] += 1.0
        state[i, b + O_PRICE] = math.nan
        state[i, b + O_SIZE] = 0.0
        state[i, b + O_SIZE2] = 0.0
        state[i, b + O_REQ] = 0.0
        return
    shown = ahead_of(level, n_levels, level_size, False, 0.0)
    same_price = price_t == state[i, b + O_PRICE]
    if same_price and ep.keep_priority:
        left = state[i, b + O_SIZE] + state[i, b + O_SIZE2]
        if size <= left:  # reduce, part 2 first: keeps its place
            cut = left - size
            c2 = min(cut, state[i, b + O_SIZE2])
            state[i, b + O_SIZE2] -= c2
            state[i, b + O_SIZE] -= cut - c2
        else:  # the added size joins at the back
            state[i, b + O_SIZE2] += size - left
            state[i, b + O_FRONT2] = shown
            state[i, b + O_JOIN2] = join_row
        if state[i, b + O_SIZE] <= EMPTY and state[i, b + O_SIZE2] > EMPTY:
            promote(state, i, b)
        state[i, b + O_REQ] = size
        state[i, b + O_FILLED] = 0.0
        return  # the same order: the queue model's memory (O_LEVEL, O_TRADED) goes on
    elif same_price and state[i, b + O_FILLED] == 0.0 and size <= state[i, b + O_REQ]:
        # the v0 rule: the same order (same price, untouched, not larger) keeps its place
        state[i, b + O_FRONT] = ahead_of(level, n_levels, level_size, True, state[i, b + O_FRONT])
        state[i, b + O_SIZE] = size
    else:  # a new order, behind everything displayed at its price
        state[i, b + O_PRICE] = price_t
        state[i, b + O_SIZE] = size
        state[i, b + O_FRONT] = shown
        state[i, b + O_SIZE2] = 0.0
        state[i, b + O_BEHIND] = 0.0
        state[i, b + O_JOIN] = join_row
    state[i, b + O_REQ] = size
    state[i, b + O_FILLED] = 0.0
    state[i, b + O_LEVEL] = shown if level >= 0 else 0.0
    state[i, b + O_TRADED] = 0.0


@njit(cache=True, inline="always")
def promote(state: NDArray[np.float64], i: int, b: int) -> None:
    """Part 1 is gone: part 2 becomes part 1."""
    state[i, b + O_SIZE] = state[i, b + O_SIZE2]
    state[i, b + O_FRONT] = state[i, b + O_FRONT2]
    state[i, b + O_JOIN] = state[i, b + O_JOIN2]
    state[i, b + O_BEHIND] = -1.0  # exact queue: displayed - front at the next book row
    state[i, b + O_SIZE2] = 0.0


@njit(cache=True, inline="always")
def take_fill(state: NDArray[np.float64], i: int, b: int, q: float) -> None:
    """Remove a fill of ``q`` from our order (part 1 first)."""
    f1 = min(q, state[i, b + O_SIZE])
    state[i, b + O_SIZE] -= f1
    state[i, b + O_SIZE2] = max(state[i, b + O_SIZE2] - (q - f1), 0.0)
    state[i, b + O_FILLED] = 1.0
    if state[i, b + O_SIZE] <= EMPTY:
        if state[i, b + O_SIZE2] > EMPTY:
            promote(state, i, b)
        else:
            state[i, b + O_SIZE] = 0.0
            state[i, b + O_PRICE] = math.nan


def fill(
    state: NDArray[np.float64],
    i: int,
    side: int,
    q: float,
    price_t: float,
    params: NDArray[np.float64],
    ep: Any,
    ring: NDArray[np.float64],
    seen_at: float,
) -> None:
    """Our side ``side`` fills ``q`` (before the inventory limit) at ``price_t``: the
    accounting (:func:`mm_env.core.fill_bid`), our order, the maker fee, and the fill's report
    to the agent at ``seen_at`` (response latency)."""
    if q <= 0.0:
        return
    price = price_t * ep.tick
    got = (
        fill_bid(state, i, q, price, params) if side == 0 else fill_ask(state, i, q, price, params)
    )
    if got > 0.0:
        take_fill(state, i, col(side, 0), got)
        fee = maker_fee(got, price, ep)
        if fee != 0.0:
            charge(state, i, fee)
        if ep.track_response:
            record_unseen(state, i, ring, seen_at, got if side == 0 else -got, side)


def execution_share(
    state: NDArray[np.float64], i: int, side: int, rel: int, v: float, ep: Any
) -> float:
    """Our share of an execution of ``v`` against our side (level-data queue models).

    ``rel``: -1 the execution is through our price (price priority: it met us first), 0 at our
    price (after ``front``), 1 at a worse price (none). Updates the fronts; returns the
    quantity that reaches our order (before the inventory limit)."""
    b = EXEC0 + side * SIDE_COLS
    left = state[i, b + O_SIZE] + state[i, b + O_SIZE2]
    if rel > 0 or left <= EMPTY:
        return 0.0
    if rel < 0:
        return left if ep.fill_through else min(v, left)
    state[i, b + O_TRADED] += v
    f1 = state[i, b + O_FRONT]
    take = min(v, f1)
    state[i, b + O_FRONT] = f1 - take
    rem = v - take
    s1 = min(rem, state[i, b + O_SIZE])
    rem -= s1
    ours = s1
    if state[i, b + O_SIZE2] > EMPTY:
        f2 = state[i, b + O_FRONT2] - take
        take2 = min(rem, max(f2, 0.0))
        state[i, b + O_FRONT2] = f2 - take2
        rem -= take2
        ours += min(rem, state[i, b + O_SIZE2])
    return ours


def depth_update(state: NDArray[np.float64], i: int, side: int, new: float, ep: Any) -> None:
    """The size displayed at our price is now ``new``: the queue model moves the fronts."""
    b = EXEC0 + side * SIDE_COLS
    if math.isinf(new):
        return  # beyond the visible levels: unknown, nothing changes
    if math.isinf(state[i, b + O_FRONT]):
        # joined beyond the visible levels: now in view, behind everything displayed (any
        # model; the probabilistic formula has no meaning with an unknown front)
        state[i, b + O_FRONT] = new
        state[i, b + O_FRONT2] = new
        state[i, b + O_LEVEL] = new
        state[i, b + O_TRADED] = 0.0
        return
    prev = state[i, b + O_LEVEL]
    traded = state[i, b + O_TRADED]
    m = ep.queue_model
    state[i, b + O_FRONT] = prob_depth(m, ep.queue_n, state[i, b + O_FRONT], prev, new, traded)
    if state[i, b + O_SIZE2] > EMPTY:
        state[i, b + O_FRONT2] = prob_depth(
            m, ep.queue_n, state[i, b + O_FRONT2], prev, new, traded
        )
    state[i, b + O_LEVEL] = new
    state[i, b + O_TRADED] = 0.0


# The order helpers above in their two compiled forms (core.row_function): inlined (the
# MarketMaking row, cheap enough for a call to matter, with one or two sites each) and called
# (Replay's kernels, whose many call sites would make inlining slow to compile).
arrive_at_inline = row_function(inline=True)(arrive_at)
fill_inline = row_function(inline=True)(fill)
execution_share_inline = row_function(inline=True)(execution_share)
depth_update_inline = row_function(inline=True)(depth_update)
arrive_at = row_function()(arrive_at)
fill = row_function()(fill)
execution_share = row_function()(execution_share)
depth_update = row_function()(depth_update)


def first_rows(order_id: NDArray[np.int64], msg_type: NDArray[np.int64]) -> NDArray[np.int64]:
    """Per message row, the row at which its order id first appeared as a new order (type 1),
    or -1 when the order was resting before the file began (its first message is not a
    submission) — the exact queue's ahead/behind test (module docstring)."""
    ids = np.asarray(order_id, dtype=np.int64)
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    start = np.where(np.asarray(msg_type)[first] == 1, first, -1)
    return np.asarray(start[inverse.ravel()], dtype=np.int64)
