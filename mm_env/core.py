"""The simulation core shared by every scenario, the single env and the vector env.

A :class:`Simulator` steps ``n_envs`` books at once. The single :class:`~mm_env.env.MarketMakingEnv`
is a simulator with ``n_envs == 1``; the vector env (and later the replay scenario) drive the same
object with more rows. Nothing about the dynamics is written twice:

* the action mapping, quote construction, inventory-limited fills, the accounting and the
  reward, and the observation are the ``@njit`` helpers in this module;
* each scenario (:mod:`mm_env.scenarios`) supplies only its book and its fill rules, as one
  ``@njit`` kernel that calls these helpers.

State is a float64 array of shape ``(n_envs, N_STATE)``; its columns are named by the constants
below (``state[i, INVENTORY]``), and :class:`Simulator` exposes them as named properties.
Randomness never comes from inside a kernel: the simulator draws each step's random numbers from
the generator it is given (the env's ``np_random``) in one documented batch, and passes them in
(a large MarketMaking batch is drawn on two threads by :mod:`mm_env.draws`: NumPy's numbers).

Quote placement (:func:`quotes_from_action`). The action gives bid = mid − (m s / 2)(1 + skew)
and ask = mid + (m s / 2)(1 − skew), so ask − bid = m s. On a tick grid (MarketMaking, Replay)
the rules of :mod:`mm_env.execution` ("Quote placement": rounded away from the mid, post-only,
**our ask always at least one tick above our bid**, even on a locked or crossed recorded book)
apply. Off the grid, ``spread_multiple_range``
keeps m > 0 (Avellaneda–Stoikov family); only Notebook-v0 may cross, as the seed notebook does
(see :class:`~mm_env.config.NotebookConfig`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from mm_env.config import MarketConfig

# ---- state columns ---------------------------------------------------------------------------
# The first N_INFO columns are the info dict, in order (one slice builds it).
MID = 0  # mid of the book the last quotes met (the book of the previous observation)
BEST_BID = 1
BEST_ASK = 2
SPREAD = 3
IMBALANCE = 4
BID_QUOTE = 5
ASK_QUOTE = 6
BID_FILL = 7  # quantity bought this step
ASK_FILL = 8  # quantity sold this step
CASH = 9
INVENTORY = 10
PNL = 11  # cash + inventory * mid, marked at the mid of the book the last quotes met
SPREAD_MULTIPLE = 12  # the last action mapped to spread multiple ...
SKEW = 13  # ... and skew
VOLUME = 14  # cumulative quantity traded this episode
N_FILLS = 15  # cumulative number of fills this episode
STEP = 16  # steps taken in this episode
N_INFO = 17
REWARD = 17
ACTION_CLIPPED = 18  # 1.0 when the last action had an entry outside [-1, 1]
# book-specific columns follow N_COMMON
N_COMMON = 19

#: info keys, in the order of the first N_INFO state columns
INFO_KEYS: tuple[str, ...] = (
    "mid",
    "best_bid",
    "best_ask",
    "spread",
    "imbalance",
    "bid_quote",
    "ask_quote",
    "bid_fill",
    "ask_fill",
    "cash",
    "inventory",
    "pnl",
    "spread_multiple",
    "skew",
    "volume",
    "n_fills",
    "step",
)

#: batches of at least this many rows are stepped by the kernels' multi-threaded build
#: (measured on 2 cores with passive OpenMP waiting: waking the second thread costs more than
#: it saves below ~2000 rows — at 1024 rows the serial build ran the AS scenario 20% faster)
PARALLEL_MIN_ROWS = 2048

#: what the action's entries mean, for error messages (the third exists with market orders)
ACTION_ENTRIES = "0 = spread, 1 = skew, 2 = market order"


# ---- kernel decorators ---------------------------------------------------------------------------
def step_kernel(parallel: bool = False) -> Any:
    """``njit`` for the scenarios' row loops: cached, optionally multi-threaded (``prange``), and
    compiled without numba's reference counting (``_nrt=False``).

    Why: every array a row hands to an inlined helper costs an atomic incref/decref pair that
    numba's pruning does not remove across branches; in the Avellaneda–Stoikov row that was 55 of
    its 85 ns, and with two threads the shared counters bounce between cores. The row loops
    allocate nothing (callers pass every array in), which is what running without reference
    counting requires; numba refuses to compile an allocation there. ``_nrt`` is a flag of
    numba's dispatcher, not of its documented options: if a numba release drops it, change this
    one function back to ``njit(cache=True, parallel=parallel)``.
    """
    return njit(cache=True, parallel=parallel, _nrt=False)  # type: ignore[call-overload]


def row_function(inline: bool = False) -> Any:
    """``njit`` for a large helper of a row loop that is compiled once and called, not inlined.

    Small helpers are ``inline="always"`` (numba copies their IR into each caller: no call, and
    the compiler sees through them). A large one called from several places (a row body called
    by the serial and the parallel loop, an order-arrival routine called four times per row)
    is better compiled once: inlined, each copy is type-inferred and optimised again, and the
    Replay kernels' compile time grew about fivefold that way. Like :func:`step_kernel`, compiled
    without reference counting (the helpers allocate nothing).

    ``inline=True``: the same helper inlined, for a caller whose row is cheap enough for the call
    to count and whose call sites are few. The MarketMaking row inlines the execution helpers
    (one or two sites each): its serial kernel at N = 1024 went from 142 to 134–139 µs inside
    a vector step (medians of 5,500 steps, ``benchmarks/bench_omp_wake.py``), its compile time
    from 46 to 56 s (``python -m mm_env.warmup --scenario market_making``, empty cache).
    Inlining the row itself into the multi-threaded loop made that loop 25% faster back to back
    but its compile time four times longer (193 s), and was not kept. One Python function gives
    both forms (``fill`` and ``fill_inline`` in :mod:`mm_env.execution`): one source.
    """
    if inline:
        return njit(cache=True, inline="always", _nrt=False)  # type: ignore[call-overload]
    return njit(cache=True, _nrt=False)  # type: ignore[call-overload]


# ---- common parameter vector -----------------------------------------------------------------
P_N_STEPS = 0
P_MAX_INV = 1
P_ORDER_SIZE = 2
P_M_LO = 3
P_M_HI = 4
P_MAX_SKEW = 5
P_INV_PENALTY = 6
P_TERM_PENALTY = 7
P_LIQUIDATE = 8
P_INV_NORM = 9
P_SPREAD_SCALE = 10
P_TIME_LEFT = 11
P_MID_CHANGE = 12
P_TOL = 13
N_COMMON_PARAMS = 14


def common_params(config: MarketConfig) -> list[float]:
    """The common part of a kernel's parameter vector, in the order of the ``P_*`` constants."""
    lo, hi = config.spread_multiple_range
    return [
        float(config.n_steps),
        float(config.max_inventory),
        float(config.order_size),
        lo,
        hi,
        float(config.max_skew),
        float(config.inventory_penalty),
        float(config.terminal_inventory_penalty),
        1.0 if config.liquidate_at_end else 0.0,
        config.inventory_norm,
        config.spread_scale,
        1.0 if config.obs_time_left else 0.0,
        1.0 if config.obs_mid_change else 0.0,
        float(config.touch_tolerance),
    ]


