"""AlphaOptimal (baselines.alpha): the optimal agent of the env's market with a short-term
alpha signal, by dynamic programming. Its recursion against simulation and against the exact
returns of baselines.exact, its gain over the alpha-blind Cartea–Jaimungal agent, its limit
alpha_vol → 0, the α chain's moments, and bad input. Statistical tests state their tolerance in
standard errors and use fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from baselines import BASELINES, AlphaOptimal, CarteaJaimungal
from baselines.alpha import alpha_chain, alpha_points_range, alpha_step
from baselines.exact import applied_depths, expected_return
from mm_env import AvellanedaStoikovConfig, CarteaJaimungalConfig, make_simulator
from mm_env.core import observation_names


def alpha_config(**overrides: object) -> CarteaJaimungalConfig:
    """CarteaJaimungal-v0 with the alpha signal (defaults ζ = 10, η = 10)."""
    return CarteaJaimungalConfig(midprice="ou_alpha", **overrides)


def simulate(policy, config, n_paths: int, seed: int) -> np.ndarray:
    """Episode returns of ``n_paths`` episodes stepped as one batch through the core."""
    sim = make_simulator("cartea_jaimungal", config, n_paths)
    rng = np.random.default_rng(seed)
    sim.reset(rng)
    returns = np.zeros(n_paths)
    for _ in range(config.n_steps):
        action, _ = policy.predict(sim.obs)
        sim.step(action, rng)
        returns += sim.rewards
    return returns


def mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def cj_exact(config) -> float:
    """The alpha-blind CJ agent's exact expected return. Its inventory is independent of α and
    E[α_k] = 0 (α_0 = 0), so the alpha adds nothing in expectation: this is its exact return in
    the same market without the alpha (baselines.exact)."""
    plain = CarteaJaimungalConfig(
        **{
            f: getattr(config, f)
            for f in ("n_steps", "dt", "max_inventory", "inventory_penalty")
            if hasattr(config, f)
        }
    )
    bound = int(plain.max_inventory)
    return float(expected_return(plain, *applied_depths(CarteaJaimungal(plain), plain))[0][bound])


def node_tables(agent: AlphaOptimal, alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The agent's depths (through ``depths``, i.e. its observation path) at every step k and
    inventory q = −Q..Q for a fixed α: tables of shape (n_steps, 2Q + 1)."""
    c = agent.config
    names = observation_names(c)
    bound = agent.inventory_bound
    kk, qq = np.meshgrid(np.arange(c.n_steps), np.arange(-bound, bound + 1), indexing="ij")
    obs = np.zeros((kk.size, len(names)))
    obs[:, names.index("inventory")] = qq.ravel() / c.inventory_norm
    obs[:, names.index("spread")] = 1.0
    obs[:, names.index("time_left")] = 1.0 - kk.ravel() / c.n_steps
    obs[:, names.index("alpha")] = alpha / c.alpha_scale
    bid, ask = agent.depths(obs)
    return bid.reshape(kk.shape), ask.reshape(kk.shape)


# ---- the recursion against simulation and exact returns ---------------------------------------
def test_value_matches_simulation_within_3_se() -> None:
    config = alpha_config()
    agent = AlphaOptimal(config)
    mean, se = mean_se(simulate(agent, config, 4000, seed=0))
    assert abs(mean - agent.value) < 3.0 * se, (mean, se, agent.value)


def test_beats_the_alpha_blind_agent_and_gains_more_with_more_alpha_volatility() -> None:
    """Paired episodes (the same seed: the env's draws do not depend on the policy)."""
    gains = {}
    for vol in (5.0, 10.0):
        config = alpha_config(alpha_vol=vol)
        agent = AlphaOptimal(config)
        diff = simulate(agent, config, 2000, seed=1) - simulate(
            CarteaJaimungal(config), config, 2000, seed=1
        )
        gain, se = mean_se(diff)
        exact_gain = agent.value - cj_exact(config)
        assert gain > 3.0 * se, (vol, gain, se)
        assert abs(gain - exact_gain) < 3.0 * se, (vol, gain, se, exact_gain)
        gains[vol] = (gain, se, exact_gain)
    (g5, s5, e5), (g10, s10, e10) = gains[5.0], gains[10.0]
    assert g10 - g5 > 3.0 * math.hypot(s5, s10), gains
    assert e10 > e5 > 0.0


