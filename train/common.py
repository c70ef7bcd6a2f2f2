"""Shared pieces of the command line: seeds, env overrides, errors, run metadata."""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path
from typing import Any

import mm_env

#: training streams use generator seeds below this; evaluation streams start here, so an
#: evaluation never replays a training stream. The evaluation callback inside ``fit`` uses
#: VALIDATION_SEED_BASE + seed, also disjoint from both.
EVAL_SEED_BASE = 1_000_000
VALIDATION_SEED_BASE = 2_000_000
ALGOS = ("ppo", "sac", "td3", "a2c")
#: the env id of the commands when none is given (and, for evaluate/compare, no model says one)
DEFAULT_ENV_ID = "mm_env/MarketMaking-v0"


class CliError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


def check_env_id(env_id: str) -> str:
    if env_id not in mm_env.ENV_IDS:
        raise CliError(f"unknown env id {env_id!r}; known: {sorted(mm_env.ENV_IDS)}")
    return env_id


def check_training_seed(seed: int) -> int:
    if not 0 <= seed < EVAL_SEED_BASE:
        raise CliError(f"training seed must lie in [0, {EVAL_SEED_BASE}) (got {seed})")
    return seed


def check_eval_seed(seed: int) -> int:
    """Evaluation streams live in [EVAL_SEED_BASE, VALIDATION_SEED_BASE)."""
    if not EVAL_SEED_BASE <= seed < VALIDATION_SEED_BASE:
        raise CliError(
            f"evaluation seed {seed} must lie in [{EVAL_SEED_BASE}, {VALIDATION_SEED_BASE}): "
            "below is training, above is the validation used to pick best models"
        )
    return seed


def check_seeds(seeds: list[int], what: str = "seeds") -> list[int]:
    if not seeds:
        raise CliError(f"the list of {what} is empty")
    return seeds


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["n_steps=500", "tick_size=0.05", "obs_time_left=true"]`` -> typed dict (JSON values)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise CliError(f"override {item!r} is not of the form field=value")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if isinstance(value, list):
            value = tuple(value)
        out[key.strip()] = value
    return out


def make_config(env_id: str, overrides: dict[str, Any]) -> Any:
    """The scenario config for an id with overrides, on the rules the id registers
    (:data:`mm_env.ID_KWARGS`: MarketMaking-v1's and Replay-v1's execution rules); bad values
    become a CliError."""
    try:
        scenario = mm_env.ENV_IDS[check_env_id(env_id)]
        return mm_env.make_config(scenario, **{**mm_env.ID_KWARGS.get(env_id, {}), **overrides})
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str]:
    import gymnasium
    import numpy

    out = {
        "python": platform.python_version(),
        "mm_env": mm_env.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": numpy.__version__,
    }
    try:
        import stable_baselines3
        import torch

        out["stable_baselines3"] = stable_baselines3.__version__
        out["torch"] = torch.__version__
    except ImportError:
        pass
    return out


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (imported only when a figure is drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """Lay out, write (PNG, 110 dpi) and close a figure; returns ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path
