"""The canary's statistics, checked against published values and independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from evalloop.canary.stats import compare_rates, compare_values, newcombe, rate_mde


def _fisher_greater(k1: int, n1: int, k2: int, n2: int) -> float:
    """One-sided Fisher p (sample 1's rate higher), summed from the hypergeometric distribution by hand."""
    total, events = n1 + n2, k1 + k2
    denom = math.comb(total, events)
    return sum(math.comb(n1, x) * math.comb(n2, events - x) for x in range(k1, min(n1, events) + 1)) / denom


def test_newcombe_matches_his_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II example (a): 56/70 - 48/80, method 10.
    low, high = newcombe(56, 70, 48, 80)
    assert low == pytest.approx(0.0524, abs=5e-4)
    assert high == pytest.approx(0.3339, abs=5e-4)


def test_newcombe_at_zero_events_is_a_real_interval() -> None:
    low, high = newcombe(0, 200, 0, 200)
    assert low < 0 < high
    assert high == pytest.approx(1.9e-2, abs=1e-3)  # Wilson's 95% upper bound at 0/200


def test_rate_test_direction_and_value() -> None:
    worse = compare_rates((3, 1000), (20, 1000), worse="higher", alpha=0.05, power=0.8)
    assert worse.test == "fisher"  # above the Boschloo size limit
    assert worse.p_value == pytest.approx(_fisher_greater(20, 1000, 3, 1000), rel=1e-9)
    assert worse.effect == pytest.approx(0.017)
    better = compare_rates((20, 1000), (3, 1000), worse="higher", alpha=0.05, power=0.8)
    assert better.p_value > 0.99 and better.effect < 0
    # "lower is worse" (a pass rate): fewer passes in the candidate is the regression
    quality = compare_rates((190, 200), (160, 200), worse="lower", alpha=0.05, power=0.8)
    assert quality.test == "boschloo" and quality.p_value < 1e-4 and quality.effect == pytest.approx(0.15)


def test_boschloo_is_at_least_as_powerful_as_fisher() -> None:
    b = compare_rates((1, 150), (8, 150), worse="higher", alpha=0.05, power=0.8, test="boschloo")
    f = compare_rates((1, 150), (8, 150), worse="higher", alpha=0.05, power=0.8, test="fisher")
    assert b.p_value <= f.p_value
    assert f.p_value == pytest.approx(_fisher_greater(8, 150, 1, 150), rel=1e-9)


def test_no_events_anywhere_is_no_evidence_of_regression() -> None:
    r = compare_rates((0, 400), (0, 400), worse="higher", alpha=0.05, power=0.8)
    assert r.p_value == 1.0 and r.effect == 0
    # but the sample could only see a rise of about 0.8 points: "passed" is bounded by that
    assert 0.005 < r.mde < 0.012


def test_rate_mde_has_the_power_it_claims() -> None:
    # Simulate: with the true rate raised by the MDE, the one-sided test at alpha 0.05 should
    # reject about 80% of the time (the arcsine approximation; Fisher is a little conservative).
    rng = np.random.default_rng(7)
    n, p0 = 400, 0.05
    mde = rate_mde(p0, n, n, 0.05, 0.8, "higher")
    rejections = 0
    trials = 300
    for _ in range(trials):
        kb, kc = int(rng.binomial(n, p0)), int(rng.binomial(n, p0 + mde))
        rejections += compare_rates((kb, n), (kc, n), worse="higher", alpha=0.05, power=0.8,
                                    test="fisher").p_value < 0.05
    assert 0.6 < rejections / trials < 0.92
    # the arcsine MDE grows as the sample shrinks
    assert rate_mde(p0, 50, 50, 0.05, 0.8, "higher") > 2 * mde


def test_values_shifted_up_are_detected_with_the_right_effect() -> None:
    rng = np.random.default_rng(11)
    base = rng.lognormal(6.0, 0.4, 300)
    cand = rng.lognormal(6.0, 0.4, 300) * 1.3
    c = compare_values(base.tolist(), cand.tolist(), worse="higher", alpha=0.05, power=0.8)
    expected_p = sps.mannwhitneyu(cand, base, alternative="greater").pvalue
    assert c.p_value == pytest.approx(float(expected_p))
    assert c.p_value < 1e-6
    assert c.effect == pytest.approx(float(np.median(cand) / np.median(base) - 1))
    assert c.ci_low is not None and c.ci_high is not None and c.ci_low < c.effect < c.ci_high
    assert c.mde is not None and 0.02 < c.mde < 0.15


def test_same_distribution_is_not_a_regression_and_the_interval_is_reproducible() -> None:
    rng = np.random.default_rng(5)
    base, cand = rng.lognormal(5, 0.5, 200).tolist(), rng.lognormal(5, 0.5, 200).tolist()
    a = compare_values(base, cand, worse="higher", alpha=0.05, power=0.8)
    b = compare_values(base, cand, worse="higher", alpha=0.05, power=0.8)
    assert a.p_value > 0.05
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert a.ci_low is not None and a.ci_high is not None and a.ci_low < 0 < a.ci_high


def test_constant_values_and_zero_baseline() -> None:
    same = compare_values([2.0] * 50, [2.0] * 50, worse="higher", alpha=0.05, power=0.8)
    assert same.p_value == 1.0 and same.effect == 0
    zero = compare_values([0.0] * 50, [1.0] * 50, worse="higher", alpha=0.05, power=0.8)
    assert zero.effect is None  # no relative change from 0: the decision must not call it a pass
