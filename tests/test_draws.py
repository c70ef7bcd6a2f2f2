"""mm_env.draws: the two-thread draws are NumPy's numbers, and leave the generator where NumPy's
calls would (the random contract of MarketMaking-v0's vector env rests on it)."""

from __future__ import annotations

import numpy as np
import pytest

from mm_env import MarketMakingVectorEnv
from mm_env.core import ACTION_CLIPPED
from mm_env.draws import UniformNormalDraws, _two_thread_draws, pcg64_words


def numpy_draws(rng: np.random.Generator, n: int, k: int, m: int):
    return rng.random((n, k)), rng.standard_normal((n, m))


@pytest.mark.parametrize(
    "n,k,m", [(1024, 6, 2), (257, 6, 2), (3, 6, 2), (1, 6, 2), (9, 1, 3), (5, 0, 2), (5, 4, 0)]
)
def test_draws_equal_numpy_values_and_final_state(n, k, m) -> None:
    draws = UniformNormalDraws(n, k, m, threads=True)
    for seed in range(3):
        ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
        for _ in range(20):
            u, z = draws.draw(ours)
            u_np, z_np = numpy_draws(theirs, n, k, m)
            np.testing.assert_array_equal(u, u_np)
            np.testing.assert_array_equal(z, z_np)
        assert ours.bit_generator.state == theirs.bit_generator.state
        assert ours.random() == theirs.random()


def test_normals_equal_numpy_through_the_ziggurats_rare_branches() -> None:
    """4M normals: about 1% leave the rectangles (the wedge test, with its exp) and about
    1 in 2,000 fall in the base layer's tail (two logs); any difference there shows."""
    n = 1024
    draws = UniformNormalDraws(n, 1, 8, threads=True)
    ours, theirs = np.random.default_rng(7), np.random.default_rng(7)
    tail = 0
    for _ in range(500):
        _, z = draws.draw(ours)
        _, z_np = numpy_draws(theirs, n, 1, 8)
        np.testing.assert_array_equal(z, z_np)
        tail += int(np.count_nonzero(np.abs(z) > 3.6541528853610088))  # beyond the base layer's r
    assert tail > 100  # the tail branch ran (expected ~1,100 of 4.1M)
    assert ours.bit_generator.state == theirs.bit_generator.state


def test_a_buffered_32_bit_half_is_kept() -> None:
    """NumPy's PCG64 keeps the second half of a 64-bit output after a 32-bit draw; 64-bit draws
    leave it alone, and so must ours."""
    ours, theirs = np.random.default_rng(3), np.random.default_rng(3)
    for g in (ours, theirs):
        g.random(dtype=np.float32)  # leaves a buffered half
    u, z = UniformNormalDraws(300, 6, 2, threads=True).draw(ours)
    u_np, z_np = numpy_draws(theirs, 300, 6, 2)
    np.testing.assert_array_equal(u, u_np)
    np.testing.assert_array_equal(z, z_np)
    assert ours.bit_generator.state == theirs.bit_generator.state
    assert ours.random(dtype=np.float32) == theirs.random(dtype=np.float32)


@pytest.mark.parametrize("split", [0, 1, 200, 999, 1000])
def test_the_split_row_changes_nothing(split) -> None:
    """Any split of the uniforms between the threads gives the same numbers: the jump-ahead
    lands the second thread exactly where the stream has its rows."""
    ours, theirs = np.random.default_rng(11), np.random.default_rng(11)
    u, z = np.empty((1000, 6)), np.empty((1000, 2))
    words = pcg64_words(ours.bit_generator)
    _two_thread_draws(words, u, z, split)
    u_np, z_np = numpy_draws(theirs, 1000, 6, 2)
    np.testing.assert_array_equal(u, u_np)
    np.testing.assert_array_equal(z, z_np)
    assert ours.bit_generator.state == theirs.bit_generator.state


def test_state_words_are_the_generators_state() -> None:
    rng = np.random.default_rng(5)
    words = pcg64_words(rng.bit_generator)
    assert words is not None
    state = rng.bit_generator.state["state"]
    assert int(words[0]) + (int(words[1]) << 64) == state["state"]
    assert int(words[2]) + (int(words[3]) << 64) == state["inc"]
    rng.random(3)  # a view: it follows the generator
    assert int(words[0]) + (int(words[1]) << 64) == rng.bit_generator.state["state"]["state"]


