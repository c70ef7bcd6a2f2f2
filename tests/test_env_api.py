"""The Gymnasium / SB3 contract of every id: checkers, determinism, resets, errors, rendering."""

from __future__ import annotations

import warnings
from importlib.util import find_spec

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import mm_env
from tests.conftest import env_kwargs, needs_sb3

IDS = list(mm_env.ENV_IDS)


def rollout(env: gym.Env, seed: int, n: int, action_seed: int = 0):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(action_seed)
    out = [obs]
    infos = []
    for _ in range(n):
        obs, r, term, trunc, info = env.step(rng.uniform(-1.2, 1.2, 2).astype(np.float32))
        out.append(obs)
        infos.append((r, info["cash"], info["inventory"], info["pnl"]))
    return np.array(out), np.array(infos)


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env_warnings_as_errors(env_id: str) -> None:
    env = gym.make(env_id, **env_kwargs(env_id), n_steps=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # the render check makes an env per render mode; rgb_array needs matplotlib
        gym_check_env(env.unwrapped, skip_render_check=find_spec("matplotlib") is None)


@needs_sb3
@pytest.mark.parametrize("env_id", IDS)
def test_sb3_check_env_warnings_as_errors(env_id: str) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(env_id, **env_kwargs(env_id), n_steps=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(env.unwrapped, warn=True)


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_trajectory_different_seed_differs(env_id: str) -> None:
    a_obs, a_inf = rollout(gym.make(env_id, **env_kwargs(env_id), n_steps=300), seed=3, n=300)
    b_obs, b_inf = rollout(gym.make(env_id, **env_kwargs(env_id), n_steps=300), seed=3, n=300)
    c_obs, c_inf = rollout(gym.make(env_id, **env_kwargs(env_id), n_steps=300), seed=4, n=300)
    np.testing.assert_array_equal(a_obs, b_obs)
    np.testing.assert_array_equal(a_inf, b_inf)
    assert not np.array_equal(a_inf, c_inf)


@pytest.mark.parametrize("env_id", IDS)
def test_reset_leaves_no_state_from_previous_episode(env_id: str) -> None:
    env = gym.make(env_id, **env_kwargs(env_id), n_steps=200)
    rollout(env, seed=11, n=150, action_seed=5)  # a dirty, unfinished episode
    again_obs, again_inf = rollout(env, seed=12, n=200)
    fresh_obs, fresh_inf = rollout(
        gym.make(env_id, **env_kwargs(env_id), n_steps=200), seed=12, n=200
    )
    np.testing.assert_array_equal(again_obs, fresh_obs)
    np.testing.assert_array_equal(again_inf, fresh_inf)


@pytest.mark.parametrize("env_id", IDS)
def test_truncation_after_n_steps_and_step_after_end_raises(env_id: str) -> None:
    env = gym.make(env_id, **env_kwargs(env_id), n_steps=25)
    env.reset(seed=0)
    for t in range(25):
        _, _, term, trunc, info = env.step(env.action_space.sample())
        assert not term
        assert trunc == (t == 24)
    assert info["step"] == 25
    with pytest.raises(RuntimeError, match="call reset"):
        env.unwrapped.step(np.zeros(2))


@pytest.mark.parametrize("env_id", IDS)
def test_default_episode_length(env_id: str) -> None:
    # the books: 2000 steps as in the notebook; Avellaneda & Stoikov (2008): T/dt = 200;
    # Cartea, Jaimungal & Penalva (2015, ch. 10): 1000
    expected = {"avellaneda_stoikov": 200, "cartea_jaimungal": 1000}.get(
        mm_env.ENV_IDS[env_id], 2000
    )
    assert gym.make(env_id, **env_kwargs(env_id)).unwrapped.config.n_steps == expected


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_action_raises(env_id: str, bad: float) -> None:
    env = gym.make(env_id, **env_kwargs(env_id))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([0.0, bad]))


@pytest.mark.parametrize("env_id", IDS)
def test_wrong_action_shape_raises(env_id: str) -> None:
    env = gym.make(env_id, **env_kwargs(env_id))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3))


