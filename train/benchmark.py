"""``benchmark``: a fixed set of market-making tasks with reference scores and learners.

For every task (:data:`TASKS`, or ``replay:PATH`` for a user's own book) the benchmark runs,
on the same held-out evaluation episodes (common random numbers):

* ``random``: uniform random actions;
* ``best constant quote``: the symmetric quote of the spread multiple (grid :attr:`Task.
  constant_grid`) of highest mean return on a training stream;
* ``notebook rule``: the seed notebook's κ/φ rule (κ = 0.6, φ = 0.01);
* ``tuned κ/φ rule``: that rule with (κ, φ) of highest mean return over the grid of
  :mod:`train.compare` on the training stream;
* ``optimal``: the known optimal agent, where the task has one;
* ``PPO`` and ``SAC``: one run per seed at a fixed budget of env-steps (:func:`train.fit.fit`),
  each evaluated on the held-out episodes (the run's best model on its validation stream).

Score: the mean episode return (the env's reward summed: PnL less any penalties, the
objective the optimum maximises), with a 95% bootstrap CI over episodes; for learners also the
spread over seeds (mean of the seed means, 95% t-interval over seeds). Normalised score:
(mean − best constant) / (reference − best constant), the reference being the optimal agent
where known, else the best row of the task ("best known"). Paired tests (t-test and Wilcoxon,
:func:`train.stats.paired_test`) of each learner (its per-episode return averaged over seeds)
against the best rule (the best of the constant quote, notebook rule and tuned rule on the
held-out episodes) and against the optimum where known, on return and on Sharpe. The
reference of a task without a known optimum is its best row other than ``random``.

Held out: evaluation episodes use seeds from :data:`train.common.EVAL_SEED_BASE` (training
streams are below, the validation stream above); a replay task also evaluates on other hours
(``test_overrides``: the afternoon when training used the morning).

Adding a task is one entry of :data:`TASKS` (an env id, its overrides, train/test overrides,
the optimal agent if any, fit options); a task with execution realism (MarketMaking-v1 or
Replay-v1 with latency and fees) is such an entry: ``market-making-exec`` and ``goog-exec``,
whose settings are those of the README's execution tables (chosen there before any training).

One command, the table: ``python -m train benchmark`` with its defaults (:data:`DEFAULT_TASKS`,
seeds 0-4, :data:`DEFAULT_BUDGET`, 200 held-out episodes) is the README's table. A task whose
book is missing (``$MM_ENV_DATA`` unset or without the file) is skipped with a line saying so,
in the log and in the table, instead of stopping the run. Resuming: every finished task is
saved under ``OUT/tasks/NAME/`` (its summary and per-episode values) with the key of its
configuration (the resolved task and every argument that changes a number); a rerun with the
same configuration reuses it instead of training again, so a stopped run is finished by
running the same command again (``--no-resume`` recomputes everything).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mm_env.config import CARTEA_JAIMUNGAL_INVENTORY
from train.common import (
    EVAL_SEED_BASE,
    CliError,
    check_env_id,
    git_commit,
    make_config,
    pyplot,
    save_figure,
    versions,
    write_json,
)
from train.compare import KAPPA_GRID, PHI_GRID
from train.stats import bootstrap_ci, mean_over_seeds, paired_test

ROOT = Path(__file__).resolve().parents[1]
GOOG_DAY = "lobster/GOOG_2012-06-21_10"
LEARNERS = ("ppo", "sac")
RULES = ("best constant quote", "notebook rule", "tuned κ/φ rule")
NOON = 12 * 3600.0  # seconds after midnight (LOBSTER's time unit)


def data_dir() -> Path:
    """Where the shared LOBSTER samples are: $MM_ENV_DATA, else ../shared/data."""
    return Path(os.environ.get("MM_ENV_DATA", ROOT.parent / "shared" / "data"))


@dataclass(frozen=True)
class Task:
    """One benchmark task, fixed before any training.

    ``overrides`` apply everywhere; ``train_overrides`` on top for training and for tuning the
    rules, ``test_overrides`` on top for the held-out evaluation. ``optimal``: the name (in
    :data:`baselines.BASELINES`) of the task's known optimal agent. ``fit``: options of
    :class:`train.fit.FitConfig` (reward, damping) and ``hyperparams`` per algorithm.
    """

    name: str
    env_id: str
    about: str
    overrides: dict[str, Any] = field(default_factory=dict)
    train_overrides: dict[str, Any] = field(default_factory=dict)
    test_overrides: dict[str, Any] = field(default_factory=dict)
    optimal: str | None = None
    fit: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    constant_grid: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)

    def train_config(self) -> dict[str, Any]:
        return {**self.overrides, **self.train_overrides}

    def test_config(self) -> dict[str, Any]:
        return {**self.overrides, **self.test_overrides}


#: both recipes of the README train with a short horizon, gamma 0.9
_GAMMA_09 = {"ppo": {"gamma": 0.9}, "sac": {"gamma": 0.9}}
#: the CJ recipe of the README (PPO reaches 97-99% of CarteaJaimungal-v0's optimum with it):
#: the capture reward (unbiased where the mid is a martingale), with _GAMMA_09
_CJ_FIT = {"reward": "capture"}
#: the tick book's recipe of the README ("The result that matters", found there before the
#: benchmark existed: on the plain PnL PPO drifted to the inventory limit): Spooner et al.'s
#: (2018) dampened PnL with eta = 1, with _GAMMA_09
_BOOK_FIT = {"damping": 1.0}

TASKS: dict[str, Task] = {
    "cj": Task(
        "cj",
        "mm_env/CarteaJaimungal-v0",
        "Cartea-Jaimungal-Penalva (2015, ch. 10) as published (phi = 0.01): a known optimum, "
        "but a constant quote at depth 1/k already earns 99.7% of it",
        optimal="cartea_jaimungal",
        fit=_CJ_FIT,
        hyperparams=_GAMMA_09,
    ),
    "cj-inventory": Task(
        "cj-inventory",
        "mm_env/CarteaJaimungal-v0",
        "the same market with running penalty phi = 0.5 (mm_env.config."
        "CARTEA_JAIMUNGAL_INVENTORY): inventory control matters, the best constant quote "
        "earns 74% of the optimum (exact expectation)",
        overrides=dict(CARTEA_JAIMUNGAL_INVENTORY),
        optimal="cartea_jaimungal",
        fit=_CJ_FIT,
        hyperparams=_GAMMA_09,
    ),
    "market-making": Task(
        "market-making",
        "mm_env/MarketMaking-v0",
        "the queue-reactive tick book whose imbalance predicts the mid (defaults); no known "
        "optimum",
        fit=_BOOK_FIT,
        hyperparams=_GAMMA_09,
    ),
    "goog": Task(
        "goog",
        "mm_env/Replay-v0",
        "the LOBSTER GOOG day of 21 June 2012 replayed event by event: train on the morning "
        "(before 12:00), test on the afternoon",
        overrides={"data_path": f"$MM_ENV_DATA/{GOOG_DAY}", "split_time": NOON},
        train_overrides={"split": "train"},
        test_overrides={"split": "test"},
    ),
    "market-making-exec": Task(
        "market-making-exec",
        "mm_env/MarketMaking-v1",
        "the same book on the execution rules of MarketMaking-v1 (a partly filled order keeps "
        "its place, power:1 queue, fills through our price) with the settings of the README's "
        "MarketMaking-v1 execution table: 5 steps of entry and response latency (a few "
        "steps: between the table's 1, where little changes, and 20, where the touch quote "
        "fills 60% less) and a 0.2 bps maker rebate (taker fee 0.3 bps, paid only by "
        "liquidate_at_end, off); orders in flight and a lagging inventory are what a rule "
        "on imbalance and inventory cannot see",
        overrides={
            "entry_latency": 5.0,
            "response_latency": 5.0,
            "maker_fee_bps": -0.2,
            "taker_fee_bps": 0.3,
        },
        fit=_BOOK_FIT,
        hyperparams=_GAMMA_09,
    ),
    "goog-exec": Task(
        "goog-exec",
        "mm_env/Replay-v1",
        "the GOOG day (train on the morning, test on the afternoon) on Replay-v1: the exact "
        "FIFO queue from LOBSTER's order ids, 10 ms entry and response latency and NASDAQ's "
        "2012 per-share fees (0.25 cent maker rebate, 0.30 cent taker fee), the settings of "
        "the README's GOOG execution table",
        overrides={
            "data_path": f"$MM_ENV_DATA/{GOOG_DAY}",
            "split_time": NOON,
            "queue_model": "exact",
            "entry_latency": 0.01,
            "response_latency": 0.01,
            "maker_fee_per_unit": -0.0025,
            "taker_fee_per_unit": 0.003,
        },
        train_overrides={"split": "train"},
        test_overrides={"split": "test"},
    ),
}

#: every registered task (a task whose book is missing is skipped)
DEFAULT_TASKS = ("cj", "cj-inventory", "market-making", "goog", "market-making-exec", "goog-exec")
#: the replay ids, whose observation's spread unit the benchmark fixes to the training split's
REPLAY_IDS = ("mm_env/Replay-v0", "mm_env/Replay-v1")
#: env-steps per learner run of the README's table (SAC is about 50x slower per env-step)
DEFAULT_BUDGET: dict[str, int] = {"ppo": 100_000, "sac": 10_000}


class MissingData(CliError):
    """A task's book is not where ``$MM_ENV_DATA`` says: the benchmark skips the task."""


