"""The stylised components of the Avellaneda–Stoikov family (issue 14): defaults unchanged,
validation, and each process's known moments within stated standard errors (fixed seeds)."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest

from mm_env import AvellanedaStoikovConfig, make_simulator
from mm_env.config import AS_COMPONENT_FIELDS, AS_COMPONENTS
from mm_env.core import ASK_FILL, BID_FILL
from mm_env.core import INVENTORY as INVENTORY_COL
from tests import as_digest


# ---- the default ids are unchanged ---------------------------------------------------------
def test_default_trajectories_match_the_digest_recorded_on_main() -> None:
    recorded = json.loads(as_digest.PATH.read_text())
    now = as_digest.digest()
    assert set(now) == set(recorded)
    for key, values in recorded.items():
        np.testing.assert_allclose(now[key], values, rtol=1e-12, atol=1e-9, err_msg=key)


# ---- validation ----------------------------------------------------------------------------
BAD = [
    ("midprice", "sabr"),
    ("arrivals", "queue"),
    ("fill_function", "linear"),
    ("reward", "sharpe"),
    ("ou_rate", 0.0),
    ("jump_rate", -1.0),
    ("jump_std", -0.1),
    ("alpha_vol", 0.0),
    ("alpha_vol", 5e-324),  # its stationary s.d., the observation's divisor, underflows to 0
    ("heston_rho", 1.5),
    ("heston_kappa", 300.0),  # κ dt = 1.5 > 1
    ("heston_theta", 0.0),
    ("hawkes_decay", 50.0),  # branching ratio (40 + 20) / 50 > 1
    ("hawkes_self", -1.0),
    ("fill_exponent", 0.0),
    ("risk_aversion", 0.0),
    ("cev_elasticity", 1.5),  # a strict local martingale beyond 1
    ("cev_elasticity", -0.1),
    ("cev_elasticity", math.nan),
    ("inventory_flow", 1.5),  # a negative rate on one side
    ("inventory_flow", -1.01),
    ("inventory_flow", math.inf),
    ("inventory_flow_scale", 0.0),
    ("inventory_flow_scale", math.nan),
    ("market_orders", "twap"),
    ("max_market_order", 0.0),
    ("max_market_order", math.inf),
    ("temporary_impact", -0.1),
    ("permanent_impact", -0.1),
    ("permanent_impact", math.nan),
]
MODEL_OF = {
    "ou_rate": {"midprice": "ou"},
    "jump_rate": {"midprice": "jump_bm"},
    "jump_std": {"midprice": "jump_ou"},
    "alpha_vol": {"midprice": "ou_alpha"},
    "heston_rho": {"midprice": "heston"},
    "heston_kappa": {"midprice": "heston"},
    "heston_theta": {"midprice": "heston"},
    "hawkes_decay": {"arrivals": "hawkes"},
    "hawkes_self": {"arrivals": "hawkes"},
    "fill_exponent": {"fill_function": "power"},
    "risk_aversion": {"reward": "exp_utility"},
    "cev_elasticity": {"midprice": "cev"},
    "inventory_flow": {"arrivals": "inventory"},
    "inventory_flow_scale": {"arrivals": "inventory"},
    "max_market_order": {"market_orders": "linear_impact"},
    "temporary_impact": {"market_orders": "linear_impact"},
    "permanent_impact": {"market_orders": "linear_impact"},
}


@pytest.mark.parametrize(("field", "value"), BAD)
def test_component_parameters_are_checked_against_their_models_range(field, value) -> None:
    with pytest.raises(ValueError, match=f"'{field}'"):
        AvellanedaStoikovConfig(**MODEL_OF.get(field, {}), **{field: value})


@pytest.mark.parametrize("field", sorted(set(AS_COMPONENT_FIELDS) - {"mid_increments"}))
def test_a_parameter_the_chosen_components_ignore_must_stay_at_its_default(field) -> None:
    component, users = AS_COMPONENT_FIELDS[field]
    default = getattr(AvellanedaStoikovConfig(), field)
    unused = next(choice for choice in AS_COMPONENTS[component] if choice not in users)
    changed = {str: "exponential", type(None): 1.0}.get(type(default), None)
    value = changed if changed is not None else default * 0.5 + 0.01
    with pytest.raises(ValueError, match=f"'{field}'.*used only with {component}"):
        AvellanedaStoikovConfig(**{component: unused, field: value})


def test_gbm_and_heston_need_a_positive_mid_and_a_bounded_log_variance() -> None:
    with pytest.raises(ValueError, match="'initial_mid'"):
        AvellanedaStoikovConfig(midprice="gbm", initial_mid=-1.0)
    with pytest.raises(ValueError, match="'sigma'.*log-price"):
        AvellanedaStoikovConfig(midprice="gbm", sigma=20.0)
    with pytest.raises(ValueError, match="'heston_v0'"):
        AvellanedaStoikovConfig(midprice="heston", heston_v0=200.0)


def test_cev_needs_a_positive_mid_and_a_bounded_relative_volatility() -> None:
    with pytest.raises(ValueError, match="'initial_mid'.*'cev'"):
        AvellanedaStoikovConfig(midprice="cev", initial_mid=0.0)
    # σ S₀^(β−1) √T = 200 · 100^(−0.5) · 1 = 20 > 10
    with pytest.raises(ValueError, match="'sigma'.*relative volatility"):
        AvellanedaStoikovConfig(midprice="cev", sigma=200.0)
    AvellanedaStoikovConfig(midprice="cev", sigma=100.0)  # = 10: accepted


# ---- moments of the midprice models --------------------------------------------------------
def run(config: AvellanedaStoikovConfig, n_envs: int, seed: int, steps: int | None = None):
    """Step ``n_envs`` rows with quotes far from the mid (no fills) for ``steps`` steps."""
    sim = make_simulator("avellaneda_stoikov", config, n_envs)
    rng = np.random.default_rng(seed)
    sim.reset(rng)
    action = np.tile([1.0, 0.0], (n_envs, 1))
    for _ in range(config.n_steps if steps is None else steps):
        sim.step(action, rng)
    return sim


def within(value: float, expected: float, se: float, z: float = 4.0) -> None:
    assert abs(value - expected) < z * se, (value, expected, se, (value - expected) / se)


def test_gbm_log_returns_have_mean_mu_minus_half_sigma2_and_variance_sigma2_t() -> None:
    mu, sigma, n = 0.3, 0.4, 20000
    config = AvellanedaStoikovConfig(midprice="gbm", sigma=sigma, mid_drift=mu)
    sim = run(config, n, seed=1)
    r = np.log(sim.next_mid / 100.0)
    t = config.horizon
    var = sigma**2 * t
    within(r.mean(), (mu - 0.5 * sigma**2) * t, math.sqrt(var / n))
    within(r.var(), var, var * math.sqrt(2.0 / n))


def test_ou_reaches_its_stationary_mean_and_variance_sigma2_over_2theta() -> None:
    theta, sigma, m, n = 20.0, 2.0, 99.0, 20000
    config = AvellanedaStoikovConfig(midprice="ou", ou_rate=theta, ou_mean=m, sigma=sigma)
    sim = run(config, n, seed=2)  # T = 1: e^(−2θT) = e^(−40), stationary
    x = sim.next_mid
    var = sigma**2 / (2.0 * theta)
    within(x.mean(), m, math.sqrt(var / n))
    within(x.var(), var, var * math.sqrt(2.0 / n))


def test_jumps_have_their_frequency_and_size() -> None:
    rate, jm, js, n = 50.0, 0.3, 0.2, 20000
    config = AvellanedaStoikovConfig(
        midprice="jump_bm", jump_rate=rate, jump_mean=jm, jump_std=js, sigma=1e-12
    )
    sim = run(config, n, seed=3)
    counts = sim.n_jumps
    mean = rate * config.horizon
    within(counts.mean(), mean, math.sqrt(mean / n))  # Poisson: variance = mean
    # with σ ≈ 0 the mid moves by jumps only: Δs = Σ sizes, E = N μ_J, Var | N = N σ_J²
    d = sim.next_mid - 100.0
    resid = d - counts * jm
    within(resid.mean(), 0.0, js * math.sqrt(mean / n))
    # E[resid²] = E[N] σ_J²: the sample mean of resid² over E[N], its SE from the sample
    within((resid**2).mean() / mean, js**2, (resid**2).std() / mean / math.sqrt(n))


def test_jump_ou_is_ou_plus_jumps() -> None:
    config = AvellanedaStoikovConfig(midprice="jump_ou", ou_rate=5.0, jump_rate=20.0)
    sim = run(config, 4000, seed=4)
    within(sim.n_jumps.mean(), 20.0, math.sqrt(20.0 / 4000))
    # stationary variance σ²/(2θ) + λ_J(μ_J² + σ_J²)/(2θ) at T = 1 (e^(−2θT) = e^(−10))
    var = (4.0 + 20.0 * 0.25) / 10.0
    sq = (sim.next_mid - sim.next_mid.mean()) ** 2
    within(sq.mean(), var, sq.std() / math.sqrt(sq.size))


def test_heston_mean_variance_follows_its_euler_mean_and_theta() -> None:
    kappa, theta, v0, n = 3.0, 0.04, 0.09, 20000
    config = AvellanedaStoikovConfig(
        midprice="heston", heston_kappa=kappa, heston_theta=theta, heston_v0=v0, heston_xi=0.3
    )
    sim = run(config, n, seed=5)
    # Euler mean (no truncation under Feller, 2κθ = 0.24 > ξ² = 0.09): θ + (v0 − θ)(1 − κdt)^k;
    # continuous: θ + (v0 − θ)e^(−κT)
    k = config.n_steps
    expected = theta + (v0 - theta) * (1.0 - kappa * config.dt) ** k
    assert abs(expected - (theta + (v0 - theta) * math.exp(-kappa * config.horizon))) < 1e-4
    v = sim.variance
    within(v.mean(), expected, v.std() / math.sqrt(n))
    # the log price: E[log S_T/S_0] = −½ ∫ E v dt (μ = 0)
    r = np.log(sim.next_mid / 100.0)
    mean_v = theta * config.horizon + (v0 - theta) * (1 - math.exp(-kappa)) / kappa
    within(r.mean(), -0.5 * mean_v, r.std() / math.sqrt(n))


def test_ou_alpha_is_stationary_ou_and_drifts_the_mid() -> None:
    zeta, eta, n = 10.0, 10.0, 20000
    config = AvellanedaStoikovConfig(
        midprice="ou_alpha", alpha_decay=zeta, alpha_vol=eta, sigma=1e-9, n_steps=1000
    )
    env = gym.make("mm_env/AvellanedaStoikov-v0", config=config)
    assert env.unwrapped.observation_names[-1] == "alpha"
    sim = run(config, n, seed=6)
    a = sim.alpha
    var = eta**2 / (2 * zeta)  # T = 5: e^(−2ζT) = e^(−100)
    within(a.mean(), 0.0, math.sqrt(var / n))
    within(a.var(), var, var * math.sqrt(2.0 / n))
    np.testing.assert_allclose(sim.obs[:, -1], a / math.sqrt(var), rtol=1e-6)
    # one more step: with σ ≈ 0 the mid moves by α dt exactly
    sim = run(config.replace(n_steps=1001), 100, seed=7, steps=1000)
    before, alpha = sim.next_mid.copy(), sim.alpha.copy()
    sim.step(np.tile([1.0, 0.0], (100, 1)), np.random.default_rng(0))
    np.testing.assert_allclose(sim.next_mid - before, alpha * config.dt, atol=1e-6)


CEV_N = 20000


def test_cev_half_is_a_martingale_with_variance_sigma2_s0_t() -> None:
    """β = 1/2: E[S_T] = S₀ and Var S_T = ∫ σ² E[S_t] dt = σ² S₀ T (the increments are
    uncorrelated with variance σ² E[S] dt); S₀ = 100 is 5 standard deviations σ√(S₀T) = 20
    above 0, so absorption (probability ≈ 1e-6) does not move these moments."""
    sigma = 2.0
    config = AvellanedaStoikovConfig(midprice="cev", cev_elasticity=0.5, sigma=sigma)
    sim = run(config, CEV_N, seed=21)
    x = sim.next_mid - 100.0
    var = sigma**2 * 100.0 * config.horizon
    within(x.mean(), 0.0, math.sqrt(var / CEV_N))
    sq = x**2
    within(sq.mean(), var, sq.std() / math.sqrt(CEV_N))


def test_cev_one_has_the_log_moments_of_gbm() -> None:
    """β = 1: log S_T/S₀ has mean −σ²T/2 and variance σ²T (driftless GBM). The Euler step's
    bias in the mean, Σ E[log(1 + σ√dt z)] + σ²T/2 ≈ −(3/4)σ⁴ dt T = −1e-4, is 0.03 SE."""
    sigma = 0.4
    config = AvellanedaStoikovConfig(midprice="cev", cev_elasticity=1.0, sigma=sigma)
    sim = run(config, CEV_N, seed=22)
    r = np.log(sim.next_mid / 100.0)
    var = sigma**2 * config.horizon
    within(r.mean(), -0.5 * var, math.sqrt(var / CEV_N))
    within(r.var(), var, var * math.sqrt(2.0 / CEV_N))


def test_cev_zero_is_gaussian_bm_draw_for_draw_with_variance_sigma2_t() -> None:
    kw = {"sigma": 2.0}
    cev = run(AvellanedaStoikovConfig(midprice="cev", cev_elasticity=0.0, **kw), CEV_N, seed=23)
    bm = run(AvellanedaStoikovConfig(mid_increments="gaussian", **kw), CEV_N, seed=23)
    np.testing.assert_allclose(cev.next_mid, bm.next_mid, rtol=1e-12)  # S₀ = 100 = 50 sd from 0
    x = cev.next_mid - 100.0
    var = 4.0 * cev.config.horizon
    within(x.mean(), 0.0, math.sqrt(var / CEV_N))
    within(x.var(), var, var * math.sqrt(2.0 / CEV_N))


def test_cev_is_absorbed_at_zero() -> None:
    # S₀ = 1, σ = 5, β = 0.5: most paths reach 0 within T = 1
    config = AvellanedaStoikovConfig(midprice="cev", initial_mid=1.0, sigma=5.0)
    sim = make_simulator("avellaneda_stoikov", config, 500)
    rng = np.random.default_rng(24)
    sim.reset(rng)
    absorbed = np.zeros(500, dtype=bool)
    for _ in range(config.n_steps):
        sim.step(np.tile([1.0, 0.0], (500, 1)), rng)
        assert np.all(sim.next_mid >= 0.0)
        assert np.all(sim.next_mid[absorbed] == 0.0)  # once at 0, it stays there
        absorbed |= sim.next_mid == 0.0
        assert np.all(np.isfinite(sim.obs))
    assert absorbed.mean() > 0.5


# ---- fill functions ------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["exponential", "power", "triangular"])
def test_fill_frequencies_follow_the_fill_function(fn: str) -> None:
    config = AvellanedaStoikovConfig(
        fill_function=fn, n_steps=50, **({"fill_exponent": 3.0} if fn == "power" else {})
    )
    s = config.depth_unit
    n_envs = 4000
    sim = make_simulator("avellaneda_stoikov", config, n_envs)
    rng = np.random.default_rng(7)
    sim.reset(rng)
    from mm_env import ActionMapping

    bid_depth, ask_depth = 0.3, 0.5
    action = ActionMapping.from_config(config).to_action(
        (bid_depth + ask_depth) / s, (bid_depth - ask_depth) / (bid_depth + ask_depth)
    )
    action = np.tile(action, (n_envs, 1))
    bid = ask = 0.0
    for _ in range(50):
        sim.step(action, rng)
        bid += sim.state[:, BID_FILL].sum()
        ask += sim.state[:, ASK_FILL].sum()
    n = n_envs * 50
    k = 1.5
    for depth, count in ((bid_depth, bid), (ask_depth, ask)):
        f = {
            "exponential": math.exp(-k * depth),
            "power": (1 + k * depth) ** -3.0,
            "triangular": max(1 - k * depth, 0.0),
        }[fn]
        p = min(140.0 * f * 0.005, 1.0)
        within(count / n, p, math.sqrt(p * (1 - p) / n))


def test_triangular_fills_nothing_beyond_depth_one_over_k() -> None:
    config = AvellanedaStoikovConfig(fill_function="triangular", n_steps=100)
    sim = make_simulator("avellaneda_stoikov", config, 200)
    rng = np.random.default_rng(8)
    sim.reset(rng)
    # depths 0.7 > 1/k = 0.667 on both sides: m = 1.4 / s
    action = np.tile([2.0 * (1.4 / config.depth_unit - 0.1) / 3.8 - 1.0, 0.0], (200, 1))
    for _ in range(100):
        sim.step(action, rng)
        assert sim.state[:, BID_FILL].sum() == 0 and sim.state[:, ASK_FILL].sum() == 0


# ---- Hawkes arrivals -----------------------------------------------------------------------
HAWKES = {"arrivals": "hawkes", "hawkes_self": 30.0, "hawkes_cross": 15.0, "hawkes_decay": 60.0}


def test_hawkes_mean_rate_is_mu_over_one_minus_the_branching_ratio() -> None:
    config = AvellanedaStoikovConfig(**HAWKES, intensity_a=50.0)
    n = 3000
    sim = run(config, n, seed=9)
    rate = 50.0 / (1.0 - 45.0 / 60.0)  # μ/(1 − α/β) = 200 per side
    assert config.stationary_arrival_rate == pytest.approx(rate)
    counts = sim.order_counts / config.horizon  # per row: (sells, buys) per unit time
    for side in (0, 1):
        within(counts[:, side].mean(), rate, counts[:, side].std() / math.sqrt(n))
    names = gym.make("mm_env/AvellanedaStoikov-v0", config=config).unwrapped.observation_names
    assert names[-2:] == ("sell_intensity", "buy_intensity")


def test_hawkes_self_and_cross_excitation_and_branching_ratio_from_the_counts() -> None:
    """E[N⁻_{t+1} | F_t] = μdt + c·e^(−βdt)(λ⁻_t − μ) + c·α_self N⁻_t + c·α_cross N⁺_t,
    c = (1 − e^(−βdt))/β: OLS of the next step's sells on (1, λ⁻_t, N⁻_t, N⁺_t), with
    heteroscedasticity-robust (HC0) standard errors; α̂_self, α̂_cross and the branching ratio
    (α̂_self + α̂_cross)/β within 4 SE of the config's."""
    config = AvellanedaStoikovConfig(**HAWKES, intensity_a=50.0)
    n_rows, steps = 2000, 200
    sim = make_simulator("avellaneda_stoikov", config, n_rows)
    rng = np.random.default_rng(10)
    sim.reset(rng)
    action = np.tile([1.0, 0.0], (n_rows, 1))
    lam = np.empty((steps, n_rows))
    counts = np.empty((steps, n_rows, 2))
    for t in range(steps):
        lam[t] = sim.intensities[:, 0]
        before = sim.order_counts.copy()
        sim.step(action, rng)
        counts[t] = sim.order_counts - before
    y = counts[1:, :, 0].ravel()
    x = np.column_stack(
        [np.ones(y.size), lam[:-1].ravel(), counts[:-1, :, 0].ravel(), counts[:-1, :, 1].ravel()]
    )
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    e = y - x @ beta
    bread = np.linalg.inv(x.T @ x)
    cov = bread @ (x.T * e**2) @ x @ bread
    se = np.sqrt(np.diag(cov))
    c = -math.expm1(-60.0 * config.dt) / 60.0
    within(beta[2] / c, 30.0, se[2] / c)
    within(beta[3] / c, 15.0, se[3] / c)
    grad = np.array([0.0, 0.0, 1.0, 1.0]) / (c * 60.0)
    within((beta[2] + beta[3]) / (c * 60.0), 0.75, math.sqrt(grad @ cov @ grad))


