"""The demo command end to end with a tiny budget, and its bad-input errors."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("stable_baselines3", reason="train/ needs pip install 'mm_env[train]'")

from train.__main__ import main


def test_demo_writes_plots_and_summary(tmp_path, capsys) -> None:
    code = main(["notebook", "--seeds", "2", "--n-steps", "60", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "final PnL" in out and "kappa sensitivity" in out and "-1.0" in out
    for name in ("pnl", "inventory", "quotes_vs_mid", "kappa_sensitivity"):
        png = tmp_path / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    summary = json.loads((tmp_path / "demo_summary.json").read_text())
    assert summary["config"]["n_steps"] == 60
    assert [r["kappa"] for r in summary["sensitivity"]][0] == -1.0


def test_demo_bad_input_is_one_line_error(tmp_path, capsys) -> None:
    assert main(["notebook", "--seeds", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mm-train: error:") and "--seeds" in err and err.count("\n") == 1
    assert main(["notebook", "--env-id", "nope", "--out", str(tmp_path)]) == 2
    assert main(["notebook", "--n-steps", "0", "--out", str(tmp_path)]) == 2
    assert "n_steps" in capsys.readouterr().err
