"""Statistics for comparisons: bootstrap confidence intervals and paired tests, seeded."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def mean_over_seeds(per_seed: list[ArrayLike]) -> np.ndarray:
    """Per-episode mean over seeds, ignoring NaN (a seed whose Sharpe is undefined); an
    episode undefined in every seed stays NaN, without NumPy's "Mean of empty slice" warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmean(np.asarray(per_seed, dtype=np.float64), axis=0))


def bootstrap_ci(
    values: ArrayLike, level: float = 0.95, n_resamples: int = 4000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): the mean and its percentile bootstrap confidence interval.

    NaN values (an undefined Sharpe, say) are dropped first.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    if x.size == 1:
        return float(x[0]), math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(x.mean()), float(lo), float(hi)


@dataclass(frozen=True)
class PairedTest:
    """A paired comparison of two policies on the same episodes (a - b)."""

    mean_diff: float
    ci_low: float
    ci_high: float
    t_stat: float
    p_value: float  # two-sided paired t-test
    p_wilcoxon: float  # two-sided Wilcoxon signed-rank test
    n: int


def paired_test(a: ArrayLike, b: ArrayLike, seed: int = 0) -> PairedTest:
    """Paired t-test and Wilcoxon signed-rank test of a - b, with a bootstrap CI of the mean."""
    from scipy import stats

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in shape: {x.shape} vs {y.shape}")
    keep = ~(np.isnan(x) | np.isnan(y))
    d = x[keep] - y[keep]
    mean, lo, hi = bootstrap_ci(d, seed=seed)
    if d.size < 2 or np.all(d == d[0]):
        return PairedTest(mean, lo, hi, math.nan, math.nan, math.nan, int(d.size))
    t = stats.ttest_1samp(d, 0.0)
    w = stats.wilcoxon(d) if np.any(d != 0) else None
    return PairedTest(
        mean,
        lo,
        hi,
        float(t.statistic),
        float(t.pvalue),
        float(w.pvalue) if w is not None else math.nan,
        int(d.size),
    )