def test_hawkes_intensity_update_is_exact() -> None:
    config = AvellanedaStoikovConfig(**HAWKES)
    sim = make_simulator("avellaneda_stoikov", config, 50)
    rng = np.random.default_rng(11)
    sim.reset(rng)
    np.testing.assert_allclose(sim.obs[:, -2:], 1.0 + 0.0 * sim.obs[:, -2:], rtol=0.2)
    for _ in range(20):
        lam = sim.intensities.copy()
        before = sim.order_counts.copy()
        sim.step(np.zeros((50, 2)), rng)
        n = sim.order_counts - before
        decay = math.exp(-60.0 * config.dt)
        mu = config.intensity_a
        expected = mu + (lam - mu) * decay + 30.0 * n + 15.0 * n[:, ::-1]
        np.testing.assert_allclose(sim.intensities, expected, rtol=1e-12)
        np.testing.assert_allclose(
            sim.obs[:, -2:], sim.intensities / config.stationary_arrival_rate, rtol=1e-6
        )


# ---- state-dependent (inventory) arrivals --------------------------------------------------
@pytest.mark.parametrize("c", [0.8, -0.8])
def test_inventory_arrival_rates_per_inventory_bin_follow_the_formula(c: float) -> None:
    """Sells (our bid) at λ⁻(q) = A(1 + c·tanh(q/q₀)), buys (our ask) at λ⁺(q) = A(1 − c·tanh):
    with capped fill probability and λ·f(δ)·dt < 1, a step's fill has mean λ(q_t)·f(δ)·dt given
    the step-start inventory q_t, so per inventory bin the empirical rate fills/(n f dt) has
    mean the bin's average of λ(q_t) and standard error √(Σ p(1 − p))/(n f dt); each within
    4 SE. Both signs of c, so that a wrong sign or a missing tilt fails."""
    q0, depth, n_rows = 3.0, 0.3, 2000
    config = AvellanedaStoikovConfig(
        arrivals="inventory", inventory_flow=c, inventory_flow_scale=q0, n_steps=200
    )
    from mm_env import ActionMapping
    from mm_env.core import INVENTORY

    action = ActionMapping.from_config(config).to_action(2.0 * depth / config.depth_unit, 0.0)
    sim = make_simulator("avellaneda_stoikov", config, n_rows)
    rng = np.random.default_rng(25)
    sim.reset(rng)
    q, bid, ask = [], [], []
    for _ in range(config.n_steps):
        q.append(sim.state[:, INVENTORY].copy())
        sim.step(np.tile(action, (n_rows, 1)), rng)
        bid.append(sim.state[:, BID_FILL].copy())
        ask.append(sim.state[:, ASK_FILL].copy())
    q, bid, ask = (np.concatenate(x) for x in (q, bid, ask))
    f_dt = math.exp(-1.5 * depth) * config.dt
    tilt = c * np.tanh(q / q0)
    edges = [-np.inf, -4.5, -1.5, 1.5, 4.5, np.inf]  # q <= -5, -4..-2, -1..1, 2..4, >= 5
    checked = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (q >= lo) & (q < hi)
        n = int(in_bin.sum())
        if n < 5000:
            continue
        for fills, rate in ((bid, 140.0 * (1 + tilt)), (ask, 140.0 * (1 - tilt))):
            p = rate[in_bin] * f_dt
            assert p.max() < 1.0  # the cap never binds
            se = math.sqrt((p * (1 - p)).sum()) / (n * f_dt)
            within(fills[in_bin].sum() / (n * f_dt), rate[in_bin].mean(), se)
            checked.append((rate[in_bin].mean(), se))
    assert len(checked) >= 6  # at least three bins (q < 0, q ≈ 0, q > 0), both sides
    # the bins' expected rates differ by far more than their SE: the test can tell the tilt
    rates, ses = np.array(checked).T
    assert rates.max() - rates.min() > 20.0 * ses.max()


