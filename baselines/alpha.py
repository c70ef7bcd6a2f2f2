"""The optimal agent of market making with a short-term alpha signal (midprice ``ou_alpha``).

:class:`AlphaOptimal` is the optimal Markov policy of the env's own discrete-time model,
computed by dynamic programming (backward induction over the steps) on the inventory q and a
grid of the alpha α. The objective is the one of Cartea, Jaimungal & Penalva (2015, ch. 10),
E[X_T + q_T S_T − α_T q_T² − φ ∫ q_t² dt] (their terminal penalty α is written α_T here, α being
the signal); the env's mean episode return is that objective. Their treatment of the alpha
signal is not used: the recursion below is derived from the env's own step.

The env's model (:mod:`mm_env.scenarios.avellaneda_stoikov`, :func:`mm_env.core.settle`), step
k = 0..n−1, state (q_k, α_k), α_0 = 0, order size 1, |q| ≤ Q = ``max_inventory``:

* the agent sees q_k and α_k, quotes depths (δ_b, δ_a) from the mid s_k; the bid fills with
  probability p_b = p(A·e^(−κδ_b)·dt) (A = ``intensity_a``, κ = ``intensity_k``) and the ask
  with p_a, independently (p(x) = min(x, 1) or 1 − e^(−x), ``fill_probability``); a bid fill
  at q = +Q and an ask fill at q = −Q are refused;
* the step's reward is δ_b·1{bid} + δ_a·1{ask} + q_k(s_k − s_{k−1}) − φ·dt·q'² (q' = q_{k+1}
  the inventory after the fills), less α_T·q'² at the last step;
* s_{k+1} = s_k + α_k·dt + σ√dt·z and α_{k+1} = α_k·d + ς·z', d = e^(−ζdt),
  ς = η√((1 − e^(−2ζdt))/(2ζ)) (z, z' independent standard normals, independent of the fills).

So E[q_{k+1}(s_{k+1} − s_k) | step k] = q_{k+1}·α_k·dt, which belongs to the decision at step k
(its reward arrives at step k + 1; the last step's mid move is never marked, so step n − 1 has
no such term). With V_n = 0, W_k(q', α) = E[V_{k+1}(q', α_{k+1}) | α_k = α] − φ·dt·q'² (− α_T·q'²
at k = n − 1) + q'·α·dt·1{k < n − 1}, and

    V_k(q, α) = max_{δ_b, δ_a} W + p_b(δ_b + W⁺ − W) + p_a(δ_a + W⁻ − W) − p_b·p_a(W⁺ + W⁻ − 2W),

W = W_k(q, α), W^± = W_k(q ± 1, α) (the last term: when both sides fill, q' = q).

Exact parts: this recursion is the env's expected return (no continuous-time approximation;
the env's fill probabilities and inventory limit), on the env's whole inventory range −Q..Q.
Given the other side, each side maximises p(δ)(δ + c), c = W^± − W − p_other·(W⁺ + W⁻ − 2W),
whose maximiser is unique: δ = max(1/κ − c, ln(A·dt)/κ) with the capped rule, the root of
δ + c = (e^x − 1)/(κx), x = A·dt·e^(−κδ), with the exponential one (Newton's method
safeguarded by bisection, until no depth moves by more than 1e-12). The two sides are solved
alternately, four rounds from p_a = 0 (the coupling p_b·p_a is O(dt²); at t = 0 of
CarteaJaimungal-v0 with ``ou_alpha`` two more rounds move no depth by more than 1e-13).

Approximations (all in α):

* **α grid**: N nodes (``alpha_points``, odd, so α = 0 is a node) evenly spaced on
  ±``alpha_range`` stationary standard deviations η/√(2ζ) (default 4.5).
* **α transition**: a Markov chain on the nodes replaces the Gaussian step. From node a_j the
  chain moves to the three nodes around the mean μ = a_j·d with the probabilities that give it
  the env's conditional mean μ and variance ς² exactly (p_± = (v + e² ± e)/2, p_0 = 1 − v − e²,
  e the offset of μ from the middle node and v = ς² in units of the spacing h). This needs
  1/4 ≤ v ≤ 3/4, i.e. ς/0.866 ≤ h ≤ 2ς, which bounds ``alpha_points`` (the default is the
  coarsest grid allowed, h ≤ 2ς). Higher moments of the step are not matched. At the outermost
  nodes the stencil is shifted inward and, where its probabilities would be negative, clipped
  and renormalised (the variance there is then not matched): the grid's range enters only
  there and in the clamping below.
* **between nodes**: the agent observes a continuous α; it maximises the one-step criterion
  above against W_k interpolated linearly in α (clamped to the grid beyond its ends). At the
  nodes this is the recursion's policy. W_k is stored in float32; the recursion and the agent
  both take their depths from the stored values, and the recursion values those depths
  against W_k in float64.
* **the action set**: the maximisation is over unconstrained depths; the depths are then passed
  through the env's action map and clipping (spread multiple and skew ranges), and the
  recursion values the depths the env really applies. Where the unconstrained optimum lies
  outside the action set the policy is that projection, not the constrained optimum.

:attr:`AlphaOptimal.value` is V_0(0, 0) (α_0 = 0: the initial law of α is the point mass at
0), the recursion's expected episode return of this agent.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from baselines.analytic import _DepthAgent, depths_as_spread_skew
from baselines.base import env_config
from baselines.exact import _fill_probability, inventory_grid
from mm_env.config import AvellanedaStoikovConfig
from mm_env.core import observation_names

#: the variance of one α step in units of the grid spacing², for which the three-node chain
#: matches the step's mean and variance with non-negative probabilities
MIN_STEP_VARIANCE = 0.25
MAX_STEP_VARIANCE = 0.75
ROUNDS = 4  # alternating rounds of the two sides' maximisation
MAX_NEWTON_STEPS = 200  # exponential fill rule: Newton/bisection on each side's condition
NEWTON_TOLERANCE = 1e-12  # until no depth moves by more than this


def alpha_step(config: AvellanedaStoikovConfig) -> tuple[float, float]:
    """(d, ς): α_{k+1} = d·α_k + ς·z', the env's exact OU step (``P_ALPHA_DECAY``,
    ``P_ALPHA_SD`` in :mod:`mm_env.scenarios.avellaneda_stoikov`)."""
    zeta, eta, dt = config.alpha_decay, config.alpha_vol, config.dt
    return math.exp(-zeta * dt), eta * math.sqrt(-math.expm1(-2.0 * zeta * dt) / (2.0 * zeta))


def alpha_points_range(config: AvellanedaStoikovConfig, alpha_range: float) -> tuple[int, int]:
    """The smallest and largest odd ``alpha_points`` whose spacing h satisfies
    ς/√(3/4) ≤ h ≤ 2ς (module docstring)."""
    _, sd = alpha_step(config)
    width = 2.0 * alpha_range * config.alpha_scale
    # h = width / (N − 1)
    low = math.ceil(width / (math.sqrt(1.0 / MIN_STEP_VARIANCE) * sd) - 1e-9) + 1
    high = math.floor(width / (math.sqrt(1.0 / MAX_STEP_VARIANCE) * sd) + 1e-9) + 1
    low = max(3, low + (1 - low % 2))
    high = high - (1 - high % 2)
    return low, high


def alpha_chain(nodes: NDArray[np.float64], decay: float, sd: float) -> NDArray[np.float64]:
    """T[j, i] = P(α' = a_i | α = a_j) of the three-node chain (module docstring)."""
    n = nodes.size
    h = nodes[1] - nodes[0]
    v = (sd / h) ** 2
    mean = nodes * decay
    middle = np.clip(np.rint((mean - nodes[0]) / h).astype(np.intp), 1, n - 2)
    e = (mean - nodes[middle]) / h
    probs = np.stack([(v + e * e - e) / 2.0, 1.0 - v - e * e, (v + e * e + e) / 2.0], axis=1)
    probs = np.clip(probs, 0.0, None)  # only at the outermost nodes (shifted stencil)
    probs /= probs.sum(axis=1, keepdims=True)
    chain = np.zeros((n, n))
    rows = np.arange(n)
    for offset in (-1, 0, 1):
        chain[rows, middle + offset] = probs[:, offset + 1]
    return chain


def _shift(w: NDArray[np.float64], step: int) -> NDArray[np.float64]:
    """W at q + step along the first axis (edge rows repeated; unused there)."""
    if step > 0:
        return np.vstack([w[step:], np.repeat(w[-1:], step, axis=0)])
    return np.vstack([np.repeat(w[:1], -step, axis=0), w[:step]])


def _differences(
    w_down: NDArray[np.float64],
    w: NDArray[np.float64],
    w_up: NDArray[np.float64],
    can_buy: NDArray[np.bool_],
    can_sell: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(W⁺ − W, W⁻ − W, W⁺ + W⁻ − 2W), zero where a side is refused."""
    up = np.where(can_buy, w_up - w, 0.0)
    down = np.where(can_sell, w_down - w, 0.0)
    curvature = np.where(can_buy & can_sell, w_up + w_down - 2.0 * w, 0.0)
    return up, down, curvature


class AlphaOptimal(_DepthAgent):
    """The optimal agent of the env's market with a short-term alpha (``midprice="ou_alpha"``).

    Dynamic programming on (step, inventory, α) over the env's own step (module docstring:
    what is exact and what is approximated). Needs order size 1, a finite integer
    ``max_inventory`` Q (the inventory grid is −Q..Q), Poisson arrivals, the exponential fill
    function, the PnL reward, no ``liquidate_at_end``, and the time left and α in the
    observation (``alpha`` is α / (η/√(2ζ))).

    ``alpha_points``: odd number of α nodes (default: the coarsest grid the chain allows,
    :func:`alpha_points_range`); ``alpha_range``: half-width of the α grid in stationary
    standard deviations. ``AlphaOptimal.for_env(env)``; :attr:`value` is the recursion's
    expected episode return, ``w_grid[k, q + Q, j]`` the stored W_k.
    """

    def __init__(
        self,
        config: AvellanedaStoikovConfig,
        alpha_points: int | None = None,
        alpha_range: float = 4.5,
    ) -> None:
        super().__init__(config)
        c = config
        if c.midprice != "ou_alpha":
            raise ValueError(
                f"AlphaOptimal needs the alpha signal: 'midprice' must be 'ou_alpha', "
                f"got {c.midprice!r}"
            )
        for name, default in (
            ("arrivals", "poisson"),
            ("fill_function", "exponential"),
            ("reward", "pnl"),
        ):
            if getattr(c, name) != default:
                raise ValueError(
                    f"AlphaOptimal models {name!r} = {default!r} only, got {getattr(c, name)!r}"
                )
        limit = inventory_grid(c, "AlphaOptimal needs")
        if c.liquidate_at_end:
            raise ValueError("AlphaOptimal does not model 'liquidate_at_end'")
        if (
            isinstance(alpha_range, bool)
            or not isinstance(alpha_range, int | float)
            or not (math.isfinite(alpha_range) and alpha_range > 0)
        ):
            raise ValueError(f"'alpha_range' must be finite and > 0, got {alpha_range!r}")
        low, high = alpha_points_range(c, float(alpha_range))
        if alpha_points is None:
            alpha_points = low
        if (
            isinstance(alpha_points, bool)
            or not isinstance(alpha_points, int | float)
            or alpha_points != int(alpha_points)
            or int(alpha_points) % 2 != 1
            or not low <= alpha_points <= high
        ):
            raise ValueError(
                f"'alpha_points' must be an odd integer in [{low}, {high}] for alpha_range "
                f"{alpha_range} (the three-node chain needs spacing h with "
                f"step sd / 0.866 <= h <= 2 step sd), got {alpha_points!r}"
            )
        self.alpha_points = int(alpha_points)
        self.alpha_range = float(alpha_range)
        self.inventory_bound = limit
        self.alpha_index = observation_names(c).index("alpha")
        decay, sd = alpha_step(c)
        half = self.alpha_range * c.alpha_scale
        self.nodes = np.linspace(-half, half, self.alpha_points)
        self.chain = alpha_chain(self.nodes, decay, sd)
        self.w_grid, self.v_grid = self._solve()
        self.value = float(self.v_grid[self.inventory_bound, self.alpha_points // 2])

    @classmethod
    def for_env(
        cls, env: Any, alpha_points: int | None = None, alpha_range: float = 4.5
    ) -> AlphaOptimal:
        return cls(env_config(env), alpha_points, alpha_range)

    # ---- the one-step maximisation ------------------------------------------------------------
    def _best_depth(
        self, c: NDArray[np.float64], start: NDArray[np.float64] | None = None
    ) -> NDArray[np.float64]:
        """argmax_δ p(δ)(δ + c) (module docstring; k is κ); ``start``: a first guess for the
        exponential rule's iteration."""
        cfg = self.config
        k, adt = cfg.intensity_k, cfg.intensity_a * cfg.dt
        delta = np.maximum(1.0 / k - c, math.log(adt) / k)
        if cfg.fill_probability == "capped":
            return delta
        # F(δ) = δ + c − (e^x − 1)/(kx), increasing (F' = 1 + (xe^x − e^x + 1)/x >= 1), is
        # <= 0 at 1/k − c and >= 0 where x <= 1 and δ + c >= (e − 1)/k: Newton's method inside
        # that bracket where x <= 5 (F' <= 120), bisection elsewhere
        lo = 1.0 / k - c
        hi = np.maximum(math.log(adt) / k, (math.e - 1.0) / k - c)
        delta = lo if start is None else np.clip(start, lo, hi)
        for _ in range(MAX_NEWTON_STEPS):
            x = np.minimum(adt * np.exp(-k * delta), 700.0)
            ex = np.exp(x)
            f = delta + c - np.expm1(x) / (k * x)
            lo = np.where(f < 0.0, delta, lo)
            hi = np.where(f < 0.0, hi, delta)
            newton = delta - f / (1.0 + (x * ex - ex + 1.0) / x)
            inside = (x <= 5.0) & (newton >= lo) & (newton <= hi)
            update = np.where(inside, newton, 0.5 * (lo + hi))
            moved = np.abs(update - delta).max()
            delta = update
            if moved <= NEWTON_TOLERANCE:
                break
        return delta

    def _applied(
        self, bid: NDArray[np.float64], ask: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The depths the env applies when the agent asks for (bid, ask): through
        :meth:`spread_skew`'s conversion, the action map and its clipping."""
        s = self.config.depth_unit
        m, skew = depths_as_spread_skew(bid, ask, self.config.depth_unit)
        m, skew = self.mapping.to_spread_skew(self.mapping.to_action(m, skew))
        half = 0.5 * m * s
        return half * (1.0 + skew), half * (1.0 - skew)

    def _maximise(
        self,
        w_down: NDArray[np.float64],
        w: NDArray[np.float64],
        w_up: NDArray[np.float64],
        can_buy: NDArray[np.bool_],
        can_sell: NDArray[np.bool_],
        start: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The unconstrained (bid, ask) depths maximising the one-step criterion against W at
        q − 1, q, q + 1, sides alternately (``w_up`` / ``w_down`` ignored where that side is
        refused; ``start``: first guesses for the exponential rule's iteration)."""
        cfg = self.config
        up, down, curvature = _differences(w_down, w, w_up, can_buy, can_sell)
        first = (None, None) if start is None else start
        bid = self._best_depth(up, first[0])
        pb = np.where(can_buy, _fill_probability(cfg, bid), 0.0)
        ask = self._best_depth(down - pb * curvature, first[1])
        for _ in range(ROUNDS - 1):
            pa = np.where(can_sell, _fill_probability(cfg, ask), 0.0)
            bid = self._best_depth(up - pa * curvature, bid)
            pb = np.where(can_buy, _fill_probability(cfg, bid), 0.0)
            ask = self._best_depth(down - pb * curvature, ask)
        return bid, ask

    def _quote(
        self,
        w_down: NDArray[np.float64],
        w: NDArray[np.float64],
        w_up: NDArray[np.float64],
        can_buy: NDArray[np.bool_],
        can_sell: NDArray[np.bool_],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The depths the env applies for :meth:`_maximise`'s (infinite on a refused side)."""
        bid, ask = self._maximise(w_down, w, w_up, can_buy, can_sell)
        return self._applied(np.where(can_buy, bid, np.inf), np.where(can_sell, ask, np.inf))

    def _value(
        self,
        w_down: NDArray[np.float64],
        w: NDArray[np.float64],
        w_up: NDArray[np.float64],
        can_buy: NDArray[np.bool_],
        can_sell: NDArray[np.bool_],
        bid: NDArray[np.float64],
        ask: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """The one-step criterion of the depths (bid, ask) against W (module docstring)."""
        up, down, curvature = _differences(w_down, w, w_up, can_buy, can_sell)
        pb = np.where(can_buy, _fill_probability(self.config, bid), 0.0)
        pa = np.where(can_sell, _fill_probability(self.config, ask), 0.0)
        return w + pb * (bid + up) + pa * (ask + down) - pb * pa * curvature

    def _solve(self) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
        """Backward induction: (W_k for k = 0..n−1 as float32, V_0) on (q, α nodes)."""
        c = self.config
        n, bound = c.n_steps, self.inventory_bound
        q = np.arange(-bound, bound + 1, dtype=np.float64)[:, None]
        can_buy = np.broadcast_to(q < bound, (q.size, self.alpha_points))
        can_sell = np.broadcast_to(q > -bound, (q.size, self.alpha_points))
        drift = q * self.nodes[None, :] * c.dt  # E[q'(s_{k+1} − s_k)] = q'·α_k·dt
        w_grid = np.empty((n, q.size, self.alpha_points), dtype=np.float32)
        value = np.zeros((q.size, self.alpha_points))
        guess = None  # the previous step's depths start the exponential rule's iteration
        for k in range(n - 1, -1, -1):
            last = k == n - 1
            penalty = c.inventory_penalty + (c.terminal_inventory_penalty if last else 0.0)
            w = value @ self.chain.T - penalty * q**2 + (0.0 if last else drift)
            w_grid[k] = w
            stored = w_grid[k].astype(np.float64)  # the depths come from the stored values
            guess = self._maximise(
                _shift(stored, -1), stored, _shift(stored, 1), can_buy, can_sell, guess
            )
            bid, ask = self._applied(
                np.where(can_buy, guess[0], np.inf), np.where(can_sell, guess[1], np.inf)
            )
            value = self._value(_shift(w, -1), w, _shift(w, 1), can_buy, can_sell, bid, ask)
        return w_grid, value

    # ---- the agent ----------------------------------------------------------------------------
    def depths(self, observation: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The applied optimal depths (δ_b, δ_a) for a batch of observations."""
        k, q, _ = self.step_and_inventory(observation)
        obs = np.atleast_2d(np.asarray(observation, dtype=np.float64))
        alpha = obs[:, self.alpha_index] * self.config.alpha_scale
        k = np.minimum(k, self.config.n_steps - 1)
        bound = self.inventory_bound
        qi = np.clip(np.rint(q), -bound, bound).astype(np.intp) + bound
        h = self.nodes[1] - self.nodes[0]
        x = np.clip((alpha - self.nodes[0]) / h, 0.0, self.alpha_points - 1.0)
        j = np.minimum(np.floor(x).astype(np.intp), self.alpha_points - 2)
        f = x - j

        def w_at(qq: NDArray[np.intp]) -> NDArray[np.float64]:
            qq = np.clip(qq, 0, 2 * bound)
            lo = self.w_grid[k, qq, j].astype(np.float64)
            hi = self.w_grid[k, qq, j + 1].astype(np.float64)
            return np.where(f > 0.0, (1.0 - f) * lo + f * hi, lo)

        return self._quote(w_at(qi - 1), w_at(qi), w_at(qi + 1), qi < 2 * bound, qi > 0)

    def __repr__(self) -> str:
        return (
            f"AlphaOptimal(alpha_points={self.alpha_points}, alpha_range={self.alpha_range}, "
            f"Q={self.inventory_bound})"
        )


__all__ = ["AlphaOptimal", "alpha_chain", "alpha_points_range", "alpha_step"]
