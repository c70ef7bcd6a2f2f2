"""The seed notebook's book and fill rules, exactly (``mm_env/Notebook-v0``).

Random contract (so anyone can check this port against the notebook): every draw the notebook
makes from ``np.random`` is made from the generator passed in (the env's ``np_random``), in the
notebook's order. At reset, per row: ``n_steps`` standard normals for the mid path, then
``n_steps`` for spread_base. At each step, per row: one uniform for the buyer arrival, then one
for the seller arrival; nothing else.

Touch comparisons (the notebook's ``qb >= bids_t[0]``) accept a quote within
``touch_tolerance`` of the best price, so a quote computed to sit on the touch counts as on it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from mm_env.config import NotebookConfig
from mm_env.core import (
    ASK_QUOTE,
    BID_QUOTE,
    N_COMMON_PARAMS,
    P_TOL,
    PARALLEL_MIN_ROWS,
    STEP,
    Simulator,
    begin_step,
    fill_ask,
    fill_bid,
    imbalance_of,
    quotes_from_action,
    settle,
    step_kernel,
    write_observation,
)

# book parameters, after the common ones
P_MO_RATE = N_COMMON_PARAMS + 0
P_MO_SIZE = N_COMMON_PARAMS + 1
P_PASSIVE_FRACTION = N_COMMON_PARAMS + 2
P_PASSIVE_CAP = N_COMMON_PARAMS + 3


@njit(cache=True, inline="always")
def _notebook_step_row(
    i: int,
    state: NDArray[np.float64],
    mid_path: NDArray[np.float64],
    half_spread_path: NDArray[np.float64],
    sizes: NDArray[np.float64],
    params: NDArray[np.float64],
    actions: NDArray[np.float64],
    uniforms: NDArray[np.float64],
    depths: NDArray[np.int64],
    obs: NDArray[np.float64],
    truncated: NDArray[np.bool_],
) -> None:
    n_levels = sizes.shape[0]
    n_steps = mid_path.shape[1]
    tol = params[P_TOL]
    t = int(state[i, STEP])
    mid = mid_path[i, t]
    sb = half_spread_path[i, t]
    best_bid = mid - sb  # the notebook's bids[t, 0] = mid - (0 + 1) * spread_base
    best_ask = mid + sb
    imb = imbalance_of(sizes, sizes, n_levels)  # identical sides: exactly 0, as in the notebook
    begin_step(state, i, mid, best_bid, best_ask, 2.0 * sb, imb)
    qb, qa = quotes_from_action(state, i, actions[i, 0], actions[i, 1], params)
    state[i, BID_QUOTE] = qb
    state[i, ASK_QUOTE] = qa
    # simulate_fills: two arrivals, then passive fills, then market orders
    lam = params[P_MO_RATE]
    takes_buy = uniforms[i, 0] < lam * (1.0 + max(0.0, -imb)) * 0.5
    takes_sell = uniforms[i, 1] < lam * (1.0 + max(0.0, imb)) * 0.5
    bid_on_touch = qb >= best_bid - tol
    ask_on_touch = qa <= best_ask + tol
    passive = min(params[P_PASSIVE_FRACTION] * sizes[0], params[P_PASSIVE_CAP])
    if bid_on_touch:
        fill_bid(state, i, passive, qb, params)
    if ask_on_touch:
        fill_ask(state, i, passive, qa, params)
    if takes_buy and ask_on_touch:
        fill_ask(state, i, params[P_MO_SIZE], qa, params)
    if takes_sell and bid_on_touch:
        fill_bid(state, i, params[P_MO_SIZE], qb, params)
    truncated[i] = settle(state, i, params)
    # the next book (the last one is shown again after the final step)
    tn = min(t + 1, n_steps - 1)
    write_observation(
        obs,
        i,
        state,
        imb,
        2.0 * half_spread_path[i, tn],
        mid_path[i, tn],
        sizes,
        sizes,
        depths,
        params,
    )


@step_kernel()
def notebook_step(
    state,
    mid_path,
    half_spread_path,
    sizes,
    params,
    actions,
    uniforms,
    depths,
    obs,
    truncated,
    active,
):
    """Step every active row (serial; for small batches and the single env)."""
    for i in range(state.shape[0]):
        if active[i]:
            _notebook_step_row(
                i,
                state,
                mid_path,
                half_spread_path,
                sizes,
                params,
                actions,
                uniforms,
                depths,
                obs,
                truncated,
            )


@step_kernel(parallel=True)
def notebook_step_parallel(
    state,
    mid_path,
    half_spread_path,
    sizes,
    params,
    actions,
    uniforms,
    depths,
    obs,
    truncated,
    active,
):
    """Step every active row on all cores (rows are independent)."""
    for i in prange(state.shape[0]):
        if active[i]:
            _notebook_step_row(
                i,
                state,
                mid_path,
                half_spread_path,
                sizes,
                params,
                actions,
                uniforms,
                depths,
                obs,
                truncated,
            )


@njit(cache=True)
def notebook_reset_rows(
    state: NDArray[np.float64],
    rows: NDArray[np.intp],
    mid_path: NDArray[np.float64],
    half_spread_path: NDArray[np.float64],
    sizes: NDArray[np.float64],
    params: NDArray[np.float64],
    depths: NDArray[np.int64],
    obs: NDArray[np.float64],
) -> None:
    n_levels = sizes.shape[0]
    for i in rows:
        imb = imbalance_of(sizes, sizes, n_levels)
        mid = mid_path[i, 0]
        sb = half_spread_path[i, 0]
        begin_step(state, i, mid, mid - sb, mid + sb, 2.0 * sb, imb)
        write_observation(obs, i, state, imb, 2.0 * sb, mid, sizes, sizes, depths, params)


class NotebookSimulator(Simulator):
    """The notebook's synthetic book (section 2) and fill simulator (section 6)."""

    config: NotebookConfig

    def __init__(self, config: NotebookConfig, n_envs: int = 1) -> None:
        super().__init__(config, n_envs)
        self.multithreaded = self.n_envs >= PARALLEL_MIN_ROWS
        T, L = config.n_steps, config.n_levels
        self.mid_path = np.zeros((self.n_envs, T))
        self.half_spread_path = np.zeros((self.n_envs, T))
        # the notebook's size_curve(i) = 2 * exp(-0.2 i), identical on both sides
        self.sizes = np.array(
            [config.level_size * np.exp(-config.level_size_decay * i) for i in range(L)]
        )

    def book_params(self) -> list[float]:
        c = self.config
        return [c.mo_rate, c.mo_size, c.passive_fraction, c.passive_cap]

    def _reset_rows(self, rows: NDArray[np.intp], rng: np.random.Generator) -> None:
        c = self.config
        T = c.n_steps
        # per row: T normals for the mid path, then T for spread_base (the notebook's order)
        z = rng.standard_normal((rows.size, 2, T))
        self.mid_path[rows] = c.initial_mid + np.cumsum(c.drift + c.vol * z[:, 0, :], axis=1)
        self.half_spread_path[rows] = c.spread_base_mean + c.spread_base_noise * np.abs(z[:, 1, :])
        notebook_reset_rows(
            self.state,
            rows,
            self.mid_path,
            self.half_spread_path,
            self.sizes,
            self.params,
            self.depths,
            self.obs,
        )

    def _step_kernel(
        self, actions: NDArray[np.float64], rng: np.random.Generator, active: NDArray[np.bool_]
    ) -> None:
        uniforms = rng.random((self.n_envs, 2))  # buyer arrival, then seller arrival
        kernel = notebook_step_parallel if self.multithreaded else notebook_step
        kernel(
            self.state,
            self.mid_path,
            self.half_spread_path,
            self.sizes,
            self.params,
            actions,
            uniforms,
            self.depths,
            self.obs,
            self.truncated,
            active,
        )

    def book_snapshot(self, row: int = 0) -> dict[str, NDArray[np.float64]]:
        t = min(int(self.state[row, STEP]), self.config.n_steps - 1)
        mid, sb = self.mid_path[row, t], self.half_spread_path[row, t]
        k = np.arange(1, self.config.n_levels + 1)
        return {
            "bid_prices": mid - k * sb,
            "bid_sizes": self.sizes.copy(),
            "ask_prices": mid + k * sb,
            "ask_sizes": self.sizes.copy(),
        }


__all__ = ["NotebookSimulator", "notebook_step"]