def test_inventory_arrivals_with_zero_tilt_are_poisson_draw_for_draw() -> None:
    kw = {"n_steps": 50, "fill_probability": "exponential"}
    flat = run(AvellanedaStoikovConfig(arrivals="inventory", inventory_flow=0.0, **kw), 50, 26)
    plain = run(AvellanedaStoikovConfig(fill_function="power", **kw), 50, 26)  # not the inline
    base = run(AvellanedaStoikovConfig(**kw), 50, 26)
    np.testing.assert_array_equal(flat.state, base.state)
    assert not np.array_equal(plain.state, base.state)


# ---- market orders with temporary and permanent impact -------------------------------------
MO = {"market_orders": "linear_impact", "max_market_order": 4.0}


def test_market_orders_add_an_action_entry_and_leave_the_default_space_alone() -> None:
    for env_id in ("mm_env/AvellanedaStoikov-v0", "mm_env/CarteaJaimungal-v0"):
        assert gym.make(env_id).action_space.shape == (2,)
        assert gym.make(env_id, **MO).action_space.shape == (3,)
    venv = gym.make_vec(
        "mm_env/AvellanedaStoikov-v0", num_envs=3, vectorization_mode="vector_entry_point", **MO
    )
    assert venv.action_space.shape == (3, 3)