def test_a_finished_episode_refuses_to_step_however_it_ended() -> None:
    """The kernels do no bounds checks: stepping past the end must raise, also when the
    episode was ended through the public simulator, not through env.step."""
    env = gym.make("mm_env/AvellanedaStoikov-v0", n_steps=2)
    env.reset(seed=0)
    sim = env.unwrapped.simulator
    for _ in range(2):
        sim.step(np.zeros((1, 2)), np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="finished its episode"):
        env.step(np.zeros(2))
    with pytest.raises(RuntimeError, match="finished its episode"):
        sim.step_one(0.0, 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="one-row"):
        mm_env.make_simulator("avellaneda_stoikov", env.unwrapped.config, 3).step_one(
            0.0, 0.0, np.random.default_rng(0)
        )


@pytest.mark.parametrize("env_id", IDS)
def test_copied_and_pickled_envs_step_their_own_state(env_id: str) -> None:
    import copy
    import pickle

    env = gym.make(env_id, **env_kwargs(env_id)).unwrapped
    env.reset(seed=4)
    env.step(np.array([0.1, 0.2]))
    for twin in (copy.deepcopy(env), pickle.loads(pickle.dumps(env))):
        ref = copy.deepcopy(env)  # the same state, stepped the same way
        for _ in range(3):
            obs, reward, _, _, info = twin.step(np.array([-0.3, 0.4]))
            obs_r, reward_r, _, _, info_r = ref.step(np.array([-0.3, 0.4]))
        assert info["step"] == twin.simulator.state[0, mm_env.core.STEP] == 4
        np.testing.assert_array_equal(obs, twin.simulator.obs[0])
        assert info == info_r and reward == reward_r
    assert env.simulator.state[0, mm_env.core.STEP] == 1  # the original did not move


def test_action_forms_and_bad_actions() -> None:
    """The single env's action parsing: every numeric form of two numbers steps identically;
    each bad form is a ValueError that says what is wrong, and leaves the episode untouched."""
    results = []
    for action in (
        np.array([0.25, -0.5], np.float32),
        np.array([0.25, -0.5]),
        [0.25, -0.5],
        (0.25, -0.5),
        np.array([0.25, -0.5], np.float16),
    ):
        env = gym.make("mm_env/MarketMaking-v0")
        env.reset(seed=3)
        obs, reward, _, _, info = env.step(action)
        results.append((obs.tolist(), reward, info["pnl"], info["bid_quote"]))
    assert all(r == results[0] for r in results)
    env = gym.make("mm_env/MarketMaking-v0")
    env.reset(seed=3)
    for bad, needle in (
        (np.array(["a", "b"]), "real numbers"),
        ("ab", "real numbers"),
        (["0.25", "-0.5"], "real numbers"),
        (np.array([0.25 + 1j, 0.0]), "real numbers"),
        (np.array([True, False]), "real numbers"),
        ([None, 0.0], "real numbers"),
        ([10**400, 0.0], "real numbers"),
        (np.zeros((2, 1)), "shape"),
        (np.zeros((1, 2)), "shape"),
        ([1.0], "shape"),
        (np.array([np.nan, 0.0], np.float32), "got nan at entry 0"),
        ([0.0, np.inf], "got inf at entry 1"),
    ):
        with pytest.raises(ValueError, match=needle):
            env.step(bad)
    assert env.unwrapped.simulator.state[0, mm_env.core.STEP] == 0  # no step was taken


@pytest.mark.parametrize("env_id", IDS)
def test_out_of_range_actions_are_clipped_and_flagged(env_id: str) -> None:
    a = gym.make(env_id, **env_kwargs(env_id))
    b = gym.make(env_id, **env_kwargs(env_id))
    a.reset(seed=1)
    b.reset(seed=1)
    _, _, _, _, ia = a.step(np.array([5.0, -7.0]))
    _, _, _, _, ib = b.step(np.array([1.0, -1.0]))
    assert ia["action_clipped"] and not ib["action_clipped"]
    for key in ("bid_quote", "ask_quote", "cash", "inventory", "pnl"):
        assert ia[key] == ib[key]


