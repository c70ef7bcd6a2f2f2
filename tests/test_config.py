"""Every invalid config value raises ValueError naming the field."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

import mm_env  # noqa: F401
from mm_env import NotebookConfig, SyntheticConfig

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
