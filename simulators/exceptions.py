"""The simulators' exception family, under the core's `HcpError`."""

from hcp.exceptions import HcpError


class SimulatorError(HcpError):
    """A simulator was asked something it cannot do."""


class UnknownTargetError(SimulatorError):
    """A command names a site, model or device the simulated fleet does not have."""


class TargetBusyError(SimulatorError):
    """A command asks for devices or jobs that are not in the state it needs (GPUs not free, job not running)."""
