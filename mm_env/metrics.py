"""Episode metrics, shared by the demo, evaluation and reports.

Every metric takes the per-step series of one episode (as recorded in ``info``) and returns a
float. Definitions are in each docstring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

#: the seed notebook's annualisation: steps read as minutes of a 6-hour, 252-day year
NOTEBOOK_PERIODS_PER_YEAR = 252 * 6 * 60


def sharpe_ratio(pnl: ArrayLike, periods_per_year: float | None = None) -> float:
    """Sharpe ratio of the per-step PnL changes.

    The changes are ``diff(pnl)`` with the first change taken from 0 (the episode starts flat).
    Returns mean / std (population std) of the changes, times ``sqrt(n)`` when
    ``periods_per_year`` is None (a per-episode Sharpe: the mean episode PnL in units of its
    standard deviation under i.i.d. changes), or times ``sqrt(periods_per_year)`` to annualise
    (the notebook uses 252 * 6 * 60). Returns ``nan`` when the changes have zero std (no trade
    and no inventory), where the ratio is undefined; the notebook divides by
    ``std(ret + 1e-9)``, which is the same std, so it divides by zero there too.
    """
    x = np.asarray(pnl, dtype=np.float64)
    if x.size == 0:
        raise ValueError("sharpe_ratio needs at least one step")
    ret = np.diff(x, prepend=0.0)
    sd = ret.std()
    if sd == 0.0:
        return math.nan
    scale = math.sqrt(x.size if periods_per_year is None else periods_per_year)
    return float(ret.mean() / sd * scale)


def sortino_ratio(pnl: ArrayLike) -> float:
    """Per-episode Sortino ratio: mean change / downside deviation * sqrt(n).

    Downside deviation = sqrt(mean(min(change, 0)**2)); ``nan`` when there is no loss step.
    """
    x = np.asarray(pnl, dtype=np.float64)
    ret = np.diff(x, prepend=0.0)
    dd = math.sqrt(float(np.mean(np.minimum(ret, 0.0) ** 2)))
    if dd == 0.0:
        return math.nan
    return float(ret.mean() / dd * math.sqrt(x.size))


def max_drawdown(pnl: ArrayLike) -> float:
    """Largest fall of the PnL from its running peak (the peak includes the flat start, 0)."""
    x = np.asarray(pnl, dtype=np.float64)
    peak = np.maximum.accumulate(np.concatenate([[0.0], x]))[1:]
    return float(np.max(peak - x)) if x.size else 0.0


@dataclass(frozen=True)
class EpisodeMetrics:
    """The summary of one episode."""

    final_pnl: float
    sharpe: float
    sortino: float
    max_drawdown: float
    mean_abs_inventory: float
    min_inventory: float
    max_inventory: float
    final_inventory: float
    n_fills: int
    volume: float
    spread_capture_per_unit: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def episode_metrics(infos: Mapping[str, ArrayLike]) -> EpisodeMetrics:
    """Metrics from an episode's per-step info series (keys as in the env's ``info``).

    ``spread_capture_per_unit``: the average edge of our fills against the mid of the book they
    met, sum(bid_fill * (mid - bid_quote) + ask_fill * (ask_quote - mid)) / volume (``nan``
    with no fills).
    """
    pnl = np.asarray(infos["pnl"], dtype=np.float64)
    inv = np.asarray(infos["inventory"], dtype=np.float64)
    bf = np.asarray(infos["bid_fill"], dtype=np.float64)
    af = np.asarray(infos["ask_fill"], dtype=np.float64)
    mid = np.asarray(infos["mid"], dtype=np.float64)
    edge = bf * (mid - np.asarray(infos["bid_quote"])) + af * (np.asarray(infos["ask_quote"]) - mid)
    volume = float(bf.sum() + af.sum())
    n_fills = np.asarray(infos["n_fills"], dtype=np.float64)
    return EpisodeMetrics(
        final_pnl=float(pnl[-1]),
        sharpe=sharpe_ratio(pnl),
        sortino=sortino_ratio(pnl),
        max_drawdown=max_drawdown(pnl),
        mean_abs_inventory=float(np.abs(inv).mean()),
        min_inventory=float(inv.min()),
        max_inventory=float(inv.max()),
        final_inventory=float(inv[-1]),
        n_fills=int(n_fills[-1]),
        volume=volume,
        spread_capture_per_unit=float(edge.sum() / volume) if volume > 0 else math.nan,
    )


def mean_and_se(values: ArrayLike) -> tuple[float, float]:
    """Sample mean and its standard error (ddof = 1), ignoring NaN."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
    return float(x.mean()), se
