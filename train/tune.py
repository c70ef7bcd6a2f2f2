"""``tune``: hyperparameter search on Ray Tune, with Optuna's sampler and ASHA early stopping.

A trial is one :func:`train.fit.fit` run (seeded, its ``config.json`` and models saved exactly as
``fit`` saves them) inside the trial's directory. After each of ``fit``'s periodic evaluations
on the validation stream, the trial reports the validation return to Tune (``tune.report``),
with a tiny checkpoint naming the run directory; ASHA stops trials whose validation return is
weak at a rung, and a trial restored after an interruption continues the ``fit`` run in its
folder from that run's latest checkpoint (``fit --resume``).

``--out`` (default ``reports/tune/<scenario>__<algo>``) holds ``tune_config.json`` (the command's
arguments, what ``--resume`` reads back), ``trials/`` (Tune's experiment directory: one folder per
trial with its ``fit`` run under ``runs/``), ``trials.csv`` (one row per trial: status, sampled
values, validation returns, error), ``best.json`` and ``best_run/`` (a copy of the best trial's
run: ``evaluate`` and ``compare`` take it), ``optimization_history.png``, ``learning_curves.png``
and ``param_importances.png``.

This module imports Ray and Optuna only inside the functions that run a search, so parsing a
search space and reading a finished directory (``report --tune``) need neither.
"""

from __future__ import annotations

import csv
import inspect
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mm_env
from train.common import (
    CliError,
    check_env_id,
    check_training_seed,
    make_config,
    pyplot,
    save_figure,
    versions,
    write_json,
)

#: search-space kinds: ``loguniform:LO:HI``, ``uniform:LO:HI``, ``int:LO:HI`` and
#: ``logint:LO:HI`` (both ends included), ``choice:A,B,...``
KINDS = ("loguniform", "uniform", "int", "logint", "choice")
#: parameters that are not the algorithm's own: the policy network's hidden layers
#: (``64x64`` = two layers of 64) and fit's training reward
EXTRA_PARAMS = ("net_arch", "damping", "reward")
INT_PARAMS = ("n_steps", "batch_size", "n_epochs")
UNIT_PARAMS = ("gamma", "gae_lambda")  # in (0, 1]
NONNEGATIVE_PARAMS = ("ent_coef", "damping", "vf_coef")

#: the space searched when no ``--space`` is given (``reward`` only where capture is unbiased)
DEFAULT_SPACE = (
    "learning_rate=loguniform:1e-5:1e-3",
    "n_steps=choice:64,128,256",
    "batch_size=choice:512,1024,2048",
    "gamma=uniform:0.9:0.999",
    "ent_coef=uniform:0:0.01",
    "net_arch=choice:64x64,128x128,256x256",
    "damping=uniform:0:1",
)
DEFAULT_REWARD_SPACE = "reward=choice:pnl,capture"

METRIC = "val_return"
TABLE = "trials.csv"
EXPERIMENT = "trials"


@dataclass(frozen=True)
class Dimension:
    """One parameter of the search space, as parsed from ``name=kind:args``."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple[Any, ...] = ()

    def spec(self) -> str:
        if self.kind == "choice":
            return f"{self.name}=choice:{','.join(str(c) for c in self.choices)}"
        return f"{self.name}={self.kind}:{self.low:g}:{self.high:g}"

    def ray(self) -> Any:
        """The Ray Tune domain (OptunaSearch turns it into an Optuna distribution)."""
        from ray import tune

        if self.kind == "loguniform":
            return tune.loguniform(self.low, self.high)
        if self.kind == "uniform":
            return tune.uniform(self.low, self.high)
        if self.kind == "int":
            return tune.randint(int(self.low), int(self.high) + 1)
        if self.kind == "logint":
            return tune.lograndint(int(self.low), int(self.high) + 1)
        return tune.choice(list(self.choices))

    def optuna(self) -> Any:
        """The Optuna distribution (for the importance analysis of a finished search)."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind in ("loguniform", "uniform"):
            return FloatDistribution(self.low, self.high, log=self.kind == "loguniform")
        if self.kind in ("int", "logint"):
            return IntDistribution(int(self.low), int(self.high), log=self.kind == "logint")
        return CategoricalDistribution(list(self.choices))


