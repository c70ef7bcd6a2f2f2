from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """Real LOBSTER samples: $MM_ENV_DATA, else ../shared/data beside the project."""
    return Path(os.environ.get("MM_ENV_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def lobster_dir() -> Path:
    d = data_dir() / "lobster"
    if not d.is_dir():
        pytest.skip(f"LOBSTER samples not found at {d} (set MM_ENV_DATA to their folder)")
    return d
