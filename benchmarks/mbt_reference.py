"""NumPy reference for the per-step work of mbt-gym's vectorised AS/CJ market-making env.

Re-implements (own code) what ``TradingEnvironment.step`` does with ``num_trajectories=N`` in
JJJerome/mbt_gym, read at: gym/TradingEnvironment.py @35880787, gym/ModelDynamics.py @591d8fef,
stochastic_processes/midprice_models.py @45b185e5, arrival_models.py @264c6228,
fill_probability_models.py and StochasticProcessModel.py @a444f6e0, rewards/RewardFunctions.py
@45b185e5. Setup is the repo's ``get_cj_env`` (SB3 CJ notebook): LimitOrderModelDynamics with
BrownianMotionMidpriceModel, PoissonArrivalModel, ExponentialFillFunction and CjMmCriterion.
State columns: cash, inventory, time, midprice (arrival/fill processes have 0-wide states).

``step`` mirrors, in order:
 1. TradingEnvironment.step: ``current_state = state.copy()``.
 2. PoissonArrivalModel.get_arrivals: uniforms (N, 2) < intensity * step_size -> bool.
 3. ModelDynamics._limit_depths + FillProbabilityModel.get_fills (shape assert) and
    ExponentialFillFunction._get_fill_probabilities: uniforms (N, 2) < exp(-kappa * depths).
 4. TradingEnvironment._remove_max_inventory_fills: ``1 - (q >= max)``, ``1 - (q <= -max)``,
    reshape, concatenate -> int (N, 2) mask times fills.
 5. LimitOrderModelDynamics.update_state: inventory += sum(arrivals*fills*-fill_multiplier);
    cash += sum(fill_multiplier*arrivals*fills*(midprice + depths*fill_multiplier)), with the
    pre-step midprice (ModelDynamics.midprice: ``current_state[:, 0].reshape(-1, 1)``).
 6. TradingEnvironment._clip_inventory_and_cash/_clip: np.clip of inventory then cash, each
    followed by two ``(not_clipped != clipped).any()`` checks; then time += step_size.
 7. TradingEnvironment._update_market_state: BrownianMotionMidpriceModel.update
    (``x + drift*dt*ones((N, 1)) + sigma*sqrt(dt)*normal((N, 1))``) -> ``state[:, 3:4]``; the
    arrival and fill processes' no-op updates and their (N, 0) writes into ``state[:, 4:4]``.
 8. TradingEnvironment._get_dones: ``state[0, 2] >= T - dt/2`` -> np.full((N,), done).
 9. CjMmCriterion.calculate (+ PnL.calculate): dt column difference, mark-to-market PnL,
    ``- dt*phi*q'**2 - alpha*(q'**2 - q**2 + dt/episode_length * q0**2)``.
10. Infos: the prebuilt list of N empty dicts (info_calculator None); obs = ``state.copy()``.

Choices: (a) normalise_action_space / normalise_observation_space / normalise_rewards are off,
as in get_cj_env, so steps 1 and 10 do no affine maps; (b) initial inventory is the int default
0 (get_cj_env draws from (-4, 5); only reset is affected), max_inventory = n_steps as there;
(c) one Generator per process seeded seed+1..3, as TradingEnvironment.seed does; (d) mbt-gym's
Python dispatch (properties, per-process loop, method calls) is flattened here, so this reference
is, if anything, slightly faster than mbt-gym itself; the StableBaselinesTradingEnvironment
wrapper is not included.
"""

from __future__ import annotations

import time
from math import sqrt
from typing import Any

import numpy as np


