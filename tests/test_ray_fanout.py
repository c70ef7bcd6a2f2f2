"""Ray as the engine of the fan-outs (fast suite): the pieces really run in Ray workers, and
sensitivity, compare and ``fit --seeds`` write the same numbers on Ray as serially."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3", reason="train/ needs pip install 'mm_env[train]'")

from train.__main__ import main
from train.common import EVAL_SEED_BASE, CliError
from train.parallel import fan_out, parse_seeds

TINY = {"n_steps": 50}
ENV = "mm_env/MarketMaking-v0"


def _pid(_: object) -> int:
    return os.getpid()


def test_parse_seeds() -> None:
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,1,7") == [0, 1, 7]
    assert parse_seeds("0-2, 9") == [0, 1, 2, 9]
    for bad, needle in (("3-1", "empty"), ("a", "like 0-4"), ("0,0", "twice"), (",", "no seed")):
        with pytest.raises(CliError, match=needle):
            parse_seeds(bad)


def test_pieces_run_in_ray_workers_and_errors_come_back_as_themselves(local_ray) -> None:
    pids = fan_out(_pid, range(4))
    assert os.getpid() not in pids
    assert fan_out(_pid, range(2), workers=1) == [os.getpid()] * 2
    with pytest.raises(CliError, match="like 0-4"):  # the piece's CliError, not a RayTaskError
        fan_out(parse_seeds, ["0-1", "x"])


def test_sensitivity_on_ray_writes_the_serial_csv(local_ray, tmp_path: Path) -> None:
    """The quick Ray-backed check of the oldest suite: a 2 × 2 grid, 3 episodes per cell."""
    from train.sensitivity import sensitivity, write_sensitivity

    args = (ENV, TINY, [0.0, 0.6], [0.0, 0.01], EVAL_SEED_BASE, 3)
    serial = sensitivity(*args, workers=1, progress=False)
    on_ray = sensitivity(*args, progress=False)  # Ray: the fixture's 2-CPU local cluster
    write_sensitivity(serial, tmp_path / "serial")
    write_sensitivity(on_ray, tmp_path / "ray")
    text = (tmp_path / "serial" / "sensitivity.csv").read_text()
    assert text == (tmp_path / "ray" / "sensitivity.csv").read_text()
    assert len(set(serial.pnl_mean.ravel())) == 4  # four different cells: an order mix-up shows


def _tiny_fit_config(root: Path):
    from tests.test_train_cli import tiny_config  # the CLI tests' tiny PPO run

    return tiny_config(root)


def test_fit_seeds_on_ray_train_the_serial_models(local_ray, tmp_path: Path) -> None:
    from train.evaluate import load_model, run_batch
    from train.fit import fit_seeds

    serial = fit_seeds(_tiny_fit_config(tmp_path / "serial"), [0, 1], workers=1)
    on_ray = fit_seeds(_tiny_fit_config(tmp_path / "ray"), [0, 1])
    weights = []
    for a, b in zip(serial, on_ray):
        assert a.name.split("__")[:3] == b.name.split("__")[:3]
        ev_a = np.load(a / "eval" / "evaluations.npz")["results"]
        ev_b = np.load(b / "eval" / "evaluations.npz")["results"]
        np.testing.assert_array_equal(ev_a, ev_b)
        params, pnl = [], []
        for run in (a, b):
            _, model = load_model(run / "model.zip", ENV)
            params.append(
                np.concatenate([p.detach().numpy().ravel() for p in model.policy.parameters()])
            )
            pnl.append(run_batch(model, ENV, TINY, EVAL_SEED_BASE, 3).column("final_pnl"))
        np.testing.assert_array_equal(*params)  # bit for bit the same trained weights
        np.testing.assert_array_equal(*pnl)
        weights.append(params[0])
    assert not np.array_equal(*weights)  # the two seeds trained different models


def test_compare_on_ray_writes_the_serial_csv(local_ray, tmp_path: Path) -> None:
    from train.compare import compare, write_comparison
    from train.fit import fit

    run = fit(_tiny_fit_config(tmp_path / "runs"))
    args = ([str(run)], ENV, TINY, 4, EVAL_SEED_BASE, 12345, 2)
    serial = compare(*args, workers=1)
    on_ray = compare(*args)
    write_comparison(serial, tmp_path / "serial")
    write_comparison(on_ray, tmp_path / "ray")
    text = (tmp_path / "serial" / "comparison.csv").read_text()
    assert text == (tmp_path / "ray" / "comparison.csv").read_text()
    assert serial.tuned == on_ray.tuned and serial.baselines == on_ray.baselines
    assert "PPO (1 seed)" in text and "symmetric (1 spread)" in text


def test_fit_seeds_command_line(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "fit",
            "--seeds",
            "2,3",
            "--workers",
            "1",
            "--timesteps",
            "64",
            "--n-envs",
            "2",
            "--set",
            "n_steps=20",
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
            "--run-root",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "seed 2: run saved in" in out and "seed 3: run saved in" in out
    assert sorted(p.name.split("__")[2] for p in tmp_path.iterdir()) == ["2", "3"]


UNREACHABLE = "127.0.0.1:1"  # loopback, a port nothing listens on: refused at once


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["fit", "--seeds", "3-1", "--timesteps", "10"], "empty"),
        (["fit", "--seeds", "x", "--timesteps", "10"], "--seeds must be like"),
        (["fit", "--seeds", "0,0", "--timesteps", "10"], "twice"),
        (["fit", "--seeds", "0-1", "--seed", "2", "--timesteps", "10"], "drop --seed"),
        (["fit", "--seeds", "0-1", "--cpus-per-run", "0", "--timesteps", "10"], "at least 1"),
        (["fit", "--seeds", "0-1", "--timesteps", "10", "--reward", "capture"], "predictable"),
        (["fit", "--workers", "2", "--timesteps", "10"], "go with --seeds"),
        (["fit", "--seeds", "0,2000000", "--timesteps", "10"], "training seed"),
        (["sensitivity", "--workers", "0", "--episodes", "2"], "--workers must be at least 1"),
        (["sensitivity", "--address", "nohost", "--episodes", "2"], "host:port"),
        (["sensitivity", "--address", UNREACHABLE, "--episodes", "2"], "no Ray cluster"),
        (["compare", "--address", UNREACHABLE, "--episodes", "2"], "no Ray cluster"),
        (["sensitivity", "--address", UNREACHABLE, "--workers", "1"], "contradict"),
    ],
)
def test_bad_fan_out_input_is_a_one_line_error(argv, needle, capsys) -> None:
    if "--address" in argv:  # checked after Ray's import (the contradiction too)
        pytest.importorskip("ray", reason="--address needs Ray (pip install 'mm_env[tune]')")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mm-train: error:") and needle in err and err.count("\n") == 1
