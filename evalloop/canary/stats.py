"""The canary's statistics: candidate against baseline, one metric at a time (scipy).

Every comparison reports both values, the effect, its confidence interval, a
one-sided p-value for "the candidate is worse", and the smallest change the
sample could have detected (MDE) at the configured power, so a metric that
"passed" because the sample was too small to tell is never reported as a pass.

* Rates: Boschloo's exact test (uniformly more powerful than Fisher's) or
  Fisher's exact test for large samples; the difference's interval is
  Newcombe's hybrid score interval (from Wilson intervals), which behaves at
  0 events; the MDE is the arcsine (Cohen's h) approximation, also at 0 events.
* Continuous: Mann-Whitney U (no normality assumed: latencies and costs are
  skewed); the effect is the relative change of the medians, its interval a
  seeded bootstrap (deterministic); the MDE is the t-test's on log values,
  corrected by the rank test's asymptotic relative efficiency (3/pi).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

BOSCHLOO_MAX_N = 300
_ARE = 3 / math.pi  # Mann-Whitney against the t-test, normal data
_BOOTSTRAP_RESAMPLES = 2000
_SEED = 20260418


@dataclass(frozen=True)
class RateComparison:
    baseline_events: int
    baseline_total: int
    candidate_events: int
    candidate_total: int
    worse: Literal["higher", "lower"]
    test: str
    p_value: float  # one-sided: the candidate's rate is worse
    ci_low: float  # candidate minus baseline, absolute share
    ci_high: float
    mde: float  # smallest worsening (absolute share) detectable at the power asked

    @property
    def baseline_rate(self) -> float:
        return self.baseline_events / self.baseline_total

    @property
    def candidate_rate(self) -> float:
        return self.candidate_events / self.candidate_total

    @property
    def effect(self) -> float:
        """The candidate's change, in absolute share; positive is worse."""
        diff = self.candidate_rate - self.baseline_rate
        return diff if self.worse == "higher" else -diff


@dataclass(frozen=True)
class ContinuousComparison:
    baseline_n: int
    candidate_n: int
    baseline_median: float
    candidate_median: float
    worse: Literal["higher", "lower"]
    p_value: float  # one-sided Mann-Whitney U: the candidate's values are worse
    ci_low: float | None  # relative change of the median (candidate / baseline - 1)
    ci_high: float | None
    mde: float | None  # smallest relative worsening detectable; None when it cannot be estimated

    @property
    def relative_change(self) -> float | None:
        if self.baseline_median == 0:
            return None if self.candidate_median != 0 else 0.0
        return self.candidate_median / self.baseline_median - 1

    @property
    def effect(self) -> float | None:
        """The candidate's relative change of the median; positive is worse."""
        rel = self.relative_change
        if rel is None:
            return None
        return rel if self.worse == "higher" else -rel


def _z(p: float) -> float:
    return float(stats.norm.ppf(p))


def _wilson(k: int, n: int, conf: float) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
    return float(ci.low), float(ci.high)


def newcombe(k1: int, n1: int, k2: int, n2: int, conf: float = 0.95) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p2 (his method 10)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = _wilson(k1, n1, conf)
    l2, u2 = _wilson(k2, n2, conf)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


def rate_mde(p_base: float, n_base: int, n_cand: int, alpha: float, power: float,
             worse: Literal["higher", "lower"]) -> float:
    """The smallest worsening of the rate a one-sided test detects with `power` (Cohen's h)."""
    h = (_z(1 - alpha) + _z(power)) * math.sqrt(1 / n_base + 1 / n_cand)
    phi = math.asin(math.sqrt(min(1.0, max(0.0, p_base))))
    if worse == "higher":
        target = math.sin(min(math.pi / 2, phi + h / 2)) ** 2
        return target - p_base
    target = math.sin(max(0.0, phi - h / 2)) ** 2
    return p_base - target


