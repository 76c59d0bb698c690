"""The single exception family of the billing package."""

from __future__ import annotations

from hcp.exceptions import HcpError


class BillingError(HcpError):
    """Usage could not be priced, stored or rendered."""


class RateCardError(BillingError):
    """A rate card file is invalid, or a customer with usage has no rate card; the message names which."""


class PeriodError(BillingError):
    """A billing period was given in a form that cannot be read; the message shows the accepted forms."""
