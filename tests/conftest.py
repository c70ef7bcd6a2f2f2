from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Every Ray the tests start (in-process, a test's "head" subprocess, their workers) binds to
# loopback: Ray otherwise advertises the address of the machine's outward interface. Ray reads
# this once, when it is first imported, so it is set before any test imports it.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def _missing(module: str, extra: str) -> pytest.MarkDecorator:
    """Skip where ``module`` is not installed (the env-only install), naming the extra."""
    from importlib.util import find_spec

    return pytest.mark.skipif(
        find_spec(module) is None,
        reason=f"{module} is not installed (pip install 'mm_env[{extra}]')",
    )


#: tests that need stable-baselines3 (and torch), or pandas, skip on the env-only install
needs_sb3 = _missing("stable_baselines3", "train")
needs_pandas = _missing("pandas", "data")
needs_matplotlib = _missing("matplotlib", "render")


def data_dir() -> Path:
    """Real LOBSTER samples: $MM_ENV_DATA, else ../shared/data beside the project."""
    return Path(os.environ.get("MM_ENV_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def lobster_dir() -> Path:
    d = data_dir() / "lobster"
    if not d.is_dir():
        pytest.skip(f"LOBSTER samples not found at {d} (set MM_ENV_DATA to their folder)")
    return d


AAPL_SAMPLE = "lobster/AAPL_2012-06-21_10_first999"
GOOG_DAY = "lobster/GOOG_2012-06-21_10"


def env_kwargs(env_id: str) -> dict[str, object]:
    """Extra ``gym.make`` arguments an id needs in the generic API tests.

    ``mm_env/Replay-v0`` replays the AAPL 999-event sample on a 20 ms clock (about 2,450 steps,
    so the default 2000-step episode fits); the test skips when the sample is absent.
    """
    if not env_id.startswith("mm_env/Replay-"):
        return {}
    from importlib.util import find_spec

    if find_spec("pandas") is None:
        pytest.skip("Replay-v0 from a file needs pandas (pip install 'mm_env[data]')")
    path = data_dir() / AAPL_SAMPLE
    if not path.is_dir():
        pytest.skip(f"AAPL LOBSTER sample not found at {path} (set MM_ENV_DATA)")
    return {"data": str(path), "step_seconds": 0.02}


def _local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'mm_env[tune]')")
    if ray.is_initialized():  # pragma: no cover - a leak from elsewhere
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=256 * 2**20)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of 2 CPUs for a test module (the commands reuse an initialised Ray instead
    of starting their own), shut down after it: no raylet outlives the module."""
    yield from _local_ray()


@pytest.fixture
def local_ray_for_test():
    """The same, for one test only (where later tests check that commands start their own)."""
    yield from _local_ray()
