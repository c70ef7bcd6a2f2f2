"""What each execution assumption is worth on the GOOG day: Replay-v1 under latency x fees x queue.

Two fixed policies, the symmetric quote at the touch (``SymmetricBaseline``, spread multiple 1)
and the notebook rule (``SkewBaseline``, κ = 0.6, φ = 0.01), each run over the whole GOOG
2012-06-21 day as one episode, a decision every second of data time (``step_seconds=1``, as the
hftbacktest cross-check; 23,399 steps), max_inventory 10, for every combination of

* entry and response latency (the same constant for both; seconds on the data's clock),
* fees off, or NASDAQ-like per-share fees on: a 0.25 ¢ maker rebate and a 0.30 ¢ taker fee
  (NASDAQ's 2012 schedule: about 0.30 ¢/share taker, 0.20–0.29 ¢/share rebate; the
  ``mm_env.execution`` docstring), the taker fee paid when ``liquidate_at_end`` crosses,
* queue model: risk-averse, hftbacktest's power-2, and the exact queue from LOBSTER's ids.

Every run is deterministic (constant latency draws nothing), so each figure is one day, not a
mean: read differences between cells as what one assumption changes on this day. Prints a
Markdown table (PnL at the last mid, fills, per-episode Sharpe of the per-step PnL changes,
rejected post-only requests, fees paid) and, with ``--json``, writes the rows.

    MM_ENV_DATA=../shared/data python benchmarks/execution_table.py [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

import mm_env  # noqa: F401
from baselines import SkewBaseline, SymmetricBaseline
from mm_env.config import ReplayConfig
from mm_env.data import load_book
from mm_env.evaluation import SERIES_KEYS
from mm_env.metrics import episode_metrics
from mm_env.scenarios.replay import step_grid

ROOT = Path(__file__).resolve().parents[1]
ID = "mm_env/Replay-v1"
#: NASDAQ-like per-share fees (module docstring): a 0.25 ¢ maker rebate, a 0.30 ¢ taker fee
FEES_ON = {"maker_fee_per_unit": -0.0025, "taker_fee_per_unit": 0.003}
POLICIES = {
    "symmetric at the touch": lambda env: SymmetricBaseline.for_env(env, 1.0),
    "notebook rule κ=0.6 φ=0.01": lambda env: SkewBaseline.for_env(env, kappa=0.6, phi=0.01),
}


def goog_path() -> Path:
    base = Path(os.environ.get("MM_ENV_DATA", ROOT.parent / "shared" / "data"))
    return base / "lobster" / "GOOG_2012-06-21_10"


def run(book: Any, policy: str, queue: str, latency: float, fees: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "step_seconds": 1.0,
        "queue_model": queue,
        "entry_latency": latency,
        "response_latency": latency,
    }
    if fees:
        config.update(FEES_ON)
    replay_config = mm_env.make_config("replay", **config)
    assert isinstance(replay_config, ReplayConfig)
    n = step_grid(book, replay_config).size - 1
    env = gym.make(ID, data=book, n_steps=n, max_inventory=10.0, **config)
    pol = POLICIES[policy](env)
    obs, info = env.reset(seed=0)
    series: dict[str, list[float]] = {k: [] for k in SERIES_KEYS}
    done = False
    while not done:
        action, _ = pol.predict(obs, deterministic=True)
        obs, _, terminated, truncated, info = env.step(action)
        for k in SERIES_KEYS:
            series[k].append(info[k])
        done = terminated or truncated
    env.close()
    m = episode_metrics(series)
    return {
        "policy": policy,
        "queue_model": queue,
        "latency_s": latency,
        "fees": "on" if fees else "off",
        "pnl": m.final_pnl,
        "fills": m.n_fills,
        "sharpe": m.sharpe,
        "n_rejected": float(info["n_rejected"]),
        "fees_paid": float(info["fees"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.0, 0.001, 0.01, 0.1])
    parser.add_argument("--queues", nargs="+", default=["risk_averse", "power:2", "exact"])
    parser.add_argument("--json", type=Path, default=None, help="write the rows here")
    args = parser.parse_args(argv)
    path = goog_path()
    if not path.is_dir():
        print(f"GOOG LOBSTER day not found at {path} (set MM_ENV_DATA); nothing to run")
        return 0
    book = load_book(path)
    rows = []
    start = time.perf_counter()
    print("| policy | queue | latency | fees | PnL | fills | Sharpe | rejected | fees paid |")
    print("|---|---|---|---|---|---|---|---|---|")
    for policy, queue, latency, fees in itertools.product(
        POLICIES, args.queues, args.latencies, (False, True)
    ):
        r = run(book, policy, queue, latency, fees)
        rows.append(r)
        print(
            f"| {policy} | {queue} | {latency * 1e3:g} ms | {r['fees']} | {r['pnl']:.2f} | "
            f"{r['fills']:.0f} | {r['sharpe']:.2f} | {r['n_rejected']:.0f} | "
            f"{r['fees_paid']:.2f} |",
            flush=True,
        )
    print(f"{len(rows)} runs in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
