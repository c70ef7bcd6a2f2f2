"""Command line: ``python -m train <command>`` (also installed as ``mm-train``).

Commands:
    fit          train an SB3 agent (PPO, SAC, TD3, A2C) on a scenario; resumable runs;
                 --seeds 0-4 trains one run per seed as Ray tasks
    tune         hyperparameter search: Ray Tune, Optuna's sampler, ASHA early stopping
    evaluate     run a saved model or a named baseline on held-out evaluation episodes
    compare      learned policies vs the baselines: CIs and paired tests
    sensitivity  the κ × φ grid of the notebook's rule, its cells as Ray tasks
    report       compare (+ sensitivity) and write a Markdown report with figures
    notebook     the seed notebook's experiment (report, κ table, plots)
    demo         the whole story on the default scenario (what `make demo` runs)
    benchmark    the task table: random, constant, rules, optimum, PPO and SAC per task

The fan-outs (sensitivity cells, compare's evaluations, fit's seeds, tune's trials) run on
Ray when it is installed (pip install 'mm_env[tune]'): a local Ray on this machine's cores, or
the cluster of --address; --workers 1 runs them one after the other (same numbers).

Bad input gives a one-line error and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from train.common import ALGOS, DEFAULT_ENV_ID, EVAL_SEED_BASE, CliError, parse_overrides
from train.tune import DEFAULT_REWARD_SPACE, DEFAULT_SPACE


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise CliError(f"not a comma-separated list of numbers: {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mm-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    def ray_args(q: argparse.ArgumentParser, what: str = "pieces") -> None:
        q.add_argument(
            "--workers",
            type=int,
            default=None,
            help=f"{what} at once on a local Ray (default: all cores); 1 = serial, no Ray",
        )
        q.add_argument(
            "--address", default=None, help="join a running Ray cluster (host:port or auto)"
        )

    def env_args(q: argparse.ArgumentParser, from_model: bool = False) -> None:
        if from_model:
            q.add_argument(
                "--env-id",
                default=None,
                help="default: the models' training env (else mm_env/MarketMaking-v0); a "
                "model runs under its training run's --set overrides, any --set on top",
            )
        else:
            q.add_argument("--env-id", default=DEFAULT_ENV_ID)
        q.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="scenario config override (repeatable)",
        )

    f = sub.add_parser("fit", help="train an agent")
    env_args(f)
    f.add_argument("--algo", default="ppo", help=f"one of {', '.join(ALGOS)}")
    f.add_argument("--seed", type=int, default=None, help="training seed (default 0)")
    f.add_argument(
        "--seeds",
        default=None,
        metavar="0-4|0,1,2",
        help="one run per seed, as Ray tasks (see --workers, --cpus-per-run)",
    )
    f.add_argument(
        "--cpus-per-run", type=int, default=1, help="with --seeds: CPUs (threads) of each run"
    )
    ray_args(f, "runs")
    f.add_argument(
        "--timesteps",
        type=int,
        default=None,
        help="total env-steps (default 200000; with --resume, the saved total)",
    )
    f.add_argument("--n-envs", type=int, default=64)
    f.add_argument("--eval-freq", type=int, default=50_000)
    f.add_argument("--eval-episodes", type=int, default=16)
    f.add_argument("--checkpoint-freq", type=int, default=100_000)
    f.add_argument("--run-root", default="runs")
    f.add_argument(
        "--hp",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="algorithm hyperparameter override (repeatable)",
    )
    f.add_argument(
        "--damping",
        type=float,
        default=0.0,
        help="train on PnL dampened by this η (Spooner et al. 2018); 0 = plain PnL",
    )
    f.add_argument(
        "--reward",
        default="pnl",
        help="training reward: pnl (the env's) or capture (PnL less q·Δmid: the same expected "
        "return where the mid is a martingale, far less noise; AvellanedaStoikov-v0 and "
        "CarteaJaimungal-v0 only)",
    )
    f.add_argument("--resume", default=None, help="run directory to continue")
    f.add_argument("--no-progress", action="store_true")

    e = sub.add_parser("evaluate", help="evaluate a model or a baseline")
    env_args(e, from_model=True)
    e.add_argument("policy", help="path to a run directory / model.zip, or baseline:NAME[:k=v,...]")
    e.add_argument("--episodes", type=int, default=100)
    e.add_argument("--seed", type=int, default=EVAL_SEED_BASE)
    e.add_argument("--out", default="reports/evaluate")

    for name, helptext in (
        ("compare", "compare models with the baselines"),
        ("report", "comparison report with figures"),
    ):
        c = sub.add_parser(name, help=helptext)
        env_args(c, from_model=True)
        c.add_argument("models", nargs="*", help="run directories or model.zip files")
        c.add_argument("--episodes", type=int, default=100)
        c.add_argument("--seed", type=int, default=EVAL_SEED_BASE)
        c.add_argument("--tune-seed", type=int, default=12345)
        c.add_argument("--tune-episodes", type=int, default=32)
        c.add_argument("--out", default=None)
        ray_args(c, "evaluations")
        if name == "report":
            c.add_argument("--name", default="report")
            c.add_argument("--kappas", default="-1,-0.5,0,0.5,1")
            c.add_argument("--phis", default="0,0.005,0.01,0.02")
            c.add_argument("--sens-episodes", type=int, default=32)
            c.add_argument("--tune", default=None, help="a tune directory: adds its section")

    s = sub.add_parser("sensitivity", help="κ × φ grid of the notebook rule")
    env_args(s)
    s.add_argument("--kappas", default="-1,-0.6,-0.3,0,0.3,0.6,1")
    s.add_argument("--phis", default="0,0.002,0.005,0.01,0.02")
    s.add_argument("--episodes", type=int, default=64)
    s.add_argument("--seed", type=int, default=EVAL_SEED_BASE)
    ray_args(s, "cells")
    s.add_argument("--out", default="reports/sensitivity")

    t = sub.add_parser("tune", help="hyperparameter search (Ray Tune + Optuna + ASHA)")
    env_args(t)
    t.add_argument("--algo", default="ppo", help=f"one of {', '.join(ALGOS)}")
    t.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="NAME=KIND:ARGS",
        help="a searched parameter (repeatable): loguniform:LO:HI, uniform:LO:HI, int:LO:HI, "
        "logint:LO:HI or choice:A,B,...; names: the algorithm's hyperparameters, net_arch "
        "(choice:64x64,256x256), damping, reward (choice:pnl,capture). Default: "
        + " ".join(DEFAULT_SPACE)
        + f" (+ {DEFAULT_REWARD_SPACE} where the mid is a martingale)",
    )
    t.add_argument("--trials", type=int, default=20)
    t.add_argument("--timesteps", type=int, default=100_000, help="env-steps per trial")
    t.add_argument("--seed", type=int, default=0, help="training seed of every trial; sampler")
    t.add_argument("--n-envs", type=int, default=64)
    t.add_argument("--eval-freq", type=int, default=10_000, help="env-steps between reports")
    t.add_argument("--eval-episodes", type=int, default=16)
    t.add_argument(
        "--hp", action="append", default=[], metavar="NAME=VALUE", help="fixed hyperparameter"
    )
    t.add_argument("--damping", type=float, default=0.0, help="fixed damping (if not searched)")
    t.add_argument("--reward", default="pnl", help="fixed reward (if not searched)")
    t.add_argument("--cpus-per-trial", type=float, default=1)
    t.add_argument(
        "--grace-period", type=int, default=2, help="ASHA: evaluations before a trial can stop"
    )
    t.add_argument("--reduction-factor", type=int, default=2, help="ASHA's reduction factor")
    t.add_argument("--out", default=None, help="default reports/tune/<scenario>__<algo>")
    t.add_argument("--resume", default=None, help="a tune directory to continue")
    t.add_argument("--address", default=None, help="join a running Ray cluster (host:port or auto)")

    n = sub.add_parser("notebook", help="the seed notebook's experiment")
    n.add_argument("--env-id", default="mm_env/MarketMaking-v0")
    n.add_argument("--seeds", type=int, default=32, help="episodes per kappa in the table")
    n.add_argument("--n-steps", type=int, default=None, help="override the episode length")
    n.add_argument("--out", default="reports/notebook")

    b = sub.add_parser("benchmark", help="the benchmark table of tasks, rules and learners")
    b.add_argument(
        "--tasks",
        default=None,
        help="comma-separated task names (cj, cj-inventory, market-making, goog, "
        "market-making-exec, goog-exec) and/or replay:PATH (default: all of them but "
        "replay:PATH; a task whose book is missing is skipped)",
    )
    b.add_argument(
        "--task", action="append", default=[], help="one more task (repeatable): NAME, replay:PATH"
    )
    b.add_argument("--seeds", type=int, default=5, help="training seeds 0..N-1 per learner")
    b.add_argument(
        "--budget",
        action="append",
        default=[],
        metavar="STEPS|ALGO=STEPS",
        help="env-steps per learner run (default ppo=100000, sac=10000); 0 skips a learner",
    )
    b.add_argument("--episodes", type=int, default=200, help="held-out evaluation episodes")
    b.add_argument("--seed", type=int, default=EVAL_SEED_BASE, help="evaluation seed")
    b.add_argument("--tune-episodes", type=int, default=64, help="training episodes for tuning")
    b.add_argument("--n-envs", type=int, default=64)
    b.add_argument(
        "--workers",
        type=int,
        default=None,
        help="training seeds and tuning episodes at once on a local Ray (default: all cores, "
        "serial without Ray); 1 = serial, no Ray (the same numbers)",
    )
    b.add_argument(
        "--no-resume",
        action="store_true",
        help="recompute every task (default: reuse the tasks finished in --out before with the "
        "same configuration)",
    )
    b.add_argument("--out", default="reports/benchmark")
    b.add_argument(
        "--rescore",
        nargs="+",
        default=None,
        metavar="DIR",
        help="rebuild the tables of finished benchmark directories from their saved episodes "
        "(merged in order into --out); no training",
    )

    d = sub.add_parser("demo", help="the whole story on the default scenario")
    d.add_argument("--seeds", type=int, default=3, help="PPO training seeds")
    d.add_argument("--timesteps", type=int, default=300_000, help="PPO steps per seed")
    d.add_argument("--episodes", type=int, default=100, help="evaluation episodes")
    d.add_argument("--n-steps", type=int, default=None, help="override the episode length")
    d.add_argument("--out", default="reports/demo")
    d.add_argument("--run-root", default="runs/demo")
    return p


def run(args: argparse.Namespace) -> int:
    if args.command == "fit":
        from train.fit import FitConfig, fit, fit_seeds
        from train.parallel import parse_seeds

        if args.seeds is not None and (args.seed is not None or args.resume):
            raise CliError("--seeds trains one run per seed: drop --seed and --resume")
        if args.seeds is None and (args.workers is not None or args.address is not None):
            raise CliError("--workers and --address go with --seeds (one run per seed)")
        cfg = FitConfig(
            env_id=args.env_id,
            algo=args.algo,
            seed=0 if args.seed is None else args.seed,
            total_timesteps=200_000 if args.timesteps is None else args.timesteps,
            n_envs=args.n_envs,
            overrides=parse_overrides(args.overrides),
            eval_freq=args.eval_freq,
            n_eval_episodes=args.eval_episodes,
            checkpoint_freq=args.checkpoint_freq,
            run_root=args.run_root,
            hyperparams=parse_overrides(args.hp),
            progress_bar=not args.no_progress,
            damping=args.damping,
            reward=args.reward,
        )
        if args.seeds is not None:
            seeds = parse_seeds(args.seeds)
            runs = fit_seeds(cfg, seeds, args.workers, args.cpus_per_run, args.address)
            for seed, run_dir in zip(seeds, runs):
                print(f"seed {seed}: run saved in {run_dir}")
            return 0
        run_dir = fit(
            cfg, Path(args.resume) if args.resume else None, args.timesteps if args.resume else None
        )
        print(f"run saved in {run_dir}")
    elif args.command == "evaluate":
        from train.evaluate import evaluate_command

        summary = evaluate_command(
            args.policy,
            args.env_id,
            parse_overrides(args.overrides),
            args.episodes,
            args.seed,
            Path(args.out),
        )
        _print_notes(summary["notes"])
        pnl = summary["final_pnl"]
        print(
            f"{summary['policy']}: final PnL {pnl['mean']:.4f} ± {pnl['se']:.4f} (SE) over "
            f"{args.episodes} episodes; wrote {args.out}/episodes.csv and summary.json"
        )
    elif args.command in ("compare", "report"):
        from train.compare import compare, format_table, format_tests, write_comparison

        overrides = parse_overrides(args.overrides)
        if args.command == "report" and args.tune is not None:
            if not (Path(args.tune) / "best.json").is_file():
                raise CliError(f"{args.tune} is not a finished tune directory (no best.json)")
        comp = compare(
            args.models,
            args.env_id,
            overrides,
            args.episodes,
            args.seed,
            args.tune_seed,
            args.tune_episodes,
            workers=args.workers,
            address=args.address,
        )
        out = Path(
            args.out or (f"reports/{args.name}" if args.command == "report" else "reports/compare")
        )
        _print_notes(comp.notes)
        write_comparison(comp, out)
        print(format_table(comp))
        print()
        print(format_tests(comp))
        if args.command == "report":
            from train.report import write_report
            from train.sensitivity import sensitivity

            sens = sensitivity(
                comp.env_id,
                comp.overrides,
                _floats(args.kappas),
                _floats(args.phis),
                args.seed,
                args.sens_episodes,
                workers=args.workers,
                address=args.address,
                progress=False,
            )
            path = write_report(comp, out, sens, tune_dir=Path(args.tune) if args.tune else None)
            print(f"\nwrote {path}")
    elif args.command == "sensitivity":
        from train.sensitivity import sensitivity, write_sensitivity

        sens = sensitivity(
            args.env_id,
            parse_overrides(args.overrides),
            _floats(args.kappas),
            _floats(args.phis),
            args.seed,
            args.episodes,
            args.workers,
            address=args.address,
        )
        path = write_sensitivity(sens, Path(args.out))
        print(f"wrote {path} and sensitivity.csv")
    elif args.command == "tune":
        return _tune(args)
    elif args.command == "notebook":
        from train.notebook import run_notebook

        run_notebook(env_id=args.env_id, n_seeds=args.seeds, n_steps=args.n_steps, out=args.out)
    elif args.command == "benchmark":
        return _benchmark(args)
    elif args.command == "demo":
        from train.demo import run_demo

        run_demo(
            n_seeds=args.seeds,
            timesteps=args.timesteps,
            n_episodes=args.episodes,
            n_steps=args.n_steps,
            out=args.out,
            run_root=args.run_root,
        )
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from train.benchmark import DEFAULT_TASKS, BenchmarkArgs, parse_budget, rescore, run_benchmark
    from train.common import check_eval_seed
    from train.parallel import check_workers

    if args.rescore:
        result = rescore([Path(d) for d in args.rescore], Path(args.out))
        print(Path(result["paths"]["markdown"]).read_text())
        print(f"wrote {args.out}/benchmark.md, benchmark.json and figures")
        return 0

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else []
    tasks += args.task
    if args.seeds < 1:
        raise CliError(f"--seeds must be at least 1 (got {args.seeds})")
    check_eval_seed(args.seed)
    check_workers(args.workers)
    bargs = BenchmarkArgs(
        tasks=tuple(tasks) or DEFAULT_TASKS,
        seeds=tuple(range(args.seeds)),
        budget=parse_budget(args.budget),
        episodes=args.episodes,
        seed=args.seed,
        tune_episodes=args.tune_episodes,
        n_envs=args.n_envs,
        out=args.out,
        workers=args.workers,
        resume=not args.no_resume,
    )
    command = "python -m train " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)

    result = run_benchmark(bargs, command=command, log=log)
    print(Path(result["paths"]["markdown"]).read_text())
    print(f"wrote {args.out}/benchmark.md, benchmark.json and figures")
    return 0


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        print(f"mm-train: note: {note}", file=sys.stderr)


def _tune(args: argparse.Namespace) -> int:
    from train.tune import TuneArgs, default_out, run_tune

    hyper = parse_overrides(args.hp)
    if args.resume is not None:
        summary = run_tune(TuneArgs(), resume=Path(args.resume), address=args.address)
        out = Path(args.resume)
    else:
        targs = TuneArgs(
            env_id=args.env_id,
            algo=args.algo,
            space=tuple(args.space),
            trials=args.trials,
            timesteps=args.timesteps,
            seed=args.seed,
            n_envs=args.n_envs,
            eval_freq=args.eval_freq,
            eval_episodes=args.eval_episodes,
            overrides=parse_overrides(args.overrides),
            hyperparams=hyper,
            damping=args.damping,
            reward=args.reward,
            cpus_per_trial=args.cpus_per_trial,
            grace_period=args.grace_period,
            reduction_factor=args.reduction_factor,
            out=args.out,
        )
        out = Path(args.out) if args.out else default_out(args.env_id, args.algo)
        summary = run_tune(targs, address=args.address)
    print(
        f"{summary['trials']} trials: {summary['completed']} completed, "
        f"{summary['stopped_early']} stopped early (ASHA), {summary['errors']} crashed "
        f"({summary['seconds']:.0f} s); table {out / 'trials.csv'}"
    )
    if summary["interrupted"]:
        print(f"interrupted: continue with  python -m train tune --resume {out}", file=sys.stderr)
        return 130
    best = summary.get("best")
    if best is None:
        print("mm-train: error: no trial reported a validation return", file=sys.stderr)
        return 1
    params = ", ".join(f"{k}={v}" for k, v in best["params"].items())
    print(f"best: trial {best['trial_id']}, validation return {best['best_val_return']:.4f}")
    print(f"  {params}")
    print(f"  model: {best['model']} (evaluate/compare take it); summary {out / 'best.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "address", None) is None:
        # A Ray this command starts for itself serves only this machine: keep it on loopback
        # (Ray otherwise listens on the outward interface). Read by Ray at its first import.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        return run(args)
    except (CliError, ValueError, FileNotFoundError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"mm-train: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
