"""The Avellaneda–Stoikov (2008) market and its stylised components (``AvellanedaStoikov-v0``).

Within a step (Avellaneda & Stoikov 2008, section 4): the quotes meet the current mid s_t; the
bid fills with probability p(λ(δ_b)·dt) and the ask with p(λ(δ_a)·dt), λ(δ) = A·e^(−kδ)
(eq. 2.11); the step is settled at s_t (the core's convention: PnL is marked at the mid the
quotes met); then the mid moves to s_{t+1}, which the next observation and quotes see.

Components (:class:`~mm_env.config.AvellanedaStoikovConfig`; the defaults are the model above,
draw for draw). Each is an integer code in the parameter vector (``P_MIDPRICE``,
``P_ARRIVALS``, ``P_FILL_FN``, ``P_REWARD``) read by the one kernel, whose small inline helpers
branch on it.

Midprice (s the mid, one step of length dt, z, z' independent standard normals):

* ``bm``: s' = s + μ·dt + σ√dt·ε, ε = ±1 with equal probability (``mid_increments=
  "binomial"``, the paper's simulation) or ε = z (``"gaussian"``); μ = ``mid_drift``.
* ``gbm``: s' = s·exp((μ − σ²/2)dt + σ√dt·z), the exact solution of dS = μS dt + σS dW
  (Glasserman 2004, "Monte Carlo Methods in Financial Engineering", section 3.2).
* ``ou``: s' = m + (s − m)e^(−θdt) + σ·√((1 − e^(−2θdt))/(2θ))·z, the exact transition of
  dS = θ(m − S)dt + σ dW (Glasserman 2004, section 3.3); stationary law N(m, σ²/(2θ)).
* ``ou_alpha``: s' = s + α·dt + σ√dt·z (Euler in s), α' = α e^(−ζdt) +
  η√((1 − e^(−2ζdt))/(2ζ))·z' (exact OU), α₀ = 0: the short-term alpha of Cartea, Jaimungal &
  Penalva (2015, ch. 10.4, dS = (υ + α)dt + σ dW, dα = −ζα dt + η dW'), without its
  jumps at market-order arrivals. The agent observes α / (η/√(2ζ)) (entry ``alpha``).
* ``jump_bm`` / ``jump_ou``: the bm / ou step plus a compound-Poisson jump
  J = N·μ_J + σ_J√N·z', N ~ Poisson(λ_J·dt) (the exact sum of N independent N(μ_J, σ_J²)
  sizes; Merton 1976 jumps, Glasserman 2004, section 3.5), added at the end of the step.
  ``state[:, N_JUMPS]`` counts the episode's jumps.
* ``heston``: with v⁺ = max(v, 0), s' = s·exp((μ − v⁺/2)dt + √(v⁺dt)·(ρz' + √(1 − ρ²)z)) and
  v' = v + κ(θ − v⁺)dt + ξ√(v⁺dt)·z', the full-truncation Euler scheme (Lord, Koekkoek & van
  Dijk 2010) of Heston (1993); v₀ = ``heston_v0``; ``state[:, VARIANCE]`` is v.
* ``cev``: s' = max(s + σ s^β √dt·z, 0), β = ``cev_elasticity`` ∈ [0, 1], and s' = 0 once
  s = 0: the Euler step of the constant-elasticity-of-variance diffusion dS = σ S^β dW
  (Cox 1975, "Notes on option pricing I: constant elasticity of variance diffusions"),
  absorbed at 0, where the diffusion for β < 1 reaches 0 with positive probability and stays
  (for β ∈ [1/2, 1) 0 is an exit boundary, for β < 1/2 absorption is the convention that keeps
  S a martingale). A step that would cross 0 ends there: this raises the step's mean by
  E[max(−s − σs^β√dt·z, 0)], negligible while s ≫ σs^β√dt. β = 0 is ``bm`` with Gaussian
  increments (until 0), β = 1 the Euler step of driftless ``gbm``.

Fill function f(δ) (the probability that a market order reaches a quote at depth δ, δ⁺ =
max(δ, 0)), λ(δ) = A·f(δ):

* ``exponential``: f = e^(−kδ) (Avellaneda & Stoikov 2008, eq. 2.11; exceeds 1 for δ < 0);
* ``power``: f = (1 + kδ⁺)^(−β), β = ``fill_exponent``: the power-law decay of Avellaneda &
  Stoikov (2008, section 2: power-law market-order sizes and a power-law price impact give
  λ(δ) ∝ δ^(−α/β)), made finite at δ = 0 as in the catalogue of Jerome, Sánchez-Betancourt,
  Savani & Herdegen (2022, "Model-based gym environments for limit order book trading");
* ``triangular``: f = max(1 − kδ⁺, 0), no fill beyond depth 1/k (Jerome et al. 2022).

Arrivals (market orders; a sell order meets our bid, a buy order our ask):

* ``poisson``: rate A per side; the bid fills with probability p(λ(δ_b)dt), p(x) = min(x, 1)
  or 1 − e^(−x) (``fill_probability``), the ask likewise.
* ``hawkes``: intensities λ⁻ (sells), λ⁺ (buys), baseline μ = A, exponential kernel:
  λ⁻_t = μ + Σ_sells α_self e^(−β(t−τ)) + Σ_buys α_cross e^(−β(t−τ)), and symmetrically
  (Hawkes 1971; self- and cross-excitation as in Bacry, Mastromatteo & Muzy 2015).
  Per step, N⁻ ~ Poisson(Λ⁻), Λ⁻ = μ dt + (λ⁻ − μ)(1 − e^(−βdt))/β (the intensity integrated
  over the step without the step's own arrivals), N⁺ likewise; each arriving order fills the
  quote with probability min(f(δ), 1) independently, so the bid fills with probability
  1 − (1 − min(f(δ_b), 1))^(N⁻); then λ⁻' = μ + (λ⁻ − μ)e^(−βdt) + α_self N⁻ + α_cross N⁺.
  This scheme's mean arrival rate is exactly the stationary μ/(1 − (α_self + α_cross)/β);
  the intensities start at their stationary mean at a step's start,
  μ + (α_self + α_cross)μ dt / ((β − α_self − α_cross)(1 − e^(−βdt))/β). The agent observes
  λ⁻, λ⁺ / ``stationary_arrival_rate`` (entries ``sell_intensity``, ``buy_intensity``);
  ``state[:, N_SELL_ORDERS]``, ``state[:, N_BUY_ORDERS]`` count the episode's orders.
* ``inventory``: state-dependent Poisson rates. With q the inventory at the step's start,
  market sells arrive at λ⁻(q) = A·(1 + c·tanh(q/q₀)) and buys at λ⁺(q) = A·(1 − c·tanh(q/q₀)),
  c = ``inventory_flow`` ∈ [−1, 1], q₀ = ``inventory_flow_scale`` > 0; the bid fills with
  probability p(λ⁻(q)·f(δ_b)·dt), the ask with p(λ⁺(q)·f(δ_a)·dt), p as for ``poisson``.
  The rates stay in [(1 − |c|)A, (1 + |c|)A] and their sum is 2A. c > 0: when we are long
  (we bought from sellers) sellers keep coming and push the inventory further; c < 0: the
  flow brings it back towards 0. The mid does not depend on the flow. The idea of
  market-order rates that depend on a state of the market follows Cartea, Donnelly &
  Jaimungal (2018, "Enhancing trading strategies with order book signals": rates by imbalance
  regime); this tanh form, with our inventory as the state (which the agent observes), is
  ours. No extra draws.

Market orders (``market_orders="linear_impact"``; the action's third entry a₂, u =
a₂·``max_market_order``, u > 0 buys): at the step's start, before the limit fills, against the
mid s_t the quotes meet, the order executes q = min(|u|, the inventory limit's room) at
s_t + sign(u)·(s/2 + η q) per unit (s the reference spread, so s/2 crosses to the touch;
η = ``temporary_impact``), so cash changes by −sign(u)·q·(s_t + sign(u)(s/2 + ηq)) and the
step's PnL, marked at s_t, by −q(s/2 + ηq). After settlement the mid moves permanently by
b·sign(u)·q (b = ``permanent_impact``): the mid is the midprice model's process plus the
accumulated impact I (``state[:, IMPACT]``), s_{t+1} = X_{t+1} + I_{t+1}, I_{t+1} = I_t +
b·sign(u)·q, X following its model (so under ``ou`` the impact does not revert, under ``gbm``
it is an additive shift, under ``cev`` X is what is absorbed at 0). Linear permanent and
temporary impact as in Almgren & Chriss (2001, "Optimal execution of portfolio
transactions"), per step's size; our market order does not excite the Hawkes intensities.
``state[:, MARKET_ORDER]`` is the executed signed size. No draws.

Reward: ``pnl`` (the core's, :func:`mm_env.core.settle`) or ``exp_utility``: the PnL part
pnl_t − pnl_{t−1} of the core's reward is replaced by U(pnl_t) − U(pnl_{t−1}),
U(w) = (1 − e^(−γw))/γ, the exponential utility of Guéant, Lehalle & Fernandez-Tapia (2013)
normalised so that U(w) → w as γ → 0. The reward is finite unless the utility difference
itself exceeds float64's range: only when −γ·pnl − ln γ > 709.78 (e^(−γ·pnl)/γ above
1.8e308) at the step's start or end.

Random contract: nothing is drawn at reset (the mid starts at ``initial_mid``, α at 0, the
variance at ``heston_v0``, Hawkes intensities at their stationary step-start mean). At each
step, for all rows, in this order:

1. a ``(n_envs, 2)`` batch of uniforms (column 0 decides the bid's fill, column 1 the ask's);
2. ``n_envs`` draws for the mid: uniforms (``bm``/``jump_bm`` with ``mid_increments=
   "binomial"``: up when < 0.5) or standard normals (every other case, ``cev`` included; for
   ``heston`` the part of the price noise independent of the variance's);
3. ``ou_alpha``, ``jump_bm``, ``jump_ou``, ``heston`` only: ``n_envs`` standard normals (z':
   the alpha's noise, the jump size's, the variance's);
4. ``jump_bm``, ``jump_ou`` only: ``n_envs`` Poisson(λ_J·dt) jump counts;
5. ``hawkes`` only: a ``(n_envs, 2)`` batch of Poisson counts of the step's sell and buy
   orders, of means (Λ⁻, Λ⁺) from the intensities at the step's start.

The default configuration draws 1 and 2 only, exactly as before the components existed;
``inventory`` arrivals draw nothing of their own (their rates set the fill probabilities that
the uniforms of item 1 decide).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from mm_env.config import AS_COMPONENTS, AvellanedaStoikovConfig
from mm_env.core import (
    ASK_QUOTE,
    BID_QUOTE,
    INVENTORY,
    N_COMMON,
    N_COMMON_PARAMS,
    P_ORDER_SIZE,
    PARALLEL_MIN_ROWS,
    PNL,
    REWARD,
    SPREAD,
    Simulator,
    begin_step,
    buy_capacity,
    fill_ask,
    fill_bid,
    quotes_from_action,
    row_function,
    sell_capacity,
    settle,
    step_kernel,
    write_observation,
)

# state columns after the common ones
NEXT_MID = N_COMMON + 0  # the mid the next quotes will meet
ALPHA = N_COMMON + 1  # ou_alpha: the alpha signal α
VARIANCE = N_COMMON + 2  # heston: the variance v
N_JUMPS = N_COMMON + 3  # jump models: jumps this episode
SELL_INTENSITY = N_COMMON + 4  # hawkes: λ⁻ at the start of the next step (sells meet our bid)
BUY_INTENSITY = N_COMMON + 5  # hawkes: λ⁺ (buys meet our ask)
N_SELL_ORDERS = N_COMMON + 6  # hawkes: market sell orders this episode
N_BUY_ORDERS = N_COMMON + 7  # hawkes: market buy orders this episode
MARKET_ORDER = N_COMMON + 8  # market orders: this step's executed signed size (> 0 bought)
IMPACT = N_COMMON + 9  # market orders: the accumulated permanent impact I in the mid
N_STATE = N_COMMON + 10

# columns of the per-step component draws (``extra``)
X_NORMAL = 0  # z' (contract item 3)
X_JUMPS = 1  # jump count (item 4)
X_SELLS = 2  # hawkes sell orders (item 5)
X_BUYS = 3  # hawkes buy orders (item 5)
N_EXTRA = 4

# component codes, in the order of AS_COMPONENTS' choices
MIDPRICE_CODES = {name: i for i, name in enumerate(AS_COMPONENTS["midprice"])}
MID_BM = MIDPRICE_CODES["bm"]
MID_GBM = MIDPRICE_CODES["gbm"]
MID_OU = MIDPRICE_CODES["ou"]
MID_OU_ALPHA = MIDPRICE_CODES["ou_alpha"]
MID_JUMP_BM = MIDPRICE_CODES["jump_bm"]
MID_JUMP_OU = MIDPRICE_CODES["jump_ou"]
MID_HESTON = MIDPRICE_CODES["heston"]
MID_CEV = MIDPRICE_CODES["cev"]
ARRIVAL_CODES = {name: i for i, name in enumerate(AS_COMPONENTS["arrivals"])}
ARR_HAWKES = ARRIVAL_CODES["hawkes"]
FILL_CODES = {name: i for i, name in enumerate(AS_COMPONENTS["fill_function"])}
FILL_EXPONENTIAL = FILL_CODES["exponential"]
FILL_POWER = FILL_CODES["power"]
REWARD_CODES = {name: i for i, name in enumerate(AS_COMPONENTS["reward"])}
REWARD_PNL = REWARD_CODES["pnl"]
REWARD_EXP_UTILITY = REWARD_CODES["exp_utility"]

# book parameters, after the common ones
P_A = N_COMMON_PARAMS + 0  # intensity A (the Hawkes baseline μ)
P_K = N_COMMON_PARAMS + 1  # intensity decay k
P_DT = N_COMMON_PARAMS + 2
P_SIGMA_SQRT_DT = N_COMMON_PARAMS + 3
P_REF_SPREAD = N_COMMON_PARAMS + 4
P_EXP_FILL = N_COMMON_PARAMS + 5  # 1.0: p = 1 - exp(-λ dt); 0.0: p = min(λ dt, 1)
P_GAUSSIAN = N_COMMON_PARAMS + 6  # 1.0: Gaussian mid increments; 0.0: ±σ√dt
P_MIDPRICE = N_COMMON_PARAMS + 7  # MIDPRICE_CODES
P_ARRIVALS = N_COMMON_PARAMS + 8  # ARRIVAL_CODES
P_FILL_FN = N_COMMON_PARAMS + 9  # FILL_CODES
P_REWARD = N_COMMON_PARAMS + 10  # REWARD_CODES
P_DRIFT_DT = N_COMMON_PARAMS + 11  # μ dt (bm, jump_bm, heston)
P_LOG_DRIFT_DT = N_COMMON_PARAMS + 12  # gbm: (μ − σ²/2) dt
P_OU_MEAN = N_COMMON_PARAMS + 13  # ou: m
P_OU_DECAY = N_COMMON_PARAMS + 14  # ou: e^(−θ dt)
P_OU_SD = N_COMMON_PARAMS + 15  # ou: σ √((1 − e^(−2θdt))/(2θ))
P_ALPHA_DECAY = N_COMMON_PARAMS + 16  # ou_alpha: e^(−ζ dt)
P_ALPHA_SD = N_COMMON_PARAMS + 17  # ou_alpha: η √((1 − e^(−2ζdt))/(2ζ))
P_JUMP_MEAN = N_COMMON_PARAMS + 18  # μ_J
P_JUMP_STD = N_COMMON_PARAMS + 19  # σ_J
P_HESTON_V0 = N_COMMON_PARAMS + 20
P_HESTON_KAPPA_DT = N_COMMON_PARAMS + 21  # κ dt
P_HESTON_THETA = N_COMMON_PARAMS + 22  # θ
P_HESTON_XI_SQRT_DT = N_COMMON_PARAMS + 23  # ξ √dt
P_HESTON_RHO = N_COMMON_PARAMS + 24  # ρ
P_HESTON_RHO_BAR = N_COMMON_PARAMS + 25  # √(1 − ρ²)
P_HAWKES_SELF = N_COMMON_PARAMS + 26  # α_self
P_HAWKES_CROSS = N_COMMON_PARAMS + 27  # α_cross
P_HAWKES_DECAY = N_COMMON_PARAMS + 28  # e^(−β dt)
P_HAWKES_START = N_COMMON_PARAMS + 29  # the intensities' stationary step-start mean
P_FILL_EXPONENT = N_COMMON_PARAMS + 30  # power: β
P_RISK_AVERSION = N_COMMON_PARAMS + 31  # exp_utility: γ
P_OBS_COMPONENTS = N_COMMON_PARAMS + 32  # index of the first component observation entry
P_ALPHA_SCALE = N_COMMON_PARAMS + 33  # divisor of α in the observation
P_INTENSITY_SCALE = N_COMMON_PARAMS + 34  # divisor of the Hawkes intensities in it
P_DEFAULT_MODEL = N_COMMON_PARAMS + 35  # 1.0: bm, poisson, exponential, pnl (the inline path)
P_CEV_ELASTICITY = N_COMMON_PARAMS + 36  # cev: β
P_FLOW_TILT = N_COMMON_PARAMS + 37  # inventory arrivals: c (0 for the other arrivals)
P_FLOW_SCALE = N_COMMON_PARAMS + 38  # inventory arrivals: q₀
P_MARKET_ORDERS = N_COMMON_PARAMS + 39  # 1.0: the action's third entry is a market order
P_MAX_MARKET_ORDER = N_COMMON_PARAMS + 40
P_TEMPORARY_IMPACT = N_COMMON_PARAMS + 41  # η
P_PERMANENT_IMPACT = N_COMMON_PARAMS + 42  # b
N_AS_PARAMS = 43

#: the market order's action entry lies in [−MAX_MARKET_ORDER_ENTRY, MAX_MARKET_ORDER_ENTRY]
#: (a fraction of ``max_market_order``; a traded size is refused outside it, not clipped)
MAX_MARKET_ORDER_ENTRY = 1.0


# Compile time: the default model (bm, poisson, exponential, pnl) is inlined into the row, as
# before the components existed; any other combination goes through ``component_row``, a
# function compiled once on its own and called (``component_*``: cached, without reference
# counting like the kernels). Inlined into the four builds of the row (serial and parallel,
# float32 and float64 observations), the components had doubled the kernels' compile time.
@njit(cache=True, inline="always")
def bm_move(draw: float, params: NDArray[np.float64]) -> float:
    """The Brownian step of ``bm``/``jump_bm``: σ√dt·z, or ±σ√dt (up when the uniform < 0.5)."""
    if params[P_GAUSSIAN] > 0.0:
        return params[P_SIGMA_SQRT_DT] * draw
    return params[P_SIGMA_SQRT_DT] if draw < 0.5 else -params[P_SIGMA_SQRT_DT]


@njit(cache=True, inline="always")
def fill_function(depth: float, params: NDArray[np.float64]) -> float:
    """f(δ): exponential e^(−kδ), power (1 + kδ⁺)^(−β) or triangular max(1 − kδ⁺, 0)
    (module docstring, "Fill function")."""
    code = params[P_FILL_FN]
    if code == FILL_EXPONENTIAL:
        return math.exp(-params[P_K] * depth)  # Avellaneda & Stoikov 2008, eq. 2.11
    d = max(depth, 0.0)
    if code == FILL_POWER:
        return (1.0 + params[P_K] * d) ** (-params[P_FILL_EXPONENT])
    return max(1.0 - params[P_K] * d, 0.0)


@njit(cache=True, inline="always")
def poisson_fill_probability(f: float, params: NDArray[np.float64]) -> float:
    """p(λ·dt) for λ = A·f: min(λdt, 1) (``fill_probability="capped"``) or 1 − e^(−λdt)."""
    x = params[P_A] * f * params[P_DT]
    if params[P_EXP_FILL] > 0.0:
        return 1.0 - math.exp(-x)
    return min(x, 1.0)


@njit(cache=True, inline="always")
def fill_probability(depth: float, params: NDArray[np.float64]) -> float:
    """The default's p(λ(δ)·dt), λ(δ) = A·e^(−kδ) (Avellaneda & Stoikov 2008, eq. 2.11); the
    other fill functions go through :func:`fill_function` in :func:`component_row`."""
    return poisson_fill_probability(math.exp(-params[P_K] * depth), params)


@njit(cache=True, inline="always")
def hawkes_fill_probability(depth: float, orders: float, params: NDArray[np.float64]) -> float:
    """1 − (1 − min(f(δ), 1))^N: one of N arriving orders reaches the quote."""
    return 1.0 - (1.0 - min(fill_function(depth, params), 1.0)) ** orders


@row_function()
def component_mid(
    state: NDArray[np.float64],
    i: int,
    mid: float,
    draw: float,
    extra: NDArray[np.float64],
    params: NDArray[np.float64],
) -> None:
    """``state[i, NEXT_MID]``: the mid after one step of every midprice model but ``bm``
    (module docstring). Like every kernel compiled without reference counting it returns
    nothing (``mm_env.core.step_kernel``)."""
    code = params[P_MIDPRICE]
    if code == MID_JUMP_BM:
        nxt = mid + bm_move(draw, params) + params[P_DRIFT_DT]
    elif code == MID_GBM:
        nxt = mid * math.exp(params[P_LOG_DRIFT_DT] + params[P_SIGMA_SQRT_DT] * draw)
    elif code == MID_OU or code == MID_JUMP_OU:
        m = params[P_OU_MEAN]
        nxt = m + (mid - m) * params[P_OU_DECAY] + params[P_OU_SD] * draw
    elif code == MID_OU_ALPHA:
        alpha = state[i, ALPHA]
        nxt = mid + alpha * params[P_DT] + params[P_SIGMA_SQRT_DT] * draw
        state[i, ALPHA] = alpha * params[P_ALPHA_DECAY] + params[P_ALPHA_SD] * extra[i, X_NORMAL]
    elif code == MID_CEV:  # Euler step of dS = σ S^β dW, absorbed at 0 (module docstring)
        if mid > 0.0:
            step = params[P_SIGMA_SQRT_DT] * mid ** params[P_CEV_ELASTICITY] * draw
            nxt = max(mid + step, 0.0)
        else:
            nxt = 0.0
    else:  # heston
        v = max(state[i, VARIANCE], 0.0)
        zv = extra[i, X_NORMAL]
        z = params[P_HESTON_RHO] * zv + params[P_HESTON_RHO_BAR] * draw
        sd = math.sqrt(v * params[P_DT])
        nxt = mid * math.exp(params[P_DRIFT_DT] - 0.5 * v * params[P_DT] + sd * z)
        state[i, VARIANCE] += (
            params[P_HESTON_KAPPA_DT] * (params[P_HESTON_THETA] - v)
            + params[P_HESTON_XI_SQRT_DT] * math.sqrt(v) * zv
        )
    if code == MID_JUMP_BM or code == MID_JUMP_OU:
        n = extra[i, X_JUMPS]
        nxt += n * params[P_JUMP_MEAN] + params[P_JUMP_STD] * math.sqrt(n) * extra[i, X_NORMAL]
        state[i, N_JUMPS] += n
    state[i, NEXT_MID] = nxt


@row_function()
def component_settle(
    state: NDArray[np.float64],
    i: int,
    previous_pnl: float,
    sells: float,
    buys: float,
    params: NDArray[np.float64],
) -> None:
    """After :func:`~mm_env.core.settle`: the exponential-utility reward and the Hawkes update
    (module docstring)."""
    if params[P_REWARD] == REWARD_EXP_UTILITY:
        # U(pnl) − U(previous) = (e^a − e^b)/γ, a = −γ·previous, b = −γ·pnl, in place of
        # pnl − previous; as ±exp(max(a, b) − ln γ + ln(1 − e^(−|a − b|))), finite unless
        # the difference itself exceeds float64 (max(a, b) − ln γ > 709.78 at the least)
        g = params[P_RISK_AVERSION]
        change = state[i, PNL] - previous_pnl
        a = -g * previous_pnl
        b = -g * state[i, PNL]
        if change != 0.0 and a != b:
            top = max(a, b)
            size = math.exp(top - math.log(g) + math.log(-math.expm1(-abs(a - b))))
            utility = size if a > b else -size
            state[i, REWARD] += utility - change
    if params[P_ARRIVALS] == ARR_HAWKES:
        mu = params[P_A]
        decay = params[P_HAWKES_DECAY]
        a_self = params[P_HAWKES_SELF]
        a_cross = params[P_HAWKES_CROSS]
        state[i, SELL_INTENSITY] = (
            mu + (state[i, SELL_INTENSITY] - mu) * decay + a_self * sells + a_cross * buys
        )
        state[i, BUY_INTENSITY] = (
            mu + (state[i, BUY_INTENSITY] - mu) * decay + a_self * buys + a_cross * sells
        )
        state[i, N_SELL_ORDERS] += sells
        state[i, N_BUY_ORDERS] += buys


@njit(cache=True)
def write_components(obs: Any, i: int, state: NDArray[np.float64], params: NDArray[np.float64]):
    """The component observation entries (``alpha``, ``sell_intensity``, ``buy_intensity``)."""
    c = int(params[P_OBS_COMPONENTS])
    if params[P_MIDPRICE] == MID_OU_ALPHA:
        obs[i, c] = state[i, ALPHA] / params[P_ALPHA_SCALE]
        c += 1
    if params[P_ARRIVALS] == ARR_HAWKES:
        obs[i, c] = state[i, SELL_INTENSITY] / params[P_INTENSITY_SCALE]
        obs[i, c + 1] = state[i, BUY_INTENSITY] / params[P_INTENSITY_SCALE]


@row_function()
def component_market_order(
    state: NDArray[np.float64], i: int, size: float, mid: float, params: NDArray[np.float64]
) -> None:
    """Cross the spread for ``size`` (signed, > 0 buys) at mid ± (s/2 + η·q) per unit, q the
    size the inventory limit allows; ``state[i, MARKET_ORDER]`` = the executed signed size
    (module docstring, "Market orders")."""
    half = 0.5 * state[i, SPREAD]
    eta = params[P_TEMPORARY_IMPACT]
    executed = 0.0
    if size > 0.0:
        q = min(size, buy_capacity(state, i, params))
        if q > 0.0:
            fill_bid(state, i, q, mid + half + eta * q, params)
            executed = q
    elif size < 0.0:
        q = min(-size, sell_capacity(state, i, params))
        if q > 0.0:
            fill_ask(state, i, q, mid - half - eta * q, params)
            executed = -q
    state[i, MARKET_ORDER] = executed


@row_function()
def component_row(
    i: int,
    state: NDArray[np.float64],
    params: NDArray[np.float64],
    actions: NDArray[np.float64],
    uniforms: NDArray[np.float64],
    mid_draws: NDArray[np.float64],
    extra: NDArray[np.float64],
    mid: float,
    qb: float,
    qa: float,
    truncated: NDArray[np.bool_],
) -> None:
    """Fills, settlement and the next mid (``state[i, NEXT_MID]``) of row ``i`` for any
    components."""
    # read unconditionally: a value defined in one branch and used in a later one looks
    # loop-carried to numba's prange, which then shares it between threads
    sells = extra[i, X_SELLS]
    buys = extra[i, X_BUYS]
    hawkes = params[P_ARRIVALS] == ARR_HAWKES
    market_orders = params[P_MARKET_ORDERS] > 0.0
    if market_orders:
        size = actions[i, 2] * params[P_MAX_MARKET_ORDER]
        component_market_order(state, i, size, mid, params)
    if hawkes:
        p_bid = hawkes_fill_probability(mid - qb, sells, params)
        p_ask = hawkes_fill_probability(qa - mid, buys, params)
    else:  # poisson, or inventory (tilt = c·tanh(q/q₀); c = 0 with poisson)
        tilt = params[P_FLOW_TILT] * math.tanh(state[i, INVENTORY] / params[P_FLOW_SCALE])
        p_bid = poisson_fill_probability(fill_function(mid - qb, params) * (1.0 + tilt), params)
        p_ask = poisson_fill_probability(fill_function(qa - mid, params) * (1.0 - tilt), params)
    if uniforms[i, 0] < p_bid:
        fill_bid(state, i, params[P_ORDER_SIZE], qb, params)
    if uniforms[i, 1] < p_ask:
        fill_ask(state, i, params[P_ORDER_SIZE], qa, params)
    previous_pnl = state[i, PNL]
    truncated[i] = settle(state, i, params)
    if hawkes or params[P_REWARD] != REWARD_PNL:
        component_settle(state, i, previous_pnl, sells, buys, params)
    x = mid - state[i, IMPACT]  # the midprice model's process (I = 0 without market orders)
    if params[P_MIDPRICE] == MID_BM:
        state[i, NEXT_MID] = x + bm_move(mid_draws[i], params) + params[P_DRIFT_DT]
    else:
        component_mid(state, i, x, mid_draws[i], extra, params)
    if market_orders:
        state[i, IMPACT] += params[P_PERMANENT_IMPACT] * state[i, MARKET_ORDER]
        state[i, NEXT_MID] += state[i, IMPACT]


@njit(cache=True, inline="always")
def _as_step_row(
    i: int,
    state: NDArray[np.float64],
    params: NDArray[np.float64],
    actions: NDArray[np.float64],
    uniforms: NDArray[np.float64],
    mid_draws: NDArray[np.float64],
    extra: NDArray[np.float64],
    sizes: NDArray[np.float64],
    depths: NDArray[np.int64],
    obs: NDArray[np.float64],
    truncated: NDArray[np.bool_],
) -> None:
    s = params[P_REF_SPREAD]
    mid = state[i, NEXT_MID]
    begin_step(state, i, mid, mid - 0.5 * s, mid + 0.5 * s, s, 0.0)
    qb, qa = quotes_from_action(state, i, actions[i, 0], actions[i, 1], params)
    state[i, BID_QUOTE] = qb
    state[i, ASK_QUOTE] = qa
    if params[P_DEFAULT_MODEL] > 0.0:
        # bm, poisson, exponential, pnl inline (component_row does the same for any model;
        # this copy keeps the default's speed and the kernels' compile time, see above)
        if uniforms[i, 0] < fill_probability(mid - qb, params):
            fill_bid(state, i, params[P_ORDER_SIZE], qb, params)
        if uniforms[i, 1] < fill_probability(qa - mid, params):
            fill_ask(state, i, params[P_ORDER_SIZE], qa, params)
        truncated[i] = settle(state, i, params)
        nxt = mid + bm_move(mid_draws[i], params) + params[P_DRIFT_DT]
        state[i, NEXT_MID] = nxt
    else:
        component_row(
            np.int64(i), state, params, actions, uniforms, mid_draws, extra, mid, qb, qa, truncated
        )
        nxt = state[i, NEXT_MID]
    write_observation(obs, i, state, 0.0, s, nxt, sizes, sizes, depths, params)
    if params[P_OBS_COMPONENTS] < obs.shape[1]:
        write_components(obs, np.int64(i), state, params)


@step_kernel()
def as_step(
    state, params, actions, uniforms, mid_draws, extra, sizes, depths, obs, truncated, active
):
    """Step every active row (serial; for small batches and the single env)."""
    for i in range(state.shape[0]):
        if active[i]:
            _as_step_row(
                i,
                state,
                params,
                actions,
                uniforms,
                mid_draws,
                extra,
                sizes,
                depths,
                obs,
                truncated,
            )


@step_kernel(parallel=True)
def as_step_parallel(
    state, params, actions, uniforms, mid_draws, extra, sizes, depths, obs, truncated, active
):
    """Step every active row on all cores (rows are independent)."""
    for i in prange(state.shape[0]):
        if active[i]:
            _as_step_row(
                i,
                state,
                params,
                actions,
                uniforms,
                mid_draws,
                extra,
                sizes,
                depths,
                obs,
                truncated,
            )


@njit(cache=True)
def as_reset_rows(
    state: NDArray[np.float64],
    rows: NDArray[np.intp],
    initial_mid: float,
    sizes: NDArray[np.float64],
    params: NDArray[np.float64],
    depths: NDArray[np.int64],
    obs: NDArray[np.float64],
) -> None:
    s = params[P_REF_SPREAD]
    for i in rows:
        state[i, NEXT_MID] = initial_mid
        state[i, VARIANCE] = params[P_HESTON_V0]
        state[i, SELL_INTENSITY] = params[P_HAWKES_START]
        state[i, BUY_INTENSITY] = params[P_HAWKES_START]
        begin_step(state, i, initial_mid, initial_mid - 0.5 * s, initial_mid + 0.5 * s, s, 0.0)
        write_observation(obs, i, state, 0.0, s, initial_mid, sizes, sizes, depths, params)
        if params[P_OBS_COMPONENTS] < obs.shape[1]:
            write_components(obs, np.int64(i), state, params)


def hawkes_step_weight(config: AvellanedaStoikovConfig) -> float:
    """(1 − e^(−βdt))/β: the integral over a step of the excitation's decay e^(−βs)."""
    return -math.expm1(-config.hawkes_decay * config.dt) / config.hawkes_decay


