"""Exact expected episode returns of quoting policies in the Avellaneda–Stoikov family of envs.

In ``mm_env/AvellanedaStoikov-v0`` and ``mm_env/CarteaJaimungal-v0`` (and the configs built on
them) a policy that reads only the time and its inventory is a Markov policy of (step k,
inventory q). Its expected episode return is computed here exactly, by backward recursion
over the env's own step dynamics (:mod:`mm_env.scenarios.avellaneda_stoikov` and
:func:`mm_env.core.settle`), with no simulation and no continuous-time approximation:

* step k, inventory q: the bid fills with probability p(δ_b) and the ask with p(δ_a),
  independently, p(δ) = p(A·e^(−kδ)·dt) as in :func:`mm_env.scenarios.avellaneda_stoikov.
  fill_probability`; a bid fill at q = +Q and an ask fill at q = −Q are refused (the inventory
  limit), the other side still fills;
* the step's reward is δ_b·1{bid} + δ_a·1{ask} (the spread earned against the mid the quotes
  met) − inventory_penalty·q'² (q' the inventory after the fills), less
  terminal_inventory_penalty·q'² at the last step;
* the inventory's mark-to-market term q'·(s_{t+1} − s_t) has mean zero (the mid is a
  martingale independent of the fills) and is left out of the expectation.

Order size 1 and an integer, finite inventory limit Q are required (the chain lives on
q = −Q..Q). :func:`applied_depths` tabulates the depths a ``predict`` policy really quotes,
through the env's action map and its clipping; :func:`expected_return` evaluates any table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from baselines.base import env_config
from mm_env.actions import ActionMapping
from mm_env.config import AvellanedaStoikovConfig
from mm_env.core import observation_names


def _check(config: Any) -> int:
    if not isinstance(config, AvellanedaStoikovConfig):
        raise ValueError(
            f"exact returns need an AvellanedaStoikovConfig, got {type(config).__name__}"
        )
    return inventory_grid(config, "exact returns need")


def inventory_grid(config: Any, who_needs: str) -> int:
    """Q of a recursion over the inventories -Q..Q (exact returns, AlphaOptimal): it needs
    ``order_size`` 1 and a finite integer ``max_inventory`` >= 1; ``who_needs`` starts the
    error message."""
    if config.order_size != 1.0:
        raise ValueError(f"{who_needs} order_size 1 (got {config.order_size!r})")
    limit = config.max_inventory
    if not math.isfinite(limit) or limit != int(limit) or limit < 1:
        raise ValueError(
            f"{who_needs} a finite integer max_inventory >= 1, the inventory grid (got {limit!r})"
        )
    return int(limit)


def _fill_probability(config: AvellanedaStoikovConfig, depth: NDArray[np.float64]) -> Any:
    """p(A·e^(−kδ)·dt): the env's per-step fill probability (Avellaneda & Stoikov 2008,
    eq. 2.11), capped or exponential as the config says."""
    x = config.intensity_a * np.exp(-config.intensity_k * depth) * config.dt
    if config.fill_probability == "exponential":
        return 1.0 - np.exp(-x)
    return np.minimum(x, 1.0)


def applied_depths(policy: Any, config: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(δ_b, δ_a), each of shape (n_steps, 2Q + 1), that ``policy`` quotes at step k and
    inventory q = −Q..Q in the env of ``config``: its action for the observation of (k, q)
    (imbalance 0, spread entry 1, time left 1 − k/n_steps), clipped and mapped back as the env
    does. Only for policies that read nothing but the time and the inventory."""
    if hasattr(config, "unwrapped") or hasattr(config, "simulator"):
        config = env_config(config)
    bound = _check(config)
    n = config.n_steps
    names = observation_names(config)
    extra = sorted(set(names) - {"imbalance", "inventory", "spread", "time_left"})
    if extra:
        raise ValueError(f"applied_depths builds only time/inventory observations, not {extra}")
    q = np.arange(-bound, bound + 1, dtype=np.float64)
    steps = np.arange(n, dtype=np.float64)
    kk, qq = np.meshgrid(steps, q, indexing="ij")
    obs = np.zeros((kk.size, len(names)))
    obs[:, names.index("inventory")] = qq.ravel() / config.inventory_norm
    obs[:, names.index("spread")] = 1.0
    if "time_left" in names:
        obs[:, names.index("time_left")] = 1.0 - kk.ravel() / n
    obs = obs.astype(config.observation_dtype)
    action, _ = policy.predict(obs, deterministic=True)
    m, skew = ActionMapping.from_config(config).to_spread_skew(np.clip(action, -1.0, 1.0))
    half = 0.5 * m * config.depth_unit
    shape = (n, q.size)
    return (half * (1.0 + skew)).reshape(shape), (half * (1.0 - skew)).reshape(shape)


def expected_return(
    config: Any, bid_depths: Any, ask_depths: Any
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact E[episode return | q_0 = q] for q = −Q..Q, and the expected fills per episode,
    of the Markov policy quoting ``bid_depths[k, q + Q]`` and ``ask_depths[k, q + Q]`` (arrays
    broadcastable to (n_steps, 2Q + 1); scalars for a constant quote). See the module
    docstring for the dynamics."""
    bound = _check(config)
    n = config.n_steps
    size = 2 * bound + 1
    bid = np.broadcast_to(np.asarray(bid_depths, dtype=np.float64), (n, size))
    ask = np.broadcast_to(np.asarray(ask_depths, dtype=np.float64), (n, size))
    q = np.arange(-bound, bound + 1, dtype=np.float64)
    can_buy = q < bound
    can_sell = q > -bound
    value = np.zeros(size)
    fills = np.zeros(size)
    for k in range(n - 1, -1, -1):
        pb = np.where(can_buy, _fill_probability(config, bid[k]), 0.0)
        pa = np.where(can_sell, _fill_probability(config, ask[k]), 0.0)
        penalty = config.inventory_penalty + (
            config.terminal_inventory_penalty if k == n - 1 else 0.0
        )
        if config.liquidate_at_end and k == n - 1:
            raise ValueError("exact returns do not model liquidate_at_end")
        # next value less the penalty, at q' = q + 1 (bid only), q (none or both), q − 1 (ask)
        after = value - penalty * q**2
        up = np.append(after[1:], 0.0)  # q + 1 (never reached from +Q: pb = 0 there)
        down = np.insert(after[:-1], 0, 0.0)  # q − 1 (never reached from −Q: pa = 0 there)
        value = (
            pb * (1 - pa) * up
            + pa * (1 - pb) * down
            + (pb * pa + (1 - pb) * (1 - pa)) * after
            + pb * np.where(can_buy, bid[k], 0.0)
            + pa * np.where(can_sell, ask[k], 0.0)
        )
        fills_up = np.append(fills[1:], 0.0)
        fills_down = np.insert(fills[:-1], 0, 0.0)
        fills = (
            pb * (1 - pa) * fills_up
            + pa * (1 - pb) * fills_down
            + (pb * pa + (1 - pb) * (1 - pa)) * fills
            + pb
            + pa
        )
    return value, fills


def expected_return_of(policy: Any, config: Any) -> float:
    """The exact expected episode return of a time/inventory ``policy`` from inventory 0 (where
    every episode starts; :func:`applied_depths`, then :func:`expected_return`)."""
    bound = _check(config)
    bid, ask = applied_depths(policy, config)
    value, _ = expected_return(config, bid, ask)
    return float(value[bound])


__all__ = ["applied_depths", "expected_return", "expected_return_of"]
