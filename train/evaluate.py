"""Evaluate any policy with ``predict`` on a batch of episodes with common random numbers.

Episodes run on the native vector env: ``n_episodes`` books, one episode each, seeded as one
stream. The random draws of every book are fixed by the seed alone (they never depend on the
actions), so every policy evaluated with the same seed and episode count meets exactly the
same market: differences between policies are paired, episode by episode.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import mm_env
from baselines import BASELINES, SkewBaseline, SymmetricBaseline
from mm_env.evaluation import SERIES_KEYS
from mm_env.metrics import EpisodeMetrics, episode_metrics, mean_and_se
from train.common import (
    DEFAULT_ENV_ID,
    CliError,
    check_env_id,
    check_eval_seed,
    make_config,
    versions,
)


@dataclass
class BatchResult:
    """Per-episode metrics and per-step series of a batch of episodes under one policy."""

    name: str
    seed: int
    metrics: list[EpisodeMetrics]
    series: dict[str, NDArray[np.float64]]  # key -> (n_episodes, n_steps)
    returns: NDArray[np.float64]  # sum of rewards per episode (PnL less any reward penalties)

    def column(self, field: str) -> NDArray[np.float64]:
        return np.array([getattr(m, field) for m in self.metrics], dtype=np.float64)


def run_batch(
    policy: Any,
    env_id: str,
    overrides: dict[str, Any],
    seed: int,
    n_episodes: int,
    name: str = "policy",
    keep_series: bool = True,
) -> BatchResult:
    """Run ``n_episodes`` episodes of ``policy`` at once on one seeded vector env."""
    config = make_config(env_id, overrides)
    venv = mm_env.MarketMakingVectorEnv(n_episodes, mm_env.ENV_IDS[env_id], config)
    obs, _ = venv.reset(seed=seed)
    T = config.n_steps
    series = {k: np.empty((n_episodes, T)) for k in SERIES_KEYS}
    state = None
    starts = np.ones(n_episodes, dtype=bool)
    returns = np.zeros(n_episodes)
    for t in range(T):
        action, state = policy.predict(obs, state=state, episode_start=starts, deterministic=True)
        starts[:] = False
        obs, rewards, _, _, info = venv.step(
            np.asarray(action, dtype=np.float64).reshape(n_episodes, 2)
        )
        returns += rewards
        for k in SERIES_KEYS:
            series[k][:, t] = info[k]
    metrics = [episode_metrics({k: v[e] for k, v in series.items()}) for e in range(n_episodes)]
    return BatchResult(name, seed, metrics, series if keep_series else {}, returns)


# ---- policies by name --------------------------------------------------------------------
def parse_params(text: str) -> dict[str, float]:
    params: dict[str, float] = {}
    for part in filter(None, text.split(",")):
        if "=" not in part:
            raise CliError(f"baseline parameter {part!r} is not of the form name=value")
        key, value = part.split("=", 1)
        try:
            params[key.strip()] = float(value)
        except ValueError as exc:
            raise CliError(f"baseline parameter {key!r} is not a number: {value!r}") from exc
    return params


def make_baseline(spec: str, config: Any) -> tuple[str, Any]:
    """``"skew:kappa=0.6,phi=0.01"`` -> (label, policy)."""
    name, _, params_text = spec.partition(":")
    if name not in BASELINES:
        raise CliError(f"unknown baseline {name!r}; known: {sorted(BASELINES)}")
    params = parse_params(params_text)
    try:
        policy = BASELINES[name](config, **params)
    except TypeError as exc:
        raise CliError(f"bad parameters for baseline {name!r}: {exc}") from exc
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    return spec, policy


def load_model(path: str | Path, env_id: str, config: Any = None) -> tuple[str, Any]:
    """A saved model (``.zip`` or a run directory) checked to belong to ``env_id`` (and, with
    ``config``, to have been trained with its observation and action interface)."""
    from train.fit import load_run_model

    return load_run_model(Path(path), env_id, config)


def policy_from_spec(spec: str, env_id: str, config: Any) -> tuple[str, Any]:
    """``baseline:<name>[:params]`` or a model path."""
    if spec.startswith("baseline:"):
        return make_baseline(spec[len("baseline:") :], config)
    return load_model(spec, env_id, config)


# ---- the evaluate command ---------------------------------------------------------------
def evaluate_command(
    policy_spec: str,
    env_id: str | None,
    overrides: dict[str, Any],
    n_episodes: int,
    seed: int,
    out: Path,
) -> dict[str, Any]:
    """Evaluate a baseline (``baseline:NAME[:params]``) or a saved model. A model runs under
    its training run's config (:func:`train.fit.resolve_settings`), ``overrides`` on top;
    ``summary["notes"]`` lists the overrides that change a training value."""
    notes: list[str] = []
    if policy_spec.startswith("baseline:"):
        env_id = env_id or DEFAULT_ENV_ID
    else:
        from train.fit import resolve_settings

        env_id, overrides, notes = resolve_settings([policy_spec], env_id, overrides)
    check_env_id(env_id)
    if n_episodes < 1:
        raise CliError(f"--episodes must be at least 1 (got {n_episodes})")
    check_eval_seed(seed)
    config = make_config(env_id, overrides)
    label, policy = policy_from_spec(policy_spec, env_id, config)
    result = run_batch(policy, env_id, overrides, seed, n_episodes, label, keep_series=False)
    out.mkdir(parents=True, exist_ok=True)
    rows = [
        {**m.to_dict(), "episode_return": float(r)} for m, r in zip(result.metrics, result.returns)
    ]
    with open(out / "episodes.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["episode", *rows[0].keys()])
        writer.writeheader()
        for e, row in enumerate(rows):
            writer.writerow({"episode": e, **row})
    summary: dict[str, Any] = {
        "policy": label,
        "env_id": env_id,
        "overrides": overrides,
        "notes": notes,
        "seed": seed,
        "n_episodes": n_episodes,
        "config": config.to_dict(),
        "versions": versions(),
    }
    for field in rows[0]:
        values = result.returns if field == "episode_return" else result.column(field)
        mean, se = mean_and_se(values)
        summary[field] = {"mean": mean, "se": se}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary


__all__ = [
    "BatchResult",
    "run_batch",
    "make_baseline",
    "policy_from_spec",
    "evaluate_command",
    "SkewBaseline",
    "SymmetricBaseline",
]
