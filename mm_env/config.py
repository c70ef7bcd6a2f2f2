"""Frozen, validating configuration dataclasses for every scenario.

Each scenario has one config class. Common fields (episode length, inventory limit, action
ranges, reward options, observation options) live in :class:`MarketConfig`; the book and fill
parameters of a scenario live in its subclass. Every field is checked in ``__post_init__`` and a
bad value raises ``ValueError`` naming the field and saying why. Derived values are properties.

Ranges: each model parameter is checked against the range where its model is defined (stated
in the field's docstring). Every config the validators accept gives finite observations,
rewards and info values (tested by a property test over each scenario's config space, at the
magnitudes the models describe; values near the limits of float64, such as a size of 1e300,
are not a model's concern).

Types: integer fields take Python or NumPy integers (not bools), real fields Python or NumPy
ints and floats, bool fields ``bool`` or ``numpy.bool_``; NumPy scalars are stored as the
Python scalar of their kind, so :meth:`MarketConfig.to_dict` is plain JSON-able data.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

import numpy as np

_Config = TypeVar("_Config", bound="MarketConfig")


def _fail(name: str, value: Any, why: str) -> None:
    raise ValueError(f"config field {name!r}: {why} (got {value!r})")


def _is_integer(value: Any) -> bool:
    """A Python or NumPy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python scalar of its kind (so configs compare, hash and save to
    JSON as plain values); anything else unchanged (validation rejects what is wrong)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and type(value) is not float:
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _finite(name: str, value: Any) -> float:
    """A real number (Python or NumPy int or float, not a bool) that is finite, as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        _fail(name, value, "must be a real number")
    if not math.isfinite(value):
        _fail(name, value, "must be finite")
    return float(value)


def _positive(name: str, value: Any) -> None:
    if _finite(name, value) <= 0:
        _fail(name, value, "must be > 0")


def _non_negative(name: str, value: Any) -> None:
    if _finite(name, value) < 0:
        _fail(name, value, "must be >= 0")


def _probability(name: str, value: Any) -> None:
    v = _finite(name, value)
    if not 0.0 <= v <= 1.0:
        _fail(name, value, "must lie in [0, 1]")


def _positive_int(name: str, value: Any) -> None:
    if not _is_integer(value):
        _fail(name, value, "must be an integer")
    if value <= 0:
        _fail(name, value, "must be >= 1")


@dataclass(frozen=True)
class ExecutionFields:
    """The execution fields of the books that have our resting orders (SyntheticConfig,
    ReplayConfig): the rules of :mod:`mm_env.execution`, their one home. The defaults are the v0
    rules (risk-averse queue, a fill moves the order to the back, only the size printed past our
    price fills, no fees, no latency); latencies are in the book's time unit (steps for the
    synthetic book, seconds on the data's clock for a replay), see each config's docstring.
    ``obs_own_orders`` and ``obs_trade_flow``: the optional observation entries of our orders'
    state and of recent market-order flow (:class:`SyntheticConfig`'s docstring).
    """

    queue_model: str = "risk_averse"
    keep_priority: bool = False
    fill_through: bool = False
    maker_fee_bps: float = 0.0
    taker_fee_bps: float = 0.0
    maker_fee_per_unit: float = 0.0
    taker_fee_per_unit: float = 0.0
    entry_latency: Any = 0.0
    response_latency: Any = 0.0
    obs_own_orders: bool = False
    obs_trade_flow: float = 0.0


def _check_execution(config: Any) -> None:
    """The :class:`ExecutionFields` checks: queue model, the bool rules, finite fees, latency
    specs (a list becomes a tuple)."""
    from mm_env.execution import latency_quantiles, parse_queue_model

    parse_queue_model("queue_model", config.queue_model)
    for name in ("keep_priority", "fill_through"):
        if not isinstance(getattr(config, name), bool):
            _fail(name, getattr(config, name), "must be a bool")
    for name in ("maker_fee_bps", "taker_fee_bps", "maker_fee_per_unit", "taker_fee_per_unit"):
        _finite(name, getattr(config, name))
    for name in ("entry_latency", "response_latency"):
        value = getattr(config, name)
        if isinstance(value, list):
            value = tuple(value)
            object.__setattr__(config, name, value)
        latency_quantiles(name, value)


def _check_order_observation(config: Any) -> None:
    """``obs_own_orders`` (a bool) and ``obs_trade_flow`` (a half-life in steps, 0 = off),
    shared by SyntheticConfig and ReplayConfig."""
    if not isinstance(config.obs_own_orders, bool):
        _fail("obs_own_orders", config.obs_own_orders, "must be a bool")
    _non_negative("obs_trade_flow", config.obs_trade_flow)
    object.__setattr__(config, "obs_trade_flow", float(config.obs_trade_flow))


def _order_observation_names(config: Any) -> tuple[str, ...]:
    """The observation names of ``obs_own_orders`` and ``obs_trade_flow``, in order."""
    from mm_env.execution import ORDER_OBSERVATION_NAMES

    names = ORDER_OBSERVATION_NAMES if config.obs_own_orders else ()
    return names + (("trade_flow",) if config.obs_trade_flow > 0.0 else ())


def _below_half_step(name: str, value: float, step: float, step_name: str) -> None:
    """A touch tolerance absorbs floating-point rounding only: from half the smallest price
    step on, it would move a quote to another price level instead."""
    if not value < 0.5 * step:
        _fail(name, value, f"must be < {step_name} / 2 = {0.5 * step!r} (a rounding tolerance)")


@dataclass(frozen=True)
class MarketConfig:
    """Fields every scenario shares.

    Attributes:
        n_steps: steps per episode; the episode is truncated after this many steps.
        max_inventory: the largest |inventory| the agent may hold (``math.inf`` for no limit).
            A fill that would breach it is filled only up to the limit.
        order_size: size of each quote in the scenarios whose fill model uses one.
        spread_multiple_range: (low, high) of the quoted spread, in multiples of the current
            market spread, that actions -1 and +1 of the first action entry map to. Needs
            0 <= low < high: a negative multiple would put our bid above our ask (both filled
            against each other). On the tick grid m = 0 is allowed, since the core keeps our
            ask at least one tick above our bid (:mod:`mm_env.core`); the Avellaneda–Stoikov
            family needs low > 0 and Notebook-v0 alone allows low < 0 (see their classes).
        max_skew: actions -1 and +1 of the second action entry map to skew -max_skew, +max_skew.
        inventory_penalty: running penalty, reward -= inventory_penalty * inventory**2 each step.
        terminal_inventory_penalty: at the last step, reward -= terminal_inventory_penalty * q**2.
        liquidate_at_end: at the last step, reward -= |q| * spread / 2 (cost of crossing half the
            market spread to flatten the final inventory).
        inventory_scale: the observation shows inventory / inventory_scale; ``None`` uses
            ``max_inventory`` (which must then be finite).
        obs_imbalance_levels: extra observation entries, the imbalance over the first k levels
            for each k listed.
        obs_time_left: add the fraction of the episode left, in [0, 1].
        obs_mid_change: add the last change of the mid, divided by the spread scale.
        observation_dtype: ``"float32"`` (default) or ``"float64"``.
        touch_tolerance: price tolerance when comparing a quote with the best price, so a quote
            computed to sit on the touch counts as on it despite floating-point rounding.
    """

    n_steps: int = 2000
    max_inventory: float = 10.0
    order_size: float = 1.0
    spread_multiple_range: tuple[float, float] = (0.0, 4.0)
    max_skew: float = 1.0
    inventory_penalty: float = 0.0
    terminal_inventory_penalty: float = 0.0
    liquidate_at_end: bool = False
    inventory_scale: float | None = None
    obs_imbalance_levels: tuple[int, ...] = ()
    obs_time_left: bool = False
    obs_mid_change: bool = False
    observation_dtype: str = "float32"
    touch_tolerance: float = 1e-9

    def __post_init__(self) -> None:
        for f in fields(self):  # NumPy scalars as Python ones (the checks below see those)
            object.__setattr__(self, f.name, _plain(getattr(self, f.name)))
        _positive_int("n_steps", self.n_steps)
        if isinstance(self.max_inventory, bool) or not isinstance(self.max_inventory, (int, float)):
            _fail("max_inventory", self.max_inventory, "must be a real number")
        if math.isnan(self.max_inventory) or self.max_inventory <= 0:
            _fail("max_inventory", self.max_inventory, "must be > 0 (math.inf for no limit)")
        _positive("order_size", self.order_size)
        rng = self.spread_multiple_range
        if not isinstance(rng, (tuple, list)) or len(rng) != 2:
            _fail("spread_multiple_range", rng, "must be a pair (low, high)")
        lo, hi = _finite("spread_multiple_range", rng[0]), _finite("spread_multiple_range", rng[1])
        if not lo < hi:
            _fail("spread_multiple_range", rng, "needs low < high")
        self._check_spread_multiple_low(lo)
        object.__setattr__(self, "spread_multiple_range", (lo, hi))
        _non_negative("max_skew", self.max_skew)
        _non_negative("inventory_penalty", self.inventory_penalty)
        _non_negative("terminal_inventory_penalty", self.terminal_inventory_penalty)
        if not isinstance(self.liquidate_at_end, bool):
            _fail("liquidate_at_end", self.liquidate_at_end, "must be a bool")
        if self.inventory_scale is None:
            if not math.isfinite(self.max_inventory):
                _fail(
                    "inventory_scale",
                    None,
                    "must be given when max_inventory is infinite",
                )
        else:
            _positive("inventory_scale", self.inventory_scale)
        levels = self.obs_imbalance_levels
        if not isinstance(levels, (tuple, list)):
            _fail("obs_imbalance_levels", levels, "must be a tuple of level counts")
        for k in levels:
            if not _is_integer(k) or not 1 <= k <= self.book_levels:
                _fail(
                    "obs_imbalance_levels",
                    levels,
                    f"each entry must be an integer in [1, {self.book_levels}]",
                )
        object.__setattr__(self, "obs_imbalance_levels", tuple(int(k) for k in levels))
        for name in ("obs_time_left", "obs_mid_change"):
            if not isinstance(getattr(self, name), bool):
                _fail(name, getattr(self, name), "must be a bool")
        if self.observation_dtype not in ("float32", "float64"):
            _fail("observation_dtype", self.observation_dtype, "must be 'float32' or 'float64'")
        _non_negative("touch_tolerance", self.touch_tolerance)

    def _check_spread_multiple_low(self, low: float) -> None:
        """The lowest spread multiple a scenario allows (here: no crossed quotes, m >= 0)."""
        if low < 0.0:
            _fail(
                "spread_multiple_range",
                self.spread_multiple_range,
                "needs low >= 0: a negative spread multiple puts our bid above our ask, so our "
                "own quotes cross and fill against each other",
            )

    # ----- derived values -------------------------------------------------------------------
    @property
    def book_levels(self) -> int:
        """Visible levels per side of the scenario's book."""
        return 10

    @property
    def action_dim(self) -> int:
        """Entries of the action: spread multiple and skew (2); the Avellaneda–Stoikov family's
        ``market_orders`` option adds a third (:class:`AvellanedaStoikovConfig`)."""
        return 2

    @property
    def inventory_norm(self) -> float:
        """The divisor of inventory in the observation."""
        return float(
            self.inventory_scale if self.inventory_scale is not None else self.max_inventory
        )

    @property
    def spread_scale(self) -> float:
        """The divisor of the market spread (and of the mid change) in the observation."""
        raise NotImplementedError

    @property
    def component_observation_names(self) -> tuple[str, ...]:
        """Observation entries of a scenario's model components, after the common ones."""
        return ()

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain Python values (for saving beside a run)."""
        out = asdict(self)
        out["scenario_config"] = type(self).__name__
        return out

    def replace(self: _Config, **overrides: Any) -> _Config:
        """A copy with some fields changed; unknown names raise ``ValueError``."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(
                f"unknown config field(s) {unknown} for {type(self).__name__}; "
                f"valid fields: {sorted(names)}"
            )
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(overrides)
        return type(self)(**values)


