"""Smoke tests of every ``train`` subcommand with tiny budgets, and their bad-input errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3", reason="train/ needs pip install 'mm_env[train]'")

from train.__main__ import main
from train.common import EVAL_SEED_BASE
from train.evaluate import load_model, run_batch
from train.fit import FitConfig, fit

TINY = {"n_steps": 50}


CJ = "mm_env/CarteaJaimungal-v0"


def tiny_config(root: Path, **changes) -> FitConfig:
    """A PPO run of 256 steps on 4 short-episode envs, evaluated and checkpointed twice."""
    return FitConfig(
        total_timesteps=256,
        n_envs=4,
        overrides=TINY,
        eval_freq=128,
        n_eval_episodes=2,
        checkpoint_freq=128,
        run_root=str(root),
        hyperparams={"n_steps": 32, "batch_size": 64, "n_epochs": 1},
        progress_bar=False,
        **changes,
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    return fit(tiny_config(tmp_path_factory.mktemp("runs")))


def test_fit_writes_run_directory_with_full_config(tiny_run: Path) -> None:
    assert tiny_run.name.startswith("market_making__ppo__0__")
    for name in ("model.zip", "config.json", "vecnormalize.pkl", "DONE"):
        assert (tiny_run / name).is_file()
    assert list((tiny_run / "checkpoints").glob("model_*_steps.zip"))
    assert (tiny_run / "best" / "best_model.zip").is_file()
    assert list((tiny_run / "tb").rglob("events.out.tfevents.*"))
    saved = json.loads((tiny_run / "config.json").read_text())
    assert saved["fit"]["seed"] == 0 and saved["scenario_config"]["n_steps"] == 50
    assert {"torch", "stable_baselines3", "gymnasium", "mm_env"} <= set(saved["versions"])
    assert "git_commit" in saved and saved["hyperparams"]["n_steps"] == 32


def test_resume_continues_without_losing_steps(tiny_run: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / tiny_run.name
    shutil.copytree(tiny_run, run)
    (run / "DONE").unlink()
    assert main(["fit", "--resume", str(run), "--timesteps", "512", "--no-progress"]) == 0
    assert int((run / "DONE").read_text()) == 512
    steps = sorted(
        int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("model_*_steps.zip")
    )
    assert steps[-1] == 512 and 256 in steps


def test_saved_model_reloads_and_reproduces_its_evaluation(tiny_run: Path) -> None:
    env_id = "mm_env/MarketMaking-v0"
    label, best = load_model(tiny_run, env_id)  # a run directory means its best model
    assert label == "ppo:seed0:best"
    a = run_batch(best, env_id, TINY, EVAL_SEED_BASE, 3)
    _, again = load_model(tiny_run / "best" / "best_model.zip", env_id)
    b = run_batch(again, env_id, TINY, EVAL_SEED_BASE, 3)
    np.testing.assert_array_equal(a.series["pnl"], b.series["pnl"])
    for _ in range(2):  # the final model, loaded twice, evaluates identically too
        label, final = load_model(tiny_run / "model.zip", env_id)
        c = run_batch(final, env_id, TINY, EVAL_SEED_BASE, 3)
        if _ == 0:
            first = c.column("final_pnl")
    assert label == "ppo:seed0"
    np.testing.assert_array_equal(first, c.column("final_pnl"))


def test_evaluate_model_and_baseline(tiny_run: Path, tmp_path: Path, capsys) -> None:
    for spec in (str(tiny_run), "baseline:skew:kappa=0.6,phi=0.01", "baseline:symmetric"):
        out = tmp_path / spec.replace("/", "_").replace(":", "_")
        code = main(["evaluate", spec, "--episodes", "3", "--set", "n_steps=50", "--out", str(out)])
        assert code == 0
        rows = list(csv.DictReader(open(out / "episodes.csv")))
        assert len(rows) == 3 and "final_pnl" in rows[0]
        summary = json.loads((out / "summary.json").read_text())
        assert summary["n_episodes"] == 3 and summary["seed"] >= EVAL_SEED_BASE
    assert "final PnL" in capsys.readouterr().out


def test_compare_and_report(tiny_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "rep"
    code = main(
        [
            "report",
            str(tiny_run),
            "--episodes",
            "4",
            "--tune-episodes",
            "2",
            "--set",
            "n_steps=50",
            "--kappas",
            "0,0.6",
            "--phis",
            "0,0.01",
            "--sens-episodes",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "PPO (1 seed)" in printed and "notebook rule" in printed and "p (t-test)" in printed
    report = (out / "report.md").read_text()
    assert "Paired tests" in report and "tuned rule" in report
    for png in (
        "paths.png",
        "quotes_vs_mid.png",
        "pnl_distribution.png",
        "sensitivity_heatmap.png",
    ):
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    table = json.loads((out / "comparison.json").read_text())
    assert {r["policy"] for r in table["table"]} >= {"PPO (1 seed)", "symmetric (1 spread)"}


def test_sensitivity_parallel_equals_serial(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="--workers 2 runs on Ray (pip install 'mm_env[tune]')")
    from train.sensitivity import sensitivity

    args = ("mm_env/MarketMaking-v0", TINY, [0.0, 0.6], [0.0, 0.01], EVAL_SEED_BASE, 3)
    serial = sensitivity(*args, workers=1, progress=False)
    parallel = sensitivity(*args, workers=2, progress=False)
    np.testing.assert_array_equal(serial.pnl_mean, parallel.pnl_mean)
    assert (
        main(
            [
                "sensitivity",
                "--kappas",
                "0,1",
                "--phis",
                "0",
                "--episodes",
                "2",
                "--set",
                "n_steps=30",
                "--out",
                str(tmp_path),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    assert (tmp_path / "sensitivity_heatmap.png").stat().st_size > 2000


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["evaluate", "no/such/model.zip", "--episodes", "2"], "does not exist"),
        (["evaluate", "baseline:nope", "--episodes", "2"], "unknown baseline"),
        (["evaluate", "baseline:skew:kappa=x", "--episodes", "2"], "not a number"),
        (["evaluate", "baseline:skew", "--seed", "3"], "below is training"),
        (["evaluate", "baseline:skew", "--seed", "2000000"], "validation"),
        (["fit", "--timesteps", "0"], "at least 1"),
        (["fit", "--timesteps", "10", "--hp", "bogus=1"], "unknown ppo hyperparameter"),
        (["fit", "--timesteps", "10", "--damping", "-1"], "damping"),
        (["demo", "--episodes", "1"], "--episodes"),
        (["fit", "--algo", "dqn", "--timesteps", "10"], "unknown algorithm"),
        (["fit", "--env-id", "CartPole-v1", "--timesteps", "10"], "unknown env id"),
        (["fit", "--set", "tick_size=-1", "--timesteps", "10"], "tick_size"),
        (["sensitivity", "--kappas", "", "--episodes", "2"], "empty"),
        (["compare", "--episodes", "1"], "at least 2"),
        (["fit", "--set", "oops", "--timesteps", "10"], "field=value"),
        (["fit", "--timesteps", "10", "--reward", "sharpe"], "--reward must be one of"),
        (["fit", "--timesteps", "10", "--reward", "capture"], "predictable mid"),
        (
            ["fit", "--env-id", CJ, "--set", "midprice=ou", "--timesteps", "10"]
            + ["--reward", "capture"],
            "predictable mid",
        ),
        (
            ["fit", "--env-id", CJ, "--timesteps", "10", "--reward", "capture", "--damping", "1"],
            "no effect",
        ),
    ],
)
def test_bad_input_is_a_one_line_error(argv, needle, capsys, tmp_path) -> None:
    assert main([*argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mm-train: error:") and needle in err and err.count("\n") == 1
    assert "Traceback" not in err


def test_resume_refuses_a_total_not_above_the_checkpoint(tiny_run: Path, capsys) -> None:
    assert main(["fit", "--resume", str(tiny_run), "--timesteps", "128", "--no-progress"]) == 2
    assert "above that" in capsys.readouterr().err


def test_model_of_another_scenario_is_refused(tmp_path: Path, capsys) -> None:
    cfg = FitConfig(
        env_id="mm_env/Notebook-v0",
        total_timesteps=64,
        n_envs=2,
        overrides={"n_steps": 20},
        eval_freq=10**6,
        checkpoint_freq=10**6,
        run_root=str(tmp_path),
        hyperparams={"n_steps": 32, "batch_size": 64, "n_epochs": 1},
        progress_bar=False,
    )
    run = fit(cfg)
    argv = ["evaluate", str(run), "--episodes", "2", "--out", str(tmp_path / "ev")]
    assert main([*argv, "--env-id", "mm_env/MarketMaking-v0"]) == 2
    assert "trained on mm_env/Notebook-v0" in capsys.readouterr().err
    assert main(argv) == 0  # without --env-id: the run's own scenario
    assert json.loads((tmp_path / "ev" / "summary.json").read_text())["env_id"] == (
        "mm_env/Notebook-v0"
    )


def test_fit_cli_records_every_option(tmp_path: Path) -> None:
    code = main(
        [
            "fit",
            "--timesteps",
            "64",
            "--n-envs",
            "2",
            "--set",
            "n_steps=20",
            "--damping",
            "0.5",
            "--eval-freq",
            "1000000",
            "--checkpoint-freq",
            "1000000",
            "--hp",
            "n_steps=32",
            "--hp",
            "batch_size=64",
            "--hp",
            "n_epochs=1",
            "--seed",
            "3",
            "--run-root",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert code == 0
    (run,) = tmp_path.iterdir()
    saved = json.loads((run / "config.json").read_text())
    assert saved["fit"]["damping"] == 0.5 and saved["fit"]["seed"] == 3
    assert saved["fit"]["overrides"] == {"n_steps": 20} and saved["hyperparams"]["n_epochs"] == 1


def test_damped_reward_removes_speculative_gains_only() -> None:
    from stable_baselines3.common.vec_env import VecMonitor

    import mm_env
    from mm_env.sb3 import make_sb3_vec_env
    from train.shaping import DampedPnL

    mapping = mm_env.ActionMapping.from_config(mm_env.make_config("market_making"))
    action = np.tile(mapping.to_action(1.0, -1.0), (4, 1))  # buys only: builds inventory
    totals = []
    for damping in (0.0, 1.0):
        venv = VecMonitor(make_sb3_vec_env(n_envs=4, seed=0, n_steps=300))
        if damping:
            venv = DampedPnL(venv, damping)
        venv.reset()
        total = np.zeros(4)
        for _ in range(300):
            total += venv.step(action)[1]
        totals.append(total)
    plain, damped = totals
    assert np.all(damped <= plain + 1e-6) and np.any(damped < plain - 0.1)
    with pytest.raises(ValueError, match="damping"):
        DampedPnL(VecMonitor(make_sb3_vec_env(n_envs=1, seed=0)), -1.0)


def test_capture_reward_is_pnl_less_inventory_pnl_with_the_same_mean() -> None:
    """On CarteaJaimungal-v0 (a martingale mid) the capture reward is the step reward less
    q_{t-1}·Δmid_t, step by step; over 256 episodes its total has the plain return's mean
    (paired difference within 4 standard errors) and at most half its variance (measured: a
    sixth; the variance ratio's sampling error at 256 episodes is about 13%)."""
    from stable_baselines3.common.vec_env import VecMonitor

    from mm_env.core import INVENTORY, MID
    from mm_env.sb3 import make_sb3_vec_env
    from train.shaping import CapturePnL

    n = 256
    action = np.tile(np.array([-0.5, 0.0], np.float32), (n, 1))  # m = 1: the optimal depth
    plain_env = VecMonitor(make_sb3_vec_env(CJ, n_envs=n, seed=7))
    capture_env = CapturePnL(VecMonitor(make_sb3_vec_env(CJ, n_envs=n, seed=7)))
    plain_env.reset()
    capture_env.reset()
    sim = plain_env.unwrapped.venv.simulator
    plain, capture = np.zeros(n), np.zeros(n)
    for _ in range(999):  # every step but the last (after it, the envs reset)
        mid, inv = sim.state[:, MID].copy(), sim.state[:, INVENTORY].copy()
        r_plain = plain_env.step(action)[1]
        r_capture = capture_env.step(action)[1]
        expected = r_plain - inv * (sim.state[:, MID] - mid)
        np.testing.assert_allclose(r_capture, expected, rtol=1e-5, atol=1e-5)
        plain += r_plain
        capture += r_capture
    diff = plain - capture
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(n)
    assert capture.var() < 0.5 * plain.var()


def test_a_model_is_refused_on_another_action_interface(tiny_run: Path, capsys) -> None:
    argv = ["evaluate", str(tiny_run), "--episodes", "2", "--out", str(tiny_run / "ev")]
    sets = [x for k, v in TINY.items() for x in ("--set", f"{k}={v}")]
    assert main([*argv, *sets]) == 0
    assert main([*argv, *sets, "--set", "max_skew=0.5"]) == 2
    err = capsys.readouterr().err
    assert "another observation/action interface" in err and "max_skew 1.0 (trained)" in err


def test_fit_with_damping_runs_its_periodic_evaluation(tmp_path: Path) -> None:
    run = fit(tiny_config(tmp_path, damping=1.0))
    assert (run / "best" / "best_model.zip").is_file()
    assert json.loads((run / "config.json").read_text())["fit"]["damping"] == 1.0


def test_evaluate_and_compare_take_the_training_runs_config(
    tiny_run: Path, tmp_path: Path, capsys
) -> None:
    """The tiny run was fitted with --set n_steps=50: evaluate and compare run it under that
    config without being told (no --env-id, no --set); an explicit --set still overrides, with
    a note naming the training value; another env id is refused."""
    from train.compare import compare
    from train.fit import resolve_settings

    assert resolve_settings([tiny_run], None, {}) == ("mm_env/MarketMaking-v0", TINY, [])
    out = tmp_path / "ev"
    assert main(["evaluate", str(tiny_run), "--episodes", "2", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["n_steps"] == 50 and summary["notes"] == []
    argv = ["evaluate", str(tiny_run), "--episodes", "2", "--out", str(out), "--set", "n_steps=40"]
    assert main(argv) == 0
    assert "--set n_steps=40 overrides the training run's n_steps=50" in capsys.readouterr().err
    assert json.loads((out / "summary.json").read_text())["config"]["n_steps"] == 40
    comp = compare([str(tiny_run)], n_episodes=2, tune_episodes=2, workers=1)
    assert comp.env_id == "mm_env/MarketMaking-v0" and comp.overrides == TINY
    assert comp.rows["PPO (1 seed)"]["final_pnl"].shape == (2,)
    assert main(["compare", str(tiny_run), "--env-id", CJ, "--episodes", "2"]) == 2
    assert "was trained on mm_env/MarketMaking-v0, not on" in capsys.readouterr().err


def test_compare_refuses_models_trained_on_different_configs(
    tiny_run: Path, tmp_path: Path, capsys
) -> None:
    from dataclasses import replace

    other = fit(replace(tiny_config(tmp_path), overrides={"n_steps": 40}))
    assert main(["compare", str(tiny_run), str(other), "--episodes", "2"]) == 2
    assert "trained on different configs" in capsys.readouterr().err


def test_run_settings_of_a_v1_run_are_its_overrides_only(tmp_path: Path) -> None:
    """A run of an id with registered rules (MarketMaking-v1: keep_priority, fill_through,
    power:1) reports only its own --set overrides, not the id's rules as overrides of v0."""
    import mm_env
    from train.fit import run_settings

    env_id = "mm_env/MarketMaking-v1"
    resolved = mm_env.make_config("market_making", **mm_env.ID_KWARGS[env_id], n_steps=50)
    saved = {"fit": {"env_id": env_id, "overrides": {"n_steps": 50}}}
    saved["scenario_config"] = json.loads(json.dumps(resolved.to_dict()))
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert run_settings(tmp_path) == (env_id, {"n_steps": 50})
