"""``notebook``: the seed notebook's experiment, run properly, on the default scenario.

1. The notebook's report (section 8) for its rule (κ = 0.6, φ = 0.01) on one seed: final PnL,
   Sharpe, fills, inventory range; beside it the same rule on Notebook-v0, the notebook's own
   market, where the imbalance is identically 0.
2. The κ sensitivity table (section 9) from κ = -1 to 1 over many seeds with common random
   numbers (every κ sees the same seeds), with standard errors and a paired comparison against
   κ = 0: the notebook's skew sign is a hypothesis, and this is its test.
3. The notebook's three plots (section 10), as PNGs, plus the κ curve.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import mm_env
from baselines import SkewBaseline
from mm_env.evaluation import Episode, run_episode
from mm_env.metrics import NOTEBOOK_PERIODS_PER_YEAR, mean_and_se, sharpe_ratio
from train.common import pyplot, save_figure

KAPPAS = [round(-1.0 + 0.2 * i, 1) for i in range(11)]
PHI = 0.01
NOTEBOOK_KAPPA = 0.6


def _report(title: str, ep: Episode) -> None:
    m = ep.metrics
    print(f"  {title}")
    print(
        f"    final PnL {m.final_pnl:+.4f}   Sharpe (per episode) {m.sharpe:+.3f}   "
        f"Sharpe (notebook, x sqrt(252*6*60)) "
        f"{sharpe_ratio(ep.series['pnl'], NOTEBOOK_PERIODS_PER_YEAR):+.2f}"
    )
    print(
        f"    fills {m.n_fills}   volume {m.volume:.2f}   inventory range "
        f"[{m.min_inventory:+.2f}, {m.max_inventory:+.2f}], final {m.final_inventory:+.2f}"
    )


def _plots(ep: Episode, out: Path, title: str) -> list[Path]:
    plt = pyplot()

    paths = []
    s = ep.series
    for name, draw in (
        ("pnl", lambda ax: ax.plot(s["pnl"], lw=1)),
        ("inventory", lambda ax: ax.plot(s["inventory"], lw=1, color="tab:purple")),
        (
            "quotes_vs_mid",
            lambda ax: (
                ax.plot(s["mid"], label="mid", lw=1),
                ax.plot(s["bid_quote"], label="our bid", lw=0.6),
                ax.plot(s["ask_quote"], label="our ask", lw=0.6),
                ax.legend(),
            ),
        ),
    ):
        fig, ax = plt.subplots(figsize=(8, 3.5))
        draw(ax)
        ax.set_title(f"{name.replace('_', ' ')}: {title}")
        ax.set_xlabel("step")
        path = save_figure(fig, out / f"{name}.png")
        paths.append(path)
    return paths


def _kappa_plot(rows: list[dict[str, Any]], out: Path, env_id: str) -> Path:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 3.5))
    k = [r["kappa"] for r in rows]
    ax.errorbar(
        k,
        [r["pnl_mean"] for r in rows],
        yerr=[2 * r["pnl_se"] for r in rows],
        marker="o",
        capsize=3,
    )
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("kappa")
    ax.set_ylabel("mean final PnL (+/- 2 SE)")
    ax.set_title(f"kappa sensitivity, phi={PHI}, {env_id}")
    return save_figure(fig, out / "kappa_sensitivity.png")


def run_notebook(
    env_id: str = "mm_env/MarketMaking-v0",
    n_seeds: int = 32,
    n_steps: int | None = None,
    out: str = "reports/notebook",
) -> dict[str, Any]:
    if n_seeds < 2:
        raise ValueError(f"--seeds must be at least 2 to give standard errors (got {n_seeds})")
    if env_id not in mm_env.ENV_IDS:
        raise ValueError(f"unknown env id {env_id!r}; known: {sorted(mm_env.ENV_IDS)}")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    overrides: dict[str, Any] = {} if n_steps is None else {"n_steps": n_steps}
    started = time.perf_counter()
    env = gym.make(env_id, **overrides)
    print(f"== 1. The notebook's report: kappa={NOTEBOOK_KAPPA}, phi={PHI}, seed 0 ==")
    main_ep = run_episode(env, SkewBaseline.for_env(env, NOTEBOOK_KAPPA, PHI), seed=0)
    _report(env_id, main_ep)
    nb_env = gym.make("mm_env/Notebook-v0", **overrides)
    nb_ep = run_episode(nb_env, SkewBaseline.for_env(nb_env, NOTEBOOK_KAPPA, PHI), seed=0)
    _report("mm_env/Notebook-v0 (the notebook's market: imbalance is always 0)", nb_ep)

    print(
        f"\n== 2. kappa sensitivity on {env_id}: phi={PHI}, seeds 1..{n_seeds} "
        "(the same seeds for every kappa) =="
    )
    seeds = list(range(1, n_seeds + 1))
    pnl = np.zeros((len(KAPPAS), n_seeds))
    sharpe = np.zeros_like(pnl)
    fills = np.zeros_like(pnl)
    for a, kappa in enumerate(KAPPAS):
        policy = SkewBaseline.for_env(env, kappa, PHI)
        for b, seed in enumerate(seeds):
            m = run_episode(env, policy, seed).metrics
            pnl[a, b], sharpe[a, b], fills[a, b] = m.final_pnl, m.sharpe, m.n_fills
    zero = KAPPAS.index(0.0)
    rows = []
    print(
        f"  {'kappa':>6} {'mean PnL':>10} {'± SE':>7} {'Sharpe':>8} {'± SE':>6} {'fills':>7} "
        f"{'PnL - PnL(κ=0)':>15} {'± SE':>7} {'t':>6}"
    )
    for a, kappa in enumerate(KAPPAS):
        pm, ps = mean_and_se(pnl[a])
        sm, ss = mean_and_se(sharpe[a])
        dm, ds = mean_and_se(pnl[a] - pnl[zero])
        t = dm / ds if ds and ds > 0 else math.nan
        rows.append(
            dict(
                kappa=kappa,
                pnl_mean=pm,
                pnl_se=ps,
                sharpe_mean=sm,
                sharpe_se=ss,
                fills_mean=float(fills[a].mean()),
                diff_vs_zero=dm,
                diff_se=ds,
                t=t,
            )
        )
        print(
            f"  {kappa:6.1f} {pm:10.3f} {ps:7.3f} {sm:8.3f} {ss:6.3f} {fills[a].mean():7.1f} "
            f"{dm:15.3f} {ds if ds == ds else 0:7.3f} {t:6.1f}"
        )
    best = max(rows, key=lambda r: r["pnl_mean"])
    pos = [r for r in rows if r["kappa"] > 0]
    neg = [r for r in rows if r["kappa"] < 0]
    verdict = (
        "positive kappa (the notebook's sign) beats kappa=0"
        if all(r["diff_vs_zero"] > 2 * r["diff_se"] for r in pos)
        else "the notebook's positive kappa does NOT beat kappa=0 at every positive value"
    )
    print(
        f"  best kappa {best['kappa']:+.1f} (mean PnL {best['pnl_mean']:.3f}); {verdict}; "
        f"negative kappa vs 0: mean paired difference "
        f"{np.mean([r['diff_vs_zero'] for r in neg]):+.3f}"
    )

    print("\n== 3. Plots ==")
    paths = _plots(main_ep, out_dir, f"kappa={NOTEBOOK_KAPPA}, phi={PHI}, seed 0, {env_id}")
    paths.append(_kappa_plot(rows, out_dir, env_id))
    for p in paths:
        print(f"  wrote {p}")
    summary = {
        "env_id": env_id,
        "config": env.unwrapped.config.to_dict(),  # type: ignore[attr-defined]
        "kappa": NOTEBOOK_KAPPA,
        "phi": PHI,
        "main_seed": 0,
        "main_metrics": main_ep.metrics.to_dict(),
        "notebook_env_metrics": nb_ep.metrics.to_dict(),
        "sensitivity_seeds": seeds,
        "sensitivity": rows,
        "mm_env_version": mm_env.__version__,
    }
    summary_path = out_dir / "demo_summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, default=str))
    print(f"  wrote {summary_path}  ({time.perf_counter() - started:.0f} s)")
    return summary