@dataclass(frozen=True)
class NotebookConfig(MarketConfig):
    """The seed notebook's market, exactly (scenario ``mm_env/Notebook-v0``).

    Book: mid_t = initial_mid + cumsum(drift + vol * N(0,1)); spread_base_t = spread_base_mean +
    spread_base_noise * |N(0,1)|; level i (0-based) at mid -/+ (i+1) * spread_base_t with size
    level_size * exp(-level_size_decay * i) on both sides. The market spread is 2 * spread_base_t.

    Fills: a quote at or inside the best price gets a passive fill of
    min(passive_fraction * size_at_best, passive_cap); buyer (seller) market orders arrive with
    probability 0.5 * mo_rate * (1 + max(0, -I)) (0.5 * mo_rate * (1 + max(0, I))) and fill
    mo_size against our ask (bid) when it is at or inside the best price.

    The notebook has no inventory limit, so ``max_inventory`` defaults to ``math.inf``; the
    spread-multiple range (-3, 5) maps action 0 to the touch and lets the notebook's rule
    (whose phi * inventory term can cross our own quotes when short) be expressed.

    Crossed quotes: this is the one scenario whose ``spread_multiple_range`` may go below 0, so
    that our own bid can sit above our own ask. It reproduces the seed notebook exactly,
    defect included: the notebook's rule m = 1 + 2 phi inv / s goes negative when short, and
    its fill simulator then fills both crossed quotes. Every other scenario rejects low < 0.

    Ranges: ``vol``, ``spread_base_noise``, ``level_size_decay``, ``mo_size``, ``passive_cap``
    >= 0; ``spread_base_mean``, ``level_size`` > 0; ``mo_rate`` and ``passive_fraction`` (a
    fraction of the size shown at the best price) in [0, 1]; ``touch_tolerance`` <
    spread_base_mean / 2 (half the smallest spacing of the book's levels: a rounding
    tolerance, not a price offset). Prices may go negative (an arithmetic random walk, as in
    the notebook).
    """

    max_inventory: float = math.inf
    spread_multiple_range: tuple[float, float] = (-3.0, 5.0)
    inventory_scale: float | None = 10.0
    initial_mid: float = 100.0
    drift: float = 0.0
    vol: float = 0.1
    spread_base_mean: float = 0.04
    spread_base_noise: float = 0.02
    n_levels: int = 10
    level_size: float = 2.0
    level_size_decay: float = 0.2
    mo_rate: float = 0.2
    mo_size: float = 0.5
    passive_fraction: float = 0.3
    passive_cap: float = 1.0

    def __post_init__(self) -> None:
        _positive_int("n_levels", self.n_levels)
        super().__post_init__()
        _finite("initial_mid", self.initial_mid)
        _finite("drift", self.drift)
        _non_negative("vol", self.vol)
        _positive("spread_base_mean", self.spread_base_mean)
        _non_negative("spread_base_noise", self.spread_base_noise)
        _positive("level_size", self.level_size)
        _non_negative("level_size_decay", self.level_size_decay)
        _probability("mo_rate", self.mo_rate)
        _non_negative("mo_size", self.mo_size)
        _probability("passive_fraction", self.passive_fraction)
        _non_negative("passive_cap", self.passive_cap)
        _below_half_step(
            "touch_tolerance", self.touch_tolerance, self.spread_base_mean, "spread_base_mean"
        )

    def _check_spread_multiple_low(self, low: float) -> None:
        """Any low: the notebook's own rule crosses our quotes when short (class docstring)."""

    @property
    def book_levels(self) -> int:
        return self.n_levels

    @property
    def spread_scale(self) -> float:
        """Mean market spread, 2 * (spread_base_mean + spread_base_noise * sqrt(2/pi))."""
        return 2.0 * (self.spread_base_mean + self.spread_base_noise * math.sqrt(2.0 / math.pi))


