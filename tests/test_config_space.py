"""Property test over the config space of every scenario: whatever the validator accepts runs.

For each scenario, hypothesis draws every config field (common and scenario-specific) from a
range that straddles the field's documented valid range, keeps the configs the validator
accepts (the others must raise ``ValueError``, which is checked elsewhere) and runs the first
episode (at most 200 steps) under random actions in the action space, with the corners
(±1, ±1) mixed in. Every observation, reward and numeric info value must be finite.

Magnitudes: fields without a model bound (prices, sizes, rates) are drawn within about
1e-3..1e4, the range of the scales these models describe; configs at the edge of the float64
range (a size mean of 1e300) are not explored here.

The Avellaneda–Stoikov family draws its components (midprice, arrivals, fill function,
reward) and then the parameters of the chosen components, so every combination is explored.

Replay-v0 runs on the AAPL LOBSTER sample (skipped without ``MM_ENV_DATA``); a config that the
validator accepts but that does not fit the data (a split too short for ``n_steps``, a tick
size off the data's grid) raises ``ValueError`` when the env is made and is skipped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from mm_env import (
    AvellanedaStoikovConfig,
    CarteaJaimungalConfig,
    NotebookConfig,
    ReplayConfig,
    SyntheticConfig,
)
from mm_env.config import AS_COMPONENT_FIELDS, AS_COMPONENTS, MarketConfig
from mm_env.env import MarketMakingEnv
from tests.conftest import AAPL_SAMPLE, data_dir, needs_pandas

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _common() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "n_steps": st.integers(1, 200),
        "max_inventory": st.one_of(_floats(1e-3, 1e3), st.just(math.inf)),
        "order_size": _floats(1e-3, 1e3),
        "spread_multiple_range": st.tuples(_floats(-5.0, 10.0), _floats(1e-3, 10.0)).map(
            lambda t: (t[0], t[0] + t[1])
        ),
        "max_skew": _floats(0.0, 20.0),
        "inventory_penalty": _floats(0.0, 10.0),
        "terminal_inventory_penalty": _floats(0.0, 10.0),
        "liquidate_at_end": st.booleans(),
        "inventory_scale": st.one_of(st.none(), _floats(1e-3, 1e3)),
        "obs_imbalance_levels": st.lists(st.integers(1, 12), max_size=3).map(tuple),
        "obs_time_left": st.booleans(),
        "obs_mid_change": st.booleans(),
        "observation_dtype": st.sampled_from(["float32", "float64"]),
        "touch_tolerance": st.one_of(st.just(1e-9), _floats(0.0, 0.02)),
    }


def _sizes() -> st.SearchStrategy[float]:
    return _floats(1e-3, 1e4)


#: the optional observation entries of MarketMaking and Replay (mm_env.execution)
ORDER_OBSERVATION: dict[str, st.SearchStrategy[Any]] = {
    "obs_own_orders": st.booleans(),
    "obs_trade_flow": st.one_of(st.just(0.0), _floats(1e-6, 1e6)),
}
SCENARIO_FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "notebook": {
        "initial_mid": _floats(-1e3, 1e4),
        "drift": _floats(-10.0, 10.0),
        "vol": _floats(0.0, 100.0),
        "spread_base_mean": _floats(1e-3, 10.0),
        "spread_base_noise": _floats(0.0, 10.0),
        "n_levels": st.integers(1, 12),
        "level_size": _sizes(),
        "level_size_decay": _floats(0.0, 100.0),
        "mo_rate": _floats(0.0, 1.0),
        "mo_size": _floats(0.0, 1e3),
        "passive_fraction": _floats(0.0, 2.0),
        "passive_cap": _floats(0.0, 1e3),
    },
    "market_making": {
        "initial_price": _floats(1e-2, 1e4),
        "tick_size": _floats(1e-4, 1.0),
        "n_levels": st.integers(1, 12),
        "initial_spread_ticks": st.integers(1, 12),
        "best_size_mean": _sizes(),
        "deep_size_mean": _sizes(),
        "size_persistence": _floats(0.0, 1.0),
        "size_vol": st.one_of(_floats(0.0, 3.0), _floats(0.0, 1e3)),
        "mo_rate": _floats(0.0, 1.0),
        "mo_imbalance_sensitivity": _floats(0.0, 1.0),
        "mo_size_mean": _sizes(),
        "improve_prob": _floats(0.0, 1.0),
        "improve_size_mean": _sizes(),
        "min_level_size": _floats(1e-6, 10.0),
        # the execution fields (mm_env.execution)
        "queue_model": st.sampled_from(
            ["risk_averse", "power:1", "power:3", "power2:2", "power3:0.5", "log", "log2", "auto"]
        ),
        "keep_priority": st.booleans(),
        "fill_through": st.booleans(),
        "maker_fee_bps": _floats(-10.0, 10.0),
        "taker_fee_bps": _floats(-10.0, 10.0),
        "maker_fee_per_unit": _floats(-1.0, 1.0),
        "taker_fee_per_unit": _floats(-1.0, 1.0),
        "entry_latency": st.one_of(
            _floats(0.0, 30.0), st.just("lognormal:2,1"), st.just((0.0, 0.5, 7.0))
        ),
        "response_latency": st.one_of(_floats(0.0, 30.0), st.just("lognormal:1,0.5")),
        **ORDER_OBSERVATION,
    },
    "avellaneda_stoikov": {
        "initial_mid": _floats(-1e3, 1e4),
        "dt": _floats(1e-5, 1.0),
        "intensity_a": _floats(1e-3, 1e4),
        "intensity_k": _floats(1e-3, 100.0),
        "reference_spread": st.one_of(st.none(), _floats(1e-3, 100.0)),
    },
    "replay": {
        "tick_size": st.sampled_from([0.01, 0.005, 0.0001]),
        "n_levels": st.integers(1, 10),
        "step_seconds": st.one_of(st.none(), _floats(1e-3, 1.0)),
        "split": st.sampled_from(["all", "train", "test"]),
        "split_fraction": _floats(0.05, 0.95),
        "infer_trades": st.booleans(),
        "spread_unit": st.one_of(st.none(), _floats(1e-3, 1.0)),
        **ORDER_OBSERVATION,
    },
}
SCENARIO_FIELDS["cartea_jaimungal"] = SCENARIO_FIELDS["avellaneda_stoikov"]

#: the Avellaneda–Stoikov family's component parameters (issue 14), straddling their ranges;
#: a config draws its components first, then the parameters those components use (the others
#: must stay at their defaults, which the validator enforces and test_stylised checks)
AS_COMPONENT_PARAMS: dict[str, st.SearchStrategy[Any]] = {
    "sigma": _floats(0.0, 100.0),
    "mid_increments": st.sampled_from(["binomial", "gaussian"]),
    "mid_drift": _floats(-200.0, 200.0),
    "ou_rate": _floats(-1.0, 1e3),
    "ou_mean": st.one_of(st.none(), _floats(-1e3, 1e4)),
    "alpha_decay": _floats(-1.0, 1e3),
    "alpha_vol": _floats(-1.0, 1e3),
    "jump_rate": _floats(-1.0, 1e3),
    "jump_mean": _floats(-10.0, 10.0),
    "jump_std": _floats(-1.0, 10.0),
    "heston_v0": _floats(-0.1, 5.0),
    "heston_kappa": _floats(-1.0, 1e3),
    "heston_theta": _floats(-0.1, 5.0),
    "heston_xi": _floats(-0.1, 5.0),
    "heston_rho": _floats(-1.5, 1.5),
    "fill_probability": st.sampled_from(["capped", "exponential"]),
    "hawkes_self": _floats(-1.0, 1e3),
    "hawkes_cross": _floats(-1.0, 1e3),
    "hawkes_decay": _floats(-1.0, 2e3),
    "fill_exponent": _floats(-1.0, 10.0),
    "risk_aversion": _floats(-0.1, 10.0),
    "cev_elasticity": _floats(-0.5, 1.5),
    "inventory_flow": _floats(-1.5, 1.5),
    "inventory_flow_scale": _floats(-1.0, 1e3),
    "max_market_order": _floats(-1.0, 1e3),
    "temporary_impact": _floats(-0.1, 10.0),
    "permanent_impact": _floats(-0.1, 10.0),
}


def _as_components() -> st.SearchStrategy[dict[str, Any]]:
    chosen = st.fixed_dictionaries(
        {name: st.sampled_from(choices) for name, choices in AS_COMPONENTS.items()}
    )

    def with_params(choice: dict[str, str]) -> st.SearchStrategy[dict[str, Any]]:
        used = {
            name: AS_COMPONENT_PARAMS[name]
            for name, (component, users) in AS_COMPONENT_FIELDS.items()
            if choice[component] in users
        }
        return st.fixed_dictionaries({**{k: st.just(v) for k, v in choice.items()}, **used})

    return chosen.flatmap(with_params)


CONFIGS: dict[str, type[MarketConfig]] = {
    "notebook": NotebookConfig,
    "market_making": SyntheticConfig,
    "avellaneda_stoikov": AvellanedaStoikovConfig,
    "cartea_jaimungal": CarteaJaimungalConfig,
    "replay": ReplayConfig,
}


def _check_finite(
    obs: np.ndarray, info: dict[str, Any], where: str, reward: float = 0.0, utility_limit=None
) -> None:
    assert np.all(np.isfinite(obs)), f"{where}: observation {obs}"
    if utility_limit is not None and not math.isfinite(reward):
        # the exponential-utility reward overflows, as documented, only once
        # −γ·pnl − ln γ > 709.78 (e^(−γ·pnl)/γ beyond float64) at the step's start or end
        assert utility_limit > 709.0, f"{where}: reward {reward} at −γ·pnl − ln γ = {utility_limit}"
    else:
        assert math.isfinite(reward), f"{where}: reward {reward}"
    bad = {k: v for k, v in info.items() if isinstance(v, float) and not math.isfinite(v)}
    assert not bad, f"{where}: info {bad}"


def run_first_episode(scenario: str, fields: dict[str, Any], seed: int, data: Any) -> None:
    try:
        config = CONFIGS[scenario](**fields)
    except ValueError:
        reject()  # the validator refused it, with a message naming the field
    try:
        env = MarketMakingEnv(scenario, config, data=data)
    except ValueError:
        if data is None:
            raise
        reject()  # the config does not fit the recorded data (checked when the env is made)
    rng = np.random.default_rng(seed)
    n = config.n_steps
    dim = env.action_space.shape[0]  # 3 with the Avellaneda–Stoikov family's market orders
    actions = rng.uniform(-1.0, 1.0, (n, dim)).astype(np.float32)
    corners = rng.random(n) < 0.3
    actions[corners] = rng.choice([-1.0, 1.0], size=(int(corners.sum()), dim))
    obs, info = env.reset(seed=seed)
    _check_finite(obs, info, "reset")
    gamma = getattr(config, "risk_aversion", 0.0) if getattr(config, "reward", "") else 0.0
    utility = getattr(config, "reward", "pnl") == "exp_utility"
    for t in range(n):
        low_pnl = info["pnl"]
        obs, reward, _, truncated, info = env.step(actions[t])
        limit = -gamma * min(low_pnl, info["pnl"]) - math.log(gamma) if utility else None
        _check_finite(obs, info, f"step {t}", reward, limit)
    assert truncated


def _fields_strategy(scenario: str) -> st.SearchStrategy[dict[str, Any]]:
    fields = st.fixed_dictionaries({**_common(), **SCENARIO_FIELDS[scenario]})
    if scenario in ("avellaneda_stoikov", "cartea_jaimungal"):
        return st.tuples(fields, _as_components()).map(lambda t: {**t[0], **t[1]})
    return fields


@pytest.mark.parametrize(
    "scenario", ["notebook", "market_making", "avellaneda_stoikov", "cartea_jaimungal"]
)
def test_every_accepted_config_runs_finite(scenario: str) -> None:
    @SETTINGS
    @given(fields=_fields_strategy(scenario), seed=st.integers(0, 2**16))
    def check(fields: dict[str, Any], seed: int) -> None:
        run_first_episode(scenario, fields, seed, None)

    check()


@needs_pandas
def test_every_accepted_replay_config_runs_finite() -> None:
    path = data_dir() / AAPL_SAMPLE
    if not path.is_dir():
        pytest.skip(f"AAPL LOBSTER sample not found at {path} (set MM_ENV_DATA)")

    @SETTINGS
    @given(fields=_fields_strategy("replay"), seed=st.integers(0, 2**16))
    def check(fields: dict[str, Any], seed: int) -> None:
        run_first_episode("replay", fields, seed, str(path))

    check()
