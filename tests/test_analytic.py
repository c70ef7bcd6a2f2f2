"""AvellanedaStoikov-v0 and the analytic agents: the papers' formulas, figures and simulations.

Published figures from /work/shared/reference/models.md (Avellaneda & Stoikov 2008; Guéant,
Lehalle & Fernandez-Tapia 2013; Cartea, Jaimungal & Penalva 2015). Statistical tests state
their tolerance in standard errors.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import mm_env
from baselines import BASELINES
from baselines.analytic import (
    GLFT,
    AvellanedaStoikov,
    AvellanedaStoikovSymmetric,
    CarteaJaimungal,
    as_depths,
    cj_generator,
    cj_h,
    expm_metzler,
    expm_symmetric,
    glft_closed_form,
    glft_exact_depths,
    glft_log_v,
)
from mm_env import AvellanedaStoikovConfig, make_simulator
from mm_env.core import ACTION_CLIPPED, ASK_FILL, BID_FILL
from tests.conftest import needs_sb3
from tests.test_config import COMMON_BAD

ID = "mm_env/AvellanedaStoikov-v0"

AS_BAD = [
    ("sigma", -1.0),
    ("sigma", math.nan),
    ("dt", 0.0),
    ("intensity_a", 0.0),
    ("intensity_k", -1.5),
    ("reference_spread", 0.0),
    ("fill_probability", "linear"),
    ("mid_increments", "levy"),
    ("initial_mid", math.inf),
]


def simulate(policy, config: AvellanedaStoikovConfig, n_paths: int, seed: int):
    """Episode returns, final mark-to-market PnL, final inventory and the number of clipped
    actions of ``n_paths`` episodes, stepped as one batch through the simulation core."""
    sim = make_simulator("avellaneda_stoikov", config, n_paths)
    rng = np.random.default_rng(seed)
    sim.reset(rng)
    returns = np.zeros(n_paths)
    clipped = 0.0
    for _ in range(config.n_steps):
        action, _ = policy.predict(sim.obs)
        sim.step(action, rng)
        returns += sim.rewards
        clipped += sim.state[:, ACTION_CLIPPED].sum()
    return returns, sim.pnl.copy(), sim.inventory.copy(), int(clipped)


# ---- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value"), COMMON_BAD + AS_BAD)
def test_config_rejects(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"'{field}'"):
        AvellanedaStoikovConfig(**{field: value})


def test_defaults_are_the_papers_simulation() -> None:
    c = AvellanedaStoikovConfig()
    assert (c.initial_mid, c.sigma, c.dt, c.n_steps, c.intensity_a, c.intensity_k) == (
        100.0,
        2.0,
        0.005,
        200,
        140.0,
        1.5,
    )
    assert c.horizon == pytest.approx(1.0)
    assert c.depth_unit == c.spread_scale == pytest.approx(2.0 / 1.5)
    assert gym.make(ID).unwrapped.observation_names[-1] == "time_left"
    cj = AvellanedaStoikovConfig.cartea_jaimungal()
    assert (cj.n_steps, cj.max_inventory, cj.terminal_inventory_penalty) == (1000, 100.0, 0.001)
    assert cj.inventory_penalty == pytest.approx(0.01 * 0.001)


# ---- the scenario's law -------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["capped", "exponential"])
def test_fill_frequencies_match_the_intensity(rule: str) -> None:
    # fixed depths 0.3 (bid) and 1.2 (ask): m = 1.5 / s, skew = -0.9 / 1.5
    config = AvellanedaStoikovConfig(fill_probability=rule, n_steps=50)
    s = config.depth_unit
    sim = make_simulator("avellaneda_stoikov", config, 4000)
    rng = np.random.default_rng(0)
    sim.reset(rng)
    action = np.tile(sim_mapping(config).to_action(1.5 / s, (0.3 - 1.2) / 1.5), (4000, 1))
    bid = ask = 0.0
    for _ in range(50):
        sim.step(action, rng)
        bid += sim.state[:, BID_FILL].sum()
        ask += sim.state[:, ASK_FILL].sum()
    n = 4000 * 50
    for depth, count in ((0.3, bid), (1.2, ask)):
        x = 140.0 * math.exp(-1.5 * depth) * 0.005  # λ(δ)·dt, Avellaneda & Stoikov eq. 2.11
        p = min(x, 1.0) if rule == "capped" else 1.0 - math.exp(-x)
        se = math.sqrt(p * (1 - p) / n)
        assert abs(count / n - p) < 4 * se, (depth, count / n, p)


def sim_mapping(config):
    return mm_env.ActionMapping.from_config(config)


def test_negative_depth_fills_with_probability_one_and_mid_moves_by_sigma_sqrt_dt() -> None:
    env = gym.make(ID, observation_dtype="float64")
    _, info = env.reset(seed=0)
    mapping = env.unwrapped.action_mapping
    # total spread one reference spread, skew 2: bid depth 1.5 s (deep), ask depth -0.5 s
    action = mapping.to_action(1.0, 2.0)
    moves = []
    for _ in range(100):
        prev_next = env.unwrapped.simulator.next_mid[0]
        _, _, _, _, info = env.step(action)
        assert info["mid"] == prev_next
        assert info["ask_fill"] == 1.0
        assert info["ask_quote"] == pytest.approx(info["mid"] - 0.5 * (2.0 / 1.5))
        moves.append(env.unwrapped.simulator.next_mid[0] - info["mid"])
    np.testing.assert_allclose(np.abs(moves), 2.0 * math.sqrt(0.005), rtol=1e-12)
    assert 20 < np.sum(np.array(moves) > 0) < 80


def test_gaussian_mid_increments_have_variance_sigma2_dt() -> None:
    config = AvellanedaStoikovConfig(mid_increments="gaussian", n_steps=1)
    sim = make_simulator("avellaneda_stoikov", config, 20000)
    rng = np.random.default_rng(1)
    sim.reset(rng)
    sim.step(np.zeros((20000, 2)), rng)
    d = sim.next_mid - 100.0
    var = 4.0 * 0.005
    assert abs(d.mean()) < 4 * math.sqrt(var / d.size)
    assert abs(d.var() - var) < 4 * var * math.sqrt(2.0 / d.size)


# ---- formulas and published figures -------------------------------------------------------------
def test_as_spread_column_of_the_published_table() -> None:
    # the table's "spread" is the constant term (2/γ)ln(1 + γ/k) of eq. 3.18
    for gamma, published in ((0.1, 1.29), (0.01, 1.33), (0.5, 1.15)):
        bid, ask = as_depths(gamma, 2.0, 1.5, 0.0, 0.0)
        assert round(float(bid + ask), 2) == published
    # eq. 3.17: reservation price s - q γ σ² τ; quotes r ∓ spread / 2
    bid, ask = as_depths(0.1, 2.0, 1.5, 0.5, 3.0)
    spread = 0.1 * 4 * 0.5 + 20 * math.log(1 + 0.1 / 1.5)
    assert float(bid) == pytest.approx(3 * 0.1 * 4 * 0.5 + spread / 2)
    assert float(ask) == pytest.approx(spread / 2 - 3 * 0.1 * 4 * 0.5)
    bid, ask = as_depths(0.1, 2.0, 1.5, 0.5, 3.0, symmetric=True)
    assert float(bid) == float(ask) == pytest.approx(spread / 2)


def test_cartea_jaimungal_value_function_and_depths() -> None:
    agent = CarteaJaimungal(AvellanedaStoikovConfig.cartea_jaimungal())
    assert agent.h(0.0, 0) == pytest.approx(68.2558, abs=5e-5)
    assert agent.h_grid[0, 100] == pytest.approx(agent.h(0.0, 0), abs=1e-9)
    assert agent.bid_table[0, 100] == pytest.approx(0.67214, abs=5e-6)
    assert agent.ask_table[0, 100] == pytest.approx(0.67214, abs=5e-6)
    assert agent.bid_table[0, 101] == pytest.approx(0.68308, abs=5e-6)
    assert agent.ask_table[0, 101] == pytest.approx(0.66120, abs=5e-6)
    # terminal condition h(T, q) = -α q² and h finite everywhere (|q| <= 100)
    np.testing.assert_allclose(agent.h_grid[-1], -0.001 * np.arange(-100, 101) ** 2.0)
    assert np.isfinite(agent.h_grid).all()
    # the grid is the direct exponential at an interior time
    np.testing.assert_allclose(agent.h_grid[400], agent.h(0.4), rtol=1e-10, atol=1e-9)


def test_expm_metzler_agrees_with_eigendecomposition_where_eigh_is_accurate() -> None:
    gen, q = cj_generator(140.0, 1.5, 0.01, 10)
    z = np.exp(-0.001 * 1.5 * q**2)
    p, c = expm_metzler(gen * 0.7)
    np.testing.assert_allclose(np.exp(-c) * p @ z, expm_symmetric(gen, 0.7) @ z, rtol=1e-10)
    p, c = expm_metzler(np.array([[-2.5]]))
    assert p[0, 0] * math.exp(-c) == pytest.approx(math.exp(-2.5), rel=1e-14)
    p, c = expm_metzler(np.array([[0.0, 1.0], [1.0, 0.0]]))
    ch, sh = math.cosh(1.0), math.sinh(1.0)
    np.testing.assert_allclose(p * math.exp(-c), [[ch, sh], [sh, ch]], rtol=1e-14)
    # with |q| <= 100 the eigendecomposition loses the tails; the positive series does not
    h = cj_h(140.0, 1.5, 0.01, 0.001, 100, 1.0)
    assert np.isfinite(h).all() and np.all(np.diff(h[:101]) > 0)


def test_glft_closed_form_matches_exact_solution() -> None:
    # the paper's figure parameters: σ = 0.3, A = 0.9, k = 0.3, γ = 0.01, T = 600, Q = 30
    log_v = glft_log_v(0.01, 0.3, 0.9, 0.3, 30, 1.0, 600)
    bid, ask = glft_exact_depths(log_v, 0.01, 0.3)
    q = np.arange(-30, 31)
    cbid, cask = glft_closed_form(0.01, 0.3, 0.9, 0.3, q)
    assert cbid[30] == pytest.approx(3.313, abs=5e-4)
    assert cbid[31] == pytest.approx(3.381, abs=5e-4)
    assert bid[0, 30] == pytest.approx(3.313, abs=5e-4)  # "agrees to three decimals"
    assert bid[0, 31] == pytest.approx(3.381, abs=5e-4)
    near = np.abs(q) <= 3
    np.testing.assert_allclose(bid[0, near], cbid[near], atol=1e-3)
    np.testing.assert_allclose(ask[0, near], cask[near], atol=1e-3)
    assert np.isinf(bid[:, -1]).all() and np.isinf(ask[:, 0]).all()
    # the scenario's parameters, small γ, long horizon (T = 10): within 5e-4 for |q| <= 2
    for gamma in (0.001, 0.01):
        log_v = glft_log_v(gamma, 2.0, 140.0, 1.5, 50, 0.005, 2000)
        bid, ask = glft_exact_depths(log_v, gamma, 1.5)
        cbid, cask = glft_closed_form(gamma, 2.0, 140.0, 1.5, np.arange(-2, 3))
        np.testing.assert_allclose(bid[0, 48:53], cbid, atol=5e-4)
        np.testing.assert_allclose(ask[0, 48:53], cask, atol=5e-4)


# ---- the agents in the env ---------------------------------------------------------------------
AGENTS = [
    lambda c: AvellanedaStoikov(c, 0.1),
    lambda c: AvellanedaStoikov(c, 0.5),
    lambda c: AvellanedaStoikovSymmetric(c, 0.01),
    lambda c: GLFT(c, 0.1, exact=True, inventory_bound=30),
    lambda c: GLFT(c, 0.1, exact=False),
    lambda c: CarteaJaimungal(c, phi=0.01, alpha=0.001, inventory_bound=30),
]


@pytest.mark.parametrize(
    "make_agent", AGENTS, ids=["as-0.1", "as-0.5", "as-sym-0.01", "glft-exact", "glft-closed", "cj"]
)
def test_agents_quote_their_depths_exactly_and_are_never_clipped(make_agent) -> None:
    config = AvellanedaStoikovConfig(observation_dtype="float64")
    env = gym.make(ID, config=config)
    agent = make_agent(config)
    obs, _ = env.reset(seed=0)
    for _ in range(config.n_steps):
        bid, ask = agent.depths(obs)
        mid = env.unwrapped.simulator.next_mid[0]
        action, _ = agent.predict(obs)
        assert action.shape == (2,)
        obs, _, _, _, info = env.step(action)
        assert info["bid_quote"] == pytest.approx(mid - bid[0], abs=1e-9)
        assert info["ask_quote"] == pytest.approx(mid + ask[0], abs=1e-9)
        assert not info["action_clipped"]
    _, _, _, clipped = simulate(agent, config, 500, seed=1)
    assert clipped == 0
    batch, _ = agent.predict(np.stack([obs, obs]))
    assert batch.shape == (2, 2) and np.array_equal(batch[0], agent.predict(obs)[0])


def test_agents_registered_and_validate_their_env() -> None:
    for name in ("avellaneda_stoikov", "avellaneda_stoikov_symmetric", "glft", "cartea_jaimungal"):
        assert name in BASELINES
        BASELINES[name].for_env(gym.make(ID))
    with pytest.raises(ValueError, match="AvellanedaStoikovConfig"):
        AvellanedaStoikov.for_env(gym.make("mm_env/Notebook-v0"))
    with pytest.raises(ValueError, match="obs_time_left"):
        CarteaJaimungal.for_env(gym.make(ID, obs_time_left=False))
    with pytest.raises(ValueError, match="gamma"):
        GLFT.for_env(gym.make(ID), gamma=0.0)
    with pytest.raises(ValueError, match="inventory_bound"):
        GLFT.for_env(gym.make(ID), inventory_bound=0)
    # the defaults of φ and α are read from the env's penalties
    agent = CarteaJaimungal(AvellanedaStoikovConfig.cartea_jaimungal(phi=0.02, alpha=0.003))
    assert agent.phi == pytest.approx(0.02) and agent.alpha == pytest.approx(0.003)


# ---- reproductions -------------------------------------------------------------------------------
@pytest.mark.slow
def test_cartea_jaimungal_optimal_agent_attains_h00() -> None:
    """Cartea, Jaimungal & Penalva (2015, ch. 10): the optimal agent's mean objective over
    20000 episodes (λ = 140, κ = 1.5, σ = 2, φ = 0.01, α = 0.001, T = 1, |q| <= 100, 1000
    steps) equals h(0, 0) = 68.2558 within 3 standard errors."""
    config = AvellanedaStoikovConfig.cartea_jaimungal(observation_dtype="float64")
    agent = CarteaJaimungal(config)
    returns, _, _, clipped = simulate(agent, config, 20000, seed=2015)
    se = returns.std(ddof=1) / math.sqrt(returns.size)
    assert abs(returns.mean() - agent.h(0.0, 0)) < 3 * se, (returns.mean(), se)
    assert clipped == 0


#: Avellaneda & Stoikov (2008), section 4 table: (mean profit, std profit, mean q, std q)
AS_TABLE = {
    (0.1, "inventory"): (62.94, 5.89, 0.10, 2.80),
    (0.1, "symmetric"): (67.21, 13.43, -0.018, 8.66),
    (0.01, "inventory"): (66.78, 8.76, -0.02, 4.70),
    (0.01, "symmetric"): (67.36, 13.40, -0.31, 8.65),
    (0.5, "inventory"): (33.92, 4.72, -0.02, 1.88),
    (0.5, "symmetric"): (66.20, 14.53, 0.25, 9.06),
}
#: published figures this simulation of the paper's description does not reproduce (|z| > 3);
#: see as_table_report for the figures we get
AS_NOT_REPRODUCED = {
    (0.1, "inventory", "mean profit"),  # 64.9 vs 62.94 (replications report 1-2 higher)
    (0.1, "inventory", "std profit"),  # 6.4 vs 5.89
    (0.01, "inventory", "mean profit"),  # 68.4 vs 66.78
    (0.01, "inventory", "std q"),  # 5.2 vs 4.70
    (0.01, "symmetric", "mean profit"),  # 68.6 vs 67.36 (z ~ 2.6, the same systematic excess)
    (0.5, "inventory", "mean profit"),  # 48.5 vs 33.92: known not reproducible
    (0.5, "inventory", "std profit"),  # 5.9 vs 4.72
    (0.5, "symmetric", "mean profit"),  # 58.5 vs 66.20: the γσ²(T − t) term widens the spread
    (0.5, "symmetric", "std profit"),  # 11.6 vs 14.53
    (0.5, "symmetric", "std q"),  # 7.1 vs 9.06
}
N_PAPER = 1000  # simulations per γ in the paper


def as_table(n_paths: int, seed: int) -> dict[tuple[float, str], tuple[float, ...]]:
    config = AvellanedaStoikovConfig(observation_dtype="float64")
    out = {}
    for gamma in (0.1, 0.01, 0.5):
        for name, cls in (
            ("inventory", AvellanedaStoikov),
            ("symmetric", AvellanedaStoikovSymmetric),
        ):
            _, pnl, q, clipped = simulate(cls(config, gamma), config, n_paths, seed)
            assert clipped == 0
            out[gamma, name] = (pnl.mean(), pnl.std(ddof=1), q.mean(), q.std(ddof=1))
    return out


def z_scores(ours: tuple[float, ...], paper: tuple[float, ...], n_ours: int) -> dict[str, float]:
    """(ours − published) / SE for each column; SE combines both samples' sampling errors
    (mean: σ/√n; std: σ/√(2n), normal approximation), the paper's with n = 1000."""
    out = {}
    for j, label in enumerate(("mean profit", "std profit", "mean q", "std q")):
        sd = ours[1] if j < 2 else ours[3]
        f = 1.0 if j in (0, 2) else 0.5
        se = sd * math.sqrt(f / n_ours + f / N_PAPER)
        out[label] = (ours[j] - paper[j]) / se
    return out