@dataclass(frozen=True)
class SyntheticConfig(ExecutionFields, MarketConfig):
    """A queue-reactive book on a tick grid (scenarios ``mm_env/MarketMaking-v0`` and ``-v1``).

    Prices live on a grid of ``tick_size``; each side shows ``n_levels`` consecutive price levels
    behind its best price. Every step, in this order:

    1. Market orders. A buy (sell) market order arrives with probability
       mo_rate * (1 + mo_imbalance_sensitivity * I) (mo_rate * (1 - ... * I)), I the level-1
       imbalance, with an exponential size of mean ``mo_size_mean``; it sweeps the visible book
       level by level, and levels it empties disappear, moving the best price.
    2. Limit-order flow. The log-size of each best level reverts to log(best_size_mean) with
       persistence ``size_persistence`` per step and noise ``size_vol``; one deeper level per
       side, chosen at random, moves the same way towards log(deep_size_mean). When the spread is
       wider than one tick, each side improves by one tick with probability ``improve_prob``
       (a new level of exponential size with mean ``improve_size_mean``).

    A thin best level (|I| large) is swept away more often and by the more frequent market
    orders on its side, so the level-1 imbalance predicts the next mid change.

    Our quotes fill when a sweep reaches their price, behind the size displayed there when they
    joined (first when they improve the best price); queue position and quote placement follow
    :mod:`mm_env.execution`. Details: :mod:`mm_env.scenarios.synthetic`.

    Execution fields (:mod:`mm_env.execution`; the defaults are the MarketMaking-v0 rules,
    ``mm_env/MarketMaking-v1`` sets ``keep_priority=True``, ``fill_through=True``,
    ``queue_model="power:1"``):

    * ``queue_model``: how cancellations at our price move us up: ``"risk_averse"`` (the v0
      rule), ``"power:N"``, ``"power2:N"``, ``"power3:N"``, ``"log"``, ``"log2"``, or ``"auto"``
      (risk-averse here). ``"exact"`` raises: this book has no order ids.
    * ``keep_priority``: a partly filled order keeps its place, only added size joins the back.
    * ``fill_through``: a book whose other side reaches our quote fills the whole remaining
      order (a sweep through our price always does, in this book: price priority).
    * ``maker_fee_bps``, ``taker_fee_bps``, ``maker_fee_per_unit``, ``taker_fee_per_unit``:
      fees, negative maker fees being rebates; default 0 (this book is no venue: pick yours).
    * ``entry_latency``, ``response_latency``: in steps, constant (>= 0) or a distribution
      (``"lognormal:MEDIAN,SIGMA"``, ``"file:PATH"``, a tuple of steps); a fractional latency
      acts as the next whole number of steps (:mod:`mm_env.scenarios.synthetic`, "Latency").

    Observation fields (market orders are the book's sweeps; our orders the ``O_*`` state):
    * ``obs_own_orders`` (default False): six entries after the others, per side (bid first)
      ``bid_queue_ahead``: the displayed size ahead of our resting order (part 1) as a fraction
      of the size displayed at its price, in [0, 1] (0 with no order or when it improves the
      best price or sits in a gap; 1 beyond the visible levels); ``bid_live``: 1 when an order
      rests at the market, else 0; ``bid_in_flight``: the side's requests in flight (0 to
      ``execution.N_PENDING`` = 4; always 0 without latency); then the same for the ask.
    * ``obs_trade_flow`` (default 0 = off): a half-life h > 0 in steps adds ``trade_flow``, the
      signed market-order volume imbalance (B − S) / (B + S) in [−1, 1], B and S exponential
      moving averages (weight 1 − 2^(−1/h) per step) of the volume bought and sold by market
      orders each step (0 before any trade).

    Both show state a κ/φ rule on imbalance, inventory and spread does not use; they change
    neither the dynamics nor the draws (:mod:`mm_env.execution`, "Observation entries").

    Ranges (where the model is defined):

    * ``size_persistence`` ρ in [0, 1), or 1 with ``size_vol`` = 0 (sizes frozen where the
      reset put them, at their means: a still book for worked examples). With noise, ρ = 1
      makes the log-size a random walk, with no reversion and no stationary law for the reset
      to draw the initial sizes from.
    * ``size_vol`` >= 0 with a stationary log-size standard deviation
      size_vol / √(1 − ρ²) <= ``MAX_LOG_SIZE_SD`` = 10. The sizes are log-normal around
      ``best_size_mean`` / ``deep_size_mean``; at a standard deviation of 10 one standard
      deviation already multiplies a size by e¹⁰ ≈ 2·10⁴ and the law's mean is e⁵⁰ ≈ 5·10²¹
      times the parameter, so the "mean" parameters no longer describe the book. (The
      bound is far inside the float64 limit it also guards: a few tens of standard
      deviations overflow exp, and the book turns into inf and NaN.)
    * ``mo_rate`` and ``mo_imbalance_sensitivity`` in [0, 1] with
      mo_rate · (1 + mo_imbalance_sensitivity) <= 1: the arrival probability
      mo_rate · (1 ± sensitivity · I) must stay a probability for every imbalance |I| <= 1.
    * ``improve_prob`` in [0, 1]; the size means and ``min_level_size`` > 0;
      ``touch_tolerance`` < tick_size / 2 (a rounding tolerance: from half a tick on it would
      move a quote to another tick).
    """

    #: the largest stationary standard deviation of the log-size (see Ranges above)
    MAX_LOG_SIZE_SD = 10.0

    initial_price: float = 100.0
    tick_size: float = 0.01
    n_levels: int = 10
    initial_spread_ticks: int = 1
    best_size_mean: float = 4.0
    deep_size_mean: float = 8.0
    size_persistence: float = 0.95
    size_vol: float = 0.25
    mo_rate: float = 0.15
    mo_imbalance_sensitivity: float = 0.5
    mo_size_mean: float = 3.0
    improve_prob: float = 0.3
    improve_size_mean: float = 2.0
    min_level_size: float = 0.01

    def __post_init__(self) -> None:
        _positive_int("n_levels", self.n_levels)
        super().__post_init__()
        _check_order_observation(self)
        if self.queue_model == "exact":
            _fail(
                "queue_model",
                self.queue_model,
                "needs order ids (LOBSTER messages, Replay only); the synthetic book has "
                "level sizes only: use 'risk_averse', 'power:N', 'power2:N', 'power3:N', 'log' "
                "or 'log2'",
            )
        _check_execution(self)
        _positive("initial_price", self.initial_price)
        _positive("tick_size", self.tick_size)
        _positive_int("initial_spread_ticks", self.initial_spread_ticks)
        _positive("best_size_mean", self.best_size_mean)
        _positive("deep_size_mean", self.deep_size_mean)
        _probability("size_persistence", self.size_persistence)
        _non_negative("size_vol", self.size_vol)
        rho = self.size_persistence
        if rho == 1.0 and self.size_vol > 0.0:
            _fail(
                "size_persistence",
                rho,
                "must be < 1 when size_vol > 0: at 1 the log-size is a random walk, with no "
                "stationary law for the reset to draw the sizes from",
            )
        sd = self.size_vol / math.sqrt(1.0 - rho * rho) if self.size_vol > 0.0 else 0.0
        if sd > self.MAX_LOG_SIZE_SD:
            _fail(
                "size_vol",
                self.size_vol,
                f"the stationary log-size standard deviation size_vol / sqrt(1 - "
                f"size_persistence**2) = {sd:.4g} must be <= {self.MAX_LOG_SIZE_SD:g} (sizes "
                "log-normal around the size means; see SyntheticConfig)",
            )
        _probability("mo_rate", self.mo_rate)
        _probability("mo_imbalance_sensitivity", self.mo_imbalance_sensitivity)
        if self.mo_rate * (1.0 + self.mo_imbalance_sensitivity) > 1.0:
            _fail(
                "mo_rate",
                self.mo_rate,
                f"mo_rate * (1 + mo_imbalance_sensitivity) = "
                f"{self.mo_rate * (1.0 + self.mo_imbalance_sensitivity):.4g} must be <= 1 (the "
                "market-order arrival probability at imbalance +-1)",
            )
        _positive("mo_size_mean", self.mo_size_mean)
        _probability("improve_prob", self.improve_prob)
        _positive("improve_size_mean", self.improve_size_mean)
        _positive("min_level_size", self.min_level_size)
        if self.initial_price / self.tick_size > 1e12:
            _fail("tick_size", self.tick_size, "is too small for initial_price on a float grid")
        _below_half_step("touch_tolerance", self.touch_tolerance, self.tick_size, "tick_size")

    @property
    def book_levels(self) -> int:
        return self.n_levels

    @property
    def spread_scale(self) -> float:
        """Two ticks (the typical spread of this book is one to three ticks)."""
        return 2.0 * self.tick_size

    @property
    def component_observation_names(self) -> tuple[str, ...]:
        """The entries of ``obs_own_orders`` and ``obs_trade_flow`` (class docstring)."""
        return _order_observation_names(self)