def test_recursion_is_the_exact_return_of_its_policy_and_reduces_to_cartea_jaimungal() -> None:
    """alpha_vol → 0: the agent's α = 0 policy is a time/inventory policy, which
    baselines.exact evaluates independently; it is at least as good as the CJ agent's (the
    recursion is the discrete model's optimum) and its depths are CJ's continuous-time depths
    (cj_depths) up to the time step's error, which halves with dt."""
    errors = []
    for n, dt in ((1000, 0.001), (2000, 0.0005)):
        config = alpha_config(alpha_vol=1e-6, max_inventory=20, n_steps=n, dt=dt)
        agent = AlphaOptimal(config)
        bid, ask = node_tables(agent)
        exact = expected_return(config, bid, ask)[0][20]
        assert abs(exact - agent.value) < 1e-9, (exact, agent.value)
        assert agent.value >= cj_exact(config) - 1e-9
        cj = CarteaJaimungal(config)
        inner = slice(10, 31)  # |q| <= 10
        errors.append(
            max(
                np.abs(bid[:, inner] - cj.bid_table[:-1, inner]).max(),
                np.abs(ask[:, inner] - cj.ask_table[:-1, inner]).max(),
            )
        )
    # measured 1.34e-3 at dt = 0.001 and 5.8e-4 at dt = 0.0005 (first order in dt)
    assert errors[0] < 2e-3, errors
    assert errors[1] < 0.6 * errors[0], errors


def test_alpha_tilts_the_quotes() -> None:
    """A positive alpha (the mid drifts up) makes buying worth more: the bid moves in, the ask
    out; a negative one the reverse, symmetrically at q = 0."""
    config = alpha_config()
    agent = AlphaOptimal(config)
    sd = config.alpha_scale
    up_bid, up_ask = node_tables(agent, sd)
    down_bid, down_ask = node_tables(agent, -sd)
    zero_bid, zero_ask = node_tables(agent, 0.0)
    q0 = agent.inventory_bound
    assert (up_bid[:-1, q0] < zero_bid[:-1, q0]).all() and (
        up_ask[:-1, q0] > zero_ask[:-1, q0]
    ).all()
    np.testing.assert_allclose(up_bid[:, q0], down_ask[:, q0], atol=1e-5)


# ---- the pieces --------------------------------------------------------------------------------
def test_chain_has_the_ou_steps_mean_and_variance() -> None:
    config = alpha_config()
    decay, sd = alpha_step(config)
    for points in alpha_points_range(config, 4.5):
        half = 4.5 * config.alpha_scale
        nodes = np.linspace(-half, half, points)
        chain = alpha_chain(nodes, decay, sd)
        assert (chain >= 0.0).all()
        np.testing.assert_allclose(chain.sum(axis=1), 1.0, rtol=1e-14)
        inner = slice(2, -2)
        mean = chain @ nodes
        var = chain @ nodes**2 - mean**2
        np.testing.assert_allclose(mean[inner], decay * nodes[inner], atol=1e-12 * half)
        np.testing.assert_allclose(var[inner], sd**2, rtol=1e-9)


