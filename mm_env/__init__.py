"""mm_env: Gymnasium environments for market making driven by limit-order-book imbalance.

``import mm_env`` registers the environment ids below and imports neither torch,
stable-baselines3 nor matplotlib.

* ``mm_env/MarketMaking-v0``: a queue-reactive tick-grid book in which imbalance predicts the mid.
* ``mm_env/MarketMaking-v1``: the same book with the execution rules of :mod:`mm_env.execution`
  (a partly filled order keeps its place, cancellations move us up by the power:1 queue model);
  latency (in steps) and fees are options of both.
* ``mm_env/Notebook-v0``: the seed notebook's market, exactly.
* ``mm_env/AvellanedaStoikov-v0``: Avellaneda & Stoikov (2008): Brownian mid, Poisson fills.
* ``mm_env/CarteaJaimungal-v0``: that market, Cartea–Jaimungal–Penalva's penalties: a known optimum.
* ``mm_env/Replay-v0``: a recorded LOBSTER or L2 snapshot book replayed (``data=``).
* ``mm_env/Replay-v1``: the same with the execution rules of :mod:`mm_env.execution` (exact
  queue from LOBSTER order ids, a partly filled order keeps its place, trades through our price
  fill the whole order); latency and fees are options of both.
"""

from __future__ import annotations

import os

# The multi-threaded kernels use numba's OpenMP layer (libgomp); torch's CPU kernels use libgomp
# too and read the same variables. libgomp's default lets an idle thread spin 300,000 times
# before it sleeps: with more threads than cores (several env processes, a trainer) that
# collapsed our vector env's step 5-30x. Passive waiting (OMP_WAIT_POLICY=PASSIVE, our earlier
# setting) avoids that but halved SB3's PPO training on the CPU, torch's threads sleeping between
# its parallel regions. A short spin (GOMP_SPINCOUNT=1000) keeps most of both (README, "Speed").
# Only where the user set neither variable; libgomp reads them when it loads, so this has no
# effect if torch (or another OpenMP user) was imported before mm_env.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "1000"

from gymnasium.envs.registration import register, registry  # noqa: E402

from mm_env import _jit_cache

_jit_cache.refresh()  # before any kernel is loaded from numba's cache

from mm_env.actions import ActionMapping  # noqa: E402
from mm_env.config import (  # noqa: E402
    AvellanedaStoikovConfig,
    CarteaJaimungalConfig,
    MarketConfig,
    NotebookConfig,
    ReplayConfig,
    SyntheticConfig,
)
from mm_env.env import SCENARIOS, MarketMakingEnv, make_config, make_simulator  # noqa: E402
from mm_env.vector import MarketMakingVectorEnv  # noqa: E402

__version__ = "0.1.0"

#: registered id -> scenario name
ENV_IDS: dict[str, str] = {
    "mm_env/MarketMaking-v0": "market_making",
    "mm_env/MarketMaking-v1": "market_making",
    "mm_env/Notebook-v0": "notebook",
    "mm_env/AvellanedaStoikov-v0": "avellaneda_stoikov",
    "mm_env/CarteaJaimungal-v0": "cartea_jaimungal",
    "mm_env/Replay-v0": "replay",
    "mm_env/Replay-v1": "replay",
}

#: config overrides an id registers (the newer version's rules; v0 keeps the config defaults)
ID_KWARGS: dict[str, dict[str, object]] = {
    "mm_env/MarketMaking-v1": {
        "queue_model": "power:1",
        "keep_priority": True,
        "fill_through": True,
    },
    "mm_env/Replay-v1": {"queue_model": "auto", "keep_priority": True, "fill_through": True},
}


def register_envs() -> None:
    """Register every id with Gymnasium (idempotent; also the ``gymnasium.envs`` entry point)."""
    for env_id, scenario in ENV_IDS.items():
        if env_id not in registry:
            register(
                id=env_id,
                entry_point="mm_env.env:MarketMakingEnv",
                vector_entry_point="mm_env.vector:MarketMakingVectorEnv",
                kwargs={"scenario": scenario, **ID_KWARGS.get(env_id, {})},
                disable_env_checker=False,
            )


register_envs()

__all__ = [
    "ENV_IDS",
    "AvellanedaStoikovConfig",
    "CarteaJaimungalConfig",
    "SCENARIOS",
    "ActionMapping",
    "MarketConfig",
    "MarketMakingEnv",
    "MarketMakingVectorEnv",
    "NotebookConfig",
    "ReplayConfig",
    "SyntheticConfig",
    "make_config",
    "make_simulator",
    "register_envs",
]
