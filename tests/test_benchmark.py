"""The benchmark: the Cartea–Jaimungal inventory variant (exact values and simulation), the
table/score/JSON machinery on fake results, bad input, and (slow) a tiny end-to-end run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

# train.benchmark (its statistics and its replay task) needs the train extra
pytest.importorskip("scipy", reason="scipy is not installed (pip install 'mm_env[train]')")
pytest.importorskip("pandas", reason="pandas is not installed (pip install 'mm_env[train]')")

import mm_env
from baselines import CarteaJaimungal, SymmetricBaseline
from baselines.exact import applied_depths, expected_return, expected_return_of
from mm_env.config import CARTEA_JAIMUNGAL_INVENTORY
from tests.conftest import GOOG_DAY, data_dir, needs_sb3

CJ = "mm_env/CarteaJaimungal-v0"


def _best_constant(config) -> tuple[float, float]:
    """(depth, exact expected return) of the best symmetric constant quote."""
    optimize = pytest.importorskip("scipy.optimize", reason="scipy comes with mm_env[train]")
    res = optimize.minimize_scalar(
        lambda d: -expected_return(config, d, d)[0][int(config.max_inventory)],
        bounds=(0.2, 3.0),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(res.x), float(-res.fun)


def test_exact_return_matches_the_value_function_and_the_published_check() -> None:
    """The optimal agent's exact expected return in the env (discrete steps, clipped actions)
    is the CJP value h(0, 0) = 68.2558 up to the time discretisation (0.05%), and on
    CarteaJaimungal-v0 the best constant quote reaches 99.7% of it (why the variant exists)."""
    config = mm_env.make_config("cartea_jaimungal")
    agent = CarteaJaimungal(config)
    exact = expected_return_of(agent, config)
    assert agent.h_grid[0, 100] == pytest.approx(68.2558, abs=1e-4)
    assert exact == pytest.approx(68.2558, rel=5e-4)
    depth, value = _best_constant(config)
    assert value / agent.h_grid[0, 100] > 0.99
    assert depth == pytest.approx(1 / 1.5, abs=0.05)


def test_exact_return_of_a_constant_quote_by_hand() -> None:
    """One step, Q = 1: E[return] from q = 0 is p(δ)·δ on each side less the penalties of the
    three outcomes, worked out by hand."""
    config = mm_env.make_config(
        "cartea_jaimungal",
        n_steps=1,
        max_inventory=1.0,
        inventory_penalty=0.3,
        terminal_inventory_penalty=0.2,
    )
    d = 0.5
    p = min(140 * math.exp(-1.5 * d) * 0.001, 1.0)
    expected = 2 * p * d - (0.3 + 0.2) * (2 * p * (1 - p))  # q' = ±1 with one fill only
    value, fills = expected_return(config, d, d)
    assert value[1] == pytest.approx(expected, rel=1e-12)
    assert fills[1] == pytest.approx(2 * p)
    # at q = +1 the bid is refused (inventory limit): only the ask can fill
    assert value[2] == pytest.approx(p * d - 0.5 * (1 - p), rel=1e-12)


def test_cj_inventory_variant_best_constant_is_at_most_85_percent_of_the_optimum() -> None:
    """The variant (phi = 0.5): the best constant quote's value is <= 85% of the optimum by the
    value functions (exact expectation of the best constant / h(0, 0) from the CJP matrix
    exponential) and by simulation: 400 held-out episodes of both on common random numbers,
    paired difference constant − 0.85·optimal below zero by more than 3 standard errors; the
    simulated means agree with the exact ones within 4 standard errors."""
    from train.common import EVAL_SEED_BASE
    from train.evaluate import run_batch

    config = mm_env.make_config("cartea_jaimungal", **CARTEA_JAIMUNGAL_INVENTORY)
    agent = CarteaJaimungal(config)
    optimum = agent.h_grid[0, 100]
    depth, constant = _best_constant(config)
    assert constant / optimum <= 0.85  # measured 0.737
    assert expected_return_of(agent, config) == pytest.approx(optimum, rel=5e-3)
    policy = SymmetricBaseline(config, depth * 1.5)  # depth = m·s/2, s = 2/κ
    bid, ask = applied_depths(policy, config)
    np.testing.assert_allclose(bid, depth, rtol=1e-6)
    n = 400
    sims = {
        name: run_batch(p, CJ, CARTEA_JAIMUNGAL_INVENTORY, EVAL_SEED_BASE, n, keep_series=False)
        for name, p in (("optimal", agent), ("constant", policy))
    }
    diff = sims["constant"].returns - 0.85 * sims["optimal"].returns
    se = diff.std(ddof=1) / math.sqrt(n)
    assert diff.mean() < -3 * se, (diff.mean(), se)
    for name, exact in (("optimal", expected_return_of(agent, config)), ("constant", constant)):
        r = sims[name].returns
        assert abs(r.mean() - exact) < 4 * r.std(ddof=1) / math.sqrt(n), (name, r.mean(), exact)


# ---- the table machinery on fake results -------------------------------------------------
def _fake(mean: float, n: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    r = mean + rng.standard_normal(n)
    return {"return": r, "final_pnl": r + 1.0, "sharpe": r / 10}


def _fake_summary(optimal: bool = True):
    from train.benchmark import TASKS, summarise

    episodes = {
        "random": _fake(-5.0, seed=1),
        "best constant quote (m=1)": _fake(10.0, seed=2),
        "notebook rule (κ=0.6, φ=0.01)": _fake(8.0, seed=3),
        "tuned κ/φ rule (κ=0, φ=0)": _fake(12.0, seed=4),
        "PPO (2 seeds x 10 steps)": _fake(16.0, seed=5),
    }
    kinds = {
        "random": "random",
        "best constant quote (m=1)": "best constant quote",
        "notebook rule (κ=0.6, φ=0.01)": "notebook rule",
        "tuned κ/φ rule (κ=0, φ=0)": "tuned κ/φ rule",
        "PPO (2 seeds x 10 steps)": "ppo",
    }
    if optimal:
        episodes["optimal (cartea_jaimungal)"] = _fake(20.0, seed=6)
        kinds["optimal (cartea_jaimungal)"] = "optimal"
    return summarise(TASKS["cj"], episodes, kinds, {"PPO (2 seeds x 10 steps)": [15.0, 17.0]})


def test_normalised_score_paired_tests_and_seed_interval() -> None:
    s = _fake_summary()
    rows = {r["kind"]: r for r in s["table"]}
    const, opt = rows["best constant quote"]["return"], rows["optimal"]["return"]
    assert rows["best constant quote"]["normalized"] == 0.0 and rows["optimal"]["normalized"] == 1
    ppo = rows["ppo"]
    assert ppo["normalized"] == pytest.approx((ppo["return"] - const) / (opt - const))
    assert ppo["seed_ci"][0] < 16.0 < ppo["seed_ci"][1]  # t-interval over 2 seeds: wide
    assert ppo["seed_ci"][1] - ppo["seed_ci"][0] == pytest.approx(2 * 12.706, rel=1e-3)
    assert s["best_rule"].startswith("tuned")
    vs = {(t["baseline"].split(" (")[0], t["metric"]): t for t in s["tests"]}
    assert set(vs) == {("tuned κ/φ rule", "return"), ("tuned κ/φ rule", "sharpe")} | {
        ("optimal", "return"),
        ("optimal", "sharpe"),
    }
    t = vs[("tuned κ/φ rule", "return")]
    assert t["mean_diff"] > 0 and t["p_value"] < 1e-6 and t["n"] == 50
    # without an optimum the reference is the best row that is not random
    s2 = _fake_summary(optimal=False)
    assert s2["reference"].startswith("PPO") and s2["reference_kind"] == "best known"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_benchmark_files_markdown_json_and_figures(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from train.benchmark import format_summary, write_benchmark

    s = {**_fake_summary(), "episodes": {"random": _fake(0.0)}}
    meta = {"seeds": [0, 1], "budget": {"ppo": 10}, "episodes": 50, "seed": 1_000_000}
    meta.update(tune_episodes=4, tune_seed=12345, seconds=1.0, command="python -m train x")
    paths = write_benchmark([s], tmp_path, meta)
    md = paths["markdown"].read_text()
    assert "python -m train x" in md and "| cj |" in md and "p (Wilcoxon)" in md
    assert "0.00 (" in format_summary([s])  # the best constant's normalised score
    data = json.loads(paths["json"].read_text())
    assert data["meta"]["seeds"] == [0, 1] and "episodes" not in data["tasks"][0]
    assert data["tasks"][0]["table"][0]["policy"] == "random"
    assert paths["cj"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(tmp_path / "episodes.npz") as z:
        assert z["cj|random|return"].shape == (50,)


def test_summarise_refuses_results_without_a_constant_quote() -> None:
    from train.benchmark import TASKS, summarise

    with pytest.raises(ValueError, match="best constant quote"):
        summarise(TASKS["cj"], {"random": _fake(0.0)}, {"random": "random"})


def test_every_registered_task_has_a_valid_config_before_any_training() -> None:
    """Each entry of the registry builds its training and held-out configs (a replay task
    needs its book: skipped without the data)."""
    from train.benchmark import TASKS, resolve_task

    units = {}
    for task in TASKS.values():
        replay = task.env_id.startswith("mm_env/Replay")
        if replay and not (data_dir() / GOOG_DAY).is_dir():
            continue
        resolved = resolve_task(task)
        if replay:
            units[task.name] = resolved.overrides["spread_unit"]
            assert units[task.name] > 0  # the morning's, shared by both
            assert resolved.test_config()["split"] == "test"
    if units:  # v0 and v1 on the same morning: the same unit
        assert units["goog-exec"] == units["goog"]


def test_execution_tasks_use_the_readme_execution_tables_settings() -> None:
    """market-making-exec: MarketMaking-v1 with 5 steps of latency and the 0.2 bps rebate;
    goog-exec: Replay-v1, exact queue, 10 ms, the 0.25 cent rebate and 0.30 cent taker fee."""
    from train.benchmark import TASKS
    from train.common import make_config

    mm = make_config("mm_env/MarketMaking-v1", TASKS["market-making-exec"].test_config())
    assert (mm.entry_latency, mm.response_latency) == (5.0, 5.0)
    assert (mm.maker_fee_bps, mm.taker_fee_bps, mm.queue_model) == (-0.2, 0.3, "power:1")
    assert mm.keep_priority and mm.fill_through
    g = TASKS["goog-exec"]
    assert g.env_id == "mm_env/Replay-v1" and g.overrides["queue_model"] == "exact"
    assert (g.overrides["entry_latency"], g.overrides["maker_fee_per_unit"]) == (0.01, -0.0025)
    assert g.overrides["taker_fee_per_unit"] == 0.003
    assert {k: v for k, v in g.overrides.items() if k in TASKS["goog"].overrides} == dict(
        TASKS["goog"].overrides
    )  # the same day and split as goog


@pytest.mark.parametrize(
    ("env_id", "rules"),
    [
        ("mm_env/MarketMaking-v1", ("power:1", True, True)),
        ("mm_env/Replay-v1", ("auto", True, True)),
        ("mm_env/MarketMaking-v0", ("risk_averse", False, False)),
    ],
)
def test_training_and_evaluation_configs_carry_the_ids_rules(env_id, rules) -> None:
    """train.common.make_config (the evaluation's and the rules' config) and the SB3 adapter
    (training) build an id's registered rules, as gym.make does: before, both built v1 ids on
    the v0 rules, so a v1 task would have trained and been scored on the v0 execution."""
    import gymnasium as gym

    from train.common import make_config

    def of(c):
        return (c.queue_model, c.keep_priority, c.fill_through)

    kw = {"data_path": str(data_dir() / GOOG_DAY)} if "Replay" in env_id else {}
    if kw and not (data_dir() / GOOG_DAY).is_dir():
        pytest.skip("the GOOG day is not in MM_ENV_DATA")
    assert of(make_config(env_id, kw)) == rules
    assert of(make_config(env_id, {**kw, "keep_priority": not rules[1]}))[1] == (not rules[1])
    if kw:
        return
    assert of(gym.make(env_id).unwrapped.config) == rules
    pytest.importorskip("stable_baselines3")
    from mm_env.sb3 import make_sb3_vec_env

    assert of(make_sb3_vec_env(env_id, n_envs=1).venv.config) == rules


@needs_sb3
@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--tasks", "nope"], "unknown task 'nope'"),
        (["--task", "replay:/no/such/book"], "no such file"),
        (["--budget", "dqn=10"], "unknown learner"),
        (["--budget", "ppo=x"], "not a number"),
        (["--budget", "-5"], ">= 0"),
        (["--seeds", "0"], "at least 1"),
        (["--episodes", "1"], "at least 2"),
        (["--seed", "5"], "below is training"),
    ],
)
def test_benchmark_bad_input_is_a_one_line_error(argv, needle, capsys, tmp_path) -> None:
    from train.__main__ import main

    assert main(["benchmark", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mm-train: error:") and needle in err and err.count("\n") == 1


def test_missing_goog_data_is_a_clear_error(monkeypatch, tmp_path) -> None:
    from train.benchmark import TASKS, resolve_task
    from train.common import CliError

    monkeypatch.setenv("MM_ENV_DATA", str(tmp_path))
    with pytest.raises(CliError, match="set MM_ENV_DATA"):
        resolve_task(TASKS["goog"])


def test_defaults_are_the_readme_table() -> None:
    """``python -m train benchmark`` with no option is the table's command: every default task,
    seeds 0-4, 100k PPO and 10k SAC env-steps per run, 200 held-out episodes, 64 tuning ones."""
    from train.__main__ import build_parser
    from train.benchmark import DEFAULT_BUDGET, DEFAULT_TASKS, TASKS, BenchmarkArgs, parse_budget

    args = build_parser().parse_args(["benchmark"])
    assert (args.tasks, args.task, args.seeds, args.episodes) == (None, [], 5, 200)
    assert args.tune_episodes == 64 and args.budget == [] and not args.no_resume
    assert parse_budget([]) == DEFAULT_BUDGET == {"ppo": 100_000, "sac": 10_000}
    assert BenchmarkArgs().budget == DEFAULT_BUDGET and BenchmarkArgs().tasks == DEFAULT_TASKS
    assert set(DEFAULT_TASKS) == set(TASKS)  # every registered task is in the table


def test_missing_book_is_a_skip_line_not_a_crash(monkeypatch, tmp_path: Path) -> None:
    """A default task whose book is missing: one log line and one line of the table saying
    where the data was looked for; the run goes on (here: nothing else to run)."""
    from train.benchmark import BenchmarkArgs, run_benchmark

    monkeypatch.setenv("MM_ENV_DATA", str(tmp_path / "nowhere"))
    logged: list[str] = []
    out = tmp_path / "bench"
    result = run_benchmark(BenchmarkArgs(tasks=("goog",), out=str(out)), log=logged.append)
    assert result["summaries"] == [] and list(result["meta"]["skipped"]) == ["goog"]
    assert len(logged) == 1 and logged[0].startswith("[goog] skipped: task goog: data not found")
    md = (out / "benchmark.md").read_text()
    line = next(x for x in md.splitlines() if x.startswith("| goog |"))
    assert "skipped: task goog: data not found at" in line and "set MM_ENV_DATA" in line
    assert line.count("|") == 9  # a full row of the headline table (8 cells)
    assert json.loads((out / "benchmark.json").read_text())["meta"]["skipped"]["goog"]


def _fake_task_summary(name: str) -> dict:
    s = {**_fake_summary(optimal=name == "cj"), "task": name}
    s.update(tuned={}, runs={}, fit_seconds={}, seconds=2.0)
    s["episodes"] = {r["policy"]: _fake(float(i), seed=i) for i, r in enumerate(s["table"])}
    return s


def test_a_finished_task_is_saved_and_reused_only_with_the_same_configuration(
    tmp_path: Path,
) -> None:
    from train.benchmark import TASKS, BenchmarkArgs, load_task, save_task, task_key

    args = BenchmarkArgs(out=str(tmp_path))
    key = task_key(TASKS["cj"], args)
    s = _fake_task_summary("cj")
    save_task(tmp_path, s, key)
    back = load_task(tmp_path, "cj", key)
    assert back is not None and [r["policy"] for r in back["table"]] == list(s["episodes"])
    for name, res in s["episodes"].items():
        for metric, values in res.items():
            np.testing.assert_array_equal(back["episodes"][name][metric], values)
    assert back["tests"] == json.loads(json.dumps(s["tests"]))
    # another budget, seed list, episode count or task definition: another key
    for other in (
        task_key(TASKS["cj"], BenchmarkArgs(budget={"ppo": 1, "sac": 1})),
        task_key(TASKS["cj"], BenchmarkArgs(seeds=(0,))),
        task_key(TASKS["cj"], BenchmarkArgs(episodes=10)),
        task_key(TASKS["cj-inventory"], args),
    ):
        assert other != key and load_task(tmp_path, "cj", other) is None
    # where the run writes and how many workers it uses change no number: same key
    assert task_key(TASKS["cj"], BenchmarkArgs(out="elsewhere", workers=2)) == key
    assert load_task(tmp_path, "market-making", key) is None  # never saved


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_rerun_reuses_finished_tasks(monkeypatch, tmp_path: Path) -> None:
    """A rerun of the same command does not train a finished task again (a stopped run is
    finished by rerunning it); ``resume=False`` recomputes."""
    pytest.importorskip("matplotlib")
    import train.benchmark as tb

    args = tb.BenchmarkArgs(tasks=("cj", "market-making"), out=str(tmp_path))
    for name in args.tasks:
        tb.save_task(tmp_path, _fake_task_summary(name), tb.task_key(tb.TASKS[name], args))
    calls: list[str] = []

    def fake_run_task(task, a, log):
        calls.append(task.name)
        return _fake_task_summary(task.name)

    monkeypatch.setattr(tb, "run_task", fake_run_task)
    logged: list[str] = []
    result = tb.run_benchmark(args, log=logged.append)
    assert calls == [] and result["meta"]["reused_tasks"] == ["cj", "market-making"]
    assert sum("reused from" in x for x in logged) == 2
    tb.run_benchmark(replace_args(args, episodes=50), log=logged.append)  # another config
    assert calls == ["cj", "market-making"]
    tb.run_benchmark(replace_args(args, resume=False), log=logged.append)
    assert calls == ["cj", "market-making"] * 2


def replace_args(args, **kw):
    from dataclasses import replace

    return replace(args, **kw)


@pytest.mark.slow
@needs_sb3
def test_benchmark_tiny_end_to_end(tmp_path: Path, capsys, monkeypatch) -> None:
    """The one command, tiny: ``python -m train benchmark --seeds 1 --budget 2000 --episodes 5``
    on the CJ inventory variant (an optimum), the execution task on MarketMaking-v1 (none) and
    goog with its book missing: every row, the files, the optimum's normalised score of 1, the
    skip line; then the same command again reuses both tasks (no training)."""
    from train.__main__ import main

    monkeypatch.setenv("MM_ENV_DATA", str(tmp_path / "no-data"))
    out = tmp_path / "bench"
    argv = ["benchmark", "--tasks", "cj-inventory,market-making-exec,goog", "--seeds", "1"]
    argv += ["--budget", "2000", "--episodes", "5", "--tune-episodes", "3", "--n-envs", "16"]
    argv += ["--workers", "1", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| cj-inventory |" in printed and "| market-making-exec |" in printed
    assert "[goog] skipped: task goog: data not found" in printed
    assert "| goog | skipped: task goog: data not found" in printed
    data = json.loads((out / "benchmark.json").read_text())
    assert data["meta"]["finished_tasks"] == ["cj-inventory", "market-making-exec"]
    assert list(data["meta"]["skipped"]) == ["goog"]
    for task in data["tasks"]:
        kinds = [r["kind"] for r in task["table"]]
        assert {"random", "best constant quote", "notebook rule", "tuned κ/φ rule"} <= set(kinds)
        assert {"ppo", "sac"} <= set(kinds)
        assert len(task["runs"]["ppo"]) == 1 and len(task["tests"]) >= 4
    cj = {r["kind"]: r for r in data["tasks"][0]["table"]}
    assert cj["optimal"]["normalized"] == 1.0 and cj["best constant quote"]["normalized"] == 0
    assert (out / "cj-inventory.png").stat().st_size > 2000
    assert json.loads((out / "benchmark_config.json").read_text())["seeds"] == [0]
    # the training run of the execution task is on MarketMaking-v1's rules, with the latency
    run = Path(data["tasks"][1]["runs"]["ppo"][0])
    saved = json.loads((run / "config.json").read_text())
    fields = saved["scenario_config"]
    assert fields["queue_model"] == "power:1" and fields["entry_latency"] == 5.0
    # the same command again: both tasks reused, the same table
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert again.count("reused from") == 2 and " ppo: " not in again
    assert json.loads((out / "benchmark.json").read_text())["tasks"] == data["tasks"]


# ---- the discrete ladder action ------------------------------------------------------------
@pytest.mark.parametrize("env_id", ["mm_env/MarketMaking-v0", CJ])
def test_quote_ladder_quotes_its_depths_in_half_spreads(env_id: str) -> None:
    """Every ladder action (Spooner et al.'s nine pairs) quotes bid = mid − b·s/2 and
    ask = mid + a·s/2, s the spread of the book the quotes met (best ask − best bid), and is
    never clipped."""
    import gymnasium as gym

    from mm_env.ladder import SPOONER_PAIRS, QuoteLadder

    wide = (0.1, 5.9)  # Spooner's (5, 5) is spread multiple 5: beyond the default ranges
    env = QuoteLadder(gym.make(env_id, n_steps=40, spread_multiple_range=wide), pairs=SPOONER_PAIRS)
    assert env.action_space.n == 9
    env.reset(seed=3)
    for t in range(36):
        i = t % 9
        _, _, _, _, info = env.step(np.int64(i))
        b, a = env.pairs[i]
        s = info["best_ask"] - info["best_bid"]
        mid = 0.5 * (info["best_ask"] + info["best_bid"])
        bid, ask = mid - b * s / 2, mid + a * s / 2
        if env_id == CJ:  # no book: the reference spread 2/k stands for it, no tick grid
            s, mid = 2 / 1.5, info["mid"]
            bid, ask = mid - b * s / 2, mid + a * s / 2
            assert info["bid_quote"] == pytest.approx(bid, abs=1e-9)
            assert info["ask_quote"] == pytest.approx(ask, abs=1e-9)
        else:  # the tick book rounds quotes away from the mid, onto its grid
            tick = env.unwrapped.config.tick_size
            assert -1e-9 <= bid - info["bid_quote"] < tick - 1e-9
            assert -1e-9 <= info["ask_quote"] - ask < tick - 1e-9
        assert not info["action_clipped"]


def test_quote_ladder_bad_input() -> None:
    import gymnasium as gym

    from mm_env.ladder import QuoteLadder

    env = gym.make("mm_env/MarketMaking-v0", n_steps=10)
    with pytest.raises(ValueError, match="outside the env's action ranges"):
        QuoteLadder(env, levels=(1, 9))  # (1, 9): spread multiple 5 > 4
    with pytest.raises(ValueError, match="positive sum"):
        QuoteLadder(env, pairs=[(0, 0)])
    with pytest.raises(ValueError, match="at least one"):
        QuoteLadder(env, pairs=[])
    ladder = QuoteLadder(env)
    assert ladder.action_space.n == 9 and ladder.pairs[1] == (1.0, 2.0)
    ladder.reset(seed=0)
    for bad in (9, -1):
        with pytest.raises(ValueError, match=r"outside \[0, 8\]"):
            ladder.step(bad)
    with pytest.raises(ValueError, match="one integer"):
        ladder.step(1.5)
    with pytest.raises(ValueError, match="one integer, got nan$"):  # not np.float64(nan)
        ladder.step(np.float64("nan"))


def test_normalised_score_is_undefined_where_the_reference_ties_the_constant() -> None:
    """If the optimum beats the best constant quote only within noise (paired 95% CI through
    0, as on CarteaJaimungal-v0), dividing by the gap would blow the scores up: n/a."""
    from train.benchmark import TASKS, format_task, summarise

    same = _fake(10.0, seed=2)
    episodes = {
        "best constant quote (m=1)": same,
        "optimal (x)": {
            **same,
            "return": same["return"] + 0.001 * np.random.default_rng(0).standard_normal(50),
        },
        "random": _fake(0.0),
    }
    kinds = {
        "best constant quote (m=1)": "best constant quote",
        "optimal (x)": "optimal",
        "random": "random",
    }
    s = summarise(TASKS["cj"], episodes, kinds)
    assert not s["normalized"] and all(math.isnan(r["normalized"]) for r in s["table"])
    assert "undefined here" in format_task(s)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_rescore_rebuilds_the_tables_from_saved_episodes(tmp_path: Path) -> None:
    """``benchmark --rescore DIR...`` recomputes scores and tests from episodes.npz and merges
    several runs' tasks: the same numbers as the original summaries."""
    pytest.importorskip("matplotlib")
    from dataclasses import asdict

    from train.benchmark import TASKS, rescore, write_benchmark

    dirs = []
    for name in ("cj", "market-making"):
        s = {**_fake_summary(optimal=name == "cj"), "task": name}
        s.update(tuned={}, runs={}, fit_seconds={}, seconds=2.0)
        rows = {r["policy"] for r in s["table"]}
        s["episodes"] = {p: _fake(0.0) for p in rows}
        meta = {"seeds": [0], "budget": {"ppo": 1}, "episodes": 50, "seed": 1_000_000}
        meta.update(tune_episodes=2, tune_seed=1, seconds=3.0, command=f"run {name}")
        meta["task_definitions"] = [asdict(TASKS[name])]
        write_benchmark([s], tmp_path / name, meta)
        dirs.append(tmp_path / name)
    result = rescore(dirs, tmp_path / "all")
    data = json.loads((tmp_path / "all" / "benchmark.json").read_text())
    assert data["meta"]["finished_tasks"] == ["cj", "market-making"]
    assert data["meta"]["command"] == "run cj ; run market-making"
    assert data["meta"]["seconds"] == 6.0
    assert result["summaries"][1]["reference_kind"] == "best known"
    with pytest.raises(Exception, match="not a finished benchmark"):
        rescore([tmp_path / "nope"], tmp_path / "x")


def test_mean_over_seeds_ignores_nan_and_keeps_an_all_nan_episode_nan() -> None:
    import warnings

    from train.stats import mean_over_seeds

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Mean of empty slice"
        out = mean_over_seeds([[1.0, np.nan, np.nan], [3.0, 2.0, np.nan]])
    np.testing.assert_array_equal(out[:2], [2.0, 2.0])
    assert np.isnan(out[2])