def _number(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise CliError(f"--space {spec!r}: {text!r} is not a number") from exc
    if not math.isfinite(value):
        raise CliError(f"--space {spec!r}: {text!r} is not a finite number")
    return value


def _choice_value(name: str, text: str, spec: str) -> Any:
    text = text.strip()
    if not text:
        raise CliError(f"--space {spec!r}: an empty choice")
    if name == "net_arch":
        parts = text.lower().split("x")
        if not all(p.isdigit() and int(p) > 0 for p in parts):
            raise CliError(
                f"--space {spec!r}: a net_arch choice is hidden-layer widths like 64x64 "
                f"(got {text!r})"
            )
        return "x".join(str(int(p)) for p in parts)
    if name == "reward":
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--space {spec!r}: choice {text!r} is not a number") from exc
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CliError(f"--space {spec!r}: choice {text!r} is not a number")
    return value


def parse_dimension(spec: str, known: set[str]) -> Dimension:
    """``"learning_rate=loguniform:1e-5:1e-3"`` -> :class:`Dimension`; a malformed spec, an
    unknown parameter or an empty range is a :class:`CliError`."""
    name, eq, rest = spec.partition("=")
    name = name.strip()
    if not eq or not name or not rest:
        raise CliError(f"--space {spec!r} is not of the form name=kind:args (kinds: {KINDS})")
    if name not in known:
        raise CliError(
            f"--space {spec!r}: unknown parameter {name!r}; searchable: {', '.join(sorted(known))}"
        )
    kind, _, args = rest.partition(":")
    kind = kind.strip()
    if kind not in KINDS:
        raise CliError(f"--space {spec!r}: unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    if kind == "choice":
        choices = tuple(_choice_value(name, c, spec) for c in args.split(","))
        if not args.strip():
            raise CliError(f"--space {spec!r}: an empty choice list")
        if len(set(choices)) != len(choices):
            raise CliError(f"--space {spec!r}: a choice is listed twice")
        dim = Dimension(name, kind, choices=choices)
    else:
        bounds = args.split(":")
        if len(bounds) != 2:
            raise CliError(f"--space {spec!r}: {kind} takes two bounds, {kind}:LOW:HIGH")
        low, high = (_number(b, spec) for b in bounds)
        if not low < high:
            raise CliError(f"--space {spec!r}: the range [{low:g}, {high:g}] is empty")
        if kind in ("int", "logint") and not (low.is_integer() and high.is_integer()):
            raise CliError(f"--space {spec!r}: {kind} bounds must be integers")
        if kind in ("loguniform", "logint") and low <= 0:
            raise CliError(f"--space {spec!r}: a log scale needs a lower bound above 0")
        if name in INT_PARAMS and kind in ("uniform", "loguniform"):
            raise CliError(f"--space {spec!r}: {name} is an integer; use int, logint or choice")
        dim = Dimension(name, kind, low, high)
    _check_values(dim, spec)
    return dim


def _check_values(dim: Dimension, spec: str) -> None:
    from train.fit import REWARDS

    if dim.name == "reward":
        bad = [c for c in dim.choices if c not in REWARDS]
        if dim.kind != "choice" or bad:
            raise CliError(f"--space {spec!r}: reward is a choice of {list(REWARDS)}")
        return
    if dim.name == "net_arch":
        if dim.kind != "choice":
            raise CliError(f"--space {spec!r}: net_arch is a choice, e.g. choice:64x64,256x256")
        return
    values = list(dim.choices) if dim.kind == "choice" else [dim.low, dim.high]
    if dim.name in INT_PARAMS and not all(float(v).is_integer() for v in values):
        raise CliError(f"--space {spec!r}: {dim.name} takes integers")
    if dim.name in UNIT_PARAMS:
        ok = all(0 < v <= 1 for v in values)
    elif dim.name in NONNEGATIVE_PARAMS:
        ok = all(v >= 0 for v in values)
    else:
        ok = all(v > 0 for v in values)
    if not ok:
        where = {True: "in (0, 1]"}.get(dim.name in UNIT_PARAMS) or (
            ">= 0" if dim.name in NONNEGATIVE_PARAMS else "> 0"
        )
        raise CliError(f"--space {spec!r}: {dim.name} must be {where}")


def searchable(algo: str) -> set[str]:
    """The algorithm's constructor arguments that take a number, and the extra parameters."""
    from train.fit import _algo_class

    params = inspect.signature(_algo_class(algo).__init__).parameters
    skip = {"self", "policy", "env", "seed", "device", "verbose", "tensorboard_log"}
    skip |= {"policy_kwargs", "_init_setup_model", "stats_window_size", "rollout_buffer_class"}
    skip |= {"rollout_buffer_kwargs", "replay_buffer_class", "replay_buffer_kwargs"}
    return {p for p in params if p not in skip} | set(EXTRA_PARAMS)


def parse_space(specs: list[str], algo: str, env_id: str) -> list[Dimension]:
    """The search space: the given specs, or :data:`DEFAULT_SPACE` when there are none."""
    known = searchable(algo)
    if not specs:
        specs = list(DEFAULT_SPACE)
        if mm_env.ENV_IDS[env_id] in _martingale_scenarios():
            specs.append(DEFAULT_REWARD_SPACE)
    dims = [parse_dimension(s, known) for s in specs]
    names = [d.name for d in dims]
    if len(set(names)) != len(names):
        raise CliError(f"--space names a parameter twice: {names}")
    reward = next((d for d in dims if d.name == "reward"), None)
    if reward is not None and "capture" in reward.choices:
        if mm_env.ENV_IDS[env_id] not in _martingale_scenarios():
            raise CliError(
                f"--space {reward.spec()!r}: capture is unbiased only where the mid is a "
                f"martingale ({list(_martingale_scenarios())}); {env_id} has a predictable mid"
            )
    return dims


def _martingale_scenarios() -> tuple[str, ...]:
    from train.fit import MARTINGALE_MID_SCENARIOS

    return MARTINGALE_MID_SCENARIOS


# ---- one trial --------------------------------------------------------------------------
def trial_fit_config(base: dict[str, Any], params: dict[str, Any], run_root: Path) -> Any:
    """The :class:`~train.fit.FitConfig` of a trial: the command's fixed arguments (``base``)
    with the sampled ``params``. With ``reward=capture`` a sampled ``damping`` is set to 0
    (fit refuses the two together: capture already drops the inventory term)."""
    from train.fit import FitConfig

    hyper = dict(base["hyperparams"])
    damping = float(base["damping"])
    reward = base["reward"]
    for name, value in params.items():
        if name == "net_arch":
            hyper["policy_kwargs"] = {
                **hyper.get("policy_kwargs", {}),
                "net_arch": [int(w) for w in str(value).split("x")],
            }
        elif name == "damping":
            damping = float(value)
        elif name == "reward":
            reward = value
        elif name in INT_PARAMS:
            hyper[name] = int(value)
        else:
            hyper[name] = value
    if reward == "capture":
        damping = 0.0
    return FitConfig(
        env_id=base["env_id"],
        algo=base["algo"],
        seed=base["seed"],
        total_timesteps=base["timesteps"],
        n_envs=base["n_envs"],
        overrides=dict(base["overrides"]),
        eval_freq=base["eval_freq"],
        n_eval_episodes=base["eval_episodes"],
        checkpoint_freq=base["eval_freq"],  # a restored trial loses at most one evaluation
        run_root=str(run_root),
        hyperparams=hyper,
        progress_bar=False,
        damping=damping,
        reward=reward,
    )


def _report_callback() -> Any:
    """An SB3 callback for fit's ``after_eval``: each evaluation's validation return to Tune,
    with a (tiny) checkpoint naming the run, so that Tune restores the trial's history."""
    import tempfile

    from ray import tune
    from stable_baselines3.common.callbacks import BaseCallback

    class ReportToTune(BaseCallback):
        def _on_step(self) -> bool:
            parent: Any = self.parent
            run_dir = Path(parent.best_model_save_path).parent
            metrics = {
                METRIC: float(parent.last_mean_reward),
                "best_val_return": float(parent.best_mean_reward),
                "timesteps": int(self.num_timesteps),
                "run_dir": str(run_dir),
            }
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "run.json").write_text(json.dumps({"run_dir": str(run_dir)}))
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))
            return True

    return ReportToTune()