@pytest.mark.parametrize("a2", [0.5, -0.75])
def test_market_order_accounting_cash_inventory_and_pnl(a2: float) -> None:
    """No limit fills (A tiny): cash = −u(s₀ + sign(u)(s/2 + η|u|)), inventory = u, PnL =
    cash + u·s₀ = −|u|(s/2 + η|u|), the reward its change; then the mid moves by b·u."""
    eta, b, s0 = 0.3, 0.05, 100.0
    env = gym.make(
        "mm_env/AvellanedaStoikov-v0",
        **MO,
        temporary_impact=eta,
        permanent_impact=b,
        intensity_a=1e-9,
        sigma=0.0,
        observation_dtype="float64",
    )
    env.reset(seed=0)
    half = 0.5 * env.unwrapped.config.depth_unit
    u = a2 * 4.0
    _, reward, _, _, info = env.step(np.array([0.0, 0.0, a2]))
    price = s0 + math.copysign(half + eta * abs(u), u)
    assert info["n_fills"] == 1.0 and info["volume"] == abs(u)
    assert info["inventory"] == pytest.approx(u, rel=1e-15)
    assert info["cash"] == pytest.approx(-u * price, rel=1e-14)
    assert info["pnl"] == pytest.approx(info["cash"] + u * s0, rel=1e-14)
    assert info["pnl"] == pytest.approx(-abs(u) * (half + eta * abs(u)), rel=1e-12)
    assert reward == pytest.approx(info["pnl"], rel=1e-12)
    assert env.unwrapped.simulator.next_mid[0] == pytest.approx(s0 + b * u, abs=1e-12)
    # next step, no order: the position is marked at the moved mid
    _, reward, _, _, info = env.step(np.array([0.0, 0.0, 0.0]))
    assert info["mid"] == pytest.approx(s0 + b * u, abs=1e-12)
    assert reward == pytest.approx(u * b * u, abs=1e-12)


