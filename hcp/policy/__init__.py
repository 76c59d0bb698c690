"""The curtailment policy: pure code shared by the live agents and `hcp backtest` (no I/O, no faust, no prefect)."""

from hcp.policy.anchors import hysteresis_fractions, lag1_fractions
from hcp.policy.config import CurtailmentPolicy
from hcp.policy.margins import (
    compute_breakevens,
    compute_full_margins,
    hindsight_fractions,
    share_of_gain,
    share_of_optimal,
    sum_value,
)
from hcp.policy.stepper import DEFAULT_POLICY, Observation, PolicyState, estimate_price, step, target_fraction

__all__ = [
    "DEFAULT_POLICY",
    "CurtailmentPolicy",
    "Observation",
    "PolicyState",
    "compute_breakevens",
    "compute_full_margins",
    "estimate_price",
    "hindsight_fractions",
    "hysteresis_fractions",
    "lag1_fractions",
    "share_of_gain",
    "share_of_optimal",
    "step",
    "sum_value",
    "target_fraction",
]
