"""Trajectory digests of the v0 ids, recorded from the code before issue 11 (execution realism).

``tests/v0_golden.json`` was written by

    MM_ENV_DATA=/work/shared/data python -m tests.v0_golden --write

from commit 405365b (the last commit before the execution module); ``test_v0_reproduces_golden``
in ``tests/test_execution.py`` re-runs the same cases and compares. Each case is one episode with
actions drawn from ``np.random.default_rng(action_seed)`` (uniform on [-1.2, 1.2], so clipping is
exercised too; ``action_seed < 0``: the constant action (-1, 0), the narrowest quote), the env
reset with ``seed``. The digest is SHA-256 over the float64 bytes of
every step's observation, reward and (bid_fill, ask_fill, inventory, cash, bid_quote,
ask_quote).
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import mm_env  # noqa: F401

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "v0_golden.json"
#: (numpy, numba) the digests were recorded with; other releases compare fills and PnL only
RECORDED_WITH = ("2.4.6", "0.68.1")
INFO_KEYS = ("bid_fill", "ask_fill", "inventory", "cash", "bid_quote", "ask_quote")


def run_case(env_id: str, seed: int, action_seed: int, n_steps: int, **kw: Any) -> dict:
    env = gym.make(env_id, n_steps=n_steps, **kw)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(max(action_seed, 0))
    touch = np.array([-1.0, 0.0], dtype=np.float32)  # the narrowest spread multiple, no skew
    h = hashlib.sha256(np.asarray(obs, dtype=np.float64).tobytes())
    total = 0.0
    info: dict = {}
    for _ in range(n_steps):
        a = rng.uniform(-1.2, 1.2, 2).astype(np.float32) if action_seed >= 0 else touch
        obs, r, term, trunc, info = env.step(a)
        total += float(r)
        h.update(np.asarray(obs, dtype=np.float64).tobytes())
        h.update(np.array([r] + [info[k] for k in INFO_KEYS], dtype=np.float64).tobytes())
        if term or trunc:
            break
    env.close()
    return {
        "digest": h.hexdigest(),
        "final_pnl": float(info["pnl"]),
        "sum_reward": total,
        "n_fills": float(info["n_fills"]),
    }


def cases() -> list[tuple[str, str, int, int, int, dict[str, Any]]]:
    """(name, id, seed, action_seed, n_steps, kwargs); data paths resolved at run time."""
    from tests.conftest import AAPL_SAMPLE, data_dir

    aapl = str(data_dir() / AAPL_SAMPLE)
    out: list[tuple[str, str, int, int, int, dict[str, Any]]] = []
    for seed in (0, 1, 2):
        out.append((f"mm_seed{seed}", "mm_env/MarketMaking-v0", seed, 100 + seed, 1000, {}))
    out.append(("mm_order5", "mm_env/MarketMaking-v0", 3, 103, 1000, {"order_size": 5.0}))
    for seed in (0, 1):
        out.append(
            (
                f"aapl_event_seed{seed}",
                "mm_env/Replay-v0",
                seed,
                200 + seed,
                300,
                {"data": aapl, "order_size": 50.0, "max_inventory": 200.0},
            )
        )
    out.append(
        (
            "aapl_clock",
            "mm_env/Replay-v0",
            0,
            210,
            1500,
            {"data": aapl, "step_seconds": 0.02, "order_size": 100.0},
        )
    )
    out.append(
        (
            "fixture_touch",
            "mm_env/Replay-v0",
            0,
            -1,
            150,
            {"data": "FIXTURE", "n_levels": 5, "order_size": 3.0, "max_inventory": 20.0},
        )
    )
    out.append(
        (
            "fixture_event",
            "mm_env/Replay-v0",
            0,
            220,
            150,
            {"data": "FIXTURE", "n_levels": 5, "order_size": 3.0, "max_inventory": 20.0},
        )
    )
    return out


def fixture_path(folder: Path) -> str:
    from tests.lobster_fixtures import make_lobster

    lob = make_lobster()
    book_path, _ = lob.write(folder)
    return str(book_path.parent)


def run_all() -> dict[str, dict]:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        fix = fixture_path(Path(tmp))
        for name, env_id, seed, aseed, n, kw in cases():
            kw = dict(kw)
            if kw.get("data") == "FIXTURE":
                kw["data"] = fix
            results[name] = run_case(env_id, seed, aseed, n, **kw)
    return results


if __name__ == "__main__":
    res = run_all()
    if "--write" in sys.argv:
        GOLDEN.write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    print(json.dumps(res, indent=1, sort_keys=True))