def test_impact_moves_the_mid_by_the_coefficient_times_the_size_on_top_of_the_model() -> None:
    """Market orders draw nothing: with and without them, from one seed, the mid differs by
    exactly b·Σ(executed sizes), under OU too (the impact is permanent, it does not revert)."""
    b, n = 0.07, 64
    for midprice in ("bm", "ou", "cev"):
        kw = {"midprice": midprice, "n_steps": 40, "intensity_a": 1e-9}
        if midprice == "bm":
            kw["mid_increments"] = "gaussian"
        with_mo = make_simulator(
            "avellaneda_stoikov",
            AvellanedaStoikovConfig(**MO, permanent_impact=b, temporary_impact=0.2, **kw),
            n,
        )
        plain = make_simulator("avellaneda_stoikov", AvellanedaStoikovConfig(**kw), n)
        rng_a, rng_b = np.random.default_rng(27), np.random.default_rng(27)
        with_mo.reset(rng_a)
        plain.reset(rng_b)
        orders = np.random.default_rng(28).uniform(-1, 1, (40, n))
        total = np.zeros(n)
        for t in range(40):
            with_mo.step(np.column_stack([np.ones(n), np.zeros(n), orders[t]]), rng_a)
            plain.step(np.tile([1.0, 0.0], (n, 1)), rng_b)
            np.testing.assert_allclose(with_mo.market_order, orders[t] * 4.0, rtol=1e-15)
            total += with_mo.market_order
            np.testing.assert_allclose(with_mo.next_mid - plain.next_mid, b * total, atol=1e-9)
        assert np.abs(b * total).max() > 0.5  # the shift is large against the tolerance