def tune_trial(params: dict[str, Any], base: dict[str, Any]) -> None:
    """The Tune trainable: one seeded ``fit`` run with the sampled ``params``, in the trial's
    folder. A trial started again after an interruption finds its run there and continues it
    from the run's latest checkpoint (a run with none yet starts over)."""
    from ray import tune

    from train.fit import fit
    from train.parallel import limit_threads

    limit_threads(base["cpus_per_trial"])
    # the run goes straight to the experiment's storage (the trial's folder under --out;
    # shared storage on a cluster), not to the node-local working directory Ray syncs from
    trial_dir = Path(base["experiment_dir"]) / Path(tune.get_context().get_trial_dir()).name
    cfg = trial_fit_config(base, params, trial_dir / "runs")
    resume = None
    for run_dir in sorted((trial_dir / "runs").glob("*__*")):
        if (run_dir / "DONE").exists():  # finished before Tune heard of its end
            _report_finished(run_dir)
            return
        if list((run_dir / "checkpoints").glob("model_*_steps.zip")):
            resume = run_dir
        else:
            shutil.rmtree(run_dir)
    fit(cfg, resume=resume, after_eval=_report_callback())


def _report_finished(run_dir: Path) -> None:
    import numpy as np
    from ray import tune

    history = np.load(run_dir / "eval" / "evaluations.npz")
    means = history["results"].mean(axis=1)
    tune.report(
        {
            METRIC: float(means[-1]),
            "best_val_return": float(means.max()),
            "timesteps": int(history["timesteps"][-1]),
            "run_dir": str(run_dir),
        }
    )