@dataclass(frozen=True)
class AvellanedaStoikovConfig(MarketConfig):
    """The Avellaneda–Stoikov (2008) market (scenario ``mm_env/AvellanedaStoikov-v0``).

    No order book: a mid price and Poisson fills of our quotes. Every step of length ``dt``:

    1. Our quotes sit at depths δ_b = mid − bid and δ_a = ask − mid (negative depths allowed).
    2. Each quote fills ``order_size`` with probability p(λ(δ)·dt), λ(δ) = A·e^(−kδ)
       (Avellaneda & Stoikov 2008, eq. 2.11), the bid and the ask independently;
       p(x) = min(x, 1) (``fill_probability="capped"``, the paper's section 4; it does not say
       what happens when λ·dt > 1, replications cap it) or 1 − e^(−x) (``"exponential"``, the
       probability of at least one Poisson arrival in the step).
    3. The mid moves by ±σ√dt with equal probability (``mid_increments="binomial"``, the paper's
       simulation) or by σ√dt·N(0, 1) (``"gaussian"``).

    The defaults are the paper's simulation (section 4): s₀ = 100, T = 1, σ = 2, dt = 0.005
    (200 steps), A = 140, k = 1.5, q₀ = 0, no inventory limit. The horizon is
    T = ``n_steps`` · ``dt`` (a property).

    Action: as in every scenario, a spread multiple m and a skew, here of ``reference_spread``
    s (default 2/k, the γ → 0 limit of the Avellaneda–Stoikov spread (2/γ)ln(1 + γ/k)):
    δ_b = (m s / 2)(1 + skew), δ_a = (m s / 2)(1 − skew). So m = (δ_b + δ_a)/s and
    skew = (δ_b − δ_a)/(δ_b + δ_a); the default ranges m ∈ [0.1, 3.9], |skew| ≤ 10 express the
    Avellaneda–Stoikov, GLFT and Cartea–Jaimungal optimal quotes of :mod:`baselines.analytic`
    for the paper's parameters (m between 0.87 and 2.37 over their episodes; a skew beyond ±1
    puts one quote through the mid). With ``market_orders="linear_impact"`` (below) the action
    has a third entry, a market order; by default it has these two.

    Our quotes never cross or lock: ask − bid = m·s whatever the skew, so m = 0 would put both
    quotes at the same price (both filled, each against the other) and m < 0 would cross them;
    ``spread_multiple_range`` needs low > 0. The default was (0, 4), whose action −1 (where
    SB3 clips its Gaussian actions, often) is m = 0. It is now (0.1, 3.9): the smallest change
    that keeps action 0 at m = 2 (the range stays centred on it), a lowest spread of a tenth
    of the reference spread (the terminal Avellaneda–Stoikov spread (k/γ)ln(1 + γ/k) reaches
    it only at γ ≈ 54, a hundred times the paper's largest γ = 0.5), and every analytic
    optimal quote inside the range.

    Penalties (Cartea, Jaimungal & Penalva 2015, ch. 10, objective
    E[X_T + q_T S_T − α q_T² − φ ∫ q_t² dt]): ``terminal_inventory_penalty`` is α and
    ``inventory_penalty`` is charged per *step*, so φ ∫ q² dt is ``inventory_penalty = φ·dt``;
    :meth:`cartea_jaimungal` builds that config.

    The observation shows the time left by default (``obs_time_left=True``); the imbalance is
    identically 0 and the spread entry identically 1 (there is no book). ``info["best_bid"]``
    and ``info["best_ask"]`` are mid ∓ s/2.

    Components (issue 14; the defaults are the model above, draw for draw). Each is chosen by a
    string; its formulas, state and random draws are in :mod:`mm_env.scenarios.avellaneda_stoikov`.

    * ``midprice``: ``"bm"`` (arithmetic Brownian motion, the default, with ``mid_drift``),
      ``"gbm"`` (geometric, ``sigma`` relative), ``"ou"`` (Ornstein–Uhlenbeck around
      ``ou_mean`` at rate ``ou_rate``), ``"ou_alpha"`` (a Brownian mid drifted by a short-term
      OU alpha signal that the agent observes: ``alpha_decay``, ``alpha_vol``), ``"jump_bm"`` /
      ``"jump_ou"`` (compound-Poisson jumps of rate ``jump_rate`` with N(``jump_mean``,
      ``jump_std``²) sizes added to bm / ou), ``"heston"`` (stochastic variance ``heston_*``),
      ``"cev"`` (constant elasticity of variance dS = σS^β dW, β = ``cev_elasticity``,
      absorbed at 0).
    * ``arrivals``: ``"poisson"`` (market orders at rate ``intensity_a`` per side, the default),
      ``"hawkes"`` (self- and cross-exciting with an exponential kernel: baseline
      ``intensity_a``, jumps ``hawkes_self`` / ``hawkes_cross``, decay ``hawkes_decay``) or
      ``"inventory"`` (state-dependent Poisson rates: sells arrive at
      A·(1 + c·tanh(q/q₀)), buys at A·(1 − c·tanh(q/q₀)), q our inventory at the step's start,
      c = ``inventory_flow``, q₀ = ``inventory_flow_scale``; c > 0 is order flow that keeps
      pushing our inventory the way it went, c < 0 flow that brings it back).
    * ``fill_function`` f(δ), the probability that a market order reaches a quote at depth δ:
      ``"exponential"`` e^(−kδ) (the default), ``"power"`` (1 + kδ⁺)^(−``fill_exponent``),
      ``"triangular"`` max(1 − kδ⁺, 0); λ(δ) = A·f(δ).
    * ``market_orders``: ``"none"`` (the default: the action is the two limit-quote entries) or
      ``"linear_impact"``: the action gains a third entry a₂ ∈ [−1, 1], a market order of
      signed size u = a₂·``max_market_order`` (u > 0 buys) executed at the step's start against
      the mid s_t the quotes meet, at s_t + sign(u)·(s/2 + η|u|) per unit: the half reference
      spread s/2 and a temporary impact linear in size, η = ``temporary_impact``. Its cost
      |u|·(s/2 + η|u|) relative to the mid is charged to cash. It then moves the mid
      permanently by b·u, b = ``permanent_impact``, from the next mid on (the linear permanent
      and temporary impact of Almgren & Chriss 2001, "Optimal execution of portfolio
      transactions", here per step's size rather than per trading rate). A market order is
      limited by ``max_inventory`` like a fill and comes before the step's limit fills; it
      counts in ``bid_fill``/``ask_fill``, ``volume`` and ``n_fills``. An a₂ outside [−1, 1]
      raises ``ValueError`` (a traded size is not clipped silently; the quote entries still
      are). Formulas and timing: :mod:`mm_env.scenarios.avellaneda_stoikov`.
    * ``reward``: ``"pnl"`` (the default; with the running and terminal inventory penalties
      above it is the Cartea–Jaimungal criterion) or ``"exp_utility"``: the increments of
      U(pnl) = (1 − e^(−γ·pnl))/γ, γ = ``risk_aversion``, so that an episode's rewards sum to
      U(final pnl) (less any penalties).

    A field that the chosen components do not use must keep its default (a non-default value
    there would do nothing, so it raises ``ValueError`` naming the field and its component).

    Ranges: ``sigma`` >= 0; ``gbm`` and ``heston`` need ``initial_mid`` > 0 and
    |``mid_drift``|·T <= 100, and ``gbm`` σ√T <= 10 (log-price standard deviation over the
    horizon); ``ou_rate``, ``alpha_decay``, ``alpha_vol``, ``jump_rate`` > 0;
    ``jump_std`` >= 0; ``cev`` needs ``initial_mid`` > 0, ``cev_elasticity`` in [0, 1] (the
    range where the driftless CEV process is a true martingale; β > 1 makes it a strict local
    martingale) and σ·``initial_mid``^(β − 1)·√T <= 10 (the relative volatility at the start over
    the horizon, as for ``gbm``); ``heston_v0`` >= 0, ``heston_theta`` > 0, ``heston_xi`` >= 0,
    ``heston_rho`` in [−1, 1], ``heston_kappa`` > 0 with ``heston_kappa``·dt <= 1 (the Euler
    step of the variance must not overshoot its mean) and ``heston_v0``·T, ``heston_theta``·T
    <= 100; ``hawkes_self``, ``hawkes_cross`` >= 0 and ``hawkes_decay`` > 0 with branching
    ratio (``hawkes_self`` + ``hawkes_cross``)/``hawkes_decay`` < 1 (stationarity) and at most
    1e6 market orders per step on average;
    ``inventory_flow`` in [−1, 1] (both rates stay in [0, 2A]), ``inventory_flow_scale`` > 0;
    ``max_market_order`` > 0, ``temporary_impact`` >= 0, ``permanent_impact`` >= 0 (finite);
    ``fill_exponent`` > 0; ``risk_aversion`` > 0.
    """

    n_steps: int = 200
    max_inventory: float = math.inf
    inventory_scale: float | None = 10.0
    spread_multiple_range: tuple[float, float] = (0.1, 3.9)
    max_skew: float = 10.0
    obs_time_left: bool = True
    initial_mid: float = 100.0
    sigma: float = 2.0
    dt: float = 0.005
    intensity_a: float = 140.0
    intensity_k: float = 1.5
    reference_spread: float | None = None
    fill_probability: str = "capped"
    mid_increments: str = "binomial"
    midprice: str = "bm"
    arrivals: str = "poisson"
    fill_function: str = "exponential"
    reward: str = "pnl"
    mid_drift: float = 0.0
    ou_rate: float = 1.0
    ou_mean: float | None = None
    alpha_decay: float = 10.0
    alpha_vol: float = 10.0
    jump_rate: float = 10.0
    jump_mean: float = 0.0
    jump_std: float = 0.5
    heston_v0: float = 0.0004
    heston_kappa: float = 3.0
    heston_theta: float = 0.0004
    heston_xi: float = 0.04
    heston_rho: float = -0.5
    hawkes_self: float = 40.0
    hawkes_cross: float = 20.0
    hawkes_decay: float = 100.0
    fill_exponent: float = 2.0
    risk_aversion: float = 0.1
    cev_elasticity: float = 0.5
    inventory_flow: float = 0.5
    inventory_flow_scale: float = 10.0
    market_orders: str = "none"
    max_market_order: float = 1.0
    temporary_impact: float = 0.0
    permanent_impact: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _finite("initial_mid", self.initial_mid)
        _non_negative("sigma", self.sigma)
        _positive("dt", self.dt)
        _positive("intensity_a", self.intensity_a)
        _positive("intensity_k", self.intensity_k)
        if self.reference_spread is not None:
            _positive("reference_spread", self.reference_spread)
        if self.fill_probability not in ("capped", "exponential"):
            _fail("fill_probability", self.fill_probability, "must be 'capped' or 'exponential'")
        if self.mid_increments not in ("binomial", "gaussian"):
            _fail("mid_increments", self.mid_increments, "must be 'binomial' or 'gaussian'")
        for name, choices in AS_COMPONENTS.items():
            if getattr(self, name) not in choices:
                _fail(name, getattr(self, name), f"must be one of {choices}")
        self._check_components()

    def _check_components(self) -> None:
        """Each component's parameters against its model's range; unused ones at default."""
        chosen = {name: getattr(self, name) for name in AS_COMPONENTS}
        defaults = {f.name: f.default for f in fields(AvellanedaStoikovConfig)}
        for name, (component, users) in AS_COMPONENT_FIELDS.items():
            value = getattr(self, name)
            if chosen[component] not in users and value != defaults[name]:
                _fail(
                    name,
                    value,
                    f"is used only with {component} in {users} ({component} is "
                    f"{chosen[component]!r}); leave it at its default {defaults[name]!r}",
                )
        mid = self.midprice
        horizon = self.n_steps * self.dt
        _finite("mid_drift", self.mid_drift)
        if mid in ("gbm", "heston"):
            if self.initial_mid <= 0.0:
                _fail("initial_mid", self.initial_mid, f"must be > 0 with midprice {mid!r}")
            if abs(self.mid_drift) * horizon > 100.0:
                _fail("mid_drift", self.mid_drift, "needs |mid_drift| * T <= 100")
        if mid == "cev":
            if self.initial_mid <= 0.0:
                _fail("initial_mid", self.initial_mid, "must be > 0 with midprice 'cev'")
            beta = _finite("cev_elasticity", self.cev_elasticity)
            if not 0.0 <= beta <= 1.0:
                _fail(
                    "cev_elasticity",
                    self.cev_elasticity,
                    "must lie in [0, 1] (beyond 1 the driftless CEV process is a strict local "
                    "martingale, below 0 its volatility explodes at 0)",
                )
            try:
                level = self.initial_mid ** (beta - 1.0)
            except OverflowError:  # a denormal initial_mid (2e-323, found by the property test)
                level = math.inf
            relative = self.sigma * level * math.sqrt(horizon) if self.sigma > 0.0 else 0.0
            if relative > 10.0:
                _fail(
                    "sigma",
                    self.sigma,
                    f"sigma * initial_mid**(cev_elasticity - 1) * sqrt(T) = {relative:.4g} must "
                    "be <= 10 with midprice 'cev' (the relative volatility over the horizon)",
                )
        if mid == "gbm" and self.sigma * math.sqrt(horizon) > 10.0:
            _fail(
                "sigma",
                self.sigma,
                f"sigma * sqrt(T) = {self.sigma * math.sqrt(horizon):.4g} must be <= 10 with "
                "midprice 'gbm' (the log-price standard deviation over the horizon)",
            )
        _positive("ou_rate", self.ou_rate)
        if self.ou_mean is not None:
            _finite("ou_mean", self.ou_mean)
        _positive("alpha_decay", self.alpha_decay)
        _positive("alpha_vol", self.alpha_vol)
        scale = self.alpha_scale
        if self.midprice == "ou_alpha" and not (2.2250738585072014e-308 <= scale < math.inf):
            # the observation divides alpha by it: an underflow to 0 (alpha_vol = 5e-324, found
            # by the property test) divided by zero
            _fail(
                "alpha_vol",
                self.alpha_vol,
                f"with alpha_decay = {self.alpha_decay!r} gives the alpha's stationary standard "
                f"deviation alpha_vol / sqrt(2 alpha_decay) = {scale!r}; it must be a finite "
                "normal float (>= 2.2e-308), the observation's divisor of alpha",
            )
        _positive("jump_rate", self.jump_rate)
        _finite("jump_mean", self.jump_mean)
        _non_negative("jump_std", self.jump_std)
        _non_negative("heston_v0", self.heston_v0)
        _positive("heston_kappa", self.heston_kappa)
        _positive("heston_theta", self.heston_theta)
        _non_negative("heston_xi", self.heston_xi)
        if not -1.0 <= _finite("heston_rho", self.heston_rho) <= 1.0:
            _fail("heston_rho", self.heston_rho, "must lie in [-1, 1] (a correlation)")
        if self.heston_kappa * self.dt > 1.0:
            _fail(
                "heston_kappa",
                self.heston_kappa,
                "needs heston_kappa * dt <= 1 (the Euler step of the variance overshoots its "
                "mean beyond that)",
            )
        for name in ("heston_v0", "heston_theta"):
            if getattr(self, name) * horizon > 100.0:
                _fail(name, getattr(self, name), f"needs {name} * T <= 100")
        _non_negative("hawkes_self", self.hawkes_self)
        _non_negative("hawkes_cross", self.hawkes_cross)
        _positive("hawkes_decay", self.hawkes_decay)
        if not self.branching_ratio < 1.0:
            _fail(
                "hawkes_decay",
                self.hawkes_decay,
                f"the branching ratio (hawkes_self + hawkes_cross) / hawkes_decay = "
                f"{self.branching_ratio:.4g} must be < 1 (a stationary Hawkes process)",
            )
        if self.arrivals == "hawkes" and self.stationary_arrival_rate * self.dt > 1e6:
            _fail(
                "hawkes_decay",
                self.hawkes_decay,
                f"the stationary market-order rate x dt = "
                f"{self.stationary_arrival_rate * self.dt:.4g} must be <= 1e6 orders per step",
            )
        if not -1.0 <= _finite("inventory_flow", self.inventory_flow) <= 1.0:
            _fail(
                "inventory_flow",
                self.inventory_flow,
                "must lie in [-1, 1] (the rates A * (1 +- c * tanh(q / q0)) must stay >= 0)",
            )
        _positive("inventory_flow_scale", self.inventory_flow_scale)
        _positive("max_market_order", self.max_market_order)
        _non_negative("temporary_impact", self.temporary_impact)
        _non_negative("permanent_impact", self.permanent_impact)
        _positive("fill_exponent", self.fill_exponent)
        _positive("risk_aversion", self.risk_aversion)

    def _check_spread_multiple_low(self, low: float) -> None:
        """low > 0: ask − bid = m·s, so m = 0 locks our quotes at the mid and m < 0 crosses them."""
        if low <= 0.0:
            _fail(
                "spread_multiple_range",
                self.spread_multiple_range,
                "needs low > 0 in the Avellaneda-Stoikov scenarios: ask - bid = m * s, so "
                "m = 0 puts our bid and ask at the same price and m < 0 crosses them",
            )

    @classmethod
    def cartea_jaimungal(
        cls, phi: float = 0.01, alpha: float = 0.001, **overrides: Any
    ) -> AvellanedaStoikovConfig:
        """The Cartea–Jaimungal–Penalva (2015, ch. 10) check: λ = 140, κ = 1.5, σ = 2, T = 1 in
        1000 steps, |q| ≤ 100, running penalty φ q² dt and terminal penalty α q²."""
        values: dict[str, Any] = {
            "n_steps": 1000,
            "dt": 0.001,
            "max_inventory": 100.0,
            "inventory_scale": 10.0,
            "intensity_a": 140.0,
            "intensity_k": 1.5,
            "sigma": 2.0,
        }
        values.update(overrides)
        dt = values["dt"]
        return cls(inventory_penalty=phi * dt, terminal_inventory_penalty=alpha, **values)

    @property
    def book_levels(self) -> int:
        return 1

    @property
    def action_dim(self) -> int:
        """3 with ``market_orders`` (the market order's entry), else 2."""
        return 2 if self.market_orders == "none" else 3

    @property
    def horizon(self) -> float:
        """T = n_steps · dt."""
        return self.n_steps * self.dt

    @property
    def depth_unit(self) -> float:
        """The reference spread s the action's spread multiple multiplies (default 2/k)."""
        if self.reference_spread is not None:
            return float(self.reference_spread)
        return 2.0 / self.intensity_k

    @property
    def spread_scale(self) -> float:
        """The reference spread (so the observation's spread entry is identically 1)."""
        return self.depth_unit

    @property
    def component_observation_names(self) -> tuple[str, ...]:
        """``alpha`` (midprice ``"ou_alpha"``: α / its stationary standard deviation) and
        ``sell_intensity``, ``buy_intensity`` (arrivals ``"hawkes"``: each side's market-order
        intensity / its stationary mean), in that order."""
        names: tuple[str, ...] = ("alpha",) if self.midprice == "ou_alpha" else ()
        if self.arrivals == "hawkes":
            names += ("sell_intensity", "buy_intensity")
        return names

    @property
    def branching_ratio(self) -> float:
        """(hawkes_self + hawkes_cross) / hawkes_decay: the mean number of orders (on both
        sides) that one market order triggers directly (Hawkes 1971; Bacry, Mastromatteo &
        Muzy 2015)."""
        return (self.hawkes_self + self.hawkes_cross) / self.hawkes_decay

    @property
    def stationary_arrival_rate(self) -> float:
        """Each side's mean market-order rate: A with Poisson arrivals (with ``"inventory"``
        arrivals, the rate at q = 0: the mean depends on the inventory path); with Hawkes arrivals
        μ/(1 − (α_self + α_cross)/β), μ = A (the stationary mean E[λ] = (I − ‖Φ‖₁)^(−1)μ of a
        multivariate Hawkes process, Bacry, Mastromatteo & Muzy 2015, "Hawkes processes in
        finance", here with the symmetric 2 × 2 kernel of L¹ norm (α_self + α_cross)/β))."""
        if self.arrivals == "hawkes":
            return self.intensity_a / (1.0 - self.branching_ratio)
        return self.intensity_a

    @property
    def alpha_scale(self) -> float:
        """The stationary standard deviation of the alpha signal, η/√(2ζ)."""
        return self.alpha_vol / math.sqrt(2.0 * self.alpha_decay)

    @property
    def martingale_mid(self) -> bool:
        """Whether the mid is a martingale (drawn independently of our fills): ``bm``, ``gbm``,
        ``heston`` with ``mid_drift`` = 0, ``jump_bm`` also with ``jump_mean`` = 0. The OU
        mids and the alpha signal make it predictable; ``cev``'s Euler step absorbed at 0 is a
        martingale only while no step would cross 0 (absorption raises its mean), so it is not
        listed."""
        if self.mid_drift != 0.0 or self.midprice not in ("bm", "gbm", "heston", "jump_bm"):
            return False
        return self.midprice != "jump_bm" or self.jump_mean == 0.0

    @property
    def ou_level(self) -> float:
        """The OU mean of the mid (``ou_mean``, default ``initial_mid``)."""
        return float(self.initial_mid if self.ou_mean is None else self.ou_mean)