# ---- the action mapping (one formula, used by kernels and by Python callers) -----------------
def _action_to_spread_skew(a0: Any, a1: Any, m_lo: float, m_hi: float, max_skew: float) -> Any:
    """Affine map of clipped action entries to (spread multiple, skew)."""
    c0 = np.minimum(np.maximum(a0, -1.0), 1.0)
    c1 = np.minimum(np.maximum(a1, -1.0), 1.0)
    return m_lo + 0.5 * (c0 + 1.0) * (m_hi - m_lo), c1 * max_skew


action_to_spread_skew = njit(cache=True, inline="always")(_action_to_spread_skew)


@njit(cache=True, inline="always")
def quotes_from_action(
    state: NDArray[np.float64], i: int, a0: float, a1: float, params: NDArray[np.float64]
) -> tuple[float, float]:
    """Map row ``i``'s action to our (bid, ask) around the current book's mid and spread.

    bid = mid - (m * s / 2) * (1 + skew),  ask = mid + (m * s / 2) * (1 - skew),
    m the spread multiple and s the market spread (the seed notebook's skew convention).
    Records the mapped values and whether the action was clipped.
    """
    clipped = a0 < -1.0 or a0 > 1.0 or a1 < -1.0 or a1 > 1.0
    m, skew = action_to_spread_skew(a0, a1, params[P_M_LO], params[P_M_HI], params[P_MAX_SKEW])
    half = 0.5 * m * state[i, SPREAD]
    bid = state[i, MID] - half * (1.0 + skew)
    ask = state[i, MID] + half * (1.0 - skew)
    state[i, ACTION_CLIPPED] = 1.0 if clipped else 0.0
    state[i, SPREAD_MULTIPLE] = m
    state[i, SKEW] = skew
    return bid, ask


