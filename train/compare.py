"""``compare``: learned policies against the baselines on common random numbers.

Every policy runs the same evaluation episodes (one seeded stream, disjoint from training).
A learned policy trained with several seeds is one row whose per-episode value is the mean over
its seeds' models (the question is the algorithm, not one lucky seed); each model also gets
its own row. The baselines: the notebook's rule (κ = 0.6, φ = 0.01), the κ/φ rule tuned by a
grid search on a training stream only, and a fixed symmetric spread of one market spread.

The evaluations (one batch per model and per baseline, one per cell of the tuning grid) are
independent pieces: Ray tasks when Ray is installed (``workers=1``: one after the other). Each
is seeded, so the numbers do not depend on where it ran.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from baselines import SkewBaseline, SymmetricBaseline
from train.common import (
    EVAL_SEED_BASE,
    CliError,
    check_env_id,
    check_eval_seed,
    make_config,
    versions,
)
from train.evaluate import BatchResult, load_model, run_batch
from train.parallel import fan_out
from train.stats import bootstrap_ci, mean_over_seeds, paired_test

METRICS = (
    "final_pnl",
    "sharpe",
    "sortino",
    "max_drawdown",
    "mean_abs_inventory",
    "n_fills",
    "spread_capture_per_unit",
)
TESTED = ("final_pnl", "sharpe")
NOTEBOOK_RULE = "notebook rule (κ=0.6, φ=0.01)"
SYMMETRIC = "symmetric (1 spread)"
KAPPA_GRID = (-1.0, -0.6, -0.3, 0.0, 0.3, 0.6, 1.0)
PHI_GRID = (0.0, 0.002, 0.005, 0.01, 0.02)


@dataclass
class Comparison:
    env_id: str
    seed: int
    n_episodes: int
    overrides: dict[str, Any] = field(default_factory=dict)  # the env's, as evaluated
    notes: list[str] = field(default_factory=list)  # explicit overrides of a training value
    rows: dict[str, dict[str, np.ndarray]] = field(
        default_factory=dict
    )  # policy -> metric -> per-episode
    batches: dict[str, BatchResult] = field(default_factory=dict)  # one batch per policy (series)
    learned: list[str] = field(default_factory=list)
    baselines: list[str] = field(default_factory=list)
    tuned: dict[str, float] = field(default_factory=dict)
    tests: list[dict[str, Any]] = field(default_factory=list)

    def table(self) -> list[dict[str, Any]]:
        out = []
        for name, metrics in self.rows.items():
            row: dict[str, Any] = {"policy": name}
            for m in METRICS:
                mean, lo, hi = bootstrap_ci(metrics[m])
                row[m] = mean
                row[f"{m}_ci"] = (lo, hi)
            out.append(row)
        return out


@dataclass(frozen=True)
class EvalJob:
    """One batch of evaluation episodes: a saved model (``policy`` = its path), the κ/φ rule
    (``policy`` = "skew", ``params`` = (κ, φ)) or the symmetric quote (``params`` = (width,))."""

    policy: str
    env_id: str
    overrides: dict[str, Any]
    seed: int
    n_episodes: int
    name: str = "policy"
    params: tuple[float, ...] = ()
    keep_series: bool = True


def run_job(job: EvalJob) -> BatchResult:
    """Run one :class:`EvalJob` (in this process or as a Ray task)."""
    config = make_config(job.env_id, job.overrides)
    policy: Any
    if job.policy == "skew":
        policy = SkewBaseline(config, *job.params)
    elif job.policy == "symmetric":
        policy = SymmetricBaseline(config, *job.params)
    else:
        _, policy = load_model(job.policy, job.env_id, config)
    return run_batch(
        policy, job.env_id, job.overrides, job.seed, job.n_episodes, job.name, job.keep_series
    )


def _grid_jobs(
    env_id: str, overrides: dict[str, Any], seed: int, n_episodes: int, kappas, phis
) -> list[EvalJob]:
    if seed >= EVAL_SEED_BASE:
        raise CliError(f"the tuning seed must be a training seed (< {EVAL_SEED_BASE}), got {seed}")
    return [
        EvalJob("skew", env_id, overrides, seed, n_episodes, params=(k, p), keep_series=False)
        for k in kappas
        for p in phis
    ]


def _best_cell(jobs: list[EvalJob], results: list[BatchResult]) -> tuple[float, float, float]:
    """The first cell (grid order) of highest mean final PnL: (κ, φ, mean PnL)."""
    best = (math.nan, math.nan, -math.inf)
    for job, res in zip(jobs, results):
        mean = float(res.column("final_pnl").mean())
        if mean > best[2]:
            best = (job.params[0], job.params[1], mean)
    return best


def tune_skew_rule(
    env_id: str,
    overrides: dict[str, Any],
    seed: int,
    n_episodes: int,
    kappas=KAPPA_GRID,
    phis=PHI_GRID,
    workers: int | None = 1,
) -> tuple[float, float, float]:
    """Grid search of (κ, φ) by mean final PnL on a training stream; returns (κ, φ, mean PnL)."""
    make_config(env_id, overrides)
    jobs = _grid_jobs(env_id, overrides, seed, n_episodes, kappas, phis)
    return _best_cell(jobs, fan_out(run_job, jobs, workers=workers))


def compare(
    models: list[str],
    env_id: str | None = None,
    overrides: dict[str, Any] | None = None,
    n_episodes: int = 100,
    seed: int = EVAL_SEED_BASE,
    tune_seed: int = 12345,
    tune_episodes: int = 32,
    progress: bool = False,
    workers: int | None = None,
    address: str | None = None,
) -> Comparison:
    """Every model and baseline on the same ``n_episodes`` evaluation episodes. The pieces run
    as Ray tasks unless ``workers=1`` (or Ray is not installed); ``workers`` caps the CPUs of a
    local Ray, ``address`` joins a running cluster.

    The env is the models' training config (:func:`train.fit.resolve_settings`: their env id
    and every ``--set`` they were fitted with), ``overrides`` on top; ``env_id`` None takes the
    models' (MarketMaking-v0 without models). ``comp.notes`` lists the overrides that change a
    training value."""
    from train.fit import resolve_settings

    env_id, overrides, notes = resolve_settings(models, env_id, dict(overrides or {}))
    check_env_id(env_id)
    if n_episodes < 2:
        raise CliError(f"--episodes must be at least 2 for confidence intervals (got {n_episodes})")
    check_eval_seed(seed)
    config = make_config(env_id, overrides)
    comp = Comparison(env_id, seed, n_episodes, overrides=overrides, notes=notes)

    def add(name: str, res: BatchResult) -> None:
        comp.rows[name] = {m: res.column(m) for m in METRICS}
        comp.batches[name] = res

    # every model is loaded (and checked against the env) here first: bad input fails fast
    labels: list[str] = []
    for path in models:
        label, _ = load_model(path, env_id, config)
        if label in labels:  # two runs with the same algorithm and seed
            label = f"{label} ({Path(path).name})"
        labels.append(label)
    model_jobs = [
        EvalJob(str(path), env_id, overrides, seed, n_episodes, label)
        for path, label in zip(models, labels)
    ]
    grid_jobs = _grid_jobs(env_id, overrides, tune_seed, tune_episodes, KAPPA_GRID, PHI_GRID)
    fixed = [
        EvalJob("skew", env_id, overrides, seed, n_episodes, NOTEBOOK_RULE, (0.6, 0.01)),
        EvalJob("symmetric", env_id, overrides, seed, n_episodes, SYMMETRIC, (1.0,)),
    ]
    jobs = [*model_jobs, *grid_jobs, *fixed]
    # the tuned rule's batch needs the grid's answer: a second (one-piece) round, run here
    results = fan_out(
        run_job, jobs, workers=workers, address=address, progress=progress, desc="compare"
    )
    model_results = results[: len(model_jobs)]
    grid_results = results[len(model_jobs) : len(model_jobs) + len(grid_jobs)]
    notebook_result, symmetric_result = results[len(model_jobs) + len(grid_jobs) :]

    # learned policies, grouped by algorithm
    groups: dict[str, list[BatchResult]] = {}
    for label, res in zip(labels, model_results):
        add(label, res)
        groups.setdefault(label.split(":")[0], []).append(res)
    for algo, group in groups.items():
        name = f"{algo.upper()} ({len(group)} seed{'s' if len(group) > 1 else ''})"
        comp.rows[name] = {m: mean_over_seeds([r.column(m) for r in group]) for m in METRICS}
        best = max(group, key=lambda r: float(r.column("final_pnl").mean()))
        comp.batches[name] = best
        comp.learned.append(name)
    # baselines
    k, p, tuned_pnl = _best_cell(grid_jobs, grid_results)
    comp.tuned = {
        "kappa": k,
        "phi": p,
        "train_mean_pnl": tuned_pnl,
        "tune_seed": tune_seed,
        "tune_episodes": tune_episodes,
    }
    tuned_name = f"tuned rule (κ={k:g}, φ={p:g})"
    tuned_result = run_job(EvalJob("skew", env_id, overrides, seed, n_episodes, tuned_name, (k, p)))
    for name, res in (
        (NOTEBOOK_RULE, notebook_result),
        (tuned_name, tuned_result),
        (SYMMETRIC, symmetric_result),
    ):
        add(name, res)
        comp.baselines.append(name)
    for learned in comp.learned:
        for base in comp.baselines:
            for metric in TESTED:
                t = paired_test(comp.rows[learned][metric], comp.rows[base][metric])
                comp.tests.append(
                    {"learned": learned, "baseline": base, "metric": metric, **t.__dict__}
                )
    return comp


def format_table(comp: Comparison) -> str:
    """The comparison as a Markdown table (mean [95% bootstrap CI])."""
    head = ["policy", *METRICS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in comp.table():
        cells = [row["policy"]]
        for m in METRICS:
            lo, hi = row[f"{m}_ci"]
            cells.append(f"{row[m]:.3f} [{lo:.3f}, {hi:.3f}]")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_tests(comp: Comparison) -> str:
    lines = [
        "| learned | baseline | metric | mean difference [95% CI] | t | p (t-test) | "
        "p (Wilcoxon) |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in comp.tests:
        lines.append(
            f"| {t['learned']} | {t['baseline']} | {t['metric']} | {t['mean_diff']:+.3f} "
            f"[{t['ci_low']:+.3f}, {t['ci_high']:+.3f}] | {t['t_stat']:.2f} | "
            f"{t['p_value']:.2g} | {t['p_wilcoxon']:.2g} |"
        )
    return "\n".join(lines)


def write_comparison(comp: Comparison, out: Path, extra: dict[str, Any] | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "comparison.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["policy", "episode", *METRICS])
        for name, metrics in comp.rows.items():
            for e in range(comp.n_episodes):
                writer.writerow([name, e, *(metrics[m][e] for m in METRICS)])
    (out / "comparison.md").write_text(format_table(comp) + "\n\n" + format_tests(comp) + "\n")
    data = {
        "env_id": comp.env_id,
        "overrides": comp.overrides,
        "seed": comp.seed,
        "n_episodes": comp.n_episodes,
        "table": comp.table(),
        "tests": comp.tests,
        "tuned": comp.tuned,
        "learned": comp.learned,
        "baselines": comp.baselines,
        "versions": versions(),
        **(extra or {}),
    }
    (out / "comparison.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
