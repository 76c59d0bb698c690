"""The temporal parameters of dispatch, in one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass

from hcp.exceptions import ConfigError


@dataclass(frozen=True)
class DispatchConfig:
    """How quickly the ASIC groups follow the optimiser's target from one interval to the next.

    None of these ever lets the site exceed its cap: a reduction the cap needs (for example to make room for new
    GPU work) happens at once, whatever the counters say. GPU grants take effect at once too.
    """

    curtail_after: int = 1
    """Intervals in a row with a target below the group's state before the group is reduced (N)."""
    resume_after: int = 2
    """Intervals in a row with a target above the group's state before the group ramps up (M)."""
    min_dwell: int = 2
    """Intervals a group stays put after a reduction before it may ramp up again (ignored by the high strike)."""
    high_strike_multiple: float = 2.0
    """A last real-time price at or above this multiple of a model's best breakeven (its most efficient rung)
    sends that model's groups to the base state at once, whatever the counters and the estimate say."""
    ramp_mw_per_step: float = 5.0
    """Most ASIC MW added per interval across the site (staggered ramp-up; reductions are not limited)."""
    ramp_devices_per_step: int = 2_000
    """Most device-rung moves up per interval across the site (a device climbing two rungs counts twice)."""

    def __post_init__(self) -> None:
        for name in ("curtail_after", "resume_after", "ramp_devices_per_step"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.min_dwell < 0:
            raise ConfigError(f"min_dwell must not be negative, got {self.min_dwell}")
        if self.high_strike_multiple <= 1.0:
            raise ConfigError(f"high_strike_multiple must exceed 1, got {self.high_strike_multiple}")
        if self.ramp_mw_per_step <= 0.0:
            raise ConfigError(f"ramp_mw_per_step must be positive, got {self.ramp_mw_per_step}")
