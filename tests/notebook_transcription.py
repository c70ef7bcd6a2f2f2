"""The seed notebook (sections 1-3 and 9), transcribed line by line for the port check.

The only change: ``np.random.randn`` / ``np.random.rand`` become ``rng.standard_normal`` /
``rng.random`` of a ``numpy.random.Generator`` seeded like ``env.np_random``
(``np.random.default_rng(seed)``), and the global ``imb_t`` becomes an argument.
Returns the per-step cash, inventory and PnL of ``run_kappa`` (section 9, live inventory).
"""

from __future__ import annotations

import numpy as np


def notebook_run_kappa(seed: int, k: float, phi: float, T: int = 2000):
    rng = np.random.default_rng(seed)
    drift = 0.0
    vol = 0.1
    mid = 100 + np.cumsum(drift + vol * rng.standard_normal(T))
    spread_base = 0.04 + 0.02 * np.abs(rng.standard_normal(T))
    L = 10
    bids = np.stack([mid - (i + 1) * spread_base for i in range(L)], axis=1)
    asks = np.stack([mid + (i + 1) * spread_base for i in range(L)], axis=1)

    def size_curve(i):
        return 2.0 * np.exp(-0.2 * i)

    bid_sz = np.stack([size_curve(i) * np.ones(T) for i in range(L)], axis=1)
    ask_sz = np.stack([size_curve(i) * np.ones(T) for i in range(L)], axis=1)
    B = bid_sz.sum(1)
    A = ask_sz.sum(1)
    imb = (B - A) / (B + A + 1e-9)
    s = 2 * spread_base

    def simulate_fills(qb, qa, bids_t, asks_t, bsz_t, asz_t, imb_t):
        lam = 0.2
        takes_buy = rng.random() < lam * (1 + max(0, -imb_t)) * 0.5
        takes_sell = rng.random() < lam * (1 + max(0, imb_t)) * 0.5
        fill_b = 0.0
        fill_a = 0.0
        cash = 0.0
        if qb >= bids_t[0]:
            qty = min(0.3 * bsz_t[0], 1.0)
            fill_b += qty
            cash -= qty * qb
        if qa <= asks_t[0]:
            qty = min(0.3 * asz_t[0], 1.0)
            fill_a += qty
            cash += qty * qa
        if takes_buy:
            if qa <= asks_t[0]:
                qty = 0.5
                fill_a += qty
                cash += qty * qa
        if takes_sell:
            if qb >= bids_t[0]:
                qty = 0.5
                fill_b += qty
                cash -= qty * qb
        return fill_b, fill_a, cash

    q_bid = mid - 0.5 * s * (1 + k * imb)
    q_ask = mid + 0.5 * s * (1 - k * imb)
    inv = 0.0
    cash = 0.0
    cash_path, inv_path, pnl_path = [], [], []
    for t in range(T):
        qb = q_bid[t] - phi * inv
        qa = q_ask[t] + phi * inv
        fb, fa, dc = simulate_fills(qb, qa, bids[t], asks[t], bid_sz[t], ask_sz[t], float(imb[t]))
        inv += fb - fa
        cash += dc
        cash_path.append(cash)
        inv_path.append(inv)
        pnl_path.append(cash + inv * mid[t])
    return np.array(cash_path), np.array(inv_path), np.array(pnl_path)