@pytest.mark.slow
def test_avellaneda_stoikov_table() -> None:
    """Avellaneda & Stoikov (2008) section 4, 4000 simulations per γ and strategy.

    Quantitative: every published figure not listed in AS_NOT_REPRODUCED is matched within 3
    combined standard errors. Qualitative (all γ): the inventory strategy has a lower profit std
    and a much lower inventory std than the symmetric one; the two converge as γ → 0.
    """
    table = as_table(4000, seed=2008)
    for key, paper in AS_TABLE.items():
        for label, z in z_scores(table[key], paper, 4000).items():
            if (*key, label) not in AS_NOT_REPRODUCED:
                assert abs(z) < 3, (key, label, table[key], paper, z)
    gap = {}
    for gamma in (0.1, 0.01, 0.5):
        inv, sym = table[gamma, "inventory"], table[gamma, "symmetric"]
        assert inv[1] < sym[1] and inv[3] < 0.65 * sym[3]
        gap[gamma] = (sym[0] - inv[0], sym[3] / inv[3])
    assert gap[0.01][0] < gap[0.1][0] < gap[0.5][0]
    assert gap[0.01][1] < gap[0.1][1] < gap[0.5][1]


@needs_sb3
def test_agent_through_the_sb3_adapter_matches_the_core() -> None:
    """SB3's evaluate_policy drives the AS agent through the SB3 VecEnv adapter; its mean
    episode return matches the batch simulation of the core within 4 standard errors."""
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecMonitor

    from mm_env.sb3 import make_sb3_vec_env

    venv = VecMonitor(make_sb3_vec_env(ID, n_envs=8, seed=3))
    agent = AvellanedaStoikov(AvellanedaStoikovConfig(), gamma=0.1)
    rewards, _ = evaluate_policy(agent, venv, n_eval_episodes=64, return_episode_rewards=True)
    returns, _, _, _ = simulate(agent, AvellanedaStoikovConfig(), 4000, seed=4)
    se = math.sqrt(np.var(rewards, ddof=1) / len(rewards) + returns.var(ddof=1) / returns.size)
    assert abs(np.mean(rewards) - returns.mean()) < 4 * se