def replay_task(path: str) -> Task:
    """``replay:PATH``: a user's own book, morning/first half for training, the rest held out
    (the split point is ``split_fraction`` 0.5 of the data's time span)."""
    if not path:
        raise CliError("--task replay:PATH needs a path to a book (LOBSTER folder or file)")
    if not Path(path).exists():
        raise CliError(f"--task replay:{path}: no such file or folder")
    return Task(
        f"replay:{Path(path).name}",
        "mm_env/Replay-v0",
        f"a user's own book ({path}): train on the first half of its time span, test on the second",
        overrides={"data_path": str(path)},
        train_overrides={"split": "train"},
        test_overrides={"split": "test"},
    )


def get_task(name: str) -> Task:
    if name.startswith("replay:"):
        return replay_task(name[len("replay:") :])
    if name not in TASKS:
        raise CliError(f"unknown task {name!r}; known: {sorted(TASKS)} or replay:PATH")
    return TASKS[name]


def resolve_task(task: Task) -> Task:
    """The task as run: ``$MM_ENV_DATA`` expanded (a missing book is a clear error) and, for a
    replay, the observation's spread unit fixed to the training split's median spread so that
    training and held-out evaluation share one observation interface."""
    check_env_id(task.env_id)
    overrides = dict(task.overrides)
    path = overrides.get("data_path")
    if isinstance(path, str) and path.startswith("$MM_ENV_DATA/"):
        path = str(data_dir() / path[len("$MM_ENV_DATA/") :])
        if not Path(path).exists():
            raise MissingData(
                f"task {task.name}: data not found at {path} (set MM_ENV_DATA to the folder "
                "holding lobster/)"
            )
        overrides["data_path"] = path
    task = replace(task, overrides=overrides)
    if task.env_id in REPLAY_IDS and "spread_unit" not in overrides:
        import mm_env

        venv = mm_env.MarketMakingVectorEnv(
            1, "replay", make_config(task.env_id, task.train_config())
        )
        unit = float(venv.config.spread_unit)  # type: ignore[attr-defined]
        venv.close()
        task = replace(task, overrides={**overrides, "spread_unit": unit})
    make_config(task.env_id, task.train_config())
    make_config(task.env_id, task.test_config())
    return task