@dataclass(frozen=True)
class CarteaJaimungalConfig(AvellanedaStoikovConfig):
    """The Cartea–Jaimungal–Penalva check (scenario ``mm_env/CarteaJaimungal-v0``).

    The Avellaneda–Stoikov market with the parameters of Cartea, Jaimungal & Penalva (2015,
    ch. 10): λ = A = 140, κ = k = 1.5, σ = 2, T = 1 in 1000 steps (dt = 0.001), |q| ≤ 100,
    running penalty φ = 0.01 (``inventory_penalty`` = φ·dt per step) and terminal penalty
    α = 0.001. The env's mean episode return is their objective; its optimum is h(0, 0) =
    68.26 (:class:`baselines.analytic.CarteaJaimungal`).

    One difference from :meth:`AvellanedaStoikovConfig.cartea_jaimungal`: the skew range is
    ``max_skew = 1`` (a skew of ±1 puts one quote at the mid) instead of 10. The optimal skews
    stay within ±0.3 for |q| ≤ 20 (they pass ±1 only at |q| ≥ 64, far outside the optimal
    agent's episodes), so the optimal agent is unaffected, and a learning agent's
    exploration noise no longer pushes a quote far through the mid (with ±10 an action unit is
    worth ten spreads, and PPO learned nothing). Action 0 is spread multiple 2 (depths
    2/k = 1.33, twice the optimum); m = 1 (action −10/19 ≈ −0.526 with the range (0.1, 3.9))
    is the optimum's 1/k ≈ 0.67.
    """

    n_steps: int = 1000
    dt: float = 0.001
    max_inventory: float = 100.0
    inventory_scale: float | None = 10.0
    inventory_penalty: float = 0.01 * 0.001
    terminal_inventory_penalty: float = 0.001
    max_skew: float = 1.0