# ---- fills and accounting --------------------------------------------------------------------
@njit(cache=True, inline="always")
def buy_capacity(state: NDArray[np.float64], i: int, params: NDArray[np.float64]) -> float:
    """How much more row ``i`` may buy this step without exceeding the inventory limit."""
    return max(params[P_MAX_INV] - state[i, INVENTORY] - state[i, BID_FILL], 0.0)


@njit(cache=True, inline="always")
def sell_capacity(state: NDArray[np.float64], i: int, params: NDArray[np.float64]) -> float:
    """How much more row ``i`` may sell this step without exceeding the inventory limit."""
    return max(params[P_MAX_INV] + state[i, INVENTORY] - state[i, ASK_FILL], 0.0)


@njit(cache=True, inline="always")
def fill_bid(
    state: NDArray[np.float64], i: int, qty: float, price: float, params: NDArray[np.float64]
) -> float:
    """Buy up to ``qty`` at ``price`` (our bid), limited by the inventory limit.

    Inventory and cash are settled at the end of the step (:func:`settle`); the fill is
    accumulated in BID_FILL and its cash in the returned amount.
    """
    q = min(qty, buy_capacity(state, i, params))
    if q <= 0.0:
        return 0.0
    state[i, BID_FILL] += q
    state[i, CASH] -= q * price
    state[i, N_FILLS] += 1.0
    state[i, VOLUME] += q
    return q


@njit(cache=True, inline="always")
def fill_ask(
    state: NDArray[np.float64], i: int, qty: float, price: float, params: NDArray[np.float64]
) -> float:
    """Sell up to ``qty`` at ``price`` (our ask), limited by the inventory limit."""
    q = min(qty, sell_capacity(state, i, params))
    if q <= 0.0:
        return 0.0
    state[i, ASK_FILL] += q
    state[i, CASH] += q * price
    state[i, N_FILLS] += 1.0
    state[i, VOLUME] += q
    return q


@njit(cache=True, inline="always")
def begin_step(
    state: NDArray[np.float64],
    i: int,
    mid: float,
    best_bid: float,
    best_ask: float,
    spread: float,
    imbalance: float,
) -> None:
    """Record the book the quotes of this step meet and clear the step's fills."""
    state[i, MID] = mid
    state[i, BEST_BID] = best_bid
    state[i, BEST_ASK] = best_ask
    state[i, SPREAD] = spread
    state[i, IMBALANCE] = imbalance
    state[i, BID_FILL] = 0.0
    state[i, ASK_FILL] = 0.0