@pytest.mark.parametrize("rule", ["capped", "exponential"])
def test_one_step_maximisation_is_the_joint_argmax(rule: str) -> None:
    """Each side's solution and their alternation against a brute-force search over a grid of
    depth pairs (step 1e-3), at states whose optimum lies inside the action set."""
    config = alpha_config(alpha_vol=5.0, fill_probability=rule, max_inventory=5, n_steps=50)
    agent = AlphaOptimal(config)
    rng = np.random.default_rng(3)
    grid = np.arange(0.2, 1.2, 1e-3)
    pb = _p(config, grid)
    for _ in range(5):
        w_down, w_up = rng.uniform(-0.3, 0.3, 2)  # depths near 1/k − W^± ∈ (0.3, 1)
        w = np.array([0.0])
        bid, ask = agent._quote(
            np.array([w_down]), w, np.array([w_up]), np.array([True]), np.array([True])
        )
        # W + p_b(δ_b + W⁺ − W) + p_a(δ_a + W⁻ − W) − p_b p_a (W⁺ + W⁻ − 2W), W = 0
        value = (
            pb[:, None] * (grid[:, None] + w_up)
            + pb[None, :] * (grid[None, :] + w_down)
            - pb[:, None] * pb[None, :] * (w_up + w_down)
        )
        i, j = np.unravel_index(np.argmax(value), value.shape)
        assert abs(bid[0] - grid[i]) < 2e-3 and abs(ask[0] - grid[j]) < 2e-3


def _p(config, depth):
    x = config.intensity_a * np.exp(-config.intensity_k * depth) * config.dt
    return np.minimum(x, 1.0) if config.fill_probability == "capped" else -np.expm1(-x)


def test_registered_and_built_from_the_env() -> None:
    assert BASELINES["alpha_optimal"] is AlphaOptimal
    import gymnasium as gym

    env = gym.make("mm_env/CarteaJaimungal-v0", midprice="ou_alpha")
    agent = AlphaOptimal.for_env(env)
    obs, _ = env.reset(seed=0)
    action, state = agent.predict(obs)
    assert action.shape == (2,) and state is None
    assert agent.value == AlphaOptimal(alpha_config()).value
    assert AlphaOptimal(alpha_config(), alpha_points=45.0).alpha_points == 45  # CLI floats


def test_command_line_baseline() -> None:
    """``python -m train evaluate baseline:alpha_optimal:alpha_points=35`` builds it (numbers
    arrive as floats); a bad grid is the CLI's error naming the field."""
    from train.common import CliError
    from train.evaluate import make_baseline

    _, policy = make_baseline("alpha_optimal:alpha_points=35", alpha_config())
    assert isinstance(policy, AlphaOptimal) and policy.alpha_points == 35
    with pytest.raises(CliError, match="alpha_points"):
        make_baseline("alpha_optimal:alpha_points=34", alpha_config())


# ---- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "field"),
    [
        (CarteaJaimungalConfig(), "midprice"),
        (CarteaJaimungalConfig(midprice="ou"), "midprice"),
        (AvellanedaStoikovConfig(midprice="ou_alpha"), "max_inventory"),
        (alpha_config(max_inventory=10.5), "max_inventory"),
        (alpha_config(order_size=2.0), "order_size"),
        (alpha_config(arrivals="hawkes"), "arrivals"),
        (alpha_config(fill_function="power"), "fill_function"),
        (alpha_config(reward="exp_utility"), "reward"),
        (alpha_config(liquidate_at_end=True), "liquidate_at_end"),
        (alpha_config(obs_time_left=False), "time_left"),
    ],
)
def test_rejects_configs_it_does_not_model(config, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        AlphaOptimal(config)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"alpha_points": 34}, "alpha_points"),  # even
        ({"alpha_points": 31}, "alpha_points"),  # spacing > 2 step sd
        ({"alpha_points": 57}, "alpha_points"),  # spacing < step sd / 0.866
        ({"alpha_points": 33.5}, "alpha_points"),
        ({"alpha_points": True}, "alpha_points"),
        ({"alpha_points": "33"}, "alpha_points"),
        ({"alpha_range": 0.0}, "alpha_range"),
        ({"alpha_range": -1.0}, "alpha_range"),
        ({"alpha_range": math.nan}, "alpha_range"),
        ({"alpha_range": math.inf}, "alpha_range"),
    ],
)
def test_rejects_bad_grids(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        AlphaOptimal(alpha_config(), **kwargs)
