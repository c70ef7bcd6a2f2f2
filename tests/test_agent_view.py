"""mm_env.execution, "The agent's view of its orders": a side sends a request only when the
wanted quote differs from what the agent believes rests, and it learns of a fill (and of the
exchange's state of its order) only the response latency after the event. Both books, a
constant and a random response latency, a full and a partial fill, vector N=1 == single env."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("pandas", reason="the loaders need pip install 'mm_env[data]'")

from mm_env.actions import ActionMapping
from mm_env.data import OrderBook
from mm_env.execution import O_N_SENT, col
from tests.test_replay import n_steps_of, toy_book
from tests.test_synthetic import ScriptedFlow
from tests.test_synthetic_execution import still_book

REPLAY = "mm_env/Replay-v1"
SYNTH = "mm_env/MarketMaking-v1"


def replay_run(sell: float, seed: int = 0, **kw):
    """The toy book (rows t = 0..7, our bid 100.00 behind the 5 displayed, one lot of 5), a
    seller taking ``sell`` at t = 2; per step: info, requests sent so far, the drawn response
    latency."""
    book = toy_book([5.0] * 8, {"time": [2], "price": [100.0], "size": [sell], "side": [-1]})
    n = n_steps_of(book)
    env = gym.make(
        REPLAY, data=book, n_levels=3, n_steps=n, order_size=5.0, max_inventory=100.0, **kw
    )
    env.reset(seed=seed)
    sim = env.unwrapped.simulator
    a = env.unwrapped.action_mapping.to_action(1.0, 0.0)
    out = []
    for _ in range(n):
        _, _, _, _, info = env.step(a)
        out.append((info, sim.state[0, col(0, O_N_SENT)], sim.latency[0, 1]))
    return out


@pytest.mark.parametrize("sell,fill", [(10.0, 5.0), (7.0, 2.0)])
def test_replay_no_resend_until_the_fill_is_seen(sell: float, fill: float) -> None:
    # Entry latency 1.5 s: the bid sent at t = 0 rests from 1.5 and fills `fill` at t = 2
    # (all of it, or 2 of 5). Response latency 0: the agent knows at the decision at t = 2 and
    # sends the lot again (in flight until 3.5). Response latency 1.5: it learns at 3.5, sends
    # nothing at t = 2 and t = 3 (its order looks whole), and once at t = 4.
    for resp, resend in ((0.0, 2), (1.5, 4)):
        out = replay_run(sell, entry_latency=1.5, response_latency=resp)
        infos = [o[0] for o in out]
        assert [i["bid_fill"] for i in infos] == [0.0, fill] + [0.0] * 5
        flight = [0.0] * 7
        flight[0] = flight[resend] = 1.0
        assert [i["bid_in_flight"] for i in infos] == flight, resp
        assert [o[1] for o in out] == [1.0] * resend + [2.0] * (7 - resend), resp
        # the exchange's order: gone after a full fill until the new request arrives
        live = [i["bid_live"] for i in infos]
        if fill == 5.0:
            assert live == [0.0] * (resend + 1) + [1.0] * (6 - resend)  # arrives resend + 1.5
        else:
            assert live == [0.0] + [1.0] * 6
        assert infos[-1]["inventory"] == fill


def test_replay_zero_entry_latency_resends_at_once_only_when_seen() -> None:
    # No entry latency, response latency 1.5: the fill at t = 2 is seen at 3.5; without a
    # response latency the quote re-arrives at the decision at t = 2.
    full = replay_run(10.0, response_latency=1.5)
    assert [o[1] for o in full] == [1.0] * 4 + [2.0] * 3
    assert [o[0]["bid_live"] for o in full] == [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    zero = replay_run(10.0)
    assert [o[0]["bid_live"] for o in zero] == [1.0, 0.0] + [1.0] * 5


@pytest.mark.parametrize("seed", range(6))
def test_replay_random_response_latency_per_step(seed: int) -> None:
    # Response latency drawn per step from {0, 3} s: the fill at t = 2 (in step 1) is seen at
    # 2 + the draw of step 1, and the lot is sent again at the first decision at or after it.
    out = replay_run(10.0, entry_latency=1.5, response_latency=(0.0, 3.0), seed=seed)
    drawn = out[1][2]
    resend = math.ceil(2.0 + drawn)
    sent = [o[1] for o in out]
    assert sent == [1.0] * resend + [2.0] * (7 - resend), (drawn, sent)


def synthetic_run(sell: float, resp: float, n: int = 6) -> list[tuple[dict, float]]:
    """still_book: our bid of 2 joins behind the 4 at 100.00 at step 0, then 2 join behind us
    (so the level, and the quote, stay put), and a sell of ``sell`` comes at step 1."""
    sim, step = still_book(order_size=2.0, keep_priority=True, response_latency=resp)
    out = [(step(), sim.state[0, col(0, O_N_SENT)])]
    sim.bid_sizes[0, 0] += 2.0
    for k in range(1, n):
        info = step(sell=sell if k == 1 else 0.0)
        out.append((info, sim.state[0, col(0, O_N_SENT)]))
    return out


@pytest.mark.parametrize("sell,fill", [(6.0, 2.0), (5.0, 1.0)])
def test_synthetic_no_resend_until_the_fill_is_seen(sell: float, fill: float) -> None:
    # A fill at step 1 (the 4 ahead, then 2 or 1 of ours) is seen after step 1 + ceil(R)
    # (tests/test_synthetic_execution): the lot is sent again at step 3 with R = 1, at step 4
    # with R = 1.5 or 2. With R = 0 (and no entry latency) the quote simply re-arrives each
    # step, as before: live again at step 2.
    for resp, resend in ((1.0, 3), (1.5, 4), (2.0, 4)):
        out = synthetic_run(sell, resp)
        assert out[1][0]["bid_fill"] == pytest.approx(fill)
        assert [o[1] for o in out] == [1.0] * resend + [2.0] * (6 - resend), resp
        live = [o[0]["bid_live"] for o in out]
        if fill == 2.0:  # all of it: no order until the new request
            assert live == [1.0] + [0.0] * (resend - 1) + [1.0] * (6 - resend), resp
        else:
            assert live == [1.0] * 6
    zero = synthetic_run(sell, 0.0)
    assert [o[0]["bid_live"] for o in zero] == [1.0, 0.0 if fill == 2.0 else 1.0] + [1.0] * 4
    assert [o[1] for o in zero] == [0.0] * 6  # no latency at all: no request is queued


class FlowWithLatency(ScriptedFlow):
    """ScriptedFlow that also answers the per-step latency draw ``random((1, 2))``."""

    def __init__(self, sell: float, u_response: float) -> None:
        super().__init__(0.5, 1.0, 0.0, sell)
        self.u_response = u_response

    def random(self, shape: tuple[int, int]) -> np.ndarray:
        if shape == (1, 2):
            return np.array([[0.0, self.u_response]])
        return super().random(shape)


@pytest.mark.parametrize("u_fill", [0.2, 0.7])
def test_synthetic_random_response_latency_resends_after_the_draw(u_fill: float) -> None:
    # synthetic_run's book, response latency drawn per step from {0, 2} steps (uniform < 0.5:
    # 0, else 2): the draw of step 1 (`u_fill`), the step of the fill, decides when it is seen
    # (after step 1 or step 3); the other steps draw the other value. A random latency goes
    # through the request decision even when the draw is 0.
    sim, _ = still_book(order_size=2.0, keep_priority=True, response_latency=(0.0, 2.0))
    mapping = ActionMapping.from_config(sim.config)
    a = mapping.to_action(1.0, 0.0)[None, :]
    sent, drawn = [], []
    for k in range(6):
        sim.step(a, FlowWithLatency(6.0 if k == 1 else 0.0, u_fill if k == 1 else 1.0 - u_fill))
        drawn.append(sim.latency[0, 1])
        sent.append(sim.state[0, col(0, O_N_SENT)])
        if k == 0:
            sim.bid_sizes[0, 0] += 2.0
        if k == 1:
            assert sim.info(0)["bid_fill"] == pytest.approx(2.0)
    assert drawn[1] == (0.0 if u_fill < 0.5 else 2.0)
    resend = 2 + math.ceil(drawn[1])
    assert sent == [1.0] * resend + [2.0] * (6 - resend), (drawn, sent)


@pytest.mark.parametrize("env_id", [SYNTH, REPLAY])
def test_vector_n1_equals_the_single_env_with_latencies(env_id: str, lobster_dir) -> None:
    kw: dict = {"entry_latency": "lognormal:1,0.5", "response_latency": (0.0, 1.0, 3.0)}
    if env_id == REPLAY:
        from tests.conftest import AAPL_SAMPLE

        kw.update(
            data=str(lobster_dir.parent / AAPL_SAMPLE),
            step_seconds=0.05,
            entry_latency="lognormal:0.01,0.5",
            response_latency=(0.0, 0.02, 0.1),
        )
    single = gym.make(env_id, n_steps=200, **kw)
    one = gym.make_vec(
        env_id, num_envs=1, vectorization_mode="vector_entry_point", n_steps=200, **kw
    )
    o1, _ = single.reset(seed=3)
    o2, _ = one.reset(seed=3)
    rng = np.random.default_rng(1)
    sent = 0.0
    for _ in range(200):
        a = rng.uniform(-1, 1, 2)
        o1, r1, _, _, i1 = single.step(a)
        o2, r2, _, _, i2 = one.step(a[None, :])
        np.testing.assert_array_equal(o1, o2[0])
        assert r1 == r2[0]
        assert i1["known_inventory"] == i2["known_inventory"][0]
        sent = single.unwrapped.simulator.state[0, col(0, O_N_SENT)]
    assert sent > 1.0


@pytest.mark.parametrize("env_id", [SYNTH, REPLAY])
def test_without_response_latency_the_view_is_the_exchanges(env_id: str, lobster_dir) -> None:
    # A random entry latency with no response latency goes through the agent's view (the fill
    # ring is kept); it must decide exactly as the exchange's state of the order does
    # (track_response off: execution.last_requested, the rule before the agent's view).
    kw: dict = {"entry_latency": "lognormal:1,0.5", "order_size": 3.0, "max_inventory": 30.0}
    if env_id == REPLAY:
        from tests.conftest import AAPL_SAMPLE

        kw.update(
            data=str(lobster_dir.parent / AAPL_SAMPLE),
            step_seconds=0.01,
            entry_latency="lognormal:0.005,0.5",
        )
    runs = []
    for view in (True, False):
        env = gym.make(env_id, n_steps=300, **kw)
        env.reset(seed=3)
        sim = env.unwrapped.simulator
        assert bool(sim._exec_rec["track_response"][0])
        sim._exec_rec["track_response"] = view
        rng = np.random.default_rng(1)
        out = []
        for _ in range(300):
            act = env.unwrapped.action_mapping.to_action(
                float(rng.uniform(0.0, 1.5)), float(rng.uniform(-0.5, 0.5))
            )
            o, r, _, _, info = env.step(act)
            out.append((o.tobytes(), r, info["bid_fill"], info["ask_fill"], info["n_rejected"]))
        runs.append(out)
    assert runs[0] == runs[1]
    assert sum(x[2] + x[3] for x in runs[0]) > 0.0


def test_replay_a_rejection_is_seen_after_the_response_latency() -> None:
    # Rows at t = 0, 1, 1.2, 1.8, 2, ..., 6; the best ask is 100.02 but for 100.01 at t = 1.2.
    # We bid 100.01 (one tick under the ask) from t = 0, decided every second; entry latency
    # 1.5 s: it arrives at 1.5 against the ask of 100.01 and is rejected (post-only). The agent
    # keeps wanting 100.01; it learns of the rejection at 1.8 + R and only then sends again.
    times = np.array([0.0, 1.0, 1.2, 1.8, 2.0, 3.0, 4.0, 5.0, 6.0])
    n = times.size
    bp = np.tile([100.00, 99.99, 99.98], (n, 1))
    ap = np.tile([100.02, 100.03, 100.04], (n, 1))
    ap[2] = [100.01, 100.02, 100.03]
    sz = np.full((n, 3), 5.0)
    book = OrderBook.from_arrays(times, bp, sz, ap, sz, trades=None)
    for resp, resend in ((0.0, 2), (1.5, 4)):
        env = gym.make(
            REPLAY,
            data=book,
            n_levels=3,
            n_steps=6,
            step_seconds=1.0,
            entry_latency=1.5,
            response_latency=resp,
        )
        env.reset(seed=0)
        sim = env.unwrapped.simulator
        a = env.unwrapped.action_mapping.to_action(0.0, 0.0)
        sent, infos = [], []
        for _ in range(6):
            _, _, _, _, info = env.step(a)
            infos.append(info)
            sent.append(sim.state[0, col(0, O_N_SENT)])
        assert infos[0]["bid_quote"] == pytest.approx(100.01)
        assert [i["n_rejected"] for i in infos] == [0.0] + [1.0] * 5
        assert sent == [1.0] * resend + [2.0] * (6 - resend), resp