@njit(cache=True, inline="always")
def settle(state: NDArray[np.float64], i: int, params: NDArray[np.float64]) -> bool:
    """Close row ``i``'s step: inventory, mark-to-market PnL, reward. Returns ``truncated``.

    pnl = cash + inventory * mid (mid of the book the quotes met);
    reward = pnl - previous pnl - inventory_penalty * inventory**2
             [- terminal_inventory_penalty * q**2 - liquidate_at_end * |q| * spread / 2 at the end].
    """
    inv = state[i, INVENTORY] + state[i, BID_FILL] - state[i, ASK_FILL]
    state[i, INVENTORY] = inv
    pnl = state[i, CASH] + inv * state[i, MID]
    reward = pnl - state[i, PNL] - params[P_INV_PENALTY] * inv * inv
    state[i, PNL] = pnl
    state[i, STEP] += 1.0
    done = state[i, STEP] >= params[P_N_STEPS]
    if done:
        reward -= params[P_TERM_PENALTY] * inv * inv
        reward -= params[P_LIQUIDATE] * abs(inv) * 0.5 * state[i, SPREAD]
    state[i, REWARD] = reward
    return done


@njit(cache=True, inline="always")
def imbalance_of(bid_sizes: NDArray[np.float64], ask_sizes: NDArray[np.float64], k: int) -> float:
    """(sum of the first k bid sizes - same for asks) / (their total + 1e-9), in [-1, 1].

    The 1e-9 is the seed notebook's guard against an empty book.
    """
    b = 0.0
    a = 0.0
    for j in range(k):
        b += bid_sizes[j]
        a += ask_sizes[j]
    return (b - a) / (b + a + 1e-9)


@njit(cache=True, inline="always")
def write_observation(
    obs: Any,
    i: int,
    state: NDArray[np.float64],
    imbalance: float,
    spread: float,
    mid: float,
    bid_sizes: NDArray[np.float64],
    ask_sizes: NDArray[np.float64],
    depths: NDArray[np.int64],
    params: NDArray[np.float64],
) -> None:
    """Row ``i`` of the observation for the book (imbalance, spread, mid, sizes) now shown.

    Layout: [imbalance, inventory / inventory_norm, spread / spread_scale,
    imbalance over the first k levels for k in depths, (time left), (mid change / spread_scale)].
    """
    obs[i, 0] = imbalance
    obs[i, 1] = state[i, INVENTORY] / params[P_INV_NORM]
    obs[i, 2] = spread / params[P_SPREAD_SCALE]
    c = 3
    for k in depths:
        obs[i, c] = imbalance_of(bid_sizes, ask_sizes, k)
        c += 1
    if params[P_TIME_LEFT] > 0.0:
        obs[i, c] = 1.0 - state[i, STEP] / params[P_N_STEPS]
        c += 1
    if params[P_MID_CHANGE] > 0.0:
        obs[i, c] = (mid - state[i, MID]) / params[P_SPREAD_SCALE] if state[i, STEP] > 0 else 0.0
        c += 1


def observation_names(config: MarketConfig) -> tuple[str, ...]:
    """Names of the observation entries, in order, for a config."""
    names = ["imbalance", "inventory", "spread"]
    names += [f"imbalance_{k}" for k in config.obs_imbalance_levels]
    if config.obs_time_left:
        names.append("time_left")
    if config.obs_mid_change:
        names.append("mid_change")
    names += config.component_observation_names
    return tuple(names)


@njit(cache=True)
def first_non_finite(actions: NDArray[np.float64]) -> int:
    """Flat index of the first NaN or infinite entry, or -1."""
    flat = actions.ravel()
    for j in range(flat.size):
        if not np.isfinite(flat[j]):
            return j
    return -1


@step_kernel(parallel=True)
def gather_columns(
    state: NDArray[np.float64], cols: NDArray[np.intp], out: NDArray[np.float64]
) -> None:
    """``out[k, i] = state[i, cols[k]]``: the vector env's info block (a row per key), on two
    threads, for a simulator whose kernel is multi-threaded. The rows split between the threads
    as the kernel's did (both loops run over the rows in static chunks), so each thread reads
    rows its own cache holds, while the second thread still spins from the kernel. At N = 1024
    NumPy's gather (``state[:, cols]``) took 18 µs on the main thread, the second thread idle."""
    for i in prange(state.shape[0]):
        for k in range(cols.shape[0]):
            out[k, i] = state[i, cols[k]]


