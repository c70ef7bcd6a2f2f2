"""``MarketMakingEnv``: quote a spread and a skew around a limit order book."""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib.util import find_spec
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from mm_env.actions import ActionMapping
from mm_env.config import (
    AvellanedaStoikovConfig,
    CarteaJaimungalConfig,
    MarketConfig,
    NotebookConfig,
    ReplayConfig,
    SyntheticConfig,
)
from mm_env.core import (
    ACTION_CLIPPED,
    INFO_KEYS,
    N_COMMON,
    REWARD,
    Simulator,
    observation_names,
)
from mm_env.execution import EXEC_INFO_KEYS, N_EXEC_INFO, N_PENDING, X_FEES
from mm_env.scenarios import (
    AvellanedaStoikovSimulator,
    NotebookSimulator,
    ReplaySimulator,
    SyntheticSimulator,
)

#: scenario name -> (config class, simulator class)
SCENARIOS: dict[str, tuple[type[MarketConfig], type[Simulator]]] = {
    "market_making": (SyntheticConfig, SyntheticSimulator),
    "notebook": (NotebookConfig, NotebookSimulator),
    "avellaneda_stoikov": (AvellanedaStoikovConfig, AvellanedaStoikovSimulator),
    "cartea_jaimungal": (CarteaJaimungalConfig, AvellanedaStoikovSimulator),
    "replay": (ReplayConfig, ReplaySimulator),
}


def make_config(
    scenario: str, config: MarketConfig | None = None, **overrides: Any
) -> MarketConfig:
    """The config of a scenario: its defaults, or ``config``, with ``overrides`` applied."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {sorted(SCENARIOS)}")
    config_cls = SCENARIOS[scenario][0]
    if config is None:
        config = config_cls()
    elif not isinstance(config, config_cls):
        raise ValueError(
            f"scenario {scenario!r} takes a {config_cls.__name__}, got {type(config).__name__}"
        )
    return config.replace(**overrides) if overrides else config


def make_simulator(
    scenario: str, config: MarketConfig, n_envs: int = 1, data: Any = None
) -> Simulator:
    """The simulation core of a scenario for ``n_envs`` books.

    ``data``: the recorded book of a scenario that replays one (a path or an
    :class:`~mm_env.data.OrderBook`); other scenarios take none.
    """
    sim_cls = SCENARIOS[scenario][1]
    if data is None:
        return sim_cls(config, n_envs)  # type: ignore[arg-type]
    if not getattr(sim_cls, "takes_data", False):
        raise ValueError(f"scenario {scenario!r} takes no data= argument")
    return sim_cls(config, n_envs, data=data)  # type: ignore[arg-type, call-arg]


def data_overrides(scenario: str, data: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` plus ``data_path`` recording where ``data`` came from (replay scenarios)."""
    if data is None or "data_path" in overrides:
        return overrides
    if not getattr(SCENARIOS[scenario][1], "takes_data", False):
        raise ValueError(f"scenario {scenario!r} takes no data= argument")
    from mm_env.scenarios.replay import data_source

    return {**overrides, "data_path": data_source(data)}


