"""Optimal agents of the analytic market-making models, for ``mm_env/AvellanedaStoikov-v0``.

* :class:`AvellanedaStoikov` (and :class:`AvellanedaStoikovSymmetric`): Avellaneda & Stoikov
  (2008), "High-frequency trading in a limit order book", Quantitative Finance 8(3).
* :class:`GLFT`: Guéant, Lehalle & Fernandez-Tapia (2013), "Dealing with the inventory risk",
  Mathematics and Financial Economics 7: the closed-form asymptotic quotes and the exact
  bounded-inventory quotes from their matrix exponential.
* :class:`CarteaJaimungal`: Cartea, Jaimungal & Penalva (2015), "Algorithmic and
  High-Frequency Trading", ch. 10: the finite-inventory optimal depths and value function h(t, q).

Every agent reads the time left (observation entry ``time_left``, on by default in that
scenario) and the inventory (entry 1 times ``inventory_norm``) from the observation, computes
the optimal depths (δ_b, δ_a) from the mid, and returns the env's action for them:
m = (δ_b + δ_a)/s and skew = (δ_b − δ_a)/(δ_b + δ_a), s the scenario's reference spread
(:meth:`AvellanedaStoikovConfig.depth_unit`). Time is read on the env's step grid:
step k = round(n_steps · (1 − time_left)), t = k · dt. They are limit-order policies: with
``market_orders="linear_impact"`` (a three-entry action) they send a market order of size 0
(:class:`~baselines.base.SpreadSkewPolicy`), quoting as they would without the option.

Matrix exponentials: the matrices of GLFT (−M) and of Cartea–Jaimungal (A) are tridiagonal with
non-negative off-diagonal entries. Their exponential is computed by :func:`expm_metzler`, a
Taylor series with scaling and squaring of the shifted non-negative matrix, which has only
non-negative terms, so every entry (and every entry of exp(·)·z for z > 0) keeps full relative
accuracy. The eigendecomposition (:func:`expm_symmetric`, numpy's ``eigh``) is exact in exact
arithmetic, but in floating point it resolves entries only to ~1e-16 of the largest: at the
Cartea–Jaimungal check ω(0, q) spans e^(−165) across |q| ≤ 100 and ``eigh`` returns 27
non-positive entries (log undefined). The tests check that both agree where ``eigh`` is
accurate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from baselines.base import SpreadSkewPolicy, as_batch, env_config
from mm_env.config import AvellanedaStoikovConfig
from mm_env.core import observation_names


# ---- matrix exponentials ----------------------------------------------------------------------
def expm_metzler(b: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
    """exp(B) = e^(−c)·P for a square matrix B with non-negative off-diagonal entries.

    Returns (P, c) with c = max(0, −min diag B), P = exp(B + cI) ≥ 0 entrywise, computed by
    scaling and squaring a Taylor series whose terms are all non-negative (no cancellation).
    The factor e^(−c) is returned apart so that it cannot underflow.
    """
    b = np.asarray(b, dtype=np.float64)
    n = b.shape[0]
    off = b - np.diag(np.diag(b))
    if (off < 0).any():
        raise ValueError("expm_metzler needs non-negative off-diagonal entries")
    c = max(0.0, -float(np.diag(b).min()))
    p = b + c * np.eye(n)
    norm = float(np.abs(p).sum(axis=1).max())
    squarings = max(0, math.ceil(math.log2(norm / 0.5))) if norm > 0.5 else 0
    p = p / 2.0**squarings
    result = np.eye(n)
    term = np.eye(n)
    for j in range(1, 60):
        term = term @ p / j
        result += term
        if term.max() <= 1e-18 * result.min() or not term.any():
            break
    for _ in range(squarings):
        result = result @ result
    return result, c


def expm_symmetric(s: NDArray[np.float64], tau: float) -> NDArray[np.float64]:
    """exp(S·τ) for a symmetric S by eigendecomposition (numpy.linalg.eigh): V e^(Λτ) Vᵀ.

    Exact in exact arithmetic; in floating point each entry is accurate only to ~1e-16 of the
    largest (see the module docstring). Kept as the independent check of :func:`expm_metzler`.
    """
    lam, v = np.linalg.eigh(np.asarray(s, dtype=np.float64))
    return (v * np.exp(lam * tau)) @ v.T


def _tridiagonal(diag: NDArray[np.float64], off: float) -> NDArray[np.float64]:
    n = diag.size
    return np.diag(diag) + off * (np.eye(n, k=1) + np.eye(n, k=-1))


def _log_backward(
    generator: NDArray[np.float64], terminal: NDArray[np.float64], dt: float, n_steps: int
) -> NDArray[np.float64]:
    """log(exp(G·(T − t_k))·terminal) for t_k = k·dt, k = 0..n_steps (rows), G Metzler."""
    p, c = expm_metzler(generator * dt)
    out = np.empty((n_steps + 1, terminal.size))
    w = np.asarray(terminal, dtype=np.float64).copy()
    log_scale = 0.0
    out[n_steps] = np.log(w)
    for k in range(n_steps - 1, -1, -1):
        w = p @ w
        top = float(w.max())
        w /= top
        log_scale += math.log(top) - c
        out[k] = np.log(w) + log_scale
    return out


# ---- the formulas -----------------------------------------------------------------------------
def as_depths(
    gamma: float, sigma: float, k: float, tau: Any, q: Any, symmetric: bool = False
) -> tuple[Any, Any]:
    """Avellaneda–Stoikov (δ_b, δ_a) from the mid at time left τ and inventory q.

    Reservation price r = s − q·γσ²τ (Avellaneda & Stoikov 2008, eq. 3.17); total spread
    δ_a + δ_b = γσ²τ + (2/γ)·ln(1 + γ/k) (eq. 3.18); quotes r ∓ spread/2. The symmetric
    strategy (section 4) centres the same spread on the mid.
    """
    tau = np.asarray(tau, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    spread = gamma * sigma**2 * tau + (2.0 / gamma) * math.log1p(gamma / k)  # eq. 3.18
    offset = 0.0 * q if symmetric else q * gamma * sigma**2 * tau  # s − r, eq. 3.17
    return 0.5 * spread + offset, 0.5 * spread - offset


def glft_closed_form(gamma: float, sigma: float, a: float, k: float, q: Any) -> tuple[Any, Any]:
    """Guéant–Lehalle–Fernandez-Tapia (2013) asymptotic (T → ∞) quotes (δ_b, δ_a).

    C = sqrt(σ²γ/(2kA)·(1 + γ/k)^(1 + k/γ));
    δ_b ≈ (1/γ)ln(1 + γ/k) + (2q + 1)/2·C,  δ_a ≈ (1/γ)ln(1 + γ/k) − (2q − 1)/2·C.
    """
    q = np.asarray(q, dtype=np.float64)
    base = math.log1p(gamma / k) / gamma
    c = math.sqrt(sigma**2 * gamma / (2.0 * k * a) * (1.0 + gamma / k) ** (1.0 + k / gamma))
    return base + 0.5 * (2.0 * q + 1.0) * c, base - 0.5 * (2.0 * q - 1.0) * c


def glft_log_v(
    gamma: float, sigma: float, a: float, k: float, inventory_bound: int, dt: float, n_steps: int
) -> NDArray[np.float64]:
    """log v(t_k, q), k = 0..n_steps, q = −Q..Q (columns), of GLFT's exact solution.

    v(t) = exp(−M(T − t))·1, M tridiagonal with M_qq = α q², α = (k/2)γσ², and off-diagonal
    −η, η = A(1 + γ/k)^(−(1 + k/γ)) (Guéant, Lehalle & Fernandez-Tapia 2013, bounded-inventory
    solution).
    """
    q = np.arange(-inventory_bound, inventory_bound + 1, dtype=np.float64)
    alpha = 0.5 * k * gamma * sigma**2
    eta = a * (1.0 + gamma / k) ** (-(1.0 + k / gamma))
    minus_m = _tridiagonal(-alpha * q**2, eta)
    return _log_backward(minus_m, np.ones(q.size), dt, n_steps)


def glft_exact_depths(
    log_v: NDArray[np.float64], gamma: float, k: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(δ_b, δ_a) over the last axis q = −Q..Q from log v (GLFT 2013):

    δ_b(t, q) = (1/k)·ln(v_q/v_{q+1}) + (1/γ)ln(1 + γ/k),
    δ_a(t, q) = (1/k)·ln(v_q/v_{q−1}) + (1/γ)ln(1 + γ/k);
    +inf where the quote would take the inventory beyond ±Q.
    """
    base = math.log1p(gamma / k) / gamma
    bid = np.full(log_v.shape, np.inf)
    ask = np.full(log_v.shape, np.inf)
    bid[..., :-1] = (log_v[..., :-1] - log_v[..., 1:]) / k + base
    ask[..., 1:] = (log_v[..., 1:] - log_v[..., :-1]) / k + base
    return bid, ask


