"""``fit``: train a stable-baselines3 agent on a scenario, reproducibly, with resumable runs.

A run directory ``<root>/<scenario>__<algo>__<seed>__<time>/`` holds ``config.json`` (the
arguments, the scenario config, package versions, git commit), ``checkpoints/``, ``best/``
(the best model of the periodic evaluation), ``tb/`` (TensorBoard) and ``model.zip`` (final).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import mm_env
from mm_env.core import observation_names
from train.common import (
    ALGOS,
    DEFAULT_ENV_ID,
    VALIDATION_SEED_BASE,
    CliError,
    check_env_id,
    check_training_seed,
    git_commit,
    make_config,
    versions,
    write_json,
)


@dataclass
class FitConfig:
    """Arguments of one training run (each field is a command-line option of ``fit``)."""

    env_id: str = DEFAULT_ENV_ID
    algo: str = "ppo"
    seed: int = 0
    total_timesteps: int = 200_000
    n_envs: int = 64  # sub-envs of the native vector env (on-policy); off-policy uses min(n, 8)
    overrides: dict[str, Any] = field(default_factory=dict)
    eval_freq: int = 50_000  # env-steps between evaluations of the current policy
    n_eval_episodes: int = 16
    checkpoint_freq: int = 100_000  # env-steps between checkpoints
    run_root: str = "runs"
    hyperparams: dict[str, Any] = field(default_factory=dict)
    progress_bar: bool = True
    device: str = "cpu"
    damping: float = 0.0  # training reward: PnL dampened by Spooner et al. (2018); 0 = plain PnL
    # training reward: "pnl" (the env's), or "capture": PnL less q·Δmid, a control variate that
    # keeps the expected return where the mid is a martingale (Avellaneda–Stoikov scenario)
    reward: str = "pnl"


#: ``--reward`` choices
REWARDS = ("pnl", "capture")

DEFAULT_HYPERPARAMS: dict[str, dict[str, Any]] = {
    # Chosen for this env on a 2-core CPU (benchmarks/bench_ppo.py): large batches, few epochs.
    "ppo": {
        "n_steps": 128,
        "batch_size": 2048,
        "n_epochs": 5,
        "learning_rate": 3e-4,
        "gamma": 0.99,
        "gae_lambda": 0.95,
        "ent_coef": 0.0,
    },
    "a2c": {"n_steps": 16},
    "sac": {"learning_starts": 1000, "batch_size": 256},
    "td3": {"learning_starts": 1000, "batch_size": 256},
}


def _algo_class(algo: str) -> Any:
    import stable_baselines3 as sb3

    if algo not in ALGOS:
        raise CliError(f"unknown algorithm {algo!r}; known: {list(ALGOS)}")
    return {"ppo": sb3.PPO, "sac": sb3.SAC, "td3": sb3.TD3, "a2c": sb3.A2C}[algo]


def seed_everything(seed: int) -> None:
    """Python, NumPy's legacy global state (for third-party code) and torch."""
    import torch

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - third-party code may still read the global state
    torch.manual_seed(seed)


def _make_vec(cfg: FitConfig, seed: int, n_envs: int, monitor: bool = True) -> Any:
    from stable_baselines3.common.vec_env import VecMonitor

    from mm_env.sb3 import make_sb3_vec_env

    venv: Any = make_sb3_vec_env(cfg.env_id, n_envs=n_envs, seed=seed, **cfg.overrides)
    venv = VecMonitor(venv) if monitor else venv
    if cfg.damping > 0:
        from train.shaping import DampedPnL

        venv = DampedPnL(venv, cfg.damping)
    if cfg.reward == "capture":
        from train.shaping import CapturePnL

        venv = CapturePnL(venv)
    return venv


#: scenarios whose mid is a martingale independent of our fills (``--reward capture`` is unbiased)
MARTINGALE_MID_SCENARIOS = ("avellaneda_stoikov", "cartea_jaimungal")


