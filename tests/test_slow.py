"""Slow checks (``make test-slow``, run by CI after ``make test``)."""

from __future__ import annotations

import numpy as np
import pytest

import mm_env
from tests.notebook_transcription import notebook_run_kappa
from tests.test_notebook_port import run_env


@pytest.mark.slow
@pytest.mark.parametrize("phi", [0.0, 0.005, 0.01, 0.02])
@pytest.mark.parametrize("kappa", [-1.0, 0.6])
def test_notebook_port_many_seeds(kappa: float, phi: float) -> None:
    """The port check over 20 seeds. Where the rule leaves the action range (phi * inv can
    cross our own quotes beyond the range when short), compare up to that step only, and
    require that most runs never leave it."""
    never_clipped = 0
    for seed in range(20):
        nb_cash, nb_inv, nb_pnl = notebook_run_kappa(seed, kappa, phi)
        cash, inv, pnl, clipped = run_env(seed, kappa, phi)
        upto = int(np.argmax(clipped)) if clipped.any() else len(clipped)
        never_clipped += not clipped.any()
        np.testing.assert_allclose(inv[:upto], nb_inv[:upto], atol=1e-9)
        np.testing.assert_allclose(cash[:upto], nb_cash[:upto], atol=1e-9)
        np.testing.assert_allclose(pnl[:upto], nb_pnl[:upto], atol=1e-9)
    assert never_clipped >= 15


@pytest.mark.slow
def test_demo_whole_story_tiny(tmp_path) -> None:
    """``make demo`` end to end with a tiny budget: training, comparison, sensitivity, report."""
    from train.demo import run_demo

    result = run_demo(
        n_seeds=1,
        timesteps=2048,
        n_episodes=4,
        n_steps=60,
        out=str(tmp_path / "demo"),
        run_root=str(tmp_path / "runs"),
        sens_episodes=2,
        notebook_seeds=2,
    )
    report = result["report"].read_text()
    assert "PPO (1 seed)" in report and "Paired tests" in report
    for png in (
        "paths.png",
        "quotes_vs_mid.png",
        "pnl_distribution.png",
        "sensitivity_heatmap.png",
        "notebook/pnl.png",
    ):
        assert (tmp_path / "demo" / png).stat().st_size > 2000
    assert (tmp_path / "demo" / "demo_config.json").is_file()


@pytest.mark.slow
def test_ppo_reaches_95_percent_of_the_cartea_jaimungal_optimum(tmp_path) -> None:
    """The RL check of the analytic scenario: PPO, trained with the budget the README documents
    (3M env-steps, gamma 0.9, the capture reward, seed 0), reaches at least 95% of the optimal
    Cartea–Jaimungal agent's mean objective on 1000 held-out episodes. Both run on the same
    evaluation seed (common random numbers), so the test is on the paired difference
    PPO − 0.95·optimal: its mean must exceed 3 standard errors."""
    from baselines.analytic import CarteaJaimungal
    from train.common import EVAL_SEED_BASE
    from train.evaluate import load_model, run_batch
    from train.fit import FitConfig, fit

    env_id = "mm_env/CarteaJaimungal-v0"
    run = fit(
        FitConfig(
            env_id=env_id,
            total_timesteps=3_000_000,
            eval_freq=200_000,
            hyperparams={"gamma": 0.9},
            reward="capture",
            seed=0,
            run_root=str(tmp_path),
            progress_bar=False,
        )
    )
    config = mm_env.make_config("cartea_jaimungal")
    _, model = load_model(run, env_id, config)
    n = 1000
    ppo = run_batch(model, env_id, {}, EVAL_SEED_BASE, n, keep_series=False).returns
    optimal = run_batch(CarteaJaimungal(config), env_id, {}, EVAL_SEED_BASE, n, keep_series=False)
    diff = ppo - 0.95 * optimal.returns
    se = diff.std(ddof=1) / np.sqrt(n)
    assert diff.mean() > 3 * se, (ppo.mean(), optimal.returns.mean(), se)
