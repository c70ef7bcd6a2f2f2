"""Command line: ``python -m train <command>`` (also installed as ``mm-train``).

Commands:
    fit          train an SB3 agent (PPO, SAC, TD3, A2C) on a scenario; resumable runs
    evaluate     run a saved model or a named baseline on held-out evaluation episodes
    compare      learned policies vs the baselines: CIs and paired tests
    sensitivity  the κ × φ grid of the notebook's rule, in parallel
    report       compare (+ sensitivity) and write a Markdown report with figures
    notebook     the seed notebook's experiment (report, κ table, plots)
    demo         the whole story on the default scenario (what `make demo` runs)

Bad input gives a one-line error and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from train.common import ALGOS, EVAL_SEED_BASE, CliError, parse_overrides


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

    def env_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("--env-id", default="mm_env/MarketMaking-v0")
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
    f.add_argument("--seed", type=int, default=0)
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
    env_args(e)
    e.add_argument("policy", help="path to a run directory / model.zip, or baseline:NAME[:k=v,...]")
    e.add_argument("--episodes", type=int, default=100)
    e.add_argument("--seed", type=int, default=EVAL_SEED_BASE)
    e.add_argument("--out", default="reports/evaluate")

    for name, helptext in (
        ("compare", "compare models with the baselines"),
        ("report", "comparison report with figures"),
    ):
        c = sub.add_parser(name, help=helptext)
        env_args(c)
        c.add_argument("models", nargs="*", help="run directories or model.zip files")
        c.add_argument("--episodes", type=int, default=100)
        c.add_argument("--seed", type=int, default=EVAL_SEED_BASE)
        c.add_argument("--tune-seed", type=int, default=12345)
        c.add_argument("--tune-episodes", type=int, default=32)
        c.add_argument("--out", default=None)
        if name == "report":
            c.add_argument("--name", default="report")
            c.add_argument("--kappas", default="-1,-0.5,0,0.5,1")
            c.add_argument("--phis", default="0,0.005,0.01,0.02")
            c.add_argument("--sens-episodes", type=int, default=32)

    s = sub.add_parser("sensitivity", help="κ × φ grid of the notebook rule")
    env_args(s)
    s.add_argument("--kappas", default="-1,-0.6,-0.3,0,0.3,0.6,1")
    s.add_argument("--phis", default="0,0.002,0.005,0.01,0.02")
    s.add_argument("--episodes", type=int, default=64)
    s.add_argument("--seed", type=int, default=EVAL_SEED_BASE)
    s.add_argument("--workers", type=int, default=None)
    s.add_argument("--out", default="reports/sensitivity")

    n = sub.add_parser("notebook", help="the seed notebook's experiment")
    n.add_argument("--env-id", default="mm_env/MarketMaking-v0")
    n.add_argument("--seeds", type=int, default=32, help="episodes per kappa in the table")
    n.add_argument("--n-steps", type=int, default=None, help="override the episode length")
    n.add_argument("--out", default="reports/notebook")

    d = sub.add_parser("demo", help="the whole story on the default scenario")
    d.add_argument("--seeds", type=int, default=3, help="PPO training seeds")
    d.add_argument("--timesteps", type=int, default=300_000, help="PPO steps per seed")
    d.add_argument("--episodes", type=int, default=100, help="evaluation episodes")
    d.add_argument("--n-steps", type=int, default=None, help="override the episode length")
    d.add_argument("--out", default="reports/demo")
    d.add_argument("--run-root", default="runs/demo")
    return p


def run(args: argparse.Namespace) -> None:
    if args.command == "fit":
        from train.fit import FitConfig, fit

        cfg = FitConfig(
            env_id=args.env_id,
            algo=args.algo,
            seed=args.seed,
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
        pnl = summary["final_pnl"]
        print(
            f"{summary['policy']}: final PnL {pnl['mean']:.4f} ± {pnl['se']:.4f} (SE) over "
            f"{args.episodes} episodes; wrote {args.out}/episodes.csv and summary.json"
        )
    elif args.command in ("compare", "report"):
        from train.compare import compare, format_table, format_tests, write_comparison

        overrides = parse_overrides(args.overrides)
        comp = compare(
            args.models,
            args.env_id,
            overrides,
            args.episodes,
            args.seed,
            args.tune_seed,
            args.tune_episodes,
        )
        out = Path(
            args.out or (f"reports/{args.name}" if args.command == "report" else "reports/compare")
        )
        write_comparison(comp, out)
        print(format_table(comp))
        print()
        print(format_tests(comp))
        if args.command == "report":
            from train.report import write_report
            from train.sensitivity import sensitivity

            sens = sensitivity(
                args.env_id,
                overrides,
                _floats(args.kappas),
                _floats(args.phis),
                args.seed,
                args.sens_episodes,
            )
            path = write_report(comp, out, sens)
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
        )
        path = write_sensitivity(sens, Path(args.out))
        print(f"wrote {path} and sensitivity.csv")
    elif args.command == "notebook":
        from train.notebook import run_notebook

        run_notebook(env_id=args.env_id, n_seeds=args.seeds, n_steps=args.n_steps, out=args.out)
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except (CliError, ValueError, FileNotFoundError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"mm-train: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