#: the components of the Avellaneda–Stoikov family and their choices (the first is the default)
AS_COMPONENTS: dict[str, tuple[str, ...]] = {
    "midprice": ("bm", "gbm", "ou", "ou_alpha", "jump_bm", "jump_ou", "heston", "cev"),
    "arrivals": ("poisson", "hawkes", "inventory"),
    "fill_function": ("exponential", "power", "triangular"),
    "reward": ("pnl", "exp_utility"),
    "market_orders": ("none", "linear_impact"),
}

_JUMPS = ("jump_bm", "jump_ou")
#: field -> (component, the choices of that component that use the field)
AS_COMPONENT_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sigma": ("midprice", ("bm", "gbm", "ou", "ou_alpha", *_JUMPS, "cev")),
    "mid_increments": ("midprice", ("bm", "jump_bm")),
    "mid_drift": ("midprice", ("bm", "gbm", "jump_bm", "heston")),
    "ou_rate": ("midprice", ("ou", "jump_ou")),
    "ou_mean": ("midprice", ("ou", "jump_ou")),
    "alpha_decay": ("midprice", ("ou_alpha",)),
    "alpha_vol": ("midprice", ("ou_alpha",)),
    "jump_rate": ("midprice", _JUMPS),
    "jump_mean": ("midprice", _JUMPS),
    "jump_std": ("midprice", _JUMPS),
    **{f"heston_{p}": ("midprice", ("heston",)) for p in ("v0", "kappa", "theta", "xi", "rho")},
    "fill_probability": ("arrivals", ("poisson", "inventory")),
    "inventory_flow": ("arrivals", ("inventory",)),
    "inventory_flow_scale": ("arrivals", ("inventory",)),
    "hawkes_self": ("arrivals", ("hawkes",)),
    "hawkes_cross": ("arrivals", ("hawkes",)),
    "hawkes_decay": ("arrivals", ("hawkes",)),
    "cev_elasticity": ("midprice", ("cev",)),
    "fill_exponent": ("fill_function", ("power",)),
    "risk_aversion": ("reward", ("exp_utility",)),
    "max_market_order": ("market_orders", ("linear_impact",)),
    "temporary_impact": ("market_orders", ("linear_impact",)),
    "permanent_impact": ("market_orders", ("linear_impact",)),
}