@pytest.mark.parametrize("env_id", IDS)
def test_info_keys_and_observation_names(env_id: str) -> None:
    env = gym.make(env_id, **env_kwargs(env_id))
    _, info = env.reset(seed=0)
    required = {
        "mid",
        "best_bid",
        "best_ask",
        "imbalance",
        "bid_quote",
        "ask_quote",
        "bid_fill",
        "ask_fill",
        "cash",
        "inventory",
        "pnl",
    }
    assert required <= set(info)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert required <= set(info)
    assert all(isinstance(v, (float, bool)) for v in info.values())
    assert env.unwrapped.observation_names[:3] == ("imbalance", "inventory", "spread")


def test_optional_observation_features() -> None:
    env = gym.make(
        "mm_env/MarketMaking-v0",
        obs_imbalance_levels=(3, 10),
        obs_time_left=True,
        obs_mid_change=True,
        n_steps=10,
    )
    names = env.unwrapped.observation_names
    assert names == (
        "imbalance",
        "inventory",
        "spread",
        "imbalance_3",
        "imbalance_10",
        "time_left",
        "mid_change",
    )
    obs, info = env.reset(seed=0)
    assert obs.shape == (7,)
    assert obs[5] == 1.0 and obs[6] == 0.0
    prev_mid = info["mid"]
    obs, _, _, _, info = env.step(np.zeros(2))
    assert obs[5] == pytest.approx(0.9)
    book = env.unwrapped.simulator.book_snapshot()
    next_mid = 0.5 * (book["bid_prices"][0] + book["ask_prices"][0])
    scale = env.unwrapped.config.spread_scale
    assert obs[6] == pytest.approx((next_mid - info["mid"]) / scale, abs=1e-6)
    assert prev_mid == info["mid"]  # the first step trades against the reset book
    b, a = book["bid_sizes"][:3].sum(), book["ask_sizes"][:3].sum()
    assert obs[3] == pytest.approx((b - a) / (b + a), abs=1e-6)


@pytest.mark.parametrize("env_id", IDS)
def test_render_modes(env_id: str) -> None:
    env = gym.make(env_id, **env_kwargs(env_id), render_mode="ansi")
    env.reset(seed=0)
    env.step(np.zeros(2))
    text = env.render()
    assert "our ask" in text and "bid" in text
    if find_spec("matplotlib") is None:  # the env-only install says what to install
        with pytest.raises(gym.error.DependencyNotInstalled, match=r"mm_env\[render\]"):
            gym.make(env_id, **env_kwargs(env_id), render_mode="rgb_array")
        return
    env = gym.make(env_id, **env_kwargs(env_id), render_mode="rgb_array")
    env.reset(seed=0)
    for _ in range(5):
        env.step(np.zeros(2))
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.std() > 0


def test_unknown_render_mode_raises() -> None:
    with pytest.warns(UserWarning, match="render_mode"), pytest.raises(ValueError, match="bogus"):
        gym.make("mm_env/MarketMaking-v0", render_mode="bogus")


def test_unknown_override_raises() -> None:
    with pytest.raises(ValueError, match="no_such_field"):
        gym.make("mm_env/MarketMaking-v0", no_such_field=1)


def test_kernels_without_reference_counting_return_no_arrays() -> None:
    """``step_kernel`` and ``row_function`` compile without numba's reference counting, which
    is safe only for functions that allocate nothing and return no array (numba would hand back
    an array view without a reference to its parent). Every such function, once compiled,
    must return None (the row loops) or scalars (the row helpers)."""
    from numba import types
    from numba.core.registry import CPUDispatcher

    import mm_env.execution as execution
    import mm_env.scenarios as scenarios
    from mm_env.warmup import warm_up

    def scalars_only(t: types.Type) -> bool:
        if isinstance(t, (types.BaseTuple,)):
            return all(scalars_only(x) for x in t.types)
        return t == types.none or isinstance(t, (types.Number, types.Boolean))

    warm_up()  # every kernel, serial and parallel
    loops, helpers = set(), set()
    modules = [m for m in vars(scenarios).values() if hasattr(m, "__file__")] + [execution]
    for module in modules:
        for obj in vars(module).values():
            if isinstance(obj, CPUDispatcher) and obj.targetoptions.get("_nrt") is False:
                # step_kernel (a row loop) sets ``parallel``; row_function (a helper) does not
                is_loop = "parallel" in obj.targetoptions
                (loops if is_loop else helpers).add(obj.py_func.__name__)
                # a helper is compiled in this process only when its caller was not loaded
                # from the cache; the row loops always are (warm_up calls them)
                assert obj.nopython_signatures or not is_loop, obj
                for sig in obj.nopython_signatures:
                    assert sig.return_type == types.none or not is_loop, (obj, sig)
                    assert scalars_only(sig.return_type), (obj, sig)
    assert len(loops) >= 8  # 4 scenarios x (serial, parallel)
    assert {"replay_step", "replay_step_parallel", "as_step", "synthetic_step"} <= loops
    assert {"arrive_at", "fill", "_replay_step_row", "_synthetic_step_row"} <= helpers
    assert "component_row" in helpers


