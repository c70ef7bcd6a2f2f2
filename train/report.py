"""``report``: a Markdown report with PNG figures from a comparison (and a sensitivity grid)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from train.common import pyplot, save_figure
from train.compare import NOTEBOOK_RULE, Comparison, format_table, format_tests
from train.sensitivity import Sensitivity, write_sensitivity


def _paths_figure(comp: Comparison, out: Path, episode: int = 0) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for name in [*comp.learned, *comp.baselines]:
        s = comp.batches[name].series
        axes[0].plot(s["pnl"][episode], lw=1, label=name)
        axes[1].plot(s["inventory"][episode], lw=0.8, label=name)
    axes[0].set_ylabel("PnL")
    axes[1].set_ylabel("inventory")
    axes[1].set_xlabel("step")
    axes[0].legend(fontsize=7)
    axes[0].set_title(f"PnL and inventory, evaluation episode {episode} (same market for all)")
    return save_figure(fig, out / "paths.png")


def _quotes_figure(comp: Comparison, out: Path, episode: int = 0, window: int = 300) -> Path:
    plt = pyplot()
    best = (
        max(comp.learned, key=lambda n: comp.rows[n]["final_pnl"].mean()) if comp.learned else None
    )
    names = [n for n in (best, NOTEBOOK_RULE) if n is not None]
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 3.2 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        s = comp.batches[name].series
        window = min(window, s["mid"].shape[1])
        ax.plot(s["mid"][episode][:window], lw=1, label="mid")
        ax.step(range(window), s["bid_quote"][episode][:window], lw=0.7, label="our bid")
        ax.step(range(window), s["ask_quote"][episode][:window], lw=0.7, label="our ask")
        ax.set_title(f"quotes vs mid: {name} (first {window} steps)")
        ax.legend(fontsize=7)
    return save_figure(fig, out / "quotes_vs_mid.png")


def _distribution_figure(comp: Comparison, out: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    names = [*comp.learned, *comp.baselines]
    ax.boxplot([comp.rows[n]["final_pnl"] for n in names], showmeans=True)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=20, ha="right", fontsize=7)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("final PnL per episode")
    ax.set_title(f"PnL distribution over {comp.n_episodes} evaluation episodes")
    return save_figure(fig, out / "pnl_distribution.png")


def write_report(
    comp: Comparison,
    out: Path,
    sens: Sensitivity | None = None,
    notes: str = "",
    header: dict[str, Any] | None = None,
    tune_dir: Path | None = None,
) -> Path:
    """Write ``report.md`` and its figures under ``out``; returns the report's path. With
    ``tune_dir`` (a finished ``tune`` directory), a section on the search is added."""
    out.mkdir(parents=True, exist_ok=True)
    figures = [_paths_figure(comp, out), _quotes_figure(comp, out), _distribution_figure(comp, out)]
    if sens is not None:
        figures.append(write_sensitivity(sens, out))
    lines = [
        f"# Comparison report: {comp.env_id}",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')}. {comp.n_episodes} evaluation episodes "
        f"on seed {comp.seed} (disjoint from every training seed); every policy meets the same "
        "markets, so the tests below are paired episode by episode.",
        "",
    ]
    for k, v in (header or {}).items():
        lines.append(f"- {k}: {v}")
    if header:
        lines.append("")
    if notes:
        lines += [notes, ""]
    lines += [
        "## Results (mean [95% bootstrap CI])",
        "",
        format_table(comp),
        "",
        f"Tuned rule: grid search over κ × φ on training seed {comp.tuned.get('tune_seed')} "
        f"({comp.tuned.get('tune_episodes')} episodes) chose κ={comp.tuned.get('kappa')}, "
        f"φ={comp.tuned.get('phi')}.",
        "",
        "## Paired tests (learned − baseline)",
        "",
        format_tests(comp),
        "",
        "## Figures",
        "",
    ]
    for fig in figures:
        lines.append(f"![{fig.stem}]({fig.name})")
        lines.append("")
    if sens is not None:
        best = np.unravel_index(np.nanargmax(sens.pnl_mean), sens.pnl_mean.shape)
        lines += [
            f"Sensitivity: best cell κ={sens.kappas[best[0]]:g}, φ={sens.phis[best[1]]:g} "
            f"(mean PnL {sens.pnl_mean[best]:.3f} ± {sens.pnl_se[best]:.3f}); grid in "
            "`sensitivity.csv`.",
            "",
        ]
    if tune_dir is not None:
        from train.tune import tuning_section

        lines += tuning_section(tune_dir, out)
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
