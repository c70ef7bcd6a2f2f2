"""How OpenMP's waiting policy moves the multi-threaded kernels and torch: mm_env's default (a short
spin, ``GOMP_SPINCOUNT=1000``, set on import) against ``OMP_WAIT_POLICY=PASSIVE`` and others.

For each setting, in fresh processes (libgomp reads the variables when it loads), interleaved
over ``--rounds``:

* alone: MarketMaking-v0's vector env at N = 1024 stepping alone, microseconds a step (best of 5
  runs of 1,000 steps);
* crowded: ``--crowd`` such processes at once (more threads than cores), mean microseconds a step
  of each over 6 s;
* ppo: ``benchmarks/bench_ppo.py --n-envs 64 256`` (SB3 PPO on MarketMaking-v0, torch on the
  CPU), env-steps per second of training.

Settings: ``default`` (mm_env's ``GOMP_SPINCOUNT=1000``), ``PASSIVE``, ``ACTIVE``,
``libgomp-default`` (libgomp's own spin, 300,000), and ``spin3000`` / ``spin10000`` /
``spin30000`` (longer spins than mm_env's, for a process that has the machine to itself), and
``threads1`` (``NUMBA_NUM_THREADS=1``: one thread per process, for several processes per core).

    python benchmarks/bench_omp_wait.py [--settings default PASSIVE ACTIVE] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

STEP = """
import time, numpy as np
from mm_env import MarketMakingVectorEnv
n = 1024
v = MarketMakingVectorEnv(n, "market_making"); v.reset(seed=0)
acts = [np.random.default_rng(k).uniform(-1, 1, (n, 2)).astype(np.float32) for k in range(16)]
for a in acts: v.step(a)
MODE
"""
ALONE = """
best = 1e9
for _ in range(5):
    s = time.perf_counter()
    for j in range(1000): v.step(acts[j % 16])
    best = min(best, (time.perf_counter() - s) / 1000 * 1e6)
print(best)
"""
CROWDED = """
s = time.perf_counter(); k = 0
while time.perf_counter() - s < 6.0:
    v.step(acts[k % 16]); k += 1
print((time.perf_counter() - s) / k * 1e6)
"""

SETTINGS = {
    "default": {},  # mm_env's own choice on import
    "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE"},
    "libgomp-default": {"GOMP_SPINCOUNT": "300000"},  # libgomp's own default spin
    "spin3000": {"GOMP_SPINCOUNT": "3000"},
    "spin10000": {"GOMP_SPINCOUNT": "10000"},
    "spin30000": {"GOMP_SPINCOUNT": "30000"},
    "threads1": {"NUMBA_NUM_THREADS": "1"},  # one thread per process: nothing spins
}


def env_for(setting: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(SETTINGS[setting])
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", nargs="+", default=["default", "PASSIVE"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--crowd", type=int, default=3)
    args = parser.parse_args()
    unknown = set(args.settings) - set(SETTINGS)
    if unknown:
        parser.error(f"unknown settings {sorted(unknown)}; known: {sorted(SETTINGS)}")
    print(
        f"{'setting':16} {'round':>5} {'alone us':>9} {'crowded us (each)':>26} {'ppo N=64':>9} "
        f"{'ppo N=256':>10}"
    )
    for r in range(args.rounds):
        for setting in args.settings:
            env = env_for(setting)
            alone = float(run_python(STEP.replace("MODE", ALONE), env).communicate()[0])
            procs = [run_python(STEP.replace("MODE", CROWDED), env) for _ in range(args.crowd)]
            crowded = [float(p.communicate()[0]) for p in procs]
            out = subprocess.run(
                [
                    sys.executable,
                    str(HERE / "bench_ppo.py"),
                    "--n-envs",
                    "64",
                    "256",
                    "--timesteps",
                    "131072",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rates = [
                ln.split()[3] for ln in out.splitlines() if ln.split()[:1] in (["64"], ["256"])
            ]
            each = " ".join(f"{c:.0f}" for c in crowded)
            print(f"{setting:16} {r + 1:5d} {alone:9.1f} {each:>26} {rates[0]:>9} {rates[1]:>10}")


if __name__ == "__main__":
    main()