# ---- the Python driver -----------------------------------------------------------------------
class Simulator:
    """``n_envs`` books stepped together; subclasses supply the book and the fill rules.

    Subclasses implement :meth:`_reset_rows` (draw and lay the initial book of the masked rows)
    and :meth:`_step_kernel` (call the scenario's ``@njit`` kernel). All random numbers come
    from the ``rng`` passed to :meth:`reset` / :meth:`step`.
    """

    config: MarketConfig

    def __init__(self, config: MarketConfig, n_envs: int = 1) -> None:
        if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or n_envs < 1:
            raise ValueError(f"n_envs must be a positive integer (got {n_envs!r})")
        self.config = config
        self.n_envs = int(n_envs)
        self.names = observation_names(config)
        self.obs_dim = len(self.names)
        self.obs_dtype = np.dtype(config.observation_dtype)
        self.state = np.zeros((self.n_envs, self.n_state), dtype=np.float64)
        self.obs = np.zeros((self.n_envs, self.obs_dim), dtype=self.obs_dtype)
        self.depths = np.array(config.obs_imbalance_levels, dtype=np.int64)
        self.params = np.array(common_params(config) + self.book_params(), dtype=np.float64)
        self.truncated = np.zeros(self.n_envs, dtype=bool)
        self._all_rows = np.ones(self.n_envs, dtype=bool)
        self.action_dim = config.action_dim
        # step_one's buffer; entries past the first two (a market order) stay 0 there
        self._one_action = np.zeros((1, self.action_dim), dtype=np.float64)
        self._steps_one3 = self.n_envs == 1 and self.action_dim == 3
        #: the kernel's multi-threaded build steps these rows (each scenario sets it from its
        #: ``PARALLEL_MIN_ROWS`` at construction); the vector env's info gather follows it
        self.multithreaded = False

    # -- subclass hooks --
    n_state: int = N_COMMON

    def book_params(self) -> list[float]:
        return []

    def _reset_rows(self, rows: NDArray[np.intp], rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _step_kernel(
        self, actions: NDArray[np.float64], rng: np.random.Generator, active: NDArray[np.bool_]
    ) -> None:
        raise NotImplementedError

    # -- public API --
    def reset(self, rng: np.random.Generator, mask: NDArray[np.bool_] | None = None) -> None:
        """Start new episodes in the rows where ``mask`` is true (all rows when ``None``)."""
        rows = np.arange(self.n_envs) if mask is None else np.flatnonzero(mask)
        if rows.size == 0:
            return
        self.state[rows, :] = 0.0
        self.truncated[rows] = False
        self._reset_rows(rows, rng)

    def step(
        self,
        actions: NDArray[Any],
        rng: np.random.Generator,
        active: NDArray[np.bool_] | None = None,
    ) -> None:
        """Advance the ``active`` rows (all when ``None``) by one step with ``actions``
        (n_envs, action_dim): action_dim is 2 (spread, skew) unless the config adds entries.

        The step's random numbers are drawn for every row, active or not, so the draws of a row
        do not depend on which other rows are active.
        """
        a = np.asarray(actions, dtype=np.float64)
        dim = self.action_dim
        if a.shape != (self.n_envs, dim):
            raise ValueError(
                f"actions must have shape ({self.n_envs}, {dim}) for {self.n_envs} env(s), "
                f"got shape {np.shape(actions)}"
            )
        bad = first_non_finite(a)
        if bad >= 0:
            row, entry = divmod(bad, dim)
            raise ValueError(
                f"action entries must be finite; got {float(a[row, entry])!r} at "
                f"env {row}, entry {entry} ({ACTION_ENTRIES})"
            )
        if dim > 2:
            self._check_extra_actions(a)
        if active is None:
            active = self._all_rows
        if (self.truncated & active).any():
            raise RuntimeError(
                f"env {int(np.flatnonzero(self.truncated & active)[0])} finished its episode of "
                f"{self.config.n_steps} steps; reset it before stepping"
            )
        self._step_kernel(a, rng, active)

    #: entries past the first two must lie in [-bound, bound] (:meth:`_check_extra_actions`)
    extra_action_bound: float = math.inf

    def _check_extra_actions(self, actions: NDArray[np.float64]) -> None:
        """Check the action entries past the first two against :attr:`extra_action_bound`
        (a scenario that adds them overrides, to name them in the message)."""

    def step_one(self, a0: float, a1: float, rng: np.random.Generator) -> None:
        """:meth:`step` for a one-row simulator with the action as two finite Python floats,
        which the caller has checked (the single env's hot path: no array checks)."""
        if self.truncated[0] or self.n_envs != 1:
            self._refuse_step_one()
        buf = self._one_action
        buf[0, 0] = a0
        buf[0, 1] = a1
        self._step_one_kernel(rng)

    def step_one3(self, a0: float, a1: float, a2: float, rng: np.random.Generator) -> None:
        """:meth:`step_one` for a three-entry action (action_dim 3: the market order), three
        finite Python floats which the caller has checked. The third entry's range
        (:attr:`extra_action_bound`) is checked here, before the episode's end, in
        :meth:`step`'s order and with its message."""
        if self.truncated[0] or not self._steps_one3 or not abs(a2) <= self.extra_action_bound:
            self._refuse_step_one3(a0, a1, a2)
        buf = self._one_action
        buf[0, 0] = a0
        buf[0, 1] = a1
        buf[0, 2] = a2
        self._step_one_kernel(rng)

    def _step_one_kernel(self, rng: np.random.Generator) -> None:
        """Step the one row with the action in ``_one_action`` (scenarios may prepare more)."""
        self._step_kernel(self._one_action, rng, self._all_rows)

    def _refuse_step_one3(self, a0: float, a1: float, a2: float) -> None:
        """Raise :meth:`step_one3`'s error: wrong simulator, entry 2 out of range, or the
        episode's end (in :meth:`step`'s order)."""
        if not self._steps_one3:
            raise ValueError(
                f"step_one3 steps a one-row simulator with 3 action entries; this one has "
                f"{self.n_envs} row(s) and {self.action_dim} entries"
            )
        self._check_extra_actions(np.array([[a0, a1, a2]]))
        self._refuse_step_one()

    def _refuse_step_one(self) -> None:
        """The checks that keep the kernels (which do no bounds checks) inside their arrays."""
        if self.n_envs != 1:
            raise ValueError(f"step_one steps a one-row simulator; this one has {self.n_envs}")
        raise RuntimeError(
            f"env 0 finished its episode of {self.config.n_steps} steps; call reset() first"
        )

    def info(self, row: int = 0) -> dict[str, float]:
        """The info dict of one row (plain Python floats)."""
        return dict(zip(INFO_KEYS, self.state[row, :N_INFO].tolist()))

    def info_arrays(self) -> dict[str, NDArray[np.float64]]:
        """Per-row info arrays, one entry per info key."""
        return {k: self.state[:, c].copy() for c, k in enumerate(INFO_KEYS)}

    @property
    def rewards(self) -> NDArray[np.float64]:
        return self.state[:, REWARD]

    @property
    def inventory(self) -> NDArray[np.float64]:
        return self.state[:, INVENTORY]

    @property
    def cash(self) -> NDArray[np.float64]:
        return self.state[:, CASH]

    @property
    def pnl(self) -> NDArray[np.float64]:
        return self.state[:, PNL]

    def book_snapshot(self, row: int = 0) -> dict[str, NDArray[np.float64]]:
        """Prices and sizes of the book that the next quotes will meet (for rendering)."""
        raise NotImplementedError
