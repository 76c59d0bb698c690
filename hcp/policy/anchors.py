"""The two benchmark rules the policy must beat, vectorised over a month of intervals.

Both see exactly what the policy sees: `last_prices[i]` is the real-time price of the interval before `i`
(NaN when unknown, which runs) and `breakevens[i]` comes from yesterday's hashprice.
"""

from __future__ import annotations

import numpy as np

from hcp.policy.margins import FloatArray


def lag1_fractions(last_prices: FloatArray, breakevens: FloatArray) -> FloatArray:
    """Run when the previous interval's price was below breakeven (and when it is unknown)."""
    above = np.nan_to_num(np.asarray(last_prices, dtype=np.float64), nan=-np.inf) >= breakevens
    return (~above).astype(np.float64)


def hysteresis_fractions(
    last_prices: FloatArray, breakevens: FloatArray, curtail_after: int = 2, resume_after: int = 4
) -> FloatArray:
    """Curtail after `curtail_after` known intervals in a row above breakeven; resume after `resume_after` below."""
    fractions = np.ones(len(last_prices), dtype=np.float64)
    running, above, below = True, 0, 0
    for i, (last, breakeven) in enumerate(zip(last_prices, breakevens, strict=True)):
        if not np.isnan(last):
            above, below = (above + 1, 0) if last >= breakeven else (0, below + 1)
            if running and above >= curtail_after:
                running = False
            elif not running and below >= resume_after:
                running = True
        fractions[i] = 1.0 if running else 0.0
    return fractions