#: The Cartea–Jaimungal variant in which inventory control matters: ``CarteaJaimungal-v0``
#: with these overrides (the benchmark task ``cj-inventory``; ``--set inventory_penalty=0.0005``
#: on the command line). Only the running penalty changes, φ = 0.5 instead of 0.01 (per step
#: φ·dt); λ, κ, σ, T, α, |q| ≤ 100 and the action ranges stay CarteaJaimungal-v0's. Fixed from
#: the model before any training: at φ = 0.01 a constant quote at depth 1/κ earns 99.7% of
#: the optimum h(0, 0), so that task cannot tell learning from a constant. With a constant
#: quote the inventory is a random walk whose variance grows like 2λe^(−κδ)·t, so its penalty
#: φ∫E[q²]dt grows like φλT²; the optimal agent skews its quotes to keep q near 0. On the
#: 1-2-5 series, φ = 0.1 still leaves the best constant quote at 95% of the optimum; φ = 0.5
#: puts it at 74% (exact expectation 47.75 at depth 0.90 against h(0, 0) = 64.78; see
#: :mod:`baselines.exact` and tests/test_benchmark.py), a margin that discretisation and
#: simulation noise cannot close. The optimal skews stay within ±0.6 for |q| ≤ 5, inside the
#: action range (max_skew = 1).
CARTEA_JAIMUNGAL_INVENTORY: dict[str, float] = {"inventory_penalty": 0.5 * 0.001}