def compare_rates(baseline: tuple[int, int], candidate: tuple[int, int], *, worse: Literal["higher", "lower"],
                  alpha: float, power: float, test: Literal["auto", "boschloo", "fisher"] = "auto",
                  ) -> RateComparison:
    (kb, nb), (kc, nc) = baseline, candidate
    if nb <= 0 or nc <= 0:
        raise ValueError("both sides need at least one run")
    # Columns are the two samples (candidate, baseline); "greater": the candidate's rate is higher.
    table = np.array([[kc, kb], [nc - kc, nb - kb]])
    alternative: Literal["greater", "less"] = "greater" if worse == "higher" else "less"
    use = test if test != "auto" else ("boschloo" if max(nb, nc) <= BOSCHLOO_MAX_N else "fisher")
    if kc == kb == 0 or (kc == nc and kb == nb):
        p = 1.0  # nothing distinguishes the sides; the tests return NaN on such tables
    elif use == "boschloo":
        p = float(stats.boschloo_exact(table, alternative=alternative).pvalue)
    else:
        p = float(stats.fisher_exact(table, alternative=alternative).pvalue)
    if math.isnan(p):
        p = 1.0
    low, high = newcombe(kc, nc, kb, nb)
    return RateComparison(kb, nb, kc, nc, worse, use, min(1.0, p), low, high,
                          rate_mde(kb / nb, nb, nc, alpha, power, worse))


def compare_values(baseline: Sequence[float], candidate: Sequence[float], *, worse: Literal["higher", "lower"],
                   alpha: float, power: float) -> ContinuousComparison:
    b = np.asarray(baseline, dtype=float)
    c = np.asarray(candidate, dtype=float)
    if len(b) == 0 or len(c) == 0:
        raise ValueError("both sides need at least one value")
    alternative: Literal["greater", "less"] = "greater" if worse == "higher" else "less"
    if np.ptp(np.concatenate([b, c])) == 0:
        p = 1.0  # every value equal: no test can see a difference, and none exists in the sample
    else:
        p = float(stats.mannwhitneyu(c.tolist(), b.tolist(), alternative=alternative).pvalue)
    mb, mc = float(np.median(b)), float(np.median(c))
    ci_low = ci_high = None
    if mb != 0 and len(b) > 1 and len(c) > 1:
        def ratio(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
            # A resample whose baseline median is 0 has no relative change: it is left out (NaN).
            with np.errstate(divide="ignore", invalid="ignore"):
                out: np.ndarray = np.median(x, axis=axis) / np.median(y, axis=axis) - 1
            return np.where(np.isfinite(out), out, np.nan)
        res = stats.bootstrap((c, b), ratio, n_resamples=_BOOTSTRAP_RESAMPLES, method="percentile",
                              vectorized=True, rng=np.random.default_rng(_SEED))
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(lo) and math.isfinite(hi):
            ci_low, ci_high = lo, hi
    return ContinuousComparison(len(b), len(c), mb, mc, worse, min(1.0, p), ci_low, ci_high,
                                _values_mde(b, c, alpha, power, worse))


def _values_mde(b: np.ndarray, c: np.ndarray, alpha: float, power: float,
                worse: Literal["higher", "lower"]) -> float | None:
    if len(b) < 2 or len(c) < 2:
        return None
    z = (_z(1 - alpha) + _z(power)) * math.sqrt(1 / len(b) + 1 / len(c)) / math.sqrt(_ARE)
    if (b > 0).all() and (c > 0).all():
        # Costs and latencies are skewed: a shift of the logs is a relative change.
        sd = float(np.sqrt((np.var(np.log(b), ddof=1) * (len(b) - 1) + np.var(np.log(c), ddof=1) * (len(c) - 1))
                           / (len(b) + len(c) - 2)))
        return math.expm1(z * sd) if worse == "higher" else -math.expm1(-z * sd)
    median = float(np.median(b))
    if median == 0:
        return None
    sd = float(np.std(np.concatenate([b, c]), ddof=1))
    return z * sd / abs(median)