# ---- evaluation jobs ----------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """A batch of episodes of one policy: ``kind`` random / symmetric (params = (m,)) / skew
    (κ, φ) / optimal (``name`` = the baseline) / model (``path``)."""

    kind: str
    env_id: str
    overrides: dict[str, Any]
    seed: int
    n_episodes: int
    params: tuple[float, ...] = ()
    name: str = ""
    path: str = ""


def run_job(job: Job) -> dict[str, np.ndarray]:
    """Per-episode return, final PnL and Sharpe of one :class:`Job` (a Ray task or inline)."""
    from baselines import BASELINES, RandomBaseline, SkewBaseline, SymmetricBaseline
    from train.evaluate import load_model, run_batch

    config = make_config(job.env_id, job.overrides)
    policy: Any
    if job.kind == "random":
        policy = RandomBaseline(config, seed=0)
    elif job.kind == "symmetric":
        policy = SymmetricBaseline(config, *job.params)
    elif job.kind == "skew":
        policy = SkewBaseline(config, *job.params)
    elif job.kind == "optimal":
        policy = BASELINES[job.name](config)
    elif job.kind == "model":
        _, policy = load_model(job.path, job.env_id, config)
    else:
        raise ValueError(f"unknown job kind {job.kind!r}")
    res = run_batch(policy, job.env_id, job.overrides, job.seed, job.n_episodes, keep_series=False)
    return {
        "return": np.asarray(res.returns, dtype=np.float64),
        "final_pnl": res.column("final_pnl"),
        "sharpe": res.column("sharpe"),
    }


@dataclass(frozen=True)
class BenchmarkArgs:
    tasks: tuple[str, ...] = DEFAULT_TASKS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    budget: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_BUDGET))
    episodes: int = 200
    seed: int = EVAL_SEED_BASE
    tune_seed: int = 12345
    tune_episodes: int = 64
    n_envs: int = 64
    eval_freq: int | None = None  # default: a fifth of the budget
    out: str = "reports/benchmark"
    workers: int | None = 1
    resume: bool = True
    kappas: tuple[float, ...] = KAPPA_GRID
    phis: tuple[float, ...] = PHI_GRID


def _best(results: list[dict[str, np.ndarray]]) -> int:
    """The first (grid order) of highest mean return."""
    return int(np.argmax([float(np.mean(r["return"])) for r in results]))


def run_task(task: Task, args: BenchmarkArgs, log: Any = print) -> dict[str, Any]:
    """Every row of one task; returns its results (per-episode arrays under ``episodes``)."""
    from train.fit import FitConfig, fit_seeds
    from train.parallel import fan_out

    started = time.time()
    task = resolve_task(task)
    train_cfg, test_cfg = task.train_config(), task.test_config()
    # rules tuned on the training stream (training hours of a replay)
    const_jobs = [
        Job("symmetric", task.env_id, train_cfg, args.tune_seed, args.tune_episodes, (m,))
        for m in task.constant_grid
    ]
    skew_jobs = [
        Job("skew", task.env_id, train_cfg, args.tune_seed, args.tune_episodes, (k, p))
        for k in args.kappas
        for p in args.phis
    ]
    tuning = fan_out(run_job, [*const_jobs, *skew_jobs], workers=args.workers)
    best_m = const_jobs[_best(tuning[: len(const_jobs)])].params
    best_kp = skew_jobs[_best(tuning[len(const_jobs) :])].params
    log(f"[{task.name}] tuned on training: constant m={best_m[0]:g}, κ/φ={best_kp}")

    # learners: one run per seed at the fixed budget
    runs: dict[str, list[str]] = {}
    fit_seconds: dict[str, float] = {}
    for algo in LEARNERS:
        budget = int(args.budget[algo])
        if budget <= 0:
            continue
        t0 = time.time()
        cfg = FitConfig(
            env_id=task.env_id,
            algo=algo,
            total_timesteps=budget,
            n_envs=args.n_envs,
            overrides=train_cfg,
            eval_freq=args.eval_freq or max(budget // 5, 1),
            checkpoint_freq=10**12,
            run_root=str(Path(args.out) / "runs" / task.name.replace(":", "_")),
            hyperparams=dict(task.hyperparams.get(algo, {})),
            progress_bar=False,
            **task.fit,
        )
        dirs = fit_seeds(cfg, list(args.seeds), workers=args.workers)
        runs[algo] = [str(d) for d in dirs]
        fit_seconds[algo] = time.time() - t0
        seconds = fit_seconds[algo]
        log(f"[{task.name}] {algo}: {len(dirs)} seeds x {budget} steps in {seconds:.0f} s")

    # held-out evaluation on common random numbers
    ev = (task.env_id, test_cfg, args.seed, args.episodes)
    rows: list[tuple[str, Job]] = [
        ("random", Job("random", *ev)),
        (f"best constant quote (m={best_m[0]:g})", Job("symmetric", *ev, best_m)),
        ("notebook rule (κ=0.6, φ=0.01)", Job("skew", *ev, (0.6, 0.01))),
        (f"tuned κ/φ rule (κ={best_kp[0]:g}, φ={best_kp[1]:g})", Job("skew", *ev, best_kp)),
    ]
    if task.optimal:
        rows.append((f"optimal ({task.optimal})", Job("optimal", *ev, name=task.optimal)))
    model_jobs = [
        (algo, Job("model", *ev, path=path)) for algo, paths in runs.items() for path in paths
    ]
    results = fan_out(run_job, [j for _, j in rows] + [j for _, j in model_jobs], workers=1)
    episodes: dict[str, dict[str, np.ndarray]] = {
        name: res for (name, _), res in zip(rows, results[: len(rows)])
    }
    kinds = {name: name.split(" (")[0] for name, _ in rows}
    seeds_of: dict[str, list[float]] = {}
    for algo in runs:
        per_seed = [res for (a, _), res in zip(model_jobs, results[len(rows) :]) if a == algo]
        n = len(per_seed)
        name = f"{algo.upper()} ({n} seed{'s' if n > 1 else ''} x {args.budget[algo]} steps)"
        episodes[name] = {m: mean_over_seeds([r[m] for r in per_seed]) for m in per_seed[0]}
        seeds_of[name] = [float(np.mean(r["return"])) for r in per_seed]
        kinds[name] = algo
    summary = summarise(task, episodes, kinds, seeds_of)
    summary.update(
        tuned={"constant_m": best_m[0], "kappa": best_kp[0], "phi": best_kp[1]},
        runs=runs,
        fit_seconds=fit_seconds,
        seconds=time.time() - started,
        episodes=episodes,
    )
    return summary


def summarise(
    task: Task,
    episodes: dict[str, dict[str, np.ndarray]],
    kinds: dict[str, str],
    seeds_of: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    """Table rows, normalised scores and paired tests of one task from per-episode results.
    ``kinds`` maps a row to random / best constant quote / notebook rule / tuned κ/φ rule /
    optimal / ppo / sac; ``seeds_of`` a learner row to its per-seed mean returns."""
    from scipy import stats

    seeds_of = seeds_of or {}
    const = next((n for n, k in kinds.items() if k == "best constant quote"), None)
    if const is None:
        raise ValueError("a task's results need a 'best constant quote' row")
    means = {n: float(np.mean(r["return"])) for n, r in episodes.items()}
    optimal = next((n for n, k in kinds.items() if k == "optimal"), None)
    # the reference: the optimum where known, else the best row that is not random
    reference = optimal or max((n for n in means if kinds[n] != "random"), key=lambda n: means[n])
    scale = means[reference] - means[const]
    # the score is defined only where the reference beats the constant quote beyond noise (the
    # paired 95% CI of reference − constant above 0): on CarteaJaimungal-v0 the two are within
    # noise, and dividing by their gap would blow the scores up
    gap = paired_test(episodes[reference]["return"], episodes[const]["return"])
    normalized = reference != const and gap.ci_low > 0 and scale > 0
    rules = [n for n, k in kinds.items() if k in RULES]
    best_rule = max(rules, key=lambda n: means[n])
    table = []
    for name, res in episodes.items():
        mean, lo, hi = bootstrap_ci(res["return"])
        row: dict[str, Any] = {
            "policy": name,
            "kind": kinds[name],
            "return": mean,
            "return_ci": [lo, hi],
            "sharpe": bootstrap_ci(res["sharpe"])[0],
            "final_pnl": bootstrap_ci(res["final_pnl"])[0],
            "normalized": (mean - means[const]) / scale if normalized else math.nan,
        }
        if name in seeds_of:
            s = np.asarray(seeds_of[name])
            row["seed_means"] = s.tolist()
            if s.size > 1:
                half = float(stats.t.ppf(0.975, s.size - 1) * s.std(ddof=1) / np.sqrt(s.size))
                row["seed_ci"] = [float(s.mean()) - half, float(s.mean()) + half]
        table.append(row)
    tests = []
    for name, kind in kinds.items():
        if kind not in LEARNERS:
            continue
        for base in [best_rule, *([optimal] if optimal else [])]:
            for metric in ("return", "sharpe"):
                t = paired_test(episodes[name][metric], episodes[base][metric])
                tests.append({"learner": name, "baseline": base, "metric": metric, **asdict(t)})
    return {
        "task": task.name,
        "env_id": task.env_id,
        "about": task.about,
        "overrides": task.overrides,
        "train_overrides": task.train_overrides,
        "test_overrides": task.test_overrides,
        "reference": reference,
        "reference_kind": "optimum" if optimal else "best known",
        "reference_gap": asdict(gap),  # paired reference − best constant, return
        "normalized": bool(normalized),
        "best_constant": const,
        "best_rule": best_rule,
        "table": table,
        "tests": tests,
    }


# ---- output -------------------------------------------------------------------------------
def _fmt(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def format_task(s: dict[str, Any]) -> str:
    """One task's Markdown table and paired tests."""
    lines = [
        f"### {s['task']} ({s['env_id']})",
        "",
        f"{s['about']}. Normalised score: 0 = best constant quote, 1 = {s['reference_kind']} "
        f"({s['reference']})"
        + (
            "."
            if s.get("normalized", True)
            else "; undefined here: the best constant quote is itself the best row."
            if s["reference"] == s["best_constant"]
            else f"; undefined here: the reference beats the best constant quote by only "
            f"{s['reference_gap']['mean_diff']:+.3f} [{s['reference_gap']['ci_low']:+.3f}, "
            f"{s['reference_gap']['ci_high']:+.3f}] (paired 95% CI)."
        ),
        "",
        "| policy | mean return [95% CI] | seeds: mean [95% CI] | normalised | Sharpe "
        "| final PnL |",
        "|---|---|---|---|---|---|",
    ]
    for r in s["table"]:
        lo, hi = r["return_ci"]
        seeds = "—"
        if "seed_ci" in r:
            seeds = f"{np.mean(r['seed_means']):.2f} [{r['seed_ci'][0]:.2f}, {r['seed_ci'][1]:.2f}]"
        lines.append(
            f"| {r['policy']} | {_fmt(r['return'])} [{_fmt(lo)}, {_fmt(hi)}] | {seeds} | "
            f"{_fmt(r['normalized'])} | {_fmt(r['sharpe'], 3)} | {_fmt(r['final_pnl'])} |"
        )
    if s["tests"]:
        lines += [
            "",
            "| learner | vs | metric | mean difference [95% CI] | p (t) | p (Wilcoxon) |",
            "|---|---|---|---|---|---|",
        ]
        for t in s["tests"]:
            lines.append(
                f"| {t['learner']} | {t['baseline']} | {t['metric']} | {t['mean_diff']:+.3f} "
                f"[{t['ci_low']:+.3f}, {t['ci_high']:+.3f}] | {t['p_value']:.2g} | "
                f"{t['p_wilcoxon']:.2g} |"
            )
    return "\n".join(lines)


