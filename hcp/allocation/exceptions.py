"""The exception family of the allocation package."""

from hcp.exceptions import HcpError


class AllocationError(HcpError):
    """An allocation problem cannot be solved as stated (for example the sleep floor alone exceeds the cap)."""