def cj_generator(intensity: float, kappa: float, phi: float, inventory_bound: int) -> Any:
    """Cartea, Jaimungal & Penalva (2015, ch. 10): A tridiagonal, A_qq = −φκq², off-diagonal
    λe^(−1), and the terminal vector z_q = e^(−ακq²) needs α (see :func:`cj_h`)."""
    q = np.arange(-inventory_bound, inventory_bound + 1, dtype=np.float64)
    return _tridiagonal(-phi * kappa * q**2, intensity * math.exp(-1.0)), q


def cj_h(
    intensity: float,
    kappa: float,
    phi: float,
    alpha: float,
    inventory_bound: int,
    tau: float,
) -> NDArray[np.float64]:
    """h(T − τ, q) for q = −Q..Q: h = (1/κ)·ln ω, ω(t) = exp(A(T − t))·z, z_q = e^(−ακq²)
    (Cartea, Jaimungal & Penalva 2015, ch. 10)."""
    gen, q = cj_generator(intensity, kappa, phi, inventory_bound)
    p, c = expm_metzler(gen * tau)
    return (np.log(p @ np.exp(-alpha * kappa * q**2)) - c) / kappa


def cj_depths(
    h: NDArray[np.float64], kappa: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(δ_b, δ_a) over the last axis q = −Q..Q (Cartea, Jaimungal & Penalva 2015, ch. 10):

    δ_b* = 1/κ − h(t, q + 1) + h(t, q),  δ_a* = 1/κ − h(t, q − 1) + h(t, q);
    +inf where the quote would take the inventory beyond ±Q.
    """
    bid = np.full(h.shape, np.inf)
    ask = np.full(h.shape, np.inf)
    bid[..., :-1] = 1.0 / kappa - h[..., 1:] + h[..., :-1]
    ask[..., 1:] = 1.0 / kappa - h[..., :-1] + h[..., 1:]
    return bid, ask


# ---- the agents -------------------------------------------------------------------------------
def depths_as_spread_skew(
    bid: NDArray[np.float64], ask: NDArray[np.float64], depth_unit: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(spread multiple, skew) of bid and ask depths: m = (bid + ask) / depth_unit, skew =
    (bid - ask) / (bid + ask). An infinite side (at an inventory bound) is quoted as deep as the
    other; the env's inventory limit (= the bound) stops that fill."""
    bid = np.where(np.isfinite(bid), bid, ask)
    ask = np.where(np.isfinite(ask), ask, bid)
    total = bid + ask
    safe = np.where(total > 0.0, total, 1.0)
    skew = np.where(total > 0.0, (bid - ask) / safe, 0.0)
    return total / depth_unit, skew


class _DepthAgent(SpreadSkewPolicy):
    """Shared plumbing: read (step, inventory) from observations, map depths to actions."""

    def __init__(self, config: AvellanedaStoikovConfig) -> None:
        if not isinstance(config, AvellanedaStoikovConfig):
            raise ValueError(
                f"{type(self).__name__} needs an AvellanedaStoikovConfig "
                f"(mm_env/AvellanedaStoikov-v0), got {type(config).__name__}"
            )
        names = observation_names(config)
        if "time_left" not in names:
            raise ValueError(f"{type(self).__name__} needs obs_time_left=True in the env config")
        super().__init__(config)
        self.config = config
        self.time_index = names.index("time_left")

    def step_and_inventory(
        self, observation: Any
    ) -> tuple[NDArray[np.intp], NDArray[np.float64], bool]:
        obs, single = as_batch(observation)
        c = self.config
        k = np.rint(c.n_steps * (1.0 - obs[:, self.time_index])).astype(np.intp)
        k = np.clip(k, 0, c.n_steps)
        return k, obs[:, 1] * c.inventory_norm, single

    def depths(self, observation: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        raise NotImplementedError

    def spread_skew(self, observation: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(spread multiple, skew) of the agent's depths for a batch of observations."""
        bid, ask = self.depths(observation)
        return depths_as_spread_skew(bid, ask, self.config.depth_unit)


class AvellanedaStoikov(_DepthAgent):
    """Avellaneda & Stoikov (2008) inventory strategy (``symmetric=False``) or symmetric one.

    Inventory strategy: quotes r ∓ spread/2 around the reservation price r = s − q·γσ²(T − t)
    (eq. 3.17), spread γσ²(T − t) + (2/γ)·ln(1 + γ/k) (eq. 3.18). Symmetric strategy (section
    4): the same spread centred on the mid. σ, k, T come from the env's config.

    ``AvellanedaStoikov.for_env(env, gamma=0.1)``.
    """

    symmetric = False

    def __init__(self, config: AvellanedaStoikovConfig, gamma: float = 0.1) -> None:
        super().__init__(config)
        if not (math.isfinite(gamma) and gamma > 0):
            raise ValueError(f"gamma must be finite and > 0, got {gamma!r}")
        self.gamma = float(gamma)

    @classmethod
    def for_env(cls, env: Any, gamma: float = 0.1) -> AvellanedaStoikov:
        return cls(env_config(env), gamma)

    def depths(self, observation: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        k, q, _ = self.step_and_inventory(observation)
        c = self.config
        tau = (c.n_steps - k) * c.dt
        return as_depths(self.gamma, c.sigma, c.intensity_k, tau, q, self.symmetric)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(gamma={self.gamma})"


class AvellanedaStoikovSymmetric(AvellanedaStoikov):
    """The Avellaneda & Stoikov (2008, section 4) symmetric strategy: the inventory strategy's
    spread γσ²(T − t) + (2/γ)·ln(1 + γ/k), centred on the mid."""

    symmetric = True


class GLFT(_DepthAgent):
    """Guéant, Lehalle & Fernandez-Tapia (2013) optimal quotes, closed form or exact.

    ``exact=False``: the asymptotic closed form (see :func:`glft_closed_form`), independent of t.
    ``exact=True``: the bounded-inventory solution |q| ≤ Q from the matrix exponential
    v(t) = exp(−M(T − t))·1 (see :func:`glft_log_v`), tabulated on the env's step grid.
    σ, A, k, T come from the env's config; Q is ``inventory_bound`` (default: the env's
    ``max_inventory`` when finite, else 100). Inventory is rounded to the nearest integer.
    """

    def __init__(
        self,
        config: AvellanedaStoikovConfig,
        gamma: float = 0.1,
        exact: bool = True,
        inventory_bound: int | None = None,
    ) -> None:
        super().__init__(config)
        if not (math.isfinite(gamma) and gamma > 0):
            raise ValueError(f"gamma must be finite and > 0, got {gamma!r}")
        self.gamma = float(gamma)
        self.exact = bool(exact)
        self.inventory_bound = _bound(config, inventory_bound)
        c = config
        if self.exact:
            log_v = glft_log_v(
                self.gamma,
                c.sigma,
                c.intensity_a,
                c.intensity_k,
                self.inventory_bound,
                c.dt,
                c.n_steps,
            )
            self.bid_table, self.ask_table = glft_exact_depths(log_v, self.gamma, c.intensity_k)

    @classmethod
    def for_env(
        cls, env: Any, gamma: float = 0.1, exact: bool = True, inventory_bound: int | None = None
    ) -> GLFT:
        return cls(env_config(env), gamma, exact, inventory_bound)

    def depths(self, observation: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        k, q, _ = self.step_and_inventory(observation)
        c = self.config
        qi = np.clip(np.rint(q), -self.inventory_bound, self.inventory_bound)
        if not self.exact:
            return glft_closed_form(self.gamma, c.sigma, c.intensity_a, c.intensity_k, qi)
        j = (qi + self.inventory_bound).astype(np.intp)
        return self.bid_table[k, j], self.ask_table[k, j]

    def __repr__(self) -> str:
        return f"GLFT(gamma={self.gamma}, exact={self.exact}, Q={self.inventory_bound})"


class CarteaJaimungal(_DepthAgent):
    """Cartea, Jaimungal & Penalva (2015, ch. 10) optimal depths with finite inventory |q| ≤ Q.

    Maximises E[X_T + q_T S_T − α q_T² − φ ∫ q_t² dt] with market orders at rate λ = A per side
    filling a quote at depth δ with probability e^(−κδ), κ = k. The value function is
    h(t, q) = (1/κ)·ln ω(t, q), ω(t) = exp(A(T − t))·z (:func:`cj_h`); the depths are
    δ_b* = 1/κ − h(t, q + 1) + h(t, q), δ_a* = 1/κ − h(t, q − 1) + h(t, q) (:func:`cj_depths`).

    ``phi`` and ``alpha`` default to the env's: φ = inventory_penalty / dt (the env charges
    per step) and α = terminal_inventory_penalty, so that the env's mean episode return is the
    objective whose optimum is h(0, 0) (:meth:`AvellanedaStoikovConfig.cartea_jaimungal`).
    ``h_grid[k, q + Q]`` is h on the env's step grid; :meth:`h` evaluates it at any t.
    """

    def __init__(
        self,
        config: AvellanedaStoikovConfig,
        phi: float | None = None,
        alpha: float | None = None,
        inventory_bound: int | None = None,
    ) -> None:
        super().__init__(config)
        c = config
        self.phi = c.inventory_penalty / c.dt if phi is None else float(phi)
        self.alpha = c.terminal_inventory_penalty if alpha is None else float(alpha)
        for name, value in (("phi", self.phi), ("alpha", self.alpha)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
        self.inventory_bound = _bound(config, inventory_bound)
        self.kappa = c.intensity_k
        self.intensity = c.intensity_a
        gen, q = cj_generator(self.intensity, self.kappa, self.phi, self.inventory_bound)
        terminal = np.exp(-self.alpha * self.kappa * q**2)
        self.h_grid = _log_backward(gen, terminal, c.dt, c.n_steps) / self.kappa
        self.bid_table, self.ask_table = cj_depths(self.h_grid, self.kappa)

    @classmethod
    def for_env(
        cls,
        env: Any,
        phi: float | None = None,
        alpha: float | None = None,
        inventory_bound: int | None = None,
    ) -> CarteaJaimungal:
        return cls(env_config(env), phi, alpha, inventory_bound)

    def h(self, t: float, q: int | None = None) -> Any:
        """h(t, q) (all q = −Q..Q when ``q`` is None), computed directly at any t in [0, T]."""
        values = cj_h(
            self.intensity,
            self.kappa,
            self.phi,
            self.alpha,
            self.inventory_bound,
            self.config.horizon - t,
        )
        return values if q is None else float(values[q + self.inventory_bound])

    def depths(self, observation: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        k, q, _ = self.step_and_inventory(observation)
        qi = np.clip(np.rint(q), -self.inventory_bound, self.inventory_bound)
        j = (qi + self.inventory_bound).astype(np.intp)
        return self.bid_table[k, j], self.ask_table[k, j]

    def __repr__(self) -> str:
        return f"CarteaJaimungal(phi={self.phi}, alpha={self.alpha}, Q={self.inventory_bound})"


def _bound(config: AvellanedaStoikovConfig, inventory_bound: int | None) -> int:
    if inventory_bound is None:
        limit = config.max_inventory
        return int(limit) if math.isfinite(limit) else 100
    if isinstance(inventory_bound, bool) or int(inventory_bound) != inventory_bound:
        raise ValueError(f"inventory_bound must be an integer, got {inventory_bound!r}")
    if inventory_bound < 1:
        raise ValueError(f"inventory_bound must be >= 1, got {inventory_bound!r}")
    return int(inventory_bound)


__all__ = [
    "GLFT",
    "AvellanedaStoikov",
    "AvellanedaStoikovSymmetric",
    "CarteaJaimungal",
    "as_depths",
    "cj_depths",
    "cj_h",
    "expm_metzler",
    "expm_symmetric",
    "glft_closed_form",
    "glft_exact_depths",
    "glft_log_v",
]
