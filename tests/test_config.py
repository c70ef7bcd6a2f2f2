"""Every invalid config value raises ValueError naming the field."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest

import mm_env  # noqa: F401
from mm_env import (
    AvellanedaStoikovConfig,
    CarteaJaimungalConfig,
    NotebookConfig,
    ReplayConfig,
    SyntheticConfig,
)

COMMON_BAD = [
    ("n_steps", 0),
    ("n_steps", 2.5),
    ("n_steps", True),
    ("max_inventory", 0.0),
    ("max_inventory", -1.0),
    ("max_inventory", math.nan),
    ("order_size", 0.0),
    ("order_size", math.inf),
    ("spread_multiple_range", (2.0, 1.0)),
    ("spread_multiple_range", (0.0,)),
    ("spread_multiple_range", (0.0, math.nan)),
    ("max_skew", -0.1),
    ("inventory_penalty", -1.0),
    ("terminal_inventory_penalty", -1.0),
    ("liquidate_at_end", 1),
    ("inventory_scale", 0.0),
    ("obs_imbalance_levels", (0,)),
    ("obs_imbalance_levels", (11,)),
    ("obs_imbalance_levels", 3),
    ("obs_time_left", "yes"),
    ("obs_mid_change", 1),
    ("observation_dtype", "int8"),
    ("touch_tolerance", -1e-9),
]
NOTEBOOK_BAD = [
    ("vol", -0.1),
    ("vol", math.nan),
    ("n_levels", 0),
    ("spread_base_mean", 0.0),
    ("spread_base_noise", -0.01),
    ("level_size", 0.0),
    ("level_size_decay", -1.0),
    ("mo_rate", 1.5),
    ("mo_size", -0.5),
    ("passive_fraction", -0.3),
    ("passive_cap", -1.0),
    ("drift", math.inf),
    ("initial_mid", "100"),
]
SYNTHETIC_BAD = [
    ("tick_size", 0.0),
    ("tick_size", -0.01),
    ("n_levels", 0),
    ("initial_spread_ticks", 0),
    ("best_size_mean", 0.0),
    ("deep_size_mean", -1.0),
    ("size_persistence", 1.5),
    ("size_vol", -0.1),
    ("mo_rate", -0.1),
    ("mo_imbalance_sensitivity", 2.0),
    ("mo_size_mean", 0.0),
    ("improve_prob", 1.1),
    ("improve_size_mean", 0.0),
    ("min_level_size", 0.0),
    ("initial_price", -100.0),
]


@pytest.mark.parametrize(("field", "value"), COMMON_BAD + SYNTHETIC_BAD)
def test_synthetic_config_rejects(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"'{field}'"):
        SyntheticConfig(**{field: value})


@pytest.mark.parametrize(("field", "value"), COMMON_BAD + NOTEBOOK_BAD)
def test_notebook_config_rejects(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"'{field}'"):
        NotebookConfig(**{field: value})


def test_bad_value_through_gym_make_names_field() -> None:
    with pytest.raises(ValueError, match="'vol'"):
        gym.make("mm_env/Notebook-v0", vol=-0.1)


def test_infinite_limit_needs_inventory_scale() -> None:
    with pytest.raises(ValueError, match="'inventory_scale'"):
        SyntheticConfig(max_inventory=math.inf)
    assert SyntheticConfig(max_inventory=math.inf, inventory_scale=5.0).inventory_norm == 5.0


def test_configs_are_frozen_and_replace_validates() -> None:
    c = SyntheticConfig()
    with pytest.raises(AttributeError):
        c.tick_size = 0.5  # type: ignore[misc]
    assert c.replace(tick_size=0.05).tick_size == 0.05
    with pytest.raises(ValueError, match="'tick_size'"):
        c.replace(tick_size=-1.0)


def test_notebook_defaults_are_the_notebook() -> None:
    c = NotebookConfig()
    assert (c.n_steps, c.drift, c.vol, c.n_levels, c.level_size, c.level_size_decay) == (
        2000,
        0.0,
        0.1,
        10,
        2.0,
        0.2,
    )
    assert (c.spread_base_mean, c.spread_base_noise, c.mo_rate, c.mo_size) == (0.04, 0.02, 0.2, 0.5)
    assert (c.passive_fraction, c.passive_cap, c.max_inventory) == (0.3, 1.0, math.inf)


# ---- model ranges (issue 10): values the models are not defined at -----------------------------
@pytest.mark.parametrize(
    ("overrides", "field", "why"),
    [
        ({"size_persistence": 1.0}, "size_persistence", "random walk"),
        ({"size_persistence": 1.0, "size_vol": 1e-9}, "size_persistence", "random walk"),
        ({"size_vol": 1000.0}, "size_vol", "stationary log-size standard deviation"),
        ({"size_vol": 1.0, "size_persistence": 0.999}, "size_vol", "sqrt"),
        ({"mo_rate": 0.8, "mo_imbalance_sensitivity": 0.5}, "mo_rate", "must be <= 1"),
        ({"touch_tolerance": 0.005}, "touch_tolerance", "tick_size / 2"),
        ({"spread_multiple_range": (-0.5, 4.0)}, "spread_multiple_range", "bid above our ask"),
    ],
)
def test_synthetic_rejects_values_outside_the_model(overrides, field, why) -> None:
    with pytest.raises(ValueError, match=f"'{field}'.*{why}"):
        SyntheticConfig(**overrides)


def test_synthetic_bounds_are_inclusive_where_the_model_is_defined() -> None:
    # the largest allowed stationary log-size sd, and the largest arrival probability 1
    sd = SyntheticConfig.MAX_LOG_SIZE_SD
    assert SyntheticConfig(size_persistence=0.0, size_vol=sd).size_vol == sd
    assert SyntheticConfig(mo_rate=0.5, mo_imbalance_sensitivity=1.0).mo_rate == 0.5
    assert SyntheticConfig(spread_multiple_range=(0.0, 1.0)).spread_multiple_range == (0.0, 1.0)
    # no reversion and no noise: sizes frozen at their means (the still book of test_synthetic)
    assert SyntheticConfig(size_persistence=1.0, size_vol=0.0).size_persistence == 1.0


@pytest.mark.parametrize(
    ("overrides", "field", "why"),
    [
        ({"passive_fraction": 1.5}, "passive_fraction", r"\[0, 1\]"),
        ({"touch_tolerance": 0.02}, "touch_tolerance", "spread_base_mean / 2"),
    ],
)
def test_notebook_rejects_values_outside_the_model(overrides, field, why) -> None:
    with pytest.raises(ValueError, match=f"'{field}'.*{why}"):
        NotebookConfig(**overrides)


def test_notebook_alone_may_cross_its_own_quotes() -> None:
    assert NotebookConfig().spread_multiple_range == (-3.0, 5.0)
    assert NotebookConfig(spread_multiple_range=(-10.0, -5.0)).spread_multiple_range[0] == -10.0


@pytest.mark.parametrize(
    ("overrides", "field", "why"),
    [
        ({"spread_multiple_range": (-1.0, 4.0)}, "spread_multiple_range", "bid above our ask"),
        ({"touch_tolerance": 0.01}, "touch_tolerance", "tick_size / 2"),
    ],
)
def test_replay_rejects_values_outside_the_model(overrides, field, why) -> None:
    with pytest.raises(ValueError, match=f"'{field}'.*{why}"):
        ReplayConfig(**overrides)


@pytest.mark.parametrize("cls", [AvellanedaStoikovConfig, CarteaJaimungalConfig])
@pytest.mark.parametrize("bad", [(0.0, 4.0), (-1.0, 4.0), (-2.0, -1.0)])
def test_avellaneda_stoikov_family_needs_a_positive_spread_multiple(cls, bad) -> None:
    with pytest.raises(ValueError, match="'spread_multiple_range'.*needs low > 0"):
        cls(spread_multiple_range=bad)
    lo, hi = cls().spread_multiple_range
    assert 0.0 < lo and (lo + hi) / 2 == 2.0  # action 0 is still spread multiple 2


# ---- NumPy scalars (issue 10) ------------------------------------------------------------------
def test_numpy_scalars_are_accepted_and_stored_as_python_scalars() -> None:
    c = SyntheticConfig(
        n_steps=np.int64(100),
        n_levels=np.int32(8),
        initial_spread_ticks=np.uint8(2),
        tick_size=np.float32(0.5),
        size_vol=np.float64(0.3),
        max_inventory=np.int16(5),
        spread_multiple_range=(np.float32(0.5), np.int64(3)),
        obs_imbalance_levels=(np.int64(2), 3),
        liquidate_at_end=np.bool_(True),
        observation_dtype=np.str_("float64"),
    )
    assert c == SyntheticConfig(
        n_steps=100,
        n_levels=8,
        initial_spread_ticks=2,
        tick_size=0.5,
        size_vol=0.3,
        max_inventory=5,
        spread_multiple_range=(0.5, 3.0),
        obs_imbalance_levels=(2, 3),
        liquidate_at_end=True,
        observation_dtype="float64",
    )
    plain = (int, float, bool, str, tuple, type(None))
    for name, value in c.to_dict().items():
        assert type(value) in plain, (name, type(value))
    for name in ("n_steps", "n_levels", "initial_spread_ticks"):
        assert type(getattr(c, name)) is int
    assert type(c.tick_size) is float and type(c.size_vol) is float
    assert all(type(k) is int for k in c.obs_imbalance_levels)
    assert json.loads(json.dumps(c.to_dict()))["n_steps"] == 100
    env = gym.make("mm_env/MarketMaking-v0", n_steps=np.int64(7))
    assert env.unwrapped.config.n_steps == 7
    as_config = AvellanedaStoikovConfig(sigma=np.float32(2.0), dt=np.float64(0.01))
    assert type(as_config.sigma) is float and as_config.horizon == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n_steps", np.bool_(True)),
        ("n_steps", np.float64(100.0)),
        ("tick_size", np.bool_(True)),
        ("tick_size", np.float32("nan")),
        ("obs_imbalance_levels", (np.float64(2.0),)),
        ("liquidate_at_end", np.int64(1)),
    ],
)
def test_numpy_values_of_the_wrong_kind_are_still_rejected(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"'{field}'"):
        SyntheticConfig(**{field: value})