# ---- the search -------------------------------------------------------------------------
@dataclass
class TuneArgs:
    """The arguments of ``tune`` (saved as ``tune_config.json``; ``--resume`` reads them)."""

    env_id: str = "mm_env/MarketMaking-v0"
    algo: str = "ppo"
    space: tuple[str, ...] = ()
    trials: int = 20
    timesteps: int = 100_000
    seed: int = 0
    n_envs: int = 64
    eval_freq: int = 10_000
    eval_episodes: int = 16
    overrides: dict[str, Any] | None = None
    hyperparams: dict[str, Any] | None = None
    damping: float = 0.0
    reward: str = "pnl"
    cpus_per_trial: float = 1
    grace_period: int = 2
    reduction_factor: int = 2
    out: str | None = None


def default_out(env_id: str, algo: str) -> Path:
    return Path("reports") / "tune" / f"{mm_env.ENV_IDS[env_id]}__{algo}"


def check_args(args: TuneArgs) -> tuple[list[Dimension], dict[str, Any]]:
    """Validate everything before Ray starts; returns the space and the trials' fixed base."""
    from train.fit import DEFAULT_HYPERPARAMS, FitConfig, _algo_class, check_reward

    check_env_id(args.env_id)
    check_training_seed(args.seed)
    _algo_class(args.algo)
    make_config(args.env_id, dict(args.overrides or {}))
    for name, value, least in (
        ("--trials", args.trials, 1),
        ("--timesteps", args.timesteps, 1),
        ("--n-envs", args.n_envs, 1),
        ("--eval-freq", args.eval_freq, 1),
        ("--eval-episodes", args.eval_episodes, 1),
        ("--grace-period", args.grace_period, 1),
        ("--reduction-factor", args.reduction_factor, 2),
    ):
        if value < least:
            raise CliError(f"{name} must be at least {least} (got {value})")
    if not args.cpus_per_trial > 0:
        raise CliError(f"--cpus-per-trial must be above 0 (got {args.cpus_per_trial})")
    if args.eval_freq > args.timesteps:
        raise CliError(
            f"--eval-freq {args.eval_freq} exceeds --timesteps {args.timesteps}: a trial would "
            "never report a validation return"
        )
    n_evals = _evaluations(args.timesteps, args.eval_freq)
    if args.grace_period >= n_evals:
        raise CliError(
            f"--grace-period {args.grace_period} leaves ASHA no rung: a trial makes "
            f"{n_evals} evaluations (--timesteps / --eval-freq); lower it or evaluate more often"
        )
    dims = parse_space(list(args.space), args.algo, args.env_id)
    fixed = dict(args.hyperparams or {})
    clash = sorted(set(fixed) & {d.name for d in dims})
    if clash:
        raise CliError(f"{clash} both fixed (--hp) and searched (--space)")
    unknown = sorted(set(fixed) - (searchable(args.algo) | {"policy_kwargs"}))
    if unknown:
        raise CliError(f"unknown {args.algo} hyperparameter(s) {unknown}")
    searched = {d.name for d in dims}
    if not (math.isfinite(args.damping) and args.damping >= 0):
        raise CliError(f"--damping must be a finite number >= 0 (got {args.damping})")
    if "reward" not in searched and "damping" not in searched:
        check_reward(FitConfig(env_id=args.env_id, damping=args.damping, reward=args.reward))
    elif "reward" not in searched:
        check_reward(FitConfig(env_id=args.env_id, reward=args.reward))
    base = {
        "env_id": args.env_id,
        "algo": args.algo,
        "seed": args.seed,
        "timesteps": args.timesteps,
        "n_envs": args.n_envs,
        "eval_freq": args.eval_freq,
        "eval_episodes": args.eval_episodes,
        "overrides": dict(args.overrides or {}),
        "hyperparams": {**DEFAULT_HYPERPARAMS.get(args.algo, {}), **fixed},
        "damping": args.damping,
        "reward": args.reward,
        "cpus_per_trial": args.cpus_per_trial,
    }
    return dims, base


