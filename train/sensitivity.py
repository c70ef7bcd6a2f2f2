"""``sensitivity``: the notebook's section 9, generalised to a κ × φ grid over many episodes.

Each grid cell runs the κ/φ rule on the same seeded batch of episodes (common random numbers).
The cells are Ray tasks (local Ray on this machine's cores, or a cluster with ``address``) when
Ray is installed, else, or with ``workers=1``, they run one after the other: the numbers are the
same either way.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from baselines import SkewBaseline
from mm_env.metrics import mean_and_se
from train.common import CliError, check_env_id, make_config, pyplot, save_figure
from train.parallel import fan_out


@dataclass
class Sensitivity:
    kappas: list[float]
    phis: list[float]
    pnl_mean: np.ndarray  # (len(kappas), len(phis))
    pnl_se: np.ndarray
    sharpe_mean: np.ndarray
    sharpe_se: np.ndarray
    n_episodes: int
    seed: int


def _cell(args: tuple[str, dict[str, Any], float, float, int, int]) -> tuple[float, ...]:
    from train.evaluate import run_batch

    env_id, overrides, kappa, phi, seed, n_episodes = args
    config = make_config(env_id, overrides)
    res = run_batch(
        SkewBaseline(config, kappa, phi), env_id, overrides, seed, n_episodes, keep_series=False
    )
    return (*mean_and_se(res.column("final_pnl")), *mean_and_se(res.column("sharpe")))


def sensitivity(
    env_id: str,
    overrides: dict[str, Any],
    kappas: list[float],
    phis: list[float],
    seed: int,
    n_episodes: int,
    workers: int | None = None,
    progress: bool = True,
    address: str | None = None,
) -> Sensitivity:
    """The grid, cell by cell: on Ray tasks unless ``workers=1`` (or Ray is not installed);
    ``workers`` caps the CPUs of a local Ray, ``address`` joins a running cluster."""
    check_env_id(env_id)
    make_config(env_id, overrides)  # validate before starting any worker
    if not kappas or not phis:
        raise CliError("the kappa and phi grids must not be empty")
    if n_episodes < 1:
        raise CliError(f"--episodes must be at least 1 (got {n_episodes})")
    cells = [(env_id, overrides, k, p, seed, n_episodes) for k in kappas for p in phis]
    results = fan_out(
        _cell, cells, workers=workers, address=address, progress=progress, desc="sensitivity"
    )
    arr = np.array(results).reshape(len(kappas), len(phis), 4)
    return Sensitivity(
        list(kappas),
        list(phis),
        arr[..., 0],
        arr[..., 1],
        arr[..., 2],
        arr[..., 3],
        n_episodes,
        seed,
    )


def write_sensitivity(s: Sensitivity, out: Path) -> Path:
    """CSV of the grid and a heatmap PNG (mean PnL and mean Sharpe, ± SE in each cell)."""
    plt = pyplot()

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "sensitivity.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kappa", "phi", "pnl_mean", "pnl_se", "sharpe_mean", "sharpe_se"])
        for a, k in enumerate(s.kappas):
            for b, p in enumerate(s.phis):
                w.writerow(
                    [k, p, s.pnl_mean[a, b], s.pnl_se[a, b], s.sharpe_mean[a, b], s.sharpe_se[a, b]]
                )
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, mean, se, title in (
        (axes[0], s.pnl_mean, s.pnl_se, "mean final PnL"),
        (axes[1], s.sharpe_mean, s.sharpe_se, "mean Sharpe (per episode)"),
    ):
        im = ax.imshow(mean, cmap="viridis", aspect="auto", origin="lower")
        ax.set_xticks(range(len(s.phis)), [f"{p:g}" for p in s.phis])
        ax.set_yticks(range(len(s.kappas)), [f"{k:g}" for k in s.kappas])
        ax.set_xlabel("phi")
        ax.set_ylabel("kappa")
        ax.set_title(f"{title} ± SE ({s.n_episodes} episodes per cell)")
        for a in range(len(s.kappas)):
            for b in range(len(s.phis)):
                ax.text(
                    b,
                    a,
                    f"{mean[a, b]:.2f}\n±{se[a, b]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white",
                )
        fig.colorbar(im, ax=ax)
    return save_figure(fig, out / "sensitivity_heatmap.png")
