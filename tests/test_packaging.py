"""What an install promises: the env-only install imports and steps, the documented
``gym.make`` forms work in a fresh interpreter, and numba's cache follows the sources."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import mm_env
from mm_env import _jit_cache

ROOT = Path(__file__).resolve().parents[1]

#: what ``import mm_env`` and every non-replay id must work without
OPTIONAL = (
    "pandas",
    "pyarrow",
    "scipy",
    "torch",
    "stable_baselines3",
    "matplotlib",
    "ray",
    "optuna",
)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter started in the project root."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


def test_env_only_install_imports_and_steps_every_synthetic_id() -> None:
    """With pandas, pyarrow, scipy, torch, stable-baselines3, matplotlib, Ray and Optuna made
    impossible to import, ``import mm_env`` works, and every id but the Replay ids makes, resets
    and steps, as a single env and as the native vector env; the data package's numpy-only parts
    import, and a loader says which extra it needs."""
    code = f"""
        import sys
        from importlib.abc import MetaPathFinder

        BLOCKED = {OPTIONAL!r}

        class Block(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"{{name}} is blocked in this test")
                return None

        sys.meta_path.insert(0, Block())

        import gymnasium as gym
        import numpy as np
        import mm_env
        import baselines
        from mm_env.data import BookDataError, OrderBook

        ids = [i for i in mm_env.ENV_IDS if not i.startswith("mm_env/Replay-")]
        for env_id in ids:
            env = gym.make(env_id, n_steps=5)
            env.reset(seed=0)
            for _ in range(5):
                env.step(env.action_space.sample())
            venv = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point",
                                n_steps=5)
            venv.reset(seed=0)
            for _ in range(6):
                venv.step(venv.action_space.sample())
        try:
            from mm_env.data import load_book
        except ImportError as exc:
            assert "mm_env[data]" in str(exc), exc
        else:
            raise AssertionError("load_book imported without pandas")
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not loaded, loaded
        print("stepped", len(ids))
    """
    res = run_python(code)
    assert res.returncode == 0, res.stdout + res.stderr
    n_replay = sum(i.startswith("mm_env/Replay-") for i in mm_env.ENV_IDS)
    assert f"stepped {len(mm_env.ENV_IDS) - n_replay}" in res.stdout


def test_plain_import_pulls_no_optional_dependency() -> None:
    """Where the optional packages are installed, ``import mm_env`` still leaves them alone
    (but scipy: ``import numba`` itself imports it when it is there; the test above shows
    mm_env works without it)."""
    not_ours = {"scipy"}
    code = f"""
        import sys, mm_env, baselines, gymnasium as gym
        gym.make("mm_env/MarketMaking-v0").reset(seed=0)
        loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({OPTIONAL!r}))
        loaded = [m for m in loaded if m not in {not_ours!r}]
        print(loaded)
        sys.exit(1 if loaded else 0)
    """
    res = run_python(code)
    assert res.returncode == 0, res.stdout + res.stderr


def test_module_prefixed_id_works_without_importing_mm_env_first() -> None:
    """The README's form for code that cannot ``import mm_env`` first (a config file, another
    library's launcher): Gymnasium imports the module named before the colon."""
    code = """
        import sys
        import gymnasium as gym
        assert "mm_env" not in sys.modules
        env = gym.make("mm_env:mm_env/MarketMaking-v0", n_steps=3)
        obs, info = env.reset(seed=0)
        env.step(env.action_space.sample())
        venv = gym.make_vec("mm_env:mm_env/AvellanedaStoikov-v0", num_envs=2,
                            vectorization_mode="vector_entry_point")
        venv.reset(seed=0)
        print(type(env.unwrapped).__name__, type(venv).__name__)
    """
    res = run_python(code)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "MarketMakingEnv MarketMakingVectorEnv" in res.stdout


def test_no_gymnasium_entry_point_is_declared() -> None:
    """Gymnasium 1.x loads no ``gymnasium.envs`` entry points, so declaring one only misleads."""
    text = (ROOT / "pyproject.toml").read_text()
    assert "gymnasium.envs" not in text


def test_jit_cache_follows_numba_cache_dir(tmp_path: Path, monkeypatch) -> None:
    """With NUMBA_CACHE_DIR set, numba caches each source folder in
    ``<dir>/<folder>_<sha1(folder path)>``; a changed source hash must clear those too."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    scenarios = _jit_cache.PACKAGE / "scenarios"
    folder = tmp_path / f"scenarios_{hashlib.sha1(str(scenarios).encode()).hexdigest()}"
    folder.mkdir()
    stale = folder / "synthetic.kernel-10.py311.nbi"
    stale.write_bytes(b"stale")
    (folder / _jit_cache.STAMP_NAME).write_text("another source hash\n")
    places = dict(_jit_cache.cache_folders())
    assert folder in places
    # only the user-provided folders: leave the in-tree cache of this checkout alone
    user_places = [(f, s) for f, s in places.items() if f != _jit_cache.PACKAGE]
    monkeypatch.setattr(_jit_cache, "cache_folders", lambda: user_places)
    _jit_cache.refresh()
    assert not stale.exists()
    assert (folder / _jit_cache.STAMP_NAME).read_text().strip() == _jit_cache.source_hash()
    kept = folder / "synthetic.kernel-10.py311.nbc"
    kept.write_bytes(b"fresh")
    _jit_cache.refresh()  # hash unchanged: nothing is deleted
    assert kept.exists()