def check_reward(cfg: FitConfig) -> None:
    """``--reward``: known, and ``capture`` only where it keeps the expected return."""
    if cfg.reward not in REWARDS:
        raise CliError(f"--reward must be one of {list(REWARDS)} (got {cfg.reward!r})")
    if cfg.reward != "capture":
        return
    scenario = mm_env.ENV_IDS[cfg.env_id]
    if scenario not in MARTINGALE_MID_SCENARIOS:
        raise CliError(
            f"--reward capture drops q·Δmid from the reward, which keeps the expected return "
            f"only where the mid is a martingale ({list(MARTINGALE_MID_SCENARIOS)}); "
            f"{cfg.env_id} has a predictable mid"
        )
    config = make_config(cfg.env_id, cfg.overrides)
    if not config.martingale_mid:
        raise CliError(
            f"--reward capture drops q·Δmid from the reward, which keeps the expected return "
            f"only where the mid is a martingale; {cfg.env_id} with midprice "
            f"{config.midprice!r} (mid_drift {config.mid_drift!r}) has a predictable mid"
        )
    if cfg.damping > 0:
        raise CliError("--reward capture already drops q·Δmid; --damping would have no effect")


def _run_dir(cfg: FitConfig) -> Path:
    scenario = mm_env.ENV_IDS[cfg.env_id]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(cfg.run_root) / f"{scenario}__{cfg.algo}__{cfg.seed}__{stamp}"


