"""The Avellaneda–Stoikov (2008) market: Brownian mid, Poisson fills (``AvellanedaStoikov-v0``).

Random contract: nothing is drawn at reset (the mid starts at ``initial_mid``). At each step,
for all rows: a ``(n_envs, 2)`` batch of uniforms (column 0 decides the bid's fill, column 1
the ask's), then ``n_envs`` draws for the mid's move: uniforms (``mid_increments="binomial"``,
up when < 0.5) or standard normals (``"gaussian"``).

Within a step (Avellaneda & Stoikov 2008, section 4): the quotes meet the current mid s_t; the
bid fills with probability p(λ(δ_b)·dt) and the ask with p(λ(δ_a)·dt), λ(δ) = A·e^(−kδ)
(eq. 2.11); the step is settled at s_t (the core's convention: PnL is marked at the mid the
quotes met); then the mid moves to s_{t+1}, which the next observation and quotes see.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from mm_env.config import AvellanedaStoikovConfig
from mm_env.core import (
    ASK_QUOTE,
    BID_QUOTE,
    N_COMMON,
    N_COMMON_PARAMS,
    P_ORDER_SIZE,
    PARALLEL_MIN_ROWS,
    Simulator,
    begin_step,
    fill_ask,
    fill_bid,
    quotes_from_action,
    settle,
    step_kernel,
    write_observation,
)

# state column after the common ones: the mid the next quotes will meet
NEXT_MID = N_COMMON + 0
N_STATE = N_COMMON + 1

# book parameters, after the common ones
P_A = N_COMMON_PARAMS + 0  # intensity A
P_K = N_COMMON_PARAMS + 1  # intensity decay k
P_DT = N_COMMON_PARAMS + 2
P_SIGMA_SQRT_DT = N_COMMON_PARAMS + 3
P_REF_SPREAD = N_COMMON_PARAMS + 4
P_EXP_FILL = N_COMMON_PARAMS + 5  # 1.0: p = 1 - exp(-λ dt); 0.0: p = min(λ dt, 1)
P_GAUSSIAN = N_COMMON_PARAMS + 6  # 1.0: Gaussian mid increments; 0.0: ±σ√dt


@njit(cache=True, inline="always")
def fill_probability(depth: float, params: NDArray[np.float64]) -> float:
    """p(λ(δ)·dt) with λ(δ) = A·e^(−kδ) (Avellaneda & Stoikov 2008, eq. 2.11)."""
    x = params[P_A] * math.exp(-params[P_K] * depth) * params[P_DT]
    if params[P_EXP_FILL] > 0.0:
        return 1.0 - math.exp(-x)
    return min(x, 1.0)


@njit(cache=True, inline="always")
def _as_step_row(
    i: int,
    state: NDArray[np.float64],
    params: NDArray[np.float64],
    actions: NDArray[np.float64],
    uniforms: NDArray[np.float64],
    mid_draws: NDArray[np.float64],
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
    if uniforms[i, 0] < fill_probability(mid - qb, params):
        fill_bid(state, i, params[P_ORDER_SIZE], qb, params)
    if uniforms[i, 1] < fill_probability(qa - mid, params):
        fill_ask(state, i, params[P_ORDER_SIZE], qa, params)
    truncated[i] = settle(state, i, params)
    if params[P_GAUSSIAN] > 0.0:
        move = params[P_SIGMA_SQRT_DT] * mid_draws[i]
    else:
        move = params[P_SIGMA_SQRT_DT] if mid_draws[i] < 0.5 else -params[P_SIGMA_SQRT_DT]
    nxt = mid + move
    state[i, NEXT_MID] = nxt
    write_observation(obs, i, state, 0.0, s, nxt, sizes, sizes, depths, params)


@step_kernel()
def as_step(state, params, actions, uniforms, mid_draws, sizes, depths, obs, truncated, active):
    """Step every active row (serial; for small batches and the single env)."""
    for i in range(state.shape[0]):
        if active[i]:
            _as_step_row(
                i, state, params, actions, uniforms, mid_draws, sizes, depths, obs, truncated
            )


@step_kernel(parallel=True)
def as_step_parallel(
    state, params, actions, uniforms, mid_draws, sizes, depths, obs, truncated, active
):
    """Step every active row on all cores (rows are independent)."""
    for i in prange(state.shape[0]):
        if active[i]:
            _as_step_row(
                i, state, params, actions, uniforms, mid_draws, sizes, depths, obs, truncated
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
        begin_step(state, i, initial_mid, initial_mid - 0.5 * s, initial_mid + 0.5 * s, s, 0.0)
        write_observation(obs, i, state, 0.0, s, initial_mid, sizes, sizes, depths, params)


class AvellanedaStoikovSimulator(Simulator):
    """A Brownian mid and Poisson fills at intensity A·e^(−kδ) (Avellaneda & Stoikov 2008)."""

    config: AvellanedaStoikovConfig
    n_state = N_STATE

    def __init__(self, config: AvellanedaStoikovConfig, n_envs: int = 1) -> None:
        super().__init__(config, n_envs)
        self.sizes = np.ones(1)  # a one-level "book" of equal sizes: imbalance 0

    def book_params(self) -> list[float]:
        c = self.config
        return [
            c.intensity_a,
            c.intensity_k,
            c.dt,
            c.sigma * math.sqrt(c.dt),
            c.depth_unit,
            1.0 if c.fill_probability == "exponential" else 0.0,
            1.0 if c.mid_increments == "gaussian" else 0.0,
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
        uniforms = rng.random((self.n_envs, 2))  # bid fill, ask fill
        if self.config.mid_increments == "gaussian":
            mid_draws = rng.standard_normal(self.n_envs)
        else:
            mid_draws = rng.random(self.n_envs)
        kernel = as_step_parallel if self.n_envs >= PARALLEL_MIN_ROWS else as_step
        kernel(
            self.state,
            self.params,
            actions,
            uniforms,
            mid_draws,
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


__all__ = ["AvellanedaStoikovSimulator", "as_step", "fill_probability"]