def _evaluations(timesteps: int, eval_freq: int) -> int:
    """How many evaluations (reports) a full trial makes, at least."""
    return max(timesteps // eval_freq, 1)


def _trainable(base: dict[str, Any], trial_fn: Any = None) -> Any:
    from ray import tune

    fn = tune.with_parameters(trial_fn or tune_trial, base=base)
    return tune.with_resources(fn, {"cpu": base["cpus_per_trial"]})


def run_tune(
    args: TuneArgs,
    resume: Path | None = None,
    address: str | None = None,
    trial_fn: Any = None,
) -> dict[str, Any]:
    """Run (or, with ``resume`` = a tune directory, continue) a search; write the outputs and
    return the summary (``best.json``'s content plus ``interrupted`` and the output paths).
    ``trial_fn`` replaces :func:`tune_trial` (the tests inject a crash with it)."""
    from train.parallel import check_address, ray_installed, ray_session

    if resume is not None:
        saved = resume / "tune_config.json"
        if not saved.is_file():
            raise CliError(f"{resume} is not a tune directory (no tune_config.json)")
        stored = json.loads(saved.read_text())["args"]
        args = TuneArgs(**{**stored, "space": tuple(stored["space"]), "out": str(resume)})
    dims, base = check_args(args)
    out = Path(args.out) if args.out else default_out(args.env_id, args.algo)
    base["experiment_dir"] = str((out / EXPERIMENT).resolve())
    if resume is None and (out / EXPERIMENT).exists():
        raise CliError(f"{out} already holds a search; pass --resume {out} or another --out")
    if not ray_installed() or _missing("optuna"):
        raise CliError("tune needs Ray Tune and Optuna: pip install 'mm_env[tune]'")
    if address is not None:
        check_address(address)
    if resume is None:
        args.space = tuple(d.spec() for d in dims)
        write_json(
            out / "tune_config.json",
            {
                "args": asdict(args),
                "base": base,
                "versions": {**versions(), **_tune_versions()},
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            },
        )
    num_cpus = None if address else (os.cpu_count() or 1)
    started = time.perf_counter()
    with ray_session(address, num_cpus):
        grid, statuses = _run_tuner(args, dims, base, out, resume is not None, trial_fn)
    seconds = time.perf_counter() - started
    rows = _trial_rows(grid, statuses, dims, base)
    summary = write_outputs(out, rows, dims, args)
    summary["interrupted"] = len(rows) < args.trials or any(
        s in ("PENDING", "RUNNING", "PAUSED") for s, _ in statuses.values()
    )
    summary["seconds"] = seconds
    return summary


def _missing(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is None


def _tune_versions() -> dict[str, str]:
    import optuna
    import ray

    return {"ray": ray.__version__, "optuna": optuna.__version__}


def _run_tuner(
    args: TuneArgs,
    dims: list[Dimension],
    base: dict[str, Any],
    out: Path,
    restore: bool,
    trial_fn: Any,
) -> tuple[Any, dict[str, tuple[str, int]]]:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    trainable = _trainable(base, trial_fn)
    path = (out / EXPERIMENT).resolve()
    if restore:
        if not tune.Tuner.can_restore(str(path)):
            raise CliError(f"{out} has no Tune experiment to resume ({path})")
        tuner = tune.Tuner.restore(str(path), trainable, resume_unfinished=True)
    else:
        tuner = tune.Tuner(
            trainable,
            param_space={d.name: d.ray() for d in dims},
            tune_config=tune.TuneConfig(
                metric=METRIC,
                mode="max",
                num_samples=args.trials,
                search_alg=OptunaSearch(seed=args.seed),
                # rungs at grace·rf^k below the last evaluation: a trial that passes them all
                # runs to the end and saves its final model (stop_last_trials=False)
                scheduler=ASHAScheduler(
                    time_attr="training_iteration",
                    max_t=_evaluations(args.timesteps, args.eval_freq) - 1,
                    grace_period=args.grace_period,
                    reduction_factor=args.reduction_factor,
                    stop_last_trials=False,
                ),
            ),
            run_config=tune.RunConfig(
                name=EXPERIMENT,
                storage_path=str(path.parent),
                # a crashed trial is reported (ERROR, with its error) and the sweep goes on
                failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
                verbose=1,
            ),
        )
    grid = tuner.fit()
    # each trial's status and creation number, as saved in the experiment's state (after an
    # interruption, the trials left to run are PENDING there)
    trials = tune.ExperimentAnalysis(str(path)).trials
    statuses = {t.trial_id: (str(t.status), _number_of(t)) for t in trials}
    return grid, statuses


def _number_of(trial: Any) -> int:
    """A trial's creation number (its experiment tag starts with it: ``3_lr=...``)."""
    head = str(getattr(trial, "experiment_tag", "")).split("_")[0]
    return int(head) if head.isdigit() else 0


def _first_line(error: Any) -> str:
    if error is None:
        return ""
    text = str(getattr(error, "cause", None) or error).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # a RayTaskError's text starts with its location; its last line names the exception
    return (lines[-1] if lines else type(error).__name__)[:300]


def _trial_rows(
    grid: Any, statuses: dict[str, tuple[str, int]], dims: list[Dimension], base: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = []
    for result in grid:
        metrics = dict(result.metrics or {})
        # a trial that never reported has no metrics; its folder is tune_trial_<id>_<n>_...
        trial_id = metrics.get("trial_id") or Path(str(result.path)).name.split("_")[2]
        history = result.metrics_dataframe
        curve: list[tuple[int, float]] = []
        if history is not None and METRIC in getattr(history, "columns", ()):
            curve = [
                (int(t), float(v))
                for t, v in zip(history["timesteps"], history[METRIC])
                if not math.isnan(v)
            ]
        run_dir = metrics.get("run_dir", "")
        status, number = statuses.get(trial_id, ("TERMINATED", 0))
        if result.error is not None:
            status = "ERROR"
        elif status == "TERMINATED":
            done = run_dir and (Path(run_dir) / "DONE").exists()
            status = "COMPLETED" if done else "STOPPED_EARLY"
        config = result.config or {}
        rows.append(
            {
                "trial": number,
                "trial_id": trial_id,
                "status": status,
                **{d.name: config.get(d.name, "") for d in dims},
                METRIC: metrics.get(METRIC, ""),
                "best_val_return": max((v for _, v in curve), default=""),
                "evaluations": len(curve),
                "timesteps": metrics.get("timesteps", ""),
                "seconds": round(float(metrics.get("time_total_s", 0.0) or 0.0), 2),
                "run_dir": run_dir,
                "error": _first_line(result.error),
                "_curve": curve,
            }
        )
    rows.sort(key=lambda r: (r["trial"], str(r["trial_id"])))
    return rows


# ---- outputs ----------------------------------------------------------------------------
def write_outputs(
    out: Path, rows: list[dict[str, Any]], dims: list[Dimension], args: TuneArgs
) -> dict[str, Any]:
    """``trials.csv``, ``best.json``, ``best_run/`` and the figures; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    columns = [k for k in (rows[0] if rows else {"trial_id": 0}) if not k.startswith("_")]
    with open(out / TABLE, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    scored = [r for r in rows if r["status"] != "ERROR" and r["best_val_return"] != ""]
    summary: dict[str, Any] = {
        "env_id": args.env_id,
        "algo": args.algo,
        "trials": len(rows),
        "errors": sum(r["status"] == "ERROR" for r in rows),
        "stopped_early": sum(r["status"] == "STOPPED_EARLY" for r in rows),
        "completed": sum(r["status"] == "COMPLETED" for r in rows),
        "space": [d.spec() for d in dims],
        "table": str(out / TABLE),
        "figures": [],
    }
    if scored:
        best = max(scored, key=lambda r: float(r["best_val_return"]))
        best_copy = out / "best_run"
        if best_copy.exists():
            shutil.rmtree(best_copy)
        source = Path(best["run_dir"])
        if source.is_dir():
            shutil.copytree(source, best_copy, ignore=shutil.ignore_patterns("checkpoints", "tb"))
        saved_cfg = source / "config.json"
        summary["best"] = {
            "trial_id": best["trial_id"],
            "params": {d.name: best[d.name] for d in dims},
            "best_val_return": best["best_val_return"],
            "status": best["status"],
            "run_dir": str(source),
            "model": str(best_copy) if best_copy.is_dir() else str(source),
            "config": json.loads(saved_cfg.read_text()) if saved_cfg.is_file() else None,
        }
    summary["figures"] = [str(p) for p in write_figures(out, rows, dims)]
    summary["importances"] = param_importances(rows, dims)
    if summary["importances"]:
        summary["figures"].append(str(_importance_figure(out, summary["importances"])))
    write_json(out / "best.json", summary)
    return summary


def write_figures(out: Path, rows: list[dict[str, Any]], dims: list[Dimension]) -> list[Path]:
    """Optimization history (each trial's best validation return in trial order, and the best
    so far) and the learning curves (validation return against steps: ASHA's cuts show)."""
    plt = pyplot()
    scored = [(i, r) for i, r in enumerate(rows, 1) if r["best_val_return"] != ""]
    fig, ax = plt.subplots(figsize=(7, 4))
    if scored:
        xs = [i for i, _ in scored]
        ys = [float(r["best_val_return"]) for _, r in scored]
        colors = ["tab:blue" if r["status"] == "COMPLETED" else "tab:orange" for _, r in scored]
        ax.scatter(xs, ys, c=colors, zorder=3, label="trial (orange: stopped early by ASHA)")
        running = [max(ys[: k + 1]) for k in range(len(ys))]
        ax.step(xs, running, where="post", color="tab:red", label="best so far")
    errors = [i for i, r in enumerate(rows, 1) if r["status"] == "ERROR"]
    for i in errors:
        ax.axvline(i, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("trial index (order of creation; dotted: crashed)")
    ax.set_ylabel("best validation return")
    ax.set_title(f"Optimization history ({len(rows)} trials)")
    ax.legend(fontsize=7)
    history = save_figure(fig, out / "optimization_history.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in rows:
        if r["_curve"]:
            steps, values = zip(*r["_curve"])
            ax.plot(steps, values, marker=".", lw=1, label=str(r["trial_id"])[-5:])
    ax.set_xlabel("env-steps")
    ax.set_ylabel("validation return")
    ax.set_title("Validation return at each evaluation")
    if len(rows) <= 12:
        ax.legend(fontsize=6)
    curves = save_figure(fig, out / "learning_curves.png")
    return [history, curves]


def param_importances(rows: list[dict[str, Any]], dims: list[Dimension]) -> dict[str, float]:
    """Optuna's importance of each searched parameter for the best validation return, over
    the trials that produced one (fANOVA when scikit-learn is installed, else PED-ANOVA);
    empty when there are too few trials or too little variation to tell."""
    import warnings

    if _missing("optuna"):
        return {}
    import optuna

    scored = [r for r in rows if r["status"] != "ERROR" and r["best_val_return"] != ""]
    varied = [d for d in dims if len({str(r[d.name]) for r in scored}) > 1]
    if len(scored) < 2 or not varied:
        return {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    dists = {d.name: d.optuna() for d in varied}
    for r in scored:
        params = {d.name: _typed(d, r[d.name]) for d in varied}
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=dists, value=float(r["best_val_return"])
            )
        )
    evaluator: Any
    if _missing("sklearn"):
        quantile = min(0.5, max(0.1, 2 / len(scored)))
        cls: Any = optuna.importance.PedAnovaImportanceEvaluator
        # the top quantile is baseline_quantile in Optuna 3.6, target_quantile in Optuna 5
        name = next(
            n
            for n in ("target_quantile", "baseline_quantile")
            if n in inspect.signature(cls.__init__).parameters
        )
        evaluator = cls(**{name: quantile})
    else:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}
    return {k: float(v) for k, v in values.items()}


def _typed(dim: Dimension, value: Any) -> Any:
    if dim.kind == "choice":
        return next((c for c in dim.choices if str(c) == str(value)), value)
    if dim.kind in ("int", "logint"):
        return int(value)
    return float(value)


def _importance_figure(out: Path, importances: dict[str, float]) -> Path:
    plt = pyplot()
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(names) + 1.5))
    ax.barh(names, [importances[n] for n in names], color="tab:blue")
    ax.set_xlabel("importance for the best validation return (Optuna)")
    ax.set_title("Parameter importances")
    return save_figure(fig, out / "param_importances.png")


# ---- the report's tuning section ---------------------------------------------------------
def tuning_section(tune_dir: Path, out: Path) -> list[str]:
    """Markdown lines on a finished search (for ``report --tune``); copies its figures to
    ``out``."""
    best_file = tune_dir / "best.json"
    if not best_file.is_file() or not (tune_dir / TABLE).is_file():
        raise CliError(f"{tune_dir} is not a finished tune directory (no best.json/{TABLE})")
    summary = json.loads(best_file.read_text())
    rows = list(csv.DictReader(open(tune_dir / TABLE)))
    lines = [
        "## Hyperparameter search (Ray Tune, Optuna sampler, ASHA)",
        "",
        f"{summary['trials']} trials on {summary['env_id']} ({summary['algo']}): "
        f"{summary['completed']} completed, {summary['stopped_early']} stopped early by ASHA, "
        f"{summary['errors']} crashed. Space: {'; '.join(summary['space'])}. "
        f"Directory: `{tune_dir}`.",
        "",
    ]
    best = summary.get("best")
    if best:
        params = ", ".join(f"{k}={v}" for k, v in best["params"].items())
        lines += [
            f"Best trial {best['trial_id']}: validation return {float(best['best_val_return']):.4f}"
            f" with {params}; model `{best['model']}`.",
            "",
        ]
    ranked = sorted(
        (r for r in rows if r["best_val_return"] != ""),
        key=lambda r: -float(r["best_val_return"]),
    )
    names = [s.split("=")[0] for s in summary["space"]]
    head = ["trial", "status", *names, "best val. return", "evaluations"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in ranked[:10]:
        cells = [r["trial_id"], r["status"], *(_short(r.get(n, "")) for n in names)]
        cells += [f"{float(r['best_val_return']):.4f}", r["evaluations"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    crashed = [r for r in rows if r["status"] == "ERROR"]
    for r in crashed:
        lines.append(f"\nCrashed: {r['trial_id']}: {r['error']}")
    lines.append("")
    if summary.get("importances"):
        lines += [
            "Importances: " + ", ".join(f"{k} {v:.2f}" for k, v in summary["importances"].items()),
            "",
        ]
    for name in ("optimization_history.png", "learning_curves.png", "param_importances.png"):
        if (tune_dir / name).is_file():
            target = out / f"tune_{name}"
            shutil.copyfile(tune_dir / name, target)
            lines += [f"![{target.stem}]({target.name})", ""]
    return lines


def _short(value: Any) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)