def test_market_orders_respect_the_inventory_limit() -> None:
    config = AvellanedaStoikovConfig(**MO, max_inventory=3.0, intensity_a=1e-9, sigma=0.0)
    sim = make_simulator("avellaneda_stoikov", config, 1)
    rng = np.random.default_rng(29)
    sim.reset(rng)
    sim.step(np.array([[1.0, 0.0, 1.0]]), rng)  # buy 4, room for 3
    assert sim.market_order[0] == 3.0 and sim.state[0, INVENTORY_COL] == 3.0
    sim.step(np.array([[1.0, 0.0, 1.0]]), rng)  # no room
    assert sim.market_order[0] == 0.0 and sim.state[0, INVENTORY_COL] == 3.0
    sim.step(np.array([[1.0, 0.0, -1.0]]), rng)  # sell 4: to −1
    assert sim.market_order[0] == -4.0 and sim.state[0, INVENTORY_COL] == -1.0


@pytest.mark.parametrize(
    ("action", "match"),
    [
        ([0.0, 0.0, math.nan], "finite; got nan at env \\d, entry 2.*market order"),
        ([0.0, 0.0, math.inf], "finite; got inf at env \\d, entry 2"),
        ([math.nan, 0.0, 0.0], "finite; got nan at env \\d, entry 0"),
        ([0.0, -math.inf, 0.0], "finite; got -inf at env \\d, entry 1"),
        ([0.0, 0.0, 1.5], "entry 2.*market order.*must lie in \\[-1, 1\\]; got 1.5"),
        ([0.0, 0.0, -1.0001], "entry 2.*must lie in \\[-1, 1\\]"),
        ([0.0, 0.0], "shape \\(3,\\)"),
    ],
)
def test_invalid_market_order_actions_are_refused(action, match) -> None:
    env = gym.make("mm_env/AvellanedaStoikov-v0", **MO)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(np.array(action))
    venv = gym.make_vec(
        "mm_env/AvellanedaStoikov-v0", num_envs=2, vectorization_mode="vector_entry_point", **MO
    )
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=match.replace("\\(3,\\)", "\\(2, 3\\)")):
        venv.step(np.array([[0.0, 0.0, 0.0], action] if len(action) == 3 else [action] * 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_single_env_market_order_fast_path_steps_as_simulator_step(dtype) -> None:
    """The single env's three-float path (``Simulator.step_one3``) against
    ``Simulator.step`` from the same seed: identical states and observations, through clipped
    entries 0-1, market orders up to ±1 and an episode's end; ``Simulator.step`` is never
    called on the fast path."""
    kw = {**MO, "temporary_impact": 0.1, "permanent_impact": 0.02, "n_steps": 50}
    fast = gym.make("mm_env/AvellanedaStoikov-v0", **kw)
    slow = gym.make("mm_env/AvellanedaStoikov-v0", **kw)
    fast_sim, slow_sim = fast.unwrapped.simulator, slow.unwrapped.simulator

    def refuse(*args, **kwargs):
        raise AssertionError("the fast path called Simulator.step")

    fast_sim.step = refuse  # an instance attribute: only this simulator
    rng = np.random.default_rng(31)
    actions = np.column_stack([rng.uniform(-1.5, 1.5, (120, 2)), rng.uniform(-1, 1, 120)])
    actions[::7, 2] = 1.0  # the range's ends are allowed
    actions[3::7, 2] = -1.0
    actions = actions.astype(dtype)
    obs, _ = fast.reset(seed=8)
    slow.reset(seed=8)
    clipped = 0
    for a in actions:
        obs, reward, _, truncated, info = fast.step(a)
        slow_sim.step(a.astype(np.float64)[None, :], slow.unwrapped.np_random)
        np.testing.assert_array_equal(fast_sim.state, slow_sim.state)
        np.testing.assert_array_equal(obs, slow_sim.obs[0])
        assert reward == slow_sim.rewards[0]
        clipped += info["action_clipped"]
        if truncated:
            assert slow_sim.truncated[0]
            fast.reset()
            slow_sim.reset(slow.unwrapped.np_random)
    assert clipped > 20 and np.abs(fast_sim.market_order).max() > 0.0


def test_single_env_market_order_errors_come_before_the_episode_end_and_step_nothing() -> None:
    """As in ``Simulator.step``: a bad entry 2 is a ValueError (not the finished-episode
    RuntimeError), nothing is stepped, and the vector env's message is the same."""
    env = gym.make("mm_env/AvellanedaStoikov-v0", **MO, n_steps=3)
    env.reset(seed=0)
    sim = env.unwrapped.simulator
    before = sim.state.copy()
    for bad in (np.array([0.0, 0.0, 1.5], np.float32), np.array([0.0, 0.0, -2.0])):
        with pytest.raises(
            ValueError, match="entry 2.*must lie in \\[-1, 1\\]; got (1\\.5|-2\\.0) at env 0"
        ):
            env.step(bad)
    np.testing.assert_array_equal(sim.state, before)
    for _ in range(3):
        env.step(np.array([0.0, 0.0, 0.5]))
    with pytest.raises(ValueError, match="entry 2.*must lie in"):
        env.step(np.array([0.0, 0.0, 1.5]))
    with pytest.raises(RuntimeError, match="finished its episode"):
        env.step(np.array([0.0, 0.0, 0.5]))
    with pytest.raises(ValueError, match="step_one3 steps a one-row simulator with 3"):
        make_simulator("avellaneda_stoikov", AvellanedaStoikovConfig(), 1).step_one3(
            0.0, 0.0, 0.0, np.random.default_rng(0)
        )


def test_rewards_sum_to_the_final_pnl_with_market_orders() -> None:
    env = gym.make("mm_env/AvellanedaStoikov-v0", **MO, temporary_impact=0.1, permanent_impact=0.02)
    env.reset(seed=5)
    actions = np.random.default_rng(30).uniform(-1, 1, (200, 3))
    total = 0.0
    for a in actions:
        _, r, _, _, info = env.step(a)
        total += r
        assert info["pnl"] == pytest.approx(info["cash"] + info["inventory"] * info["mid"])
    assert total == pytest.approx(info["pnl"], rel=1e-9, abs=1e-9)


# ---- rewards -------------------------------------------------------------------------------
def test_exp_utility_rewards_sum_to_the_utility_of_the_final_pnl() -> None:
    gamma = 0.05
    env = gym.make("mm_env/AvellanedaStoikov-v0", reward="exp_utility", risk_aversion=gamma)
    plain = gym.make("mm_env/AvellanedaStoikov-v0")
    rng = np.random.default_rng(12)
    actions = rng.uniform(-1, 1, (200, 2))
    env.reset(seed=3)
    plain.reset(seed=3)
    total = 0.0
    for a in actions:
        _, r, _, _, info = env.step(a)
        _, _, _, _, plain_info = plain.step(a)
        total += r
        assert info["pnl"] == plain_info["pnl"]  # the same market, draw for draw
    pnl = info["pnl"]
    assert total == pytest.approx((1.0 - math.exp(-gamma * pnl)) / gamma, rel=1e-9)
    assert abs(total - pnl) > 1.0  # the utility is not the PnL


def test_penalties_still_apply_under_exp_utility() -> None:
    kw = {"reward": "exp_utility", "terminal_inventory_penalty": 1.0, "n_steps": 20}
    env = gym.make("mm_env/AvellanedaStoikov-v0", **kw)
    env.reset(seed=0)
    mapping = env.unwrapped.action_mapping
    total = 0.0
    for _ in range(20):  # a bid through the mid: buys every step
        _, r, _, _, info = env.step(mapping.to_action(1.0, -3.0))
        total += r
    q, pnl = info["inventory"], info["pnl"]
    assert q > 0
    assert total == pytest.approx((1.0 - math.exp(-0.1 * pnl)) / 0.1 - q * q, rel=1e-9)


# ---- single = vector, serial = parallel, check_env -----------------------------------------
COMBOS = [
    {"midprice": "gbm", "sigma": 0.1},
    {"midprice": "ou", "ou_rate": 3.0},
    {"midprice": "ou_alpha", "obs_mid_change": True},
    {"midprice": "jump_bm", "mid_increments": "gaussian"},
    {"midprice": "jump_ou", "fill_function": "power"},
    {"midprice": "heston", "arrivals": "hawkes", "fill_function": "triangular"},
    {"arrivals": "hawkes", "reward": "exp_utility", "midprice": "ou_alpha"},
    {"midprice": "cev", "cev_elasticity": 0.7, "fill_function": "power"},
    {"arrivals": "inventory", "inventory_flow": -0.6, "midprice": "ou_alpha"},
    {**MO, "temporary_impact": 0.1, "permanent_impact": 0.05, "midprice": "heston"},
]


@pytest.mark.parametrize("kw", COMBOS, ids=lambda kw: "-".join(map(str, kw.values())))
def test_one_sub_env_reproduces_the_single_env_with_components(kw) -> None:
    n = 30
    env_id = "mm_env/AvellanedaStoikov-v0"
    single = gym.make(env_id, n_steps=n, **kw)
    venv = gym.make_vec(
        env_id, num_envs=1, vectorization_mode="vector_entry_point", n_steps=n, **kw
    )
    dim = single.action_space.shape[0]
    actions = np.random.default_rng(13).uniform(-1, 1, (2 * n + 1, dim))
    s_obs, _ = single.reset(seed=4)
    v_obs, _ = venv.reset(seed=4)
    np.testing.assert_array_equal(v_obs[0], s_obs)
    for t in range(2 * n + 1):
        if t == n:
            v_obs, _, _, _, _ = venv.step(actions[t : t + 1])
            s_obs, _ = single.reset()
            np.testing.assert_array_equal(v_obs[0], s_obs)
            continue
        s_obs, s_r, _, s_tr, s_info = single.step(actions[t])
        v_obs, v_r, _, v_tr, v_info = venv.step(actions[t : t + 1])
        np.testing.assert_array_equal(v_obs[0], s_obs)
        assert v_r[0] == s_r and v_tr[0] == s_tr
        for k in ("cash", "inventory", "pnl", "mid"):
            assert v_info[k][0] == s_info[k]


PARALLEL_COMBOS = [
    {"midprice": "heston", "arrivals": "hawkes", "fill_function": "power", "reward": "exp_utility"},
    {"midprice": "ou_alpha", "arrivals": "hawkes", "fill_function": "triangular"},
    {"midprice": "jump_ou"},
    {"midprice": "cev", "arrivals": "inventory"},
    {**MO, "permanent_impact": 0.1, "midprice": "ou", "arrivals": "hawkes"},
]


@pytest.mark.parametrize(
    "kw", PARALLEL_COMBOS, ids=["heston", "ou_alpha", "jump_ou", "cev-inventory", "market-orders"]
)
def test_multi_threaded_kernel_steps_components_exactly_as_the_serial_one(kw, monkeypatch) -> None:
    """Found a bug: a Hawkes count read in one branch and used in another was shared between
    prange's threads (35% of the state differed)."""
    import mm_env.scenarios.avellaneda_stoikov as module
    from mm_env.core import PARALLEL_MIN_ROWS

    config = AvellanedaStoikovConfig(**kw, n_steps=3)
    results = []
    for threshold in (PARALLEL_MIN_ROWS, 10**9):
        monkeypatch.setattr(module, "PARALLEL_MIN_ROWS", threshold)
        sim = make_simulator("avellaneda_stoikov", config, PARALLEL_MIN_ROWS)
        rng = np.random.default_rng(14)
        sim.reset(rng)
        dim = config.action_dim
        for a in np.random.default_rng(15).uniform(-1, 1, (3, PARALLEL_MIN_ROWS, dim)):
            sim.step(a, rng)
        results.append((sim.state.copy(), sim.obs.copy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize(
    "kw",
    COMBOS[-5:],
    ids=["heston-hawkes", "alpha-hawkes-utility", "cev-power", "inventory", "market-orders"],
)
def test_check_env_passes_with_component_observations(kw) -> None:
    import warnings

    from gymnasium.utils.env_checker import check_env

    env = gym.make("mm_env/AvellanedaStoikov-v0", **kw).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)


def test_martingale_mid_says_where_the_capture_control_variate_is_unbiased() -> None:
    assert AvellanedaStoikovConfig().martingale_mid
    assert AvellanedaStoikovConfig(midprice="heston").martingale_mid
    assert AvellanedaStoikovConfig(midprice="jump_bm").martingale_mid
    assert not AvellanedaStoikovConfig(midprice="jump_bm", jump_mean=0.1).martingale_mid
    assert not AvellanedaStoikovConfig(mid_drift=1.0).martingale_mid
    for mid in ("ou", "ou_alpha", "jump_ou", "cev"):
        assert not AvellanedaStoikovConfig(midprice=mid).martingale_mid


def test_cev_with_a_denormal_initial_mid_is_refused_not_overflowed() -> None:
    # initial_mid ** (beta - 1) overflows Python's float power (found by the property test)
    with pytest.raises(ValueError, match="'sigma'"):
        AvellanedaStoikovConfig(midprice="cev", initial_mid=2e-323, sigma=1.0, cev_elasticity=0.0)
