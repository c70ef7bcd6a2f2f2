"""PPO end to end on the SB3 adapter: env-steps per second of training, and the share of wall
time spent inside the env (target: >= 30k env-steps/s with the env <= 10% of wall time).

``MlpPolicy`` on the CPU, torch limited to the machine's cores; rollout of ``n_steps`` per
sub-env, minibatches of ``batch_size``, ``n_epochs`` passes. The env's time is measured by a
VecEnv wrapper around ``step_wait`` and ``reset``.

    python benchmarks/bench_ppo.py [--n-envs 64 256] [--timesteps 131072]
"""

from __future__ import annotations

import argparse
import time

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnvWrapper

from mm_env.sb3 import make_sb3_vec_env


class Timed(VecEnvWrapper):
    def __init__(self, venv):
        super().__init__(venv)
        self.seconds = 0.0

    def reset(self):
        t = time.perf_counter()
        obs = self.venv.reset()
        self.seconds += time.perf_counter() - t
        return obs

    def step_wait(self):
        t = time.perf_counter()
        out = self.venv.step_wait()
        self.seconds += time.perf_counter() - t
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-envs", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--timesteps", type=int, default=131_072)
    parser.add_argument("--n-steps", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--n-epochs", type=int, default=4)
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}; PPO MlpPolicy, "
        f"n_steps={args.n_steps}, batch_size={args.batch_size}, n_epochs={args.n_epochs}"
    )
    warm = make_sb3_vec_env("mm_env/MarketMaking-v0", n_envs=1, seed=0)  # load cached kernels
    warm.reset()
    warm.step(warm.action_space.sample()[None, :])
    print(f"{'N':>5} {'timesteps':>10} {'wall s':>8} {'env-steps/s':>12} {'env share':>10}")
    for n in args.n_envs:
        venv = Timed(make_sb3_vec_env("mm_env/MarketMaking-v0", n_envs=n, seed=0))
        model = PPO(
            "MlpPolicy",
            venv,
            n_steps=args.n_steps,
            batch_size=args.batch_size,
            n_epochs=args.n_epochs,
            seed=0,
            device="cpu",
            verbose=0,
        )
        start = time.perf_counter()
        model.learn(args.timesteps)
        wall = time.perf_counter() - start
        steps = model.num_timesteps
        print(f"{n:5d} {steps:10d} {wall:8.1f} {steps / wall:12,.0f} {venv.seconds / wall:10.1%}")


if __name__ == "__main__":
    main()
