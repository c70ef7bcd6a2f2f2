"""The README's Python snippets run as written (in order, sharing one namespace as a reader
would), so the quick start cannot rot. Two edits: PPO's budget is cut to one rollout, and a
snippet that needs the user's own data file (``path/to/``) is skipped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("stable_baselines3", reason="the README's snippets train with SB3")

README = Path(__file__).resolve().parents[1] / "README.md"


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_snippets() -> None:
    assert len(snippets()) >= 4


def test_readme_snippets_run() -> None:
    namespace: dict = {}
    ran = 0
    for code in snippets():
        if "path/to/" in code:
            continue
        code = code.replace(".learn(200_000)", ".learn(4096)")
        try:
            exec(compile(code, str(README), "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"README snippet failed with {exc!r}:\n{code}")
        ran += 1
    assert ran >= 3
