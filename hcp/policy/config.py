"""The tunable numbers of the curtailment policy, in one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass

from hcp.exceptions import ConfigError


@dataclass(frozen=True)
class CurtailmentPolicy:
    """How a model's fleet responds to the estimated energy price of the interval about to start.

    All price thresholds are multiples of the model's breakeven, so one policy serves every model and hashprice.
    The defaults were chosen by measurement on January 2022 (see docs/backtest.md).
    """

    persistence: float = 1.0
    """Share of the last interval's real-time minus day-ahead deviation expected to carry into this interval."""
    band: float = 0.05
    """Half-width, as a share of breakeven, of the price band in which only part of the fleet runs."""
    high_strike_multiple: float = 2.0
    """A last real-time price at or above this multiple of breakeven curtails at once, whatever the dwell."""
    curtail_after: int = 1
    """Intervals in a row with the estimate above the band before the fleet is reduced."""
    resume_after: int = 1
    """Intervals in a row with the estimate below the band before a curtailed fleet ramps back up."""
    min_dwell: int = 0
    """Intervals a fleet stays at a run fraction before it may ramp up again (high strike ignores it)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.persistence <= 1.5:
            raise ConfigError(f"persistence must be within 0 and 1.5, got {self.persistence}")
        if not 0.0 <= self.band < 1.0:
            raise ConfigError(f"band must be within 0 and 1, got {self.band}")
        if self.high_strike_multiple <= 1.0:
            raise ConfigError(f"high_strike_multiple must exceed 1, got {self.high_strike_multiple}")
        for name in ("curtail_after", "resume_after"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.min_dwell < 0:
            raise ConfigError(f"min_dwell must not be negative, got {self.min_dwell}")