# ---- our own quotes never cross or lock (issue 10) ---------------------------------------------
CORNERS = [(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 0.0)]
NON_NOTEBOOK = [
    ("mm_env/MarketMaking-v0", {}),
    # an even-tick spread puts the mid on the grid: m = 0 rounds both quotes onto it
    ("mm_env/MarketMaking-v0", {"initial_spread_ticks": 2, "max_skew": 5.0}),
    ("mm_env/AvellanedaStoikov-v0", {}),
    ("mm_env/CarteaJaimungal-v0", {"n_steps": 300}),
    ("mm_env/Replay-v0", {}),
    ("mm_env/Replay-v0", {"max_skew": 5.0, "step_seconds": None, "n_steps": 300}),
]


@pytest.mark.parametrize(("env_id", "overrides"), NON_NOTEBOOK)
def test_our_bid_is_below_our_ask_for_random_and_extreme_actions(env_id, overrides) -> None:
    kwargs = {**env_kwargs(env_id), **overrides}
    env = gym.make(env_id, **kwargs)
    n = env.unwrapped.config.n_steps
    rng = np.random.default_rng(0)
    for name, actions in [
        ("random", rng.uniform(-1.0, 1.0, (n, 2))),
        *[(f"corner {c}", np.tile(c, (n, 1))) for c in CORNERS],
        ("clipped", rng.choice([-3.0, 3.0], size=(n, 2))),  # SB3 clips to exactly -1/+1
    ]:
        env.reset(seed=1)
        for t in range(n):
            _, _, _, _, info = env.step(actions[t].astype(np.float32))
            assert info["bid_quote"] < info["ask_quote"], (name, t, info)


def test_bad_spread_multiple_ranges_are_rejected_through_make() -> None:
    for env_id, bad in [
        ("mm_env/MarketMaking-v0", (-0.5, 4.0)),
        ("mm_env/AvellanedaStoikov-v0", (-0.5, 4.0)),
        ("mm_env/AvellanedaStoikov-v0", (0.0, 4.0)),
        ("mm_env/CarteaJaimungal-v0", (0.0, 4.0)),
        ("mm_env/Replay-v0", (-0.5, 4.0)),
    ]:
        kwargs = env_kwargs(env_id) if env_id == "mm_env/Replay-v0" else {}
        with pytest.raises(ValueError, match="'spread_multiple_range'"):
            gym.make(env_id, spread_multiple_range=bad, **kwargs)


# ---- reset options (issue 10) --------------------------------------------------------------------
@pytest.mark.parametrize("env_id", IDS)
def test_reset_rejects_unknown_options(env_id: str) -> None:
    env = gym.make(env_id, **env_kwargs(env_id))
    for options in (None, {}):
        env.reset(seed=0, options=options)
    with pytest.raises(ValueError, match=r"unknown reset options \['bogus'\]; known: \[\]"):
        env.reset(seed=0, options={"bogus": 1})
    with pytest.raises(ValueError, match="unknown reset options.*'reset_mask'"):
        env.reset(options={"reset_mask": np.ones(1, bool)})  # a vector env option only
    with pytest.raises(ValueError, match="must be a dict or None"):
        env.reset(options=["bogus"])