class MarketMakingEnv(gym.Env[NDArray[np.floating], NDArray[np.floating]]):
    """Market making on a limit order book whose imbalance carries information.

    ## Description

    Each step the agent quotes one bid and one ask around the mid of the book it observes. The
    scenario's fill model decides how much of each quote trades; the reward is the change of the
    mark-to-market PnL. These scenarios are registered:

    * ``mm_env/MarketMaking-v0`` (``scenario="market_making"``): a queue-reactive book on a tick
      grid (:class:`~mm_env.config.SyntheticConfig`) in which the level-1 imbalance predicts the
      next mid change, with depth-aware, queue-position-aware, partial fills.
      ``mm_env/MarketMaking-v1``: the same book on newer execution rules (Version History).
    * ``mm_env/Notebook-v0`` (``scenario="notebook"``): the seed notebook's market exactly
      (:class:`~mm_env.config.NotebookConfig`), imbalance identically 0 included.
    * ``mm_env/Replay-v0`` (``scenario="replay"``): a recorded book (LOBSTER or the generic L2
      snapshot layout, :mod:`mm_env.data`) replayed per event or on a clock, with fills against
      the recorded executions (:class:`~mm_env.config.ReplayConfig`); pass ``data=`` (a path
      or a loaded :class:`~mm_env.data.OrderBook`). The replayed book ignores our orders.
    * ``mm_env/AvellanedaStoikov-v0`` (``scenario="avellaneda_stoikov"``): no book, the
      Avellaneda & Stoikov (2008) model (:class:`~mm_env.config.AvellanedaStoikovConfig`): a
      Brownian mid and Poisson fills at intensity A·e^(−kδ) of depth δ; the action's spread
      multiple multiplies a fixed reference spread, and the observation shows the time left.
    * ``mm_env/CarteaJaimungal-v0`` (``scenario="cartea_jaimungal"``): the same market with the
      parameters and penalties of Cartea, Jaimungal & Penalva (2015, ch. 10)
      (:class:`~mm_env.config.CarteaJaimungalConfig`), whose optimum h(0, 0) = 68.26 is known:
      the check that an RL method finds it.

    ## Action Space

    ``Box(-1, 1, (2,), float32)``. ``action[0]`` maps affinely to the quoted spread as a multiple
    ``m`` of the current market spread ``s`` (``spread_multiple_range``, default (0, 4) for
    MarketMaking-v0 and Replay-v0, (0.1, 3.9) for the Avellaneda–Stoikov family, of a fixed
    reference spread, and (-3, 5) for Notebook-v0, where action 0 quotes at the touch);
    ``action[1]`` maps linearly to the skew in [-max_skew, max_skew]. Quotes, as in the notebook:

        bid = mid - (m s / 2)(1 + skew),   ask = mid + (m s / 2)(1 - skew)

    so a positive skew lowers both quotes (eager to sell). Our bid is always below our ask,
    except on Notebook-v0: on the tick grid the core keeps our ask at least one tick above our
    bid (:mod:`mm_env.core`, "Quote placement"), and off it ``spread_multiple_range`` needs
    low > 0; Notebook-v0 alone may cross its own quotes, as the seed notebook does.
    ``action_mapping`` converts both ways (``env.unwrapped.action_mapping.to_action(1.0,
    0.3)``). Finite actions outside [-1, 1] are clipped (``info["action_clipped"]``-style flag
    in the simulator state); NaN or infinite entries raise ``ValueError``. Actions are used in
    float64: a float64 action is not rounded.

    Market orders (an option of the Avellaneda–Stoikov family only,
    ``market_orders="linear_impact"``; every registered id keeps the two-entry action):
    ``Box(-1, 1, (3,), float32)``, ``action[2]`` a market order of signed size
    ``action[2] * max_market_order`` (> 0 buys) that crosses the reference spread and pays a
    linear temporary impact, then moves the mid by a linear permanent impact
    (:class:`~mm_env.config.AvellanedaStoikovConfig`, "market_orders"). ``action[2]`` outside
    [-1, 1] raises ``ValueError`` instead of being clipped: it is a traded quantity.

    ## Observation Space

    ``Box`` of ``observation_dtype`` (float32 by default); names in ``observation_names``.
    Unbounded entries (∞ below) carry the dtype's largest finite value as their bound.

    | index | name        | meaning                                              | range   |
    |-------|-------------|------------------------------------------------------|---------|
    | 0     | imbalance   | (bid size - ask size) / total, level 1 for           | [-1, 1] |
    |       |             | MarketMaking-v0, all levels for Notebook-v0          |         |
    | 1     | inventory   | inventory / inventory_scale (default max_inventory)  | [-1, 1] |
    |       |             | when the limit is finite                             |         |
    | 2     | spread      | market spread / spread_scale (two ticks for          | [0, ∞)  |
    |       |             | MarketMaking-v0; mean spread for Notebook-v0)        |         |
    | 3...  | imbalance_k | optional: imbalance over the first k levels          | [-1, 1] |
    |       | time_left   | optional: 1 - step / n_steps                         | [0, 1]  |
    |       | mid_change  | optional: last mid change / spread_scale             | ℝ       |
    |       | alpha       | AS family, midprice "ou_alpha": α / its stationary sd | ℝ       |
    |       | sell_intensity, | AS family, arrivals "hawkes": each side's market-  | [0, ∞)  |
    |       | buy_intensity   | order intensity / its stationary mean            |         |
    |       | bid_queue_ahead | MarketMaking, Replay, ``obs_own_orders``: size   | [0, 1]  |
    |       |             | ahead of our bid / size displayed at its price       |         |
    |       | bid_live    | ``obs_own_orders``: our bid rests at the market      | {0, 1}  |
    |       | bid_in_flight | ``obs_own_orders``: bid requests in flight         | [0, 4]  |
    |       | ask_...     | the same three for the ask                           |         |
    |       | trade_flow  | MarketMaking, Replay, ``obs_trade_flow`` = half-life | [-1, 1] |
    |       |             | h: EMA of (bought - sold) / (bought + sold) by       |         |
    |       |             | market orders (:class:`~mm_env.config.SyntheticConfig`) |      |

    ## Rewards

    ``pnl_t = cash_t + inventory_t * mid_t``, where ``mid_t`` is the mid of the book the step's
    quotes met. The reward is ``pnl_t - pnl_{t-1}`` (``pnl_{-1} = 0``), so with no penalty the
    episode's rewards sum to its final ``pnl``. Options: ``inventory_penalty`` subtracts
    ``φ q²`` each step; at the last step ``terminal_inventory_penalty`` subtracts ``α q²`` and
    ``liquidate_at_end`` subtracts ``|q| s / 2``. ``info["pnl"]`` is always the plain
    mark-to-market PnL.

    ## Inventory limit

    ``|inventory| <= max_inventory`` always holds: a fill that would breach the limit is filled
    only up to it (a quote never trades more than the room left on its side this step).

    ## Starting State

    A fresh book drawn from ``np_random`` (see the scenario's random contract), no cash, no
    inventory. Nothing carries over from the previous episode.

    ## Reset options

    ``reset(seed=None, options=None)``. The single env knows no reset options today
    (``RESET_OPTIONS`` is empty): ``options`` must be ``None`` or an empty dict, and any key
    raises ``ValueError`` naming it (the vector env's ``reset_mask`` is an option of
    :class:`~mm_env.vector.MarketMakingVectorEnv` only; Gymnasium's own vector envs remove it
    before they reset a sub-env).

    ## Episode End

    No termination. Truncation after ``n_steps`` steps (2000 by default, as in the notebook);
    stepping after that raises ``RuntimeError`` until ``reset``. After the last step of
    Notebook-v0 the observation shows the last book again (the notebook's path has exactly
    ``n_steps`` points).

    ## Info

    Every ``reset`` and ``step`` returns: ``mid``, ``best_bid``, ``best_ask``, ``spread``,
    ``imbalance`` (the book the quotes met), ``bid_quote``, ``ask_quote``, ``bid_fill``,
    ``ask_fill`` (quantities this step), ``cash``, ``inventory``, ``pnl``, ``spread_multiple``,
    ``skew`` (the action as mapped), ``volume``, ``n_fills`` (cumulative), ``step``, and
    ``action_clipped``. All are Python floats or bools.

    ## Arguments

    ``gym.make("mm_env/MarketMaking-v0", render_mode=None, config=None, **overrides)``: any
    field of the scenario's config can be overridden by keyword, e.g. ``n_steps=500``.
    Render modes: ``"ansi"`` (a text ladder of the book with our quotes) and ``"rgb_array"`` (a
    figure of the mid, quotes, inventory and PnL so far; needs matplotlib).

    ## Version History

    * v0: initial release. The Avellaneda–Stoikov family later gained component options
      (midprice, arrivals, fill_function, reward, market_orders; issue 14) whose defaults
      leave its ids' trajectories and spaces unchanged, so the ids keep v0.
    * MarketMaking-v1 (``mm_env/MarketMaking-v1``): the synthetic book on the execution rules
      of :mod:`mm_env.execution` — a partly filled order keeps its place and only added size
      joins the back (``keep_priority=True``); cancellations at our price (the book's log-size
      reversion and churn shrinking our level) move us up by the ``power:1`` queue model
      (``queue_model="power:1"``: the book's churn has no order ages, so a cancelled unit is
      equally likely to be any displayed unit, and the chance it was behind us is
      back / (front + back)); a book whose other side improves onto our quote fills it
      (``fill_through=True``). Fees (``maker_fee_bps``, ``taker_fee_bps``,
      ``maker_fee_per_unit``, ``taker_fee_per_unit``) default to zero (this book is no venue);
      latency (``entry_latency``, ``response_latency``) is in steps, default 0. MarketMaking-v0
      keeps its rules exactly (the risk-averse queue, the whole quote to the back after any
      fill; a test replays recorded v0 trajectories); all these fields are options of both,
      and both report the execution info keys below.
    * Replay-v1 (``mm_env/Replay-v1``): the execution rules of :mod:`mm_env.execution` — the
      exact queue from LOBSTER order ids (``queue_model="auto"``: risk-averse for data without
      ids), a partly filled order keeps its place and only added size joins the back
      (``keep_priority``), a trade through our price or a book crossing our quote fills the
      whole remaining order (``fill_through``). Replay-v0 keeps its rules exactly (a test
      replays recorded v0 trajectories). Both accept latency (``entry_latency``,
      ``response_latency``, ``feed_latency``, seconds on the data's clock) and fees
      (``maker_fee_bps``, ...), zero by default; their info adds ``fees``, ``n_rejected``,
      ``bid_live``/``ask_live``, ``bid_in_flight``/``ask_in_flight`` and ``known_inventory``
      (the inventory the observation shows, lagged by the response latency).
    * Later, for MarketMaking-v0/v1 and Replay-v0/v1: the observation options
      ``obs_own_orders`` and ``obs_trade_flow`` (issue 12; table above), off by default, so
      every id's default trajectories and observation space are unchanged and the ids keep
      their versions.
    * Later (issue 11), with a response latency: a side sends a request on the agent's view of
      its order, not the exchange's (:mod:`mm_env.execution`, "The agent's view of its
      orders"): a fill is not re-quoted before its response reaches the agent. Only runs with
      a response latency > 0 (off by default) change; at zero response latency every id's
      trajectories are bit-identical, so the ids keep their versions.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 30}

    def __init__(
        self,
        scenario: str = "market_making",
        config: MarketConfig | None = None,
        render_mode: str | None = None,
        data: Any = None,
        **overrides: Any,
    ) -> None:
        self.scenario = scenario
        self.config = make_config(scenario, config, **data_overrides(scenario, data, overrides))
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        if render_mode == "rgb_array" and find_spec("matplotlib") is None:
            raise gym.error.DependencyNotInstalled(
                "render_mode='rgb_array' draws with matplotlib, which is not installed: "
                "pip install 'mm_env[render]' (or use render_mode='ansi')"
            )
        self.render_mode = render_mode
        self._sim = make_simulator(scenario, self.config, 1, data)
        self._bind_views()
        self.config = self._sim.config  # a replay records its data's spread unit
        self.observation_names: tuple[str, ...] = self._sim.names
        self.action_mapping = ActionMapping.from_config(self.config)
        self.action_space = spaces.Box(-1.0, 1.0, (self.config.action_dim,), np.float32)
        self.observation_space = observation_space(self.config)  # type: ignore[assignment]
        self._history: dict[str, list[float]] | None = None
        self._started = False

    def _bind_views(self) -> None:
        """Views of the simulator's (never reallocated) arrays that every step reads."""
        self._row0 = self._sim.state[0, :N_COMMON]
        self._obs0 = self._sim.obs[0]
        self._exec0 = (
            self._sim.state[0, X_FEES : X_FEES + N_EXEC_INFO]
            if hasattr(self._sim, "exec_info")
            else None
        )

    def __setstate__(self, state: dict[str, Any]) -> None:
        # copy.deepcopy and pickle copy a view as an array of its own: bind to the copy's arrays
        self.__dict__.update(state)
        self._bind_views()

    # ---- Gymnasium API -----------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.floating], dict[str, Any]]:
        check_reset_options(options, RESET_OPTIONS)
        super().reset(seed=seed)
        self._sim.reset(self.np_random)
        self._started = True
        info = self._info()
        if self.render_mode == "rgb_array":
            self._history = {k: [] for k in ("mid", "bid_quote", "ask_quote", "inventory", "pnl")}
        return self._sim.obs[0].copy(), info

    def step(self, action: Any) -> tuple[NDArray[np.floating], float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        sim = self._sim
        if sim.action_dim != 2:  # with a market order (AvellanedaStoikovConfig.market_orders)
            if type(action) is np.ndarray and action.shape == (3,) and action.dtype.kind == "f":
                a0, a1, a2 = action.tolist()
                if math.isfinite(a0) and math.isfinite(a1) and math.isfinite(a2):
                    sim.step_one3(a0, a1, a2, self._np_random)  # type: ignore[arg-type]
                else:  # Simulator.step raises, naming the entry
                    sim.step(_action_row(action, 3), self._np_random)  # type: ignore[arg-type]
            else:
                sim.step(_action_row(action, sim.action_dim), self._np_random)  # type: ignore[arg-type]
        elif type(action) is np.ndarray and action.shape == (2,) and action.dtype.kind == "f":
            a0, a1 = action.tolist()  # the common case, inline: no copy, no call
            if not (math.isfinite(a0) and math.isfinite(a1)):
                a0, a1 = _action_floats(action)  # raises, naming the entry
            sim.step_one(a0, a1, self._np_random)  # type: ignore[arg-type]
        else:
            a0, a1 = _action_floats(action)
            # _np_random is set by reset(), which _started guarantees (no property call here)
            sim.step_one(a0, a1, self._np_random)  # type: ignore[arg-type]
        values = self._row0.tolist()  # one conversion for the info, the reward and the flag
        info: dict[str, Any] = dict(zip(INFO_KEYS, values))
        info["action_clipped"] = values[ACTION_CLIPPED] > 0.0
        if self._exec0 is not None:
            info.update(zip(EXEC_INFO_KEYS, self._exec0.tolist()))
        if self._history is not None:
            for k, v in self._history.items():
                v.append(info[k])
        truncated = bool(sim.truncated[0])
        return self._obs0.copy(), values[REWARD], False, truncated, info

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = self._sim.info(0)
        info["action_clipped"] = bool(self._sim.state[0, ACTION_CLIPPED])
        if self._exec0 is not None:
            info.update(zip(EXEC_INFO_KEYS, self._exec0.tolist()))
        return info

    def render(self) -> Any:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode to make()")
            return None
        from mm_env import render

        if self.render_mode == "ansi":
            return render.ansi_ladder(self._sim.book_snapshot(0), self._sim.info(0))
        return render.rgb_figure(self._history or {}, self._sim.info(0))

    # ---- helpers -----------------------------------------------------------------------------
    @property
    def simulator(self) -> Simulator:
        """The simulation core (one row) that this env drives."""
        return self._sim


#: the reset options the single env knows (none: see "Reset options" in MarketMakingEnv)
RESET_OPTIONS: tuple[str, ...] = ()


def check_reset_options(options: Any, known: tuple[str, ...]) -> dict[str, Any]:
    """``options`` of a ``reset`` as a dict, or ``ValueError`` if it is not a dict (or None) or
    has keys outside ``known`` (naming them and listing the known ones)."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValueError(f"reset options must be a dict or None, got {type(options).__name__}")
    unknown = sorted(map(repr, set(options) - set(known)))
    if unknown:
        raise ValueError(
            f"unknown reset options [{', '.join(unknown)}]; known: {list(known)}"
            + ("" if known else " (this env takes no reset options)")
        )
    return dict(options)


def _action_row(action: Any, dim: int) -> NDArray[np.float64]:
    """The single env's action of ``dim`` entries as a (1, dim) float64 array, or
    ``ValueError`` for a wrong shape or type (:meth:`Simulator.step` checks the values)."""
    a = real_array(action, "action")
    if a.shape != (dim,):
        raise ValueError(f"action must have shape ({dim},), got shape {a.shape}")
    return a.astype(np.float64).reshape(1, dim)


def _action_floats(action: Any) -> tuple[float, float]:
    """The single env's action as two finite Python floats, or ``ValueError`` saying what is
    wrong (shape, type, or which entry is not finite)."""
    a = real_array(action, "action")  # (env.step converts a float (2,) array itself)
    if a.shape != (2,):
        raise ValueError(f"action must have shape (2,), got shape {a.shape}")
    a0, a1 = a.tolist()
    if not (math.isfinite(a0) and math.isfinite(a1)):
        entry = 0 if not math.isfinite(a0) else 1
        raise ValueError(
            f"action entries must be finite; got {(a0, a1)[entry]!r} at entry {entry} "
            "(0 = spread, 1 = skew)"
        )
    return a0, a1


def real_array(values: Any, what: str) -> NDArray[np.float64]:
    """``values`` as a float64 array if they are real numbers (float, int); ``ValueError``
    otherwise — no silent coercion of strings, booleans, complex numbers (their imaginary part
    would be dropped), dates or Python objects."""
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{what} must be real numbers, got {values!r}") from exc
    if raw.dtype.kind not in "fiu":
        raise ValueError(
            f"{what} must be real numbers (float or int), got dtype {raw.dtype}: {values!r}"
        )
    return raw.astype(np.float64, copy=False)


def observation_space(config: MarketConfig) -> spaces.Box:
    """The observation Box of a config (bounds per entry as in the class docstring)."""
    names = observation_names(config)
    dtype = np.dtype(config.observation_dtype)
    # unbounded entries get the dtype's largest finite value (an infinite bound is rejected by
    # Gymnasium's checker as a likely mistake)
    big = float(np.finfo(dtype).max)
    low = np.full(len(names), -big)
    high = np.full(len(names), big)
    for j, name in enumerate(names):
        if name.startswith("imbalance"):
            low[j], high[j] = -1.0, 1.0
        elif name == "inventory":
            high[j] = min(config.max_inventory / config.inventory_norm, big)
            low[j] = -high[j]
        elif name == "spread":
            low[j] = 0.0
        elif name == "time_left":
            low[j], high[j] = 0.0, 1.0
        elif name.endswith("_intensity"):
            low[j] = 0.0
        elif name.endswith(("_queue_ahead", "_live")):
            low[j], high[j] = 0.0, 1.0
        elif name.endswith("_in_flight"):
            low[j], high[j] = 0.0, float(N_PENDING)
        elif name == "trade_flow":
            low[j], high[j] = -1.0, 1.0
    return spaces.Box(low.astype(dtype), high.astype(dtype), (len(names),), dtype)