def format_summary(summaries: list[dict[str, Any]], skipped: dict[str, str] | None = None) -> str:
    """The headline table: normalised score of every row kind per task; a skipped task (its
    book missing) is a line saying why."""
    kinds = ["random", *RULES, "optimal", *LEARNERS]
    head = ["task", *[k.upper() if k in LEARNERS else k for k in kinds]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summaries:
        by_kind = {r["kind"]: r for r in s["table"]}
        cells = [s["task"]]
        for k in kinds:
            r = by_kind.get(k)
            cells.append("—" if r is None else f"{_fmt(r['normalized'])} ({_fmt(r['return'])})")
        lines.append("| " + " | ".join(cells) + " |")
    for name, why in (skipped or {}).items():
        lines.append(f"| {name} | skipped: {why} |" + " |" * (len(head) - 2))
    return "\n".join(lines)


def plot_task(s: dict[str, Any], path: Path) -> Path:
    """Mean return with its 95% CI per row, learners' seed means as dots."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(s["table"]) + 1.5))
    names = [r["policy"] for r in s["table"]]
    y = np.arange(len(names))
    means = np.array([r["return"] for r in s["table"]])
    lo = np.array([r["return_ci"][0] for r in s["table"]])
    hi = np.array([r["return_ci"][1] for r in s["table"]])
    err = np.nan_to_num(np.vstack([means - lo, hi - means]))
    ax.barh(y, means, xerr=err, color="tab:blue", alpha=0.6, capsize=3)
    for i, r in enumerate(s["table"]):
        if "seed_means" in r:
            ax.plot(r["seed_means"], [i] * len(r["seed_means"]), "k.", ms=5)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("mean episode return (95% CI over episodes; dots: seeds)")
    ax.set_title(f"{s['task']} ({s['env_id']})")
    return save_figure(fig, path)


def write_benchmark(
    summaries: list[dict[str, Any]], out: Path, meta: dict[str, Any]
) -> dict[str, Path]:
    """benchmark.md, benchmark.json (without per-episode arrays), episodes.npz, one PNG per
    task; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    figures = {}
    for s in summaries:
        figures[s["task"]] = plot_task(s, out / f"{s['task'].replace(':', '_')}.png")
    md = [
        "# Benchmark",
        "",
        f"Command: `{meta.get('command', '')}`",
        "",
        f"Seeds {list(meta['seeds'])}; budget {meta['budget']} env-steps per learner run; "
        f"{meta['episodes']} held-out evaluation episodes (seed {meta['seed']}); rules tuned "
        f"on {meta['tune_episodes']} training episodes (seed {meta['tune_seed']}); "
        f"runtime {meta.get('seconds', math.nan):.0f} s.",
        "",
        "Normalised score (mean return in brackets): 0 = best constant quote, 1 = optimum "
        "(where known) or best row.",
        "",
        format_summary(summaries, meta.get("skipped")),
        "",
    ]
    for s in summaries:
        md += [format_task(s), "", f"![{s['task']}]({figures[s['task']].name})", ""]
    (out / "benchmark.md").write_text("\n".join(md))
    slim = [{k: v for k, v in s.items() if k != "episodes"} for s in summaries]
    write_json(out / "benchmark.json", {"meta": meta, "tasks": slim})
    arrays = {
        f"{s['task']}|{name}|{metric}": values
        for s in summaries
        for name, res in s.get("episodes", {}).items()
        for metric, values in res.items()
    }
    np.savez_compressed(out / "episodes.npz", **arrays)
    return {"markdown": out / "benchmark.md", "json": out / "benchmark.json", **figures}


#: arguments that change no number of a task (so a rerun with other values reuses its runs)
_NOT_IN_KEY = ("tasks", "out", "workers", "resume")


def task_key(task: Task, args: BenchmarkArgs) -> str:
    """The configuration a task's results depend on, as a JSON string: the resolved task (data
    path and spread unit filled in) and every argument except :data:`_NOT_IN_KEY`."""
    run = {k: v for k, v in asdict(args).items() if k not in _NOT_IN_KEY}
    return json.dumps({"task": asdict(task), "args": run}, sort_keys=True, default=str)


def _task_dir(out: Path, name: str) -> Path:
    return out / "tasks" / name.replace(":", "_").replace("/", "_")


def save_task(out: Path, summary: dict[str, Any], key: str) -> None:
    """A finished task's summary and per-episode values, with its configuration key."""
    d = _task_dir(out, summary["task"])
    d.mkdir(parents=True, exist_ok=True)
    arrays = {
        f"{name}|{metric}": values
        for name, res in summary["episodes"].items()
        for metric, values in res.items()
    }
    np.savez_compressed(d / "episodes.npz", **arrays)
    slim = {k: v for k, v in summary.items() if k != "episodes"}
    write_json(d / "summary.json", {"key": key, "summary": slim})


def load_task(out: Path, name: str, key: str) -> dict[str, Any] | None:
    """The saved summary of a finished task run with configuration ``key``, else None."""
    d = _task_dir(out, name)
    if not (d / "summary.json").is_file() or not (d / "episodes.npz").is_file():
        return None
    saved = json.loads((d / "summary.json").read_text())
    if saved.get("key") != key:
        return None
    summary: dict[str, Any] = saved["summary"]
    episodes: dict[str, dict[str, np.ndarray]] = {}
    with np.load(d / "episodes.npz") as z:
        for k in z.files:
            row, _, metric = k.rpartition("|")
            episodes.setdefault(row, {})[metric] = z[k]
    summary["episodes"] = {r["policy"]: episodes[r["policy"]] for r in summary["table"]}
    return summary


def run_benchmark(args: BenchmarkArgs, command: str = "", log: Any = print) -> dict[str, Any]:
    """The whole benchmark: every task of ``args``, then the files in ``args.out``. A task
    whose book is missing is skipped (a log line, and a line of the table); a task finished
    before with the same configuration (:func:`task_key`) is reused when ``args.resume``."""
    if len(args.seeds) < 1:
        raise CliError("--seeds: at least one training seed")
    if args.episodes < 2:
        raise CliError(f"--episodes must be at least 2 (got {args.episodes})")
    for algo in LEARNERS:
        if algo not in args.budget:
            raise CliError(f"--budget needs a value for {algo}")
    tasks = [get_task(t) for t in args.tasks]
    resolved: dict[str, Task] = {}
    skipped: dict[str, str] = {}
    for t in tasks:  # every task's data and config checked before any training
        try:
            resolved[t.name] = resolve_task(t)
        except MissingData as exc:
            skipped[t.name] = str(exc)
            log(f"[{t.name}] skipped: {exc}")
    started = time.time()
    out = Path(args.out)
    meta: dict[str, Any] = {
        "command": command,
        "tasks": [t.name for t in tasks],
        "task_definitions": [asdict(t) for t in tasks],
        **{k: v for k, v in asdict(args).items() if k != "tasks"},
        "skipped": skipped,
        "versions": versions(),
        "git_commit": git_commit(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    write_json(out / "benchmark_config.json", meta)
    summaries: list[dict[str, Any]] = []
    reused: list[str] = []
    paths: dict[str, Path] = {}
    for t in tasks:  # the files are rewritten after every task: a cut-off run keeps its tables
        if t.name in skipped:
            continue
        key = task_key(resolved[t.name], args)
        summary = load_task(out, t.name, key) if args.resume else None
        if summary is not None:
            log(f"[{t.name}] reused from {_task_dir(out, t.name)} (same configuration)")
            reused.append(t.name)
        else:
            summary = run_task(t, args, log)
            save_task(out, summary, key)
        summaries.append(summary)
        meta["seconds"] = time.time() - started
        meta["finished_tasks"] = [s["task"] for s in summaries]
        meta["reused_tasks"] = reused
        paths = write_benchmark(summaries, out, meta)
    if not summaries:
        meta["seconds"] = time.time() - started
        meta["finished_tasks"] = []
        paths = write_benchmark(summaries, out, meta)
    return {"summaries": summaries, "paths": paths, "meta": meta}


def rescore(dirs: list[Path], out: Path) -> dict[str, Any]:
    """Rebuild the tables (scores, tests, files) of finished benchmark runs from their saved
    per-episode values (``episodes.npz``) with this code, merging several runs' tasks into
    ``out`` in order. Training and evaluation are not repeated."""
    summaries: list[dict[str, Any]] = []
    metas: list[dict[str, Any]] = []
    for d in dirs:
        if not (d / "benchmark.json").is_file() or not (d / "episodes.npz").is_file():
            raise CliError(f"{d} is not a finished benchmark directory (benchmark.json, npz)")
        data = json.loads((d / "benchmark.json").read_text())
        metas.append(data["meta"])
        definitions = {t["name"]: t for t in data["meta"]["task_definitions"]}
        with np.load(d / "episodes.npz") as z:
            arrays = {k: z[k] for k in z.files}
        for old in data["tasks"]:
            defn = definitions[old["task"]]
            task = Task(**{**defn, "overrides": old["overrides"]})
            kinds = {r["policy"]: r["kind"] for r in old["table"]}
            metrics = ("return", "final_pnl", "sharpe")
            episodes = {
                name: {m: arrays[f"{old['task']}|{name}|{m}"] for m in metrics} for name in kinds
            }
            seeds_of = {r["policy"]: r["seed_means"] for r in old["table"] if "seed_means" in r}
            new = summarise(task, episodes, kinds, seeds_of)
            for key in ("tuned", "runs", "fit_seconds", "seconds"):
                new[key] = old[key]
            new["episodes"] = episodes
            summaries.append(new)
    meta = dict(metas[0])
    meta["command"] = " ; ".join(m["command"] for m in metas)
    meta["seconds"] = sum(m["seconds"] for m in metas)
    meta["finished_tasks"] = [s["task"] for s in summaries]
    skipped = {k: v for m in metas for k, v in m.get("skipped", {}).items()}
    meta["skipped"] = {k: v for k, v in skipped.items() if k not in meta["finished_tasks"]}
    meta["rescored_from"] = [str(d) for d in dirs]
    paths = write_benchmark(summaries, out, meta)
    return {"summaries": summaries, "paths": paths, "meta": meta}


def parse_budget(items: list[str]) -> dict[str, int]:
    """``["100000"]`` (every learner) or ``["ppo=150000", "sac=20000"]``."""
    budget = dict(DEFAULT_BUDGET)
    for item in items:
        key, _, value = item.rpartition("=")
        try:
            n = int(float(value))
        except ValueError as exc:
            raise CliError(f"--budget {item!r}: not a number of env-steps") from exc
        if n < 0:
            raise CliError(f"--budget {item!r}: must be >= 0")
        if key and key not in LEARNERS:
            raise CliError(f"--budget {item!r}: unknown learner {key!r}; known: {LEARNERS}")
        for algo in [key] if key else LEARNERS:
            budget[algo] = n
    return budget
