"""``make demo``: does a learned policy beat the notebook's skew rule? The whole story, once.

1. The notebook's experiment (its report, the κ table with paired SEs, its plots) on the
   default scenario, under ``<out>/notebook/``.
2. PPO trained on a few seeds (vectorised, seeded, checkpoints, best model kept).
3. The comparison with the baselines on held-out evaluation episodes: the notebook rule, the
   κ/φ rule tuned on training seeds, a symmetric spread; bootstrap CIs and paired tests.
4. A small κ × φ sensitivity grid.
5. ``<out>/report.md`` with figures; the comparison table is printed.

Every number comes from this run; the run's arguments are saved in ``<out>/demo_config.json``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from train.common import EVAL_SEED_BASE, CliError, versions, write_json
from train.compare import compare, format_table, format_tests, write_comparison
from train.fit import FitConfig, fit
from train.notebook import run_notebook
from train.report import write_report
from train.sensitivity import sensitivity

ENV_ID = "mm_env/MarketMaking-v0"
#: the training setup (see README, "The result that matters"): PnL dampened against
#: speculative inventory gains (Spooner et al. 2018) and a short discount horizon; evaluation
#: always scores the plain PnL.
TRAIN_OVERRIDES: dict[str, Any] = {}
TRAIN_HYPERPARAMS: dict[str, Any] = {"gamma": 0.9}
TRAIN_DAMPING = 1.0


def run_demo(
    n_seeds: int = 3,
    timesteps: int = 300_000,
    n_episodes: int = 100,
    n_steps: int | None = None,
    out: str = "reports/demo",
    run_root: str = "runs/demo",
    sens_episodes: int = 32,
    notebook_seeds: int = 16,
) -> dict[str, Any]:
    for name, value, least in (
        ("--seeds", n_seeds, 1),
        ("--timesteps", timesteps, 1),
        ("--episodes", n_episodes, 2),
        ("sens_episodes", sens_episodes, 2),
        ("notebook_seeds", notebook_seeds, 2),
    ):
        if value < least:
            raise CliError(f"{name} must be at least {least} (got {value})")
    started = time.perf_counter()
    out_dir = Path(out)
    eval_overrides: dict[str, Any] = {} if n_steps is None else {"n_steps": n_steps}
    write_json(
        out_dir / "demo_config.json",
        {
            "n_seeds": n_seeds,
            "timesteps": timesteps,
            "n_episodes": n_episodes,
            "n_steps": n_steps,
            "train_overrides": TRAIN_OVERRIDES,
            "train_hyperparams": TRAIN_HYPERPARAMS,
            "train_damping": TRAIN_DAMPING,
            "eval_seed": EVAL_SEED_BASE,
            "versions": versions(),
        },
    )
    print("#### 1. The seed notebook's experiment\n")
    run_notebook(ENV_ID, n_seeds=notebook_seeds, n_steps=n_steps, out=str(out_dir / "notebook"))

    print(f"\n#### 2. Training PPO: {n_seeds} seeds x {timesteps:,} steps\n")
    runs = []
    for seed in range(n_seeds):
        cfg = FitConfig(
            env_id=ENV_ID,
            algo="ppo",
            seed=seed,
            total_timesteps=timesteps,
            n_envs=64,
            overrides={**TRAIN_OVERRIDES, **eval_overrides},
            eval_freq=min(50_000, max(timesteps // 4, 1)),
            n_eval_episodes=32,
            checkpoint_freq=max(timesteps // 2, 1),
            run_root=run_root,
            hyperparams=TRAIN_HYPERPARAMS,
            progress_bar=False,
            damping=TRAIN_DAMPING,
        )
        t0 = time.perf_counter()
        runs.append(fit(cfg))
        print(f"  seed {seed}: {runs[-1]} ({time.perf_counter() - t0:.0f} s)")

    print(f"\n#### 3. Comparison on {n_episodes} held-out episodes\n")
    comp = compare([str(r) for r in runs], ENV_ID, eval_overrides, n_episodes, EVAL_SEED_BASE)
    write_comparison(comp, out_dir)
    print(format_table(comp))
    print()
    print(format_tests(comp))

    print("\n#### 4. Sensitivity of the notebook rule\n")
    sens = sensitivity(
        ENV_ID,
        eval_overrides,
        [-1.0, -0.5, 0.0, 0.5, 1.0],
        [0.0, 0.005, 0.01, 0.02],
        EVAL_SEED_BASE,
        sens_episodes,
        progress=False,
    )
    header = {
        "training": f"PPO, {n_seeds} seeds x {timesteps:,} steps, 64 envs, "
        f"overrides {TRAIN_OVERRIDES}, hyperparameters {TRAIN_HYPERPARAMS}, "
        f"dampened-PnL reward η={TRAIN_DAMPING}",
        "runs": ", ".join(str(r) for r in runs),
    }
    path = write_report(comp, out_dir, sens, header=header)
    print(f"\nwrote {path} ({time.perf_counter() - started:.0f} s in all)")
    return {"comparison": comp, "report": path, "runs": runs}