class MbtStyleASEnv:
    def __init__(
        self,
        num_trajectories: int,
        seed: int = 0,
        n_steps: int = 1000,
        dt: float = 0.001,
        sigma: float = 2.0,
        arrival_rate: float = 140.0,
        fill_exponent: float = 1.5,
        phi: float = 0.01,
        alpha: float = 0.001,
    ) -> None:
        self.n = num_trajectories
        self.n_steps, self.step_size, self.terminal_time = n_steps, dt, n_steps * dt
        self.sigma, self.drift, self.initial_price = sigma, 0.0, 100
        self.intensity = np.array([arrival_rate, arrival_rate])
        self.fill_exponent, self.phi, self.alpha, self.exponent = fill_exponent, phi, alpha, 2.0
        self.max_inventory = n_steps
        self.max_cash = n_steps * (self.initial_price + 4 * sigma * np.sqrt(self.terminal_time))
        self.rng_mid, self.rng_arr, self.rng_fill = (
            np.random.default_rng(seed + i) for i in (1, 2, 3)
        )
        ones = np.ones((self.n, 1))
        self.fill_multiplier = np.append(-ones, ones, axis=1)
        self.empty_infos: list[dict[str, Any]] = [{} for _ in range(self.n)]
        self.reset()

    def _vector(self, row: np.ndarray) -> np.ndarray:  # StochasticProcessModel.initial_vector_state
        return np.repeat(row, self.n, axis=0)

    def reset(self) -> np.ndarray:
        self.mid_state = self._vector(np.array([[self.initial_price]]))
        self.arr_state = self._vector(np.array([[]]))
        self.fill_state = self._vector(np.array([[]]))
        state = np.repeat(np.array([[0.0, 0, 0.0]]), self.n, axis=0)
        state[:, 2] = np.round(0.0 / self.step_size) * self.step_size * np.ones((self.n,))
        state[:, 1] = 0 * np.ones((self.n,))
        for row in (np.array([[self.initial_price]]), np.array([[]]), np.array([[]])):
            state = np.append(state, self._vector(row), axis=1)
        self.state = state
        first = state.copy()  # CjMmCriterion.reset
        self.initial_inventory = first[:, 1]
        self.episode_length = self.terminal_time - first[:, 2]
        return state.copy()

    def _clip(self, x: np.ndarray, bound: float, cash: bool) -> np.ndarray:
        clipped = np.clip(x, -bound, bound)
        if (x != clipped).any() and cash:
            print("clipping cash")
        if (x != clipped).any() and not cash:
            print("clipping inventory")
        return clipped

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        n, state, dt = self.n, self.state, self.step_size
        current = state.copy()
        arrivals = self.rng_arr.uniform(size=(n, 2)) < self.intensity * dt
        depths = action[:, 0:2]
        assert depths.shape == (n, 2)
        fills = self.rng_fill.uniform(size=(n, 2)) < np.exp(-self.fill_exponent * depths)
        at_max = state[:, 1] >= self.max_inventory
        at_min = state[:, 1] <= -self.max_inventory
        mask = np.concatenate(((1 - at_max).reshape(-1, 1), (1 - at_min).reshape(-1, 1)), axis=1)
        fills = mask * fills
        mult = self.fill_multiplier
        state[:, 1] += np.sum(arrivals * fills * -mult, axis=1)
        midprice = self.mid_state[:, 0].reshape(-1, 1)
        state[:, 0] += np.sum(mult * arrivals * fills * (midprice + action[:, 0:2] * mult), axis=1)
        state[:, 1] = self._clip(state[:, 1], self.max_inventory, cash=False)
        state[:, 0] = self._clip(state[:, 0], self.max_cash, cash=True)
        state[:, 2] += dt
        self.mid_state = (
            self.mid_state
            + self.drift * dt * np.ones((n, 1))
            + self.sigma * sqrt(dt) * self.rng_mid.normal(size=(n, 1))
        )
        state[:, 3:4] = self.mid_state
        state[:, 4:4] = self.arr_state
        state[:, 4:4] = self.fill_state
        done = state[0, 2] >= self.terminal_time - dt / 2
        dones = np.full((n,), done, dtype=bool)
        assert len(current.shape) > 1
        t_step = state[:, 2] - current[:, 2]
        current_value = current[:, 0] + current[:, 1] * current[:, 3]
        pnl = state[:, 0] + state[:, 1] * state[:, 3] - current_value
        e, q0, horizon = self.exponent, self.initial_inventory, self.episode_length
        rewards = pnl - t_step * self.phi * state[:, 1] ** e
        rewards = rewards - self.alpha * (
            state[:, 1] ** e - current[:, 1] ** e + t_step / horizon * q0**e
        )
        return state.copy(), rewards, dones, self.empty_infos


if __name__ == "__main__":
    N = 1000
    env = MbtStyleASEnv(N)
    action = np.full((N, 2), 1 / 1.5)
    env.reset()
    ret = np.zeros(N)
    for _ in range(env.n_steps):
        ret += env.step(action)[1]
    print(f"mean episode return (depth 1/1.5, {env.n_steps} steps): {ret.mean():.2f}")
    env.reset()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        for _ in range(100):
            if env.step(action)[2][0]:
                env.reset()
        steps += 100
    rate = N * steps / (time.perf_counter() - start)
    print(f"N={N}: {steps} steps, {rate:,.0f} env-steps/s")
