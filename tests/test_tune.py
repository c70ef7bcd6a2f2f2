"""``train tune``: the search space and its bad input (fast), and tiny searches on a local
2-CPU Ray (slow): the trials are fit runs, ASHA stops some, a crash is reported and the sweep
goes on, an interrupted search resumes, and the outputs (table, best model, figures, report
section) are written."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3", reason="train/ needs pip install 'mm_env[train]'")

from train.__main__ import main
from train.common import CliError
from train.tune import Dimension, parse_space, tuning_section

ROOT = Path(__file__).resolve().parents[1]
CJ = "mm_env/CarteaJaimungal-v0"
UNREACHABLE = "127.0.0.1:1"

#: a trial of 2,048 env-steps on 4 short episodes, evaluated every 256 steps (8 reports)
TINY = [
    "--set",
    "n_steps=50",
    "--n-envs",
    "4",
    "--timesteps",
    "2048",
    "--eval-freq",
    "256",
    "--eval-episodes",
    "2",
    "--hp",
    "n_epochs=1",
    "--grace-period",
    "2",
]
SPACE = [
    "--space",
    "learning_rate=loguniform:1e-4:3e-3",
    "--space",
    "n_steps=choice:32,64",
    "--space",
    "batch_size=choice:64,128",
    "--space",
    "net_arch=choice:16x16,32",
    "--space",
    "damping=uniform:0:1",
]


def test_space_parsing_and_the_default_space() -> None:
    dims = parse_space(
        ["learning_rate=loguniform:1e-5:1e-3", "n_steps=choice:64,128", "net_arch=choice:64X64"],
        "ppo",
        "mm_env/MarketMaking-v0",
    )
    assert dims[0] == Dimension("learning_rate", "loguniform", 1e-5, 1e-3)
    assert dims[1].choices == (64, 128) and dims[2].choices == ("64x64",)
    default = {d.name for d in parse_space([], "ppo", "mm_env/MarketMaking-v0")}
    assert default == {
        "learning_rate",
        "n_steps",
        "batch_size",
        "gamma",
        "ent_coef",
        "net_arch",
        "damping",
    }
    # the capture reward only where it is unbiased
    assert "reward" in {d.name for d in parse_space([], "ppo", CJ)}
    with pytest.raises(CliError, match="predictable mid"):
        parse_space(["reward=choice:pnl,capture"], "ppo", "mm_env/MarketMaking-v0")


def test_trial_config_is_fit_config_with_the_sampled_values(tmp_path: Path) -> None:
    from train.tune import TuneArgs, check_args, trial_fit_config

    _, base = check_args(TuneArgs(env_id=CJ, hyperparams={"n_epochs": 1}))
    params = {"learning_rate": 1e-4, "n_steps": 64.0, "net_arch": "32x16", "reward": "capture"}
    cfg = trial_fit_config({**base, "damping": 0.5}, params, tmp_path)
    assert cfg.hyperparams["learning_rate"] == 1e-4 and cfg.hyperparams["n_steps"] == 64
    assert isinstance(cfg.hyperparams["n_steps"], int)
    assert cfg.hyperparams["policy_kwargs"] == {"net_arch": [32, 16]}
    assert cfg.hyperparams["n_epochs"] == 1 and cfg.reward == "capture" and cfg.damping == 0.0
    assert cfg.run_root == str(tmp_path) and cfg.checkpoint_freq == cfg.eval_freq


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--space", "bogus=uniform:0:1"], "unknown parameter 'bogus'"),
        (["--space", "learning_rate=loguniform:1e-3:1e-5"], "is empty"),
        (["--space", "gamma=uniform:0.9:0.9"], "is empty"),
        (["--space", "n_steps=int:64:32"], "is empty"),
        (["--space", "n_steps=choice:"], "empty choice"),
        (["--space", "learning_rate"], "name=kind:args"),
        (["--space", "learning_rate=loguniform:1e-5"], "two bounds"),
        (["--space", "learning_rate=normal:0:1"], "unknown kind"),
        (["--space", "learning_rate=uniform:a:1"], "not a number"),
        (["--space", "learning_rate=loguniform:0:1"], "log scale"),
        (["--space", "n_steps=uniform:32:64"], "integer"),
        (["--space", "gamma=uniform:0.5:1.5"], "in (0, 1]"),
        (["--space", "net_arch=choice:64xx"], "hidden-layer widths"),
        (["--space", "batch_size=choice:64,64"], "twice"),
        (["--space", "reward=choice:pnl,capture"], "predictable mid"),
        (["--space", "n_steps=choice:32", "--space", "n_steps=choice:64"], "twice"),
        (["--space", "n_epochs=choice:1", "--hp", "n_epochs=2"], "both fixed"),
        (["--hp", "bogus=1"], "unknown ppo hyperparameter"),
        (["--trials", "0"], "--trials must be at least 1"),
        (["--eval-freq", "5000"], "never report"),
        (["--grace-period", "8"], "leaves ASHA no rung"),
        (["--cpus-per-trial", "0"], "--cpus-per-trial"),
        (["--env-id", "CartPole-v1"], "unknown env id"),
        (["--algo", "dqn"], "unknown algorithm"),
        (["--reward", "capture"], "predictable mid"),
        (["--address", UNREACHABLE], "no Ray cluster answers"),
        (["--address", "nohost"], "host:port"),
    ],
)
def test_bad_tune_input_is_a_one_line_error(extra, needle, capsys, tmp_path: Path) -> None:
    if "--address" in extra:  # checked after Ray's import
        pytest.importorskip("ray", reason="--address needs Ray (pip install 'mm_env[tune]')")
    out = tmp_path / "tune"
    assert main(["tune", *TINY, *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mm-train: error:") and needle in err and err.count("\n") == 1
    assert not (out / "trials").exists()  # refused before any Ray work


def test_resume_needs_a_tune_directory(tmp_path: Path, capsys) -> None:
    assert main(["tune", "--resume", str(tmp_path)]) == 2
    assert "not a tune directory" in capsys.readouterr().err
    assert main(["report", "--episodes", "2", "--tune", str(tmp_path)]) == 2
    assert "not a finished tune directory" in capsys.readouterr().err


# ---- tiny searches on a local Ray (slow) ------------------------------------------------
def ray_processes_of(pid: int) -> list[str]:
    """Ray's daemons (raylet, GCS) still running among ``pid``'s descendants: a command that
    started Ray must leave none (other users' Ray on this machine do not count)."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(stat.parent.name))
        names[int(stat.parent.name)] = cmd
    found, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        if "raylet" in names.get(p, "") or "gcs_server" in names.get(p, ""):
            found.append(names[p][:80])
        todo += children.get(p, [])
    return found


def _rows(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(open(out / "trials.csv")))


@pytest.mark.slow
def test_tiny_search_end_to_end(tmp_path: Path, capsys) -> None:
    """Three trials on Ray started by the command (2 CPUs, one per trial): each trial is a fit
    run whose reported validation returns are its own evaluations; the best trial's model is
    copied and evaluates; the report gets a tuning section; no raylet is left behind."""
    out = tmp_path / "tune"
    assert main(["tune", *TINY, *SPACE, "--trials", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 trials:" in printed and "best: trial" in printed
    rows = _rows(out)
    assert len(rows) == 3 and {r["status"] for r in rows} <= {"COMPLETED", "STOPPED_EARLY"}
    assert any(r["status"] == "COMPLETED" for r in rows)
    for r in rows:
        run = Path(r["run_dir"])
        assert run.is_relative_to((out / "trials").resolve())  # in the experiment's storage
        saved = json.loads((run / "config.json").read_text())  # written by fit itself
        assert saved["fit"]["seed"] == 0 and saved["fit"]["total_timesteps"] == 2048
        assert saved["hyperparams"]["learning_rate"] == pytest.approx(float(r["learning_rate"]))
        assert saved["hyperparams"]["policy_kwargs"]["net_arch"] == [
            int(w) for w in r["net_arch"].split("x")
        ]
        assert saved["fit"]["damping"] == pytest.approx(float(r["damping"]))
        # what Tune was told is what fit's evaluation measured, evaluation by evaluation
        evals = np.load(run / "eval" / "evaluations.npz")["results"].mean(axis=1)
        assert int(r["evaluations"]) == len(evals)
        assert float(r["best_val_return"]) == pytest.approx(evals.max(), rel=1e-12)
        done = (run / "DONE").exists()
        assert done == (r["status"] == "COMPLETED") and done == (run / "model.zip").exists()
        assert (run / "best" / "best_model.zip").is_file()
    best = json.loads((out / "best.json").read_text())["best"]
    assert float(best["best_val_return"]) == max(float(r["best_val_return"]) for r in rows)
    assert best["config"]["fit"]["env_id"] == "mm_env/MarketMaking-v0"
    for png in ("optimization_history.png", "learning_curves.png"):
        assert (out / png).stat().st_size > 2000
    importances = json.loads((out / "best.json").read_text())["importances"]
    assert set(importances) <= {"learning_rate", "n_steps", "batch_size", "net_arch", "damping"}
    assert (out / "param_importances.png").exists() == bool(importances)
    evaluation = tmp_path / "ev"
    argv = ["evaluate", str(out / "best_run"), "--episodes", "2", "--set", "n_steps=50"]
    assert main([*argv, "--out", str(evaluation)]) == 0
    assert not ray_processes_of(os.getpid())
    report = tmp_path / "report"
    lines = tuning_section(out, tmp_path)
    assert "## Hyperparameter search (Ray Tune, Optuna sampler, ASHA)" in lines
    argv = ["report", str(out / "best_run"), "--episodes", "3", "--tune-episodes", "2"]
    argv += ["--set", "n_steps=50", "--kappas", "0", "--phis", "0", "--sens-episodes", "2"]
    assert main([*argv, "--tune", str(out), "--out", str(report), "--workers", "1"]) == 0
    text = (report / "report.md").read_text()
    assert "Hyperparameter search" in text and "tune_optimization_history.png" in text


def crash_first_trial(params, base):
    """A trainable for the crash test: the first trial to start raises, the others are the
    real trial (the lock file makes exactly one crash, whichever Ray starts first)."""
    from train.tune import tune_trial

    flag = Path(base["experiment_dir"]).parent / "crashed-once"
    try:
        fd = os.open(flag, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return tune_trial(params, base)
    os.close(fd)
    raise RuntimeError("injected crash in a trial")


@pytest.mark.slow
def test_a_crashing_trial_is_reported_and_the_sweep_goes_on(
    local_ray_for_test, tmp_path: Path
) -> None:
    from train.tune import TuneArgs, run_tune

    args = TuneArgs(
        space=("learning_rate=loguniform:1e-4:1e-3",),
        trials=3,
        timesteps=1024,
        n_envs=4,
        eval_freq=256,
        eval_episodes=2,
        overrides={"n_steps": 50},
        hyperparams={"n_steps": 32, "batch_size": 64, "n_epochs": 1},
        grace_period=1,
        out=str(tmp_path / "tune"),
    )
    assert ray_processes_of(os.getpid())  # the fixture's Ray: the leak check can see one
    summary = run_tune(args, trial_fn=crash_first_trial)
    rows = _rows(tmp_path / "tune")
    crashed = [r for r in rows if r["status"] == "ERROR"]
    assert len(rows) == 3 and len(crashed) == 1 and summary["errors"] == 1
    assert "injected crash in a trial" in crashed[0]["error"]
    assert all(r["best_val_return"] for r in rows if r["status"] != "ERROR")
    assert summary["best"]["trial_id"] != crashed[0]["trial_id"]


@pytest.mark.slow
def test_an_interrupted_search_resumes_from_its_directory(tmp_path: Path) -> None:
    """SIGINT (Ctrl+C) while trials run: Tune saves the experiment, the command exits 130 and
    says how to resume; ``--resume`` finishes every trial, each continuing its own fit run."""
    out = tmp_path / "tune"
    argv = [*TINY, *SPACE, "--trials", "3", "--timesteps", "8192", "--eval-freq", "1024"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "train", "tune", *argv, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not list((out / "trials").glob("*/checkpoint_*")):
            assert proc.poll() is None and time.monotonic() < deadline, "no trial reported"
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        text, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, text[-3000:]
    assert f"--resume {out}" in text
    assert main(["tune", "--resume", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) == 3 and {r["status"] for r in rows} <= {"COMPLETED", "STOPPED_EARLY"}
    for trial in (out / "trials").glob("tune_trial_*"):
        assert len(list((trial / "runs").iterdir())) == 1  # continued, not restarted
    assert not ray_processes_of(os.getpid())


@pytest.mark.slow
def test_sensitivity_command_on_its_own_local_ray(tmp_path: Path) -> None:
    """The command starts a 2-CPU local Ray, runs a 3 × 2 grid on it, writes the serial CSV
    and shuts Ray down."""
    argv = ["sensitivity", "--kappas=-1,0,1", "--phis", "0,0.01", "--episodes", "4"]
    argv += ["--set", "n_steps=80"]
    assert main([*argv, "--out", str(tmp_path / "ray"), "--workers", "2"]) == 0
    assert not ray_processes_of(os.getpid())
    assert main([*argv, "--out", str(tmp_path / "serial"), "--workers", "1"]) == 0
    ray_csv = (tmp_path / "ray" / "sensitivity.csv").read_text()
    assert ray_csv == (tmp_path / "serial" / "sensitivity.csv").read_text()
    assert len(ray_csv.splitlines()) == 7


HEAD = """
import sys, ray
ray.init(num_cpus=2, include_dashboard=False, object_store_memory=256 * 2**20)
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the test closes our stdin
ray.shutdown()
"""


@pytest.mark.slow
def test_commands_join_a_running_cluster_with_address(tmp_path: Path, capsys) -> None:
    """A one-node Ray cluster on loopback, started by another process (as ``ray start --head``
    would): ``sensitivity`` and ``tune`` join it with ``--address`` (the command line of a real
    cluster), give the serial numbers, and leave it running."""
    head = subprocess.Popen(
        [sys.executable, "-c", HEAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        # host:port of the head's GCS, reached on loopback (the GCS listens on every interface)
        port = head.stdout.readline().strip().rpartition(":")[2]
        assert port.isdigit(), port
        address = f"127.0.0.1:{port}"
        argv = ["sensitivity", "--kappas", "0,1", "--phis", "0,0.01", "--episodes", "3"]
        argv += ["--set", "n_steps=60"]
        assert main([*argv, "--out", str(tmp_path / "ray"), "--address", address]) == 0
        assert main([*argv, "--out", str(tmp_path / "serial"), "--workers", "1"]) == 0
        csv_text = (tmp_path / "ray" / "sensitivity.csv").read_text()
        assert csv_text == (tmp_path / "serial" / "sensitivity.csv").read_text()
        out = tmp_path / "tune"
        tiny = [*TINY, "--timesteps", "1024", "--grace-period", "1", "--trials", "2"]
        space = ["--space", "learning_rate=loguniform:1e-4:1e-3"]
        assert main(["tune", *tiny, *space, "--out", str(out), "--address", address]) == 0
        assert len(_rows(out)) == 2
        assert head.poll() is None  # the cluster is still up: the commands only disconnected
    finally:
        head.stdin.close()
        head.wait(timeout=60)