REPLAY_SPLITS = ("all", "train", "test")


@dataclass(frozen=True)
class ReplayConfig(ExecutionFields, MarketConfig):
    """A recorded order book replayed event by event or on a clock (scenario ``mm_env/Replay-v0``).

    The book itself is passed to the env as ``data=`` (a path or a loaded
    :class:`~mm_env.data.OrderBook`); it is kept out of this frozen config, which records only
    ``data_path`` (the path given, or the loaded book's ``source``) so a run's saved config
    says what it replayed. ``data_path`` alone (with ``data`` omitted) also works: the env then
    loads that path. A snapshot file's trades file is named by ``trades_path`` (loaded with it,
    and recorded the same way).

    Clock: ``step_seconds=None`` steps once per distinct timestamp (an event: the messages of
    one marketable order share a timestamp); a number steps on a fixed
    clock, each step showing the last book state at or before the end of its interval (an
    interval without events repeats the state).

    Split by time: the rows with time < split point are ``"train"``, the others ``"test"``
    (``"all"``: every row). The split point is ``split_time`` (in the data's time unit) when
    given, else first time + ``split_fraction`` x (last time - first time). Episodes never
    cross the split point.

    Episodes: ``n_steps`` consecutive steps, starting at a uniformly random step of the split
    drawn from ``np_random`` (a split with fewer than ``n_steps + 1`` steps raises).

    Fill model: see :mod:`mm_env.scenarios.replay`. Our orders never move the replayed book.

    Attributes:
        data_path: where the replayed book came from (filled in from ``data=``); with no
            ``data=``, the path the env loads (see :func:`mm_env.data.load_book`).
        trades_path: the trades file (``timestamp, price, size, side``) of a snapshot file given
            as a path (``data=`` or ``data_path``); its trades are the executions quotes fill
            against. Not with LOBSTER data (its executions come from its message file) nor with
            an already-loaded OrderBook (load it with its trades: ``load_snapshots(path,
            trades_path)``); both raise, as does a missing file, when the env is made.
        tick_size: the price grid of the data (quotes are rounded to it; prices of the data
            off the grid raise). ``touch_tolerance`` must be < tick_size / 2 (a rounding
            tolerance: from half a tick on it would move a quote to another tick).
        n_levels: levels per side used from the data (the data may have more).
        step_seconds: ``None`` for one step per event, else the clock period in seconds.
        split, split_time, split_fraction: the train/test split by time (above).
        infer_trades: without trades or messages in the data, infer executions from best-level
            depletion (an optimistic upper bound); ``False`` raises instead.
        spread_unit: the divisor of the spread and mid change in the observation (price
            units); ``None``: the median spread of the split, filled in by the env.
        queue_model, keep_priority, fill_through: the queue and fill rules of
            :mod:`mm_env.execution` (``"risk_averse"``, ``"power:N"``, ``"power2:N"``,
            ``"power3:N"``, ``"log"``, ``"log2"``, ``"exact"`` — LOBSTER messages only — or
            ``"auto"``: exact where the data has order ids, else risk-averse). The defaults are
            the Replay-v0 rules; ``mm_env/Replay-v1`` sets ``"auto"``, True, True.
        maker_fee_bps, taker_fee_bps, maker_fee_per_unit, taker_fee_per_unit: fees
            (:mod:`mm_env.execution`, "Fees"); negative maker fees are rebates. Default 0.
        entry_latency, response_latency: seconds on the data's clock, or a distribution
            (``"lognormal:MEDIAN,SIGMA"``, ``"file:PATH"``, a tuple of seconds);
            feed_latency: seconds (constant), or ``"data"``: the data's own second clock
            (:attr:`mm_env.data.OrderBook.recv_time`, e.g. a snapshot file's
            ``local_timestamp``), each row shown from when it was received.
            :mod:`mm_env.execution`, "Latency". Default 0.

    Observation fields ``obs_own_orders`` and ``obs_trade_flow``: as in
    :class:`SyntheticConfig`, with the recorded executions (by aggressor side) as the market
    orders; the queue fraction and the trades are those of the book the agent observes (after
    any feed latency), our orders' state the exchange's.
    """

    data_path: str | None = None
    trades_path: str | None = None
    tick_size: float = 0.01
    n_levels: int = 10
    step_seconds: float | None = None
    split: str = "all"
    split_time: float | None = None
    split_fraction: float = 0.5
    infer_trades: bool = True
    spread_unit: float | None = None
    feed_latency: float | str = 0.0

    def __post_init__(self) -> None:
        _positive_int("n_levels", self.n_levels)
        super().__post_init__()
        _check_execution(self)
        _check_order_observation(self)
        if isinstance(self.feed_latency, str):
            if self.feed_latency != "data":
                _fail(
                    "feed_latency",
                    self.feed_latency,
                    "must be seconds >= 0 or 'data' (the data's receive timestamps)",
                )
        else:
            _non_negative("feed_latency", self.feed_latency)
        if self.data_path is not None and not isinstance(self.data_path, str):
            _fail("data_path", self.data_path, "must be a string path or None")
        if self.trades_path is not None:  # a path object is recorded as its string
            path = self.trades_path
            path = os.fspath(path) if isinstance(path, os.PathLike) else path
            if not isinstance(path, str) or not path:
                _fail("trades_path", self.trades_path, "must be a path (str or PathLike) or None")
            object.__setattr__(self, "trades_path", path)
        _positive("tick_size", self.tick_size)
        if self.step_seconds is not None:
            _positive("step_seconds", self.step_seconds)
        if self.split not in REPLAY_SPLITS:
            _fail("split", self.split, f"must be one of {REPLAY_SPLITS}")
        if self.split_time is not None:
            _finite("split_time", self.split_time)
        v = _finite("split_fraction", self.split_fraction)
        if not 0.0 < v < 1.0:
            _fail("split_fraction", self.split_fraction, "must lie in (0, 1)")
        if not isinstance(self.infer_trades, bool):
            _fail("infer_trades", self.infer_trades, "must be a bool")
        if self.spread_unit is not None:
            _positive("spread_unit", self.spread_unit)
        _below_half_step("touch_tolerance", self.touch_tolerance, self.tick_size, "tick_size")

    @property
    def book_levels(self) -> int:
        return self.n_levels

    @property
    def spread_scale(self) -> float:
        """``spread_unit``; the env fills it in with the median spread of the data's split when
        it is not given (two ticks before that)."""
        return float(self.spread_unit) if self.spread_unit is not None else 2.0 * self.tick_size

    @property
    def component_observation_names(self) -> tuple[str, ...]:
        """The entries of ``obs_own_orders`` and ``obs_trade_flow`` (class docstring)."""
        return _order_observation_names(self)