def fit(
    cfg: FitConfig,
    resume: Path | None = None,
    total_timesteps: int | None = None,
    after_eval: Any = None,
) -> Path:
    """Train a new run, or continue ``resume`` from its latest checkpoint (up to its saved
    total, or ``total_timesteps`` when given); returns the run directory. ``after_eval``, an
    SB3 callback, runs after each periodic evaluation (its ``parent`` is the EvalCallback, with
    ``last_mean_reward``); returning False stops training (``tune`` reports to Ray Tune there)."""
    import inspect

    import numpy as np
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback, EvalCallback
    from stable_baselines3.common.vec_env import VecNormalize

    if resume is not None:
        run_dir, model_path, stats_path, done = _latest_checkpoint(resume)
        saved = json.loads((run_dir / "config.json").read_text())
        cfg = FitConfig(**{**saved["fit"], "progress_bar": cfg.progress_bar})
        if total_timesteps is not None:
            cfg.total_timesteps = total_timesteps
        if cfg.total_timesteps <= done:
            raise CliError(
                f"{run_dir} has {done} steps checkpointed; pass --timesteps above that to resume"
            )
        hyper = saved["hyperparams"]
    else:
        check_env_id(cfg.env_id)
        run_dir = _run_dir(cfg)
        done = 0
        hyper = {**DEFAULT_HYPERPARAMS.get(cfg.algo, {}), **cfg.hyperparams}
    check_env_id(cfg.env_id)
    check_training_seed(cfg.seed)
    algo_cls = _algo_class(cfg.algo)
    make_config(cfg.env_id, cfg.overrides)  # bad overrides: a one-line error before any work
    for name, value in (
        ("total_timesteps", cfg.total_timesteps),
        ("n_envs", cfg.n_envs),
        ("n_eval_episodes", cfg.n_eval_episodes),
    ):
        if value < 1:
            raise CliError(f"--{name.replace('_', '-')} must be at least 1 (got {value})")
    if not (np.isfinite(cfg.damping) and cfg.damping >= 0):
        raise CliError(f"--damping must be a finite number >= 0 (got {cfg.damping})")
    check_reward(cfg)
    accepted = set(inspect.signature(algo_cls.__init__).parameters)
    unknown = sorted(set(hyper) - accepted)
    if unknown:
        raise CliError(f"unknown {cfg.algo} hyperparameter(s) {unknown}")
    n_envs = cfg.n_envs if cfg.algo in ("ppo", "a2c") else min(cfg.n_envs, 8)
    gamma = float(hyper.get("gamma", 0.99))

    # a resumed run continues with fresh streams (seed + steps done), not a replay of its start
    stream_seed = (cfg.seed + done) % VALIDATION_SEED_BASE if done else cfg.seed
    seed_everything(stream_seed)
    train_env = VecNormalize(
        _make_vec(cfg, stream_seed % 1_000_000, n_envs),
        norm_obs=False,
        norm_reward=True,
        gamma=gamma,
    )
    # the evaluation env mirrors the training wrappers (EvalCallback syncs their statistics)
    # on the validation stream, disjoint from training and evaluation streams; rewards are not
    # normalised there, and the score is the env's own reward (VecMonitor sits below any
    # shaping wrapper; with --reward capture that is the same objective, only noisier)
    eval_env = VecNormalize(
        _make_vec(cfg, VALIDATION_SEED_BASE + cfg.seed, cfg.n_eval_episodes),
        norm_obs=False,
        norm_reward=False,
        training=False,
    )
    if resume is None:
        model = algo_cls(
            "MlpPolicy",
            train_env,
            seed=cfg.seed,
            device=cfg.device,
            tensorboard_log=str(run_dir / "tb"),
            verbose=0,
            **hyper,
        )
        model.action_space.seed(cfg.seed)
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(
            run_dir / "config.json",
            {
                "fit": asdict(cfg),
                "hyperparams": hyper,
                "scenario": mm_env.ENV_IDS[cfg.env_id],
                # the config as the simulator resolved it (a replay's spread unit, from its data)
                "scenario_config": train_env.unwrapped.venv.config.to_dict(),  # type: ignore[attr-defined]
                "versions": versions(),
                "git_commit": git_commit(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            },
        )
    else:
        model = algo_cls.load(model_path, env=train_env, device=cfg.device)
        if stats_path.exists():
            train_env.ret_rms = VecNormalize.load(str(stats_path), train_env.venv).ret_rms
        buffer = model_path.parent / f"model_replay_buffer_{done}_steps.pkl"
        if buffer.exists():
            model.load_replay_buffer(buffer)
        model.set_env(train_env)
    # checkpoints fall on rollout boundaries for on-policy algorithms, so a resumed run loses
    # no trained step
    calls = max(cfg.checkpoint_freq // n_envs, 1)
    if cfg.algo in ("ppo", "a2c"):
        rollout = int(hyper.get("n_steps", 2048 if cfg.algo == "ppo" else 5))
        calls = max(rollout, (calls // rollout) * rollout)
    evaluation = EvalCallback(
        eval_env,
        n_eval_episodes=cfg.n_eval_episodes,
        eval_freq=max(cfg.eval_freq // n_envs, 1),
        best_model_save_path=str(run_dir / "best"),
        log_path=str(run_dir / "eval"),
        deterministic=True,
        verbose=0,
        callback_after_eval=after_eval,
    )
    history = run_dir / "eval" / "evaluations.npz"
    if resume is not None and history.exists():  # keep the best so far and the history
        old = np.load(history)
        evaluation.evaluations_timesteps = list(old["timesteps"])
        evaluation.evaluations_results = [list(r) for r in old["results"]]
        evaluation.evaluations_length = [list(r) for r in old["ep_lengths"]]
        if len(old["results"]):
            evaluation.best_mean_reward = float(np.max(np.mean(old["results"], axis=1)))
    checkpoints = CheckpointCallback(
        calls,
        str(run_dir / "checkpoints"),
        name_prefix="model",
        save_vecnormalize=True,
        save_replay_buffer=cfg.algo in ("sac", "td3"),
    )
    model.learn(
        cfg.total_timesteps - done,
        callback=CallbackList([checkpoints, evaluation]),
        progress_bar=cfg.progress_bar,
        reset_num_timesteps=resume is None,
        tb_log_name="run",
    )
    model.save(run_dir / "model.zip")
    train_env.save(str(run_dir / "vecnormalize.pkl"))
    (run_dir / "DONE").write_text(f"{model.num_timesteps}\n")
    return run_dir


def _fit_one(cfg: FitConfig) -> Path:
    """One seed of :func:`fit_seeds` (module level: it runs as a Ray task)."""
    return fit(cfg)


def fit_seeds(
    cfg: FitConfig,
    seeds: list[int],
    workers: int | None = None,
    cpus_per_run: int = 1,
    address: str | None = None,
) -> list[Path]:
    """``fit`` once per seed, each run a Ray task of ``cpus_per_run`` CPUs (torch and numba get
    that many threads) unless ``workers=1`` or Ray is not installed; the serial path gives each
    run the same thread count, so both paths train the same models. Returns the run
    directories in the order of ``seeds``."""
    from dataclasses import replace

    from train.parallel import fan_out, limit_threads, use_ray

    if cpus_per_run < 1:
        raise CliError(f"--cpus-per-run must be at least 1 (got {cpus_per_run})")
    for seed in seeds:
        check_training_seed(seed)
    check_env_id(cfg.env_id)
    make_config(cfg.env_id, cfg.overrides)
    check_reward(cfg)
    configs = [replace(cfg, seed=seed, progress_bar=False) for seed in seeds]
    if not use_ray(workers, address):
        limit_threads(cpus_per_run)
    return fan_out(_fit_one, configs, workers=workers, cpus_per_task=cpus_per_run, address=address)


def _latest_checkpoint(run_dir: Path) -> tuple[Path, Path, Path, int]:
    if not (run_dir / "config.json").is_file():
        raise CliError(f"{run_dir} is not a run directory (no config.json)")
    ckpts = sorted(
        (run_dir / "checkpoints").glob("model_*_steps.zip"), key=lambda p: int(p.stem.split("_")[1])
    )
    if not ckpts:
        raise CliError(f"{run_dir} has no checkpoint to resume from")
    last = ckpts[-1]
    steps = int(last.stem.split("_")[1])
    stats = last.parent / f"model_vecnormalize_{steps}_steps.pkl"
    return run_dir, last, stats, steps


# ---- loading a trained policy for evaluation ----------------------------------------------
def policy_interface(config: Any) -> dict[str, Any]:
    """What a trained policy's inputs and outputs mean under a config: the observation entries
    and their scales, and the action ranges. Dynamics (volatility, intensities, …) are not in
    it: a policy may be evaluated on other dynamics, not on another interface."""
    out: dict[str, Any] = {
        "observation entries": list(observation_names(config)),
        "observation_dtype": str(config.observation_dtype),
        "inventory scale": config.inventory_norm,
        "spread_multiple_range": tuple(config.spread_multiple_range),
        "max_skew": float(config.max_skew),
    }
    # a replay's spread unit is filled in from its data when the env is made (None before)
    out["spread scale"] = (
        None if getattr(config, "spread_unit", 0.0) is None else float(config.spread_scale)
    )
    return out


def check_interface(saved: dict[str, Any], config: Any, zip_path: Path) -> None:
    """Refuse to run a model on an env whose observation or action means something else."""
    fields = {k: v for k, v in saved["scenario_config"].items() if k != "scenario_config"}
    try:
        trained = policy_interface(mm_env.make_config(saved["scenario"], **fields))
    except (TypeError, ValueError) as exc:
        raise CliError(f"cannot rebuild the scenario config saved with {zip_path}: {exc}") from exc
    now = policy_interface(config)
    diffs = [
        f"{k} {trained[k]!r} (trained) vs {now[k]!r}"
        if now[k] is not None
        else f"spread scale {trained[k]!r} (trained) vs the data's median spread "
        f"(pass --set spread_unit={trained[k]!r})"
        for k in trained
        if now[k] != trained[k]
    ]
    if diffs:
        raise CliError(
            f"model {zip_path} was trained with another observation/action interface: "
            + "; ".join(diffs)
            + " — evaluate it under the training run's config (evaluate and compare take it "
            "from the run's config.json; drop the --set that changes it)"
        )


def saved_run_config(path: Path) -> dict[str, Any]:
    """The ``config.json`` of the run a model belongs to (a run directory, or a ``.zip`` in it
    or in one of its subdirectories such as ``best/``)."""
    path = Path(path)
    if not path.exists():
        raise CliError(f"model file {path} does not exist")
    run_dir = path if path.is_dir() else path.parent
    config_file = next(
        (d / "config.json" for d in (run_dir, run_dir.parent) if (d / "config.json").is_file()),
        None,
    )
    if config_file is None:
        raise CliError(f"{path} has no config.json beside it; cannot tell its scenario")
    saved: dict[str, Any] = json.loads(config_file.read_text())
    return saved


def run_settings(path: Path) -> tuple[str, dict[str, Any]]:
    """(env id, overrides) of the env a saved model was trained on: the ``--set`` overrides of
    its run plus every field the simulator resolved away from the scenario's defaults (a
    replay's ``spread_unit``, measured on its training split), so that the model can be run
    under exactly its training config without the user repeating it."""
    saved = saved_run_config(path)
    env_id = str(saved["fit"]["env_id"])
    check_env_id(env_id)
    scenario = mm_env.ENV_IDS[env_id]
    # the id's own defaults (its registered rules, mm_env.ID_KWARGS), so that a v1 run's
    # rules are not reported as overrides of the scenario's v0 defaults
    rules: dict[str, Any] = dict(mm_env.ID_KWARGS.get(env_id, {}))
    id_config = mm_env.make_config(scenario, **rules)
    defaults = json.loads(json.dumps(id_config.to_dict()))
    resolved = saved.get("scenario_config", {})
    inherited: dict[str, Any] = {
        k: v for k, v in resolved.items() if k != "scenario_config" and defaults.get(k) != v
    }
    inherited.update(saved["fit"].get("overrides", {}))
    return env_id, {k: tuple(v) if isinstance(v, list) else v for k, v in inherited.items()}


def resolve_settings(
    models: list[str] | list[Path], env_id: str | None, overrides: dict[str, Any]
) -> tuple[str, dict[str, Any], list[str]]:
    """The env id and overrides to evaluate ``models`` under: their training run's (see
    :func:`run_settings`; all models must share it), with the explicit ``overrides`` on top.
    Returns (env id, overrides, notes), a note per explicit override that changes a value the
    run was trained with. ``env_id`` None means the models' (MarketMaking-v0 without models);
    an explicit one must be theirs."""
    if not models:
        return env_id or DEFAULT_ENV_ID, dict(overrides), []
    settings = [(str(m), *run_settings(Path(m))) for m in models]
    first_path, trained_id, inherited = settings[0]
    for path, other_id, other in settings[1:]:
        if (other_id, other) != (trained_id, inherited):
            raise CliError(
                f"models {first_path} and {path} were trained on different configs "
                f"({trained_id} {inherited} vs {other_id} {other}); compare them separately"
            )
    if env_id is not None and env_id != trained_id:
        raise CliError(f"model {first_path} was trained on {trained_id}, not on {env_id}")
    notes = [
        f"--set {k}={v!r} overrides the training run's {k}={inherited[k]!r}"
        for k, v in overrides.items()
        if k in inherited and inherited[k] != v
    ]
    return trained_id, {**inherited, **overrides}, notes


def load_run_model(path: Path, env_id: str, config: Any = None) -> tuple[str, Any]:
    """Load a trained model for ``env_id``: a run directory gives its best model (kept by the
    periodic evaluation on the validation stream, disjoint from evaluation seeds), or its final
    ``model.zip`` when there is none; a ``.zip`` path inside a run gives that file. With
    ``config`` (the env it will run on), its observation and action interface must be the
    training run's (:func:`check_interface`)."""
    if not path.exists():
        raise CliError(f"model file {path} does not exist")
    if path.is_dir():  # a run: its best model on the validation stream, else its final one
        best = path / "best" / "best_model.zip"
        zip_path = best if best.is_file() else path / "model.zip"
    else:
        zip_path = path
    if not zip_path.is_file():
        raise CliError(f"no model.zip in {path}")
    saved = saved_run_config(path)
    if saved["fit"]["env_id"] != env_id:
        raise CliError(f"model {zip_path} was trained on {saved['fit']['env_id']}, not on {env_id}")
    if config is not None:
        check_interface(saved, config, zip_path)
    algo_cls = _algo_class(saved["fit"]["algo"])
    model = algo_cls.load(zip_path, device="cpu")
    label = f"{saved['fit']['algo']}:seed{saved['fit']['seed']}"
    if zip_path.parent.name == "best":
        label += ":best"
    return label, model