class AvellanedaStoikovSimulator(Simulator):
    """A Brownian mid and Poisson fills at intensity A·e^(−kδ) (Avellaneda & Stoikov 2008), or
    the components the config chooses (module docstring)."""

    config: AvellanedaStoikovConfig
    n_state = N_STATE

    def __init__(self, config: AvellanedaStoikovConfig, n_envs: int = 1) -> None:
        super().__init__(config, n_envs)
        self.multithreaded = self.n_envs >= PARALLEL_MIN_ROWS
        self.sizes = np.ones(1)  # a one-level "book" of equal sizes: imbalance 0
        c = config
        self._binomial = c.mid_increments == "binomial" and c.midprice in ("bm", "jump_bm")
        self._draw_normal = c.midprice in ("ou_alpha", "jump_bm", "jump_ou", "heston")
        self._draw_jumps = c.midprice in ("jump_bm", "jump_ou")
        self._jump_mean = c.jump_rate * c.dt
        self._hawkes = c.arrivals == "hawkes"
        self._step_weight = hawkes_step_weight(c)
        self._extra = np.zeros((self.n_envs, N_EXTRA))  # the component draws (contract 3-5)

    def book_params(self) -> list[float]:
        c = self.config
        dt = c.dt
        excitation = c.hawkes_self + c.hawkes_cross
        start = c.intensity_a + excitation * c.intensity_a * dt / (  # module docstring
            (c.hawkes_decay - excitation) * hawkes_step_weight(c)
        )
        obs_first = len(self.names) - len(c.component_observation_names)
        return [
            c.intensity_a,
            c.intensity_k,
            dt,
            c.sigma * math.sqrt(dt),
            c.depth_unit,
            1.0 if c.fill_probability == "exponential" else 0.0,
            1.0 if c.mid_increments == "gaussian" else 0.0,
            float(MIDPRICE_CODES[c.midprice]),
            float(ARRIVAL_CODES[c.arrivals]),
            float(FILL_CODES[c.fill_function]),
            float(REWARD_CODES[c.reward]),
            c.mid_drift * dt,
            (c.mid_drift - 0.5 * c.sigma**2) * dt,
            c.ou_level,
            math.exp(-c.ou_rate * dt),
            c.sigma * math.sqrt(-math.expm1(-2.0 * c.ou_rate * dt) / (2.0 * c.ou_rate)),
            math.exp(-c.alpha_decay * dt),
            c.alpha_vol * math.sqrt(-math.expm1(-2.0 * c.alpha_decay * dt) / (2.0 * c.alpha_decay)),
            c.jump_mean,
            c.jump_std,
            c.heston_v0,
            c.heston_kappa * dt,
            c.heston_theta,
            c.heston_xi * math.sqrt(dt),
            c.heston_rho,
            math.sqrt(1.0 - c.heston_rho**2),
            c.hawkes_self,
            c.hawkes_cross,
            math.exp(-c.hawkes_decay * dt),
            start,
            c.fill_exponent,
            c.risk_aversion,
            float(obs_first),
            c.alpha_scale,
            c.stationary_arrival_rate,
            1.0
            if all(getattr(c, name) == choices[0] for name, choices in AS_COMPONENTS.items())
            else 0.0,
            c.cev_elasticity,
            c.inventory_flow if c.arrivals == "inventory" else 0.0,
            c.inventory_flow_scale,
            0.0 if c.market_orders == "none" else 1.0,
            c.max_market_order,
            c.temporary_impact,
            c.permanent_impact,
        ]

    def _reset_rows(self, rows: NDArray[np.intp], rng: np.random.Generator) -> None:
        as_reset_rows(
            self.state,
            rows,
            float(self.config.initial_mid),
            self.sizes,
            self.params,
            self.depths,
            self.obs,
        )

    def _step_kernel(
        self, actions: NDArray[np.float64], rng: np.random.Generator, active: NDArray[np.bool_]
    ) -> None:
        n = self.n_envs
        uniforms = rng.random((n, 2))  # 1. bid fill, ask fill
        if self._binomial:  # 2. the mid
            mid_draws = rng.random(n)
        else:
            mid_draws = rng.standard_normal(n)
        extra = self._extra
        if self._draw_normal:  # 3. z'
            extra[:, X_NORMAL] = rng.standard_normal(n)
        if self._draw_jumps:  # 4. jump counts
            extra[:, X_JUMPS] = rng.poisson(self._jump_mean, n)
        if self._hawkes:  # 5. the step's market orders, from the intensities at its start
            mu = self.config.intensity_a
            lam = self.state[:, SELL_INTENSITY : BUY_INTENSITY + 1]
            extra[:, X_SELLS : X_BUYS + 1] = rng.poisson(
                mu * self.config.dt + (lam - mu) * self._step_weight
            )
        kernel = as_step_parallel if self.multithreaded else as_step
        kernel(
            self.state,
            self.params,
            actions,
            uniforms,
            mid_draws,
            extra,
            self.sizes,
            self.depths,
            self.obs,
            self.truncated,
            active,
        )

    @property
    def next_mid(self) -> NDArray[np.float64]:
        """The mid the next quotes will meet (the one the observation shows)."""
        return self.state[:, NEXT_MID]

    @property
    def alpha(self) -> NDArray[np.float64]:
        """The alpha signal α (midprice ``ou_alpha``; 0 otherwise)."""
        return self.state[:, ALPHA]

    @property
    def variance(self) -> NDArray[np.float64]:
        """The Heston variance v (midprice ``heston``)."""
        return self.state[:, VARIANCE]

    @property
    def n_jumps(self) -> NDArray[np.float64]:
        """Jumps of the mid this episode (jump models)."""
        return self.state[:, N_JUMPS]

    @property
    def intensities(self) -> NDArray[np.float64]:
        """(λ⁻, λ⁺) per row at the start of the next step (arrivals ``hawkes``)."""
        return self.state[:, SELL_INTENSITY : BUY_INTENSITY + 1]

    @property
    def market_order(self) -> NDArray[np.float64]:
        """The last step's executed market order per row, signed (> 0 bought; market orders)."""
        return self.state[:, MARKET_ORDER]

    @property
    def impact(self) -> NDArray[np.float64]:
        """The accumulated permanent impact in the mid per row (market orders)."""
        return self.state[:, IMPACT]

    extra_action_bound = MAX_MARKET_ORDER_ENTRY

    def _check_extra_actions(self, actions: NDArray[np.float64]) -> None:
        """The market order's entry must lie in [−1, 1] (a traded size is not clipped)."""
        out = np.flatnonzero(np.abs(actions[:, 2]) > self.extra_action_bound)
        if out.size:
            row = int(out[0])
            raise ValueError(
                f"action entry 2 (the market order, a fraction of max_market_order = "
                f"{self.config.max_market_order!r}) must lie in [-1, 1]; got "
                f"{float(actions[row, 2])!r} at env {row}"
            )

    @property
    def order_counts(self) -> NDArray[np.float64]:
        """Market (sell, buy) orders this episode per row (arrivals ``hawkes``)."""
        return self.state[:, N_SELL_ORDERS : N_BUY_ORDERS + 1]

    def book_snapshot(self, row: int = 0) -> dict[str, NDArray[np.float64]]:
        """The mid ∓ reference_spread/2 as a one-level book of unit size."""
        mid = self.state[row, NEXT_MID]
        half = 0.5 * self.config.depth_unit
        return {
            "bid_prices": np.array([mid - half]),
            "bid_sizes": self.sizes.copy(),
            "ask_prices": np.array([mid + half]),
            "ask_sizes": self.sizes.copy(),
        }


__all__ = ["AvellanedaStoikovSimulator", "as_step", "fill_function", "fill_probability"]