@pytest.mark.parametrize(
    "bits", [np.random.MT19937, np.random.PCG64DXSM, np.random.Philox, np.random.SFC64]
)
def test_other_bit_generators_get_numpys_own_calls(bits) -> None:
    assert pcg64_words(bits(0)) is None
    draws = UniformNormalDraws(300, 6, 2, threads=True)
    ours, theirs = np.random.Generator(bits(4)), np.random.Generator(bits(4))
    for _ in range(3):
        u, z = draws.draw(ours)
        u_np, z_np = numpy_draws(theirs, 300, 6, 2)
        np.testing.assert_array_equal(u, u_np)
        np.testing.assert_array_equal(z, z_np)


def test_a_new_generator_is_followed() -> None:
    """The env's reset(seed=...) replaces its generator: the next draw uses the new one."""
    draws = UniformNormalDraws(300, 6, 2, threads=True)
    draws.draw(np.random.default_rng(1))
    u, _ = draws.draw(np.random.default_rng(2))
    np.testing.assert_array_equal(u, np.random.default_rng(2).random((300, 6)))


@pytest.mark.parametrize("scenario", ["market_making", "replay", "avellaneda_stoikov"])
def test_vector_env_infos_on_two_threads_are_the_state_columns(scenario) -> None:
    """From the multi-threaded size up the info block is gathered on both threads; each key is
    its state column (contiguous, fresh each step)."""
    import importlib

    from mm_env.warmup import tiny_book

    name = "synthetic" if scenario == "market_making" else scenario
    n = importlib.import_module(f"mm_env.scenarios.{name}").PARALLEL_MIN_ROWS
    data = tiny_book() if scenario == "replay" else None
    venv = MarketMakingVectorEnv(n, scenario, data=data, n_steps=2)
    assert venv.simulator.multithreaded
    venv.reset(seed=0)
    actions = np.random.default_rng(1).uniform(-1.2, 1.2, (n, 2))
    _, _, _, _, first = venv.step(actions)
    kept = {k: v.copy() for k, v in first.items() if not k.startswith("_")}
    _, _, _, _, info = venv.step(actions)
    sim = venv.simulator
    for key, col in zip(venv._info_keys, venv._info_cols):
        np.testing.assert_array_equal(info[key], sim.state[:, col])
        assert info[key].flags.c_contiguous
    np.testing.assert_array_equal(info["action_clipped"], sim.state[:, ACTION_CLIPPED] > 0)
    assert info["action_clipped"].any()
    for key, value in kept.items():  # the first step's arrays were not overwritten
        np.testing.assert_array_equal(first[key], value)


def test_a_generator_like_object_gets_its_own_methods_called() -> None:
    """Tests script the flow with objects that have ``random`` and ``standard_normal`` only."""

    class Scripted:
        def random(self, shape):
            return np.full(shape, 0.25)

        def standard_normal(self, shape):
            return np.full(shape, -1.0)

    u, z = UniformNormalDraws(300, 6, 2, threads=True).draw(Scripted())  # type: ignore[arg-type]
    assert (u == 0.25).all() and (z == -1.0).all()


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copied_vector_env_draws_from_its_own_generator(how) -> None:
    """A copy's generator lives in new memory: the copy must find its state words again (a
    copied view would be a plain array, and the copy's generator would never advance)."""
    import copy
    import pickle

    n = 300
    venv = MarketMakingVectorEnv(n, "market_making", n_steps=50)
    venv.reset(seed=3)
    actions = np.zeros((n, 2))
    venv.step(actions)  # the draws have looked up the original generator's words
    twin = copy.deepcopy(venv) if how == "deepcopy" else pickle.loads(pickle.dumps(venv))
    for _ in range(5):
        obs, *_ = venv.step(actions)
        obs_twin, *_ = twin.step(actions)
        np.testing.assert_array_equal(obs, obs_twin)
    assert twin.np_random.bit_generator.state == venv.np_random.bit_generator.state
