import math

import numpy as np

from hcp.policy import (
    compute_full_margins,
    hindsight_fractions,
    hysteresis_fractions,
    lag1_fractions,
    share_of_gain,
    share_of_optimal,
)

BE = np.full(10, 100.0)


def test_lag1_runs_when_the_previous_price_was_below_breakeven_and_when_unknown():
    last = np.array([math.nan, 50, 150, 99, 101, 0, 0, 0, 0, 0], dtype=float)
    assert lag1_fractions(last, BE).tolist() == [1, 1, 0, 1, 0, 1, 1, 1, 1, 1]


def test_hysteresis_curtails_after_two_above_and_resumes_after_four_below():
    last = np.array([math.nan, 150, 150, 50, 50, 50, 150, 50, 50, 50, 50], dtype=float)
    # one interval above does not curtail; the fourth below in a row (index 10) resumes, the third does not
    assert hysteresis_fractions(last, np.full(11, 100.0)).tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_full_margin_follows_the_issue_formula():
    margins = compute_full_margins(10, 200.0, 3500.0, np.array([60.0]), np.array([80.0]), 0.25)
    expected = 10 * (200 / 1000 * 60 * 0.25 / 24 - 3500 / 1e6 * 80 * 0.25)
    assert margins[0] == expected
    assert hindsight_fractions(np.array([-1.0, 0.0, 2.0])).tolist() == [0, 0, 1]


def test_shares_are_none_when_their_denominator_is_zero():
    assert share_of_optimal(5.0, 0.0) is None
    assert share_of_gain(5.0, 10.0, 10.0) is None
    assert share_of_gain(15.0, 10.0, 20.0) == 0.5
