"""What each execution assumption is worth on MarketMaking-v1 (the synthetic book).

For two fixed policies — the symmetric quote at the touch (spread multiple 1, no skew) and the
seed notebook's rule (``baselines.SkewBaseline``, κ = 0.6, φ = 0.01) — over ``--seeds`` fixed
seeds (0, 1, ...), one episode of ``--steps`` steps each, prints the final PnL (mean ± standard
error over the seeds), fills per episode and the per-episode Sharpe ratio (mean), under:

* latency 0 / 1 / 5 / 20 steps (entry and response latency both set to it);
* fees off / on: on = a maker rebate of 0.2 bps of the traded value (``maker_fee_bps=-0.2``)
  and a taker fee of 0.3 bps (``taker_fee_bps=0.3``; it applies only to ``liquidate_at_end``,
  off here, so the PnL column shows the rebate alone). On this book's price of ~100 and tick
  of 0.01, 1 bp is one tick: the rebate is a fifth of the one-tick spread;
* queue model risk_averse / power:2.

Everything else is MarketMaking-v1's defaults (keep_priority, fill_through, order_size 1,
max_inventory 10, 2000 steps). The PnL is the mark-to-market ``info["pnl"]``.

    python benchmarks/execution_table_mm.py [--seeds 20] [--steps 2000]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import mm_env  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from baselines import SkewBaseline, SymmetricBaseline  # noqa: E402
from mm_env.evaluation import run_episode  # noqa: E402
from mm_env.metrics import mean_and_se  # noqa: E402

LATENCIES = (0, 1, 5, 20)
FEES: dict[str, dict[str, float]] = {
    "off": {},
    "on": {"maker_fee_bps": -0.2, "taker_fee_bps": 0.3},
}
QUEUES = ("risk_averse", "power:2")


def policies(env: Any) -> dict[str, Any]:
    return {
        "touch": SymmetricBaseline.for_env(env, 1.0),
        "notebook": SkewBaseline.for_env(env, kappa=0.6, phi=0.01),
    }


def run_row(policy_name: str, seeds: int, steps: int, **kw: Any) -> dict[str, float]:
    env = gym.make("mm_env/MarketMaking-v1", n_steps=steps, **kw)
    policy = policies(env)[policy_name]
    pnl, fills, sharpe = [], [], []
    for s in range(seeds):
        m = run_episode(env, policy, seed=s).metrics
        pnl.append(m.final_pnl)
        fills.append(m.n_fills)
        sharpe.append(m.sharpe)
    env.close()
    mean, se = mean_and_se(pnl)
    return {
        "pnl": mean,
        "se": se,
        "fills": float(np.mean(fills)),
        "sharpe": float(np.nanmean(sharpe)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"MarketMaking-v1, {args.seeds} seeds x {args.steps} steps; PnL mean ± SE over seeds")
    print("| policy | latency (steps) | fees | queue | PnL | fills | Sharpe |")
    print("|---|---:|---|---|---:|---:|---:|")
    for policy_name in ("touch", "notebook"):
        for lat, fees, queue in itertools.product(LATENCIES, FEES, QUEUES):
            kw: dict[str, Any] = {
                "entry_latency": float(lat),
                "response_latency": float(lat),
                "queue_model": queue,
                **FEES[fees],
            }
            r = run_row(policy_name, args.seeds, args.steps, **kw)
            print(
                f"| {policy_name} | {lat} | {fees} | {queue} | {r['pnl']:+.3f} ± {r['se']:.3f} "
                f"| {r['fills']:.0f} | {r['sharpe']:+.2f} |",
                flush=True,
            )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
