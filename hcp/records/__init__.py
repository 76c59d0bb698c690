"""One validated record class per topic. Producers and agents share them."""

from hcp.records.alerts import Alert, AlertStatus, Severity
from hcp.records.base import SCHEMA_VERSION, Record
from hcp.records.billing import MeteredUsage, UsageLine
from hcp.records.control import CommandKind, ControlCommand, Decision, DecisionKind
from hcp.records.deadletters import DeadLetter
from hcp.records.devices import DeviceChange, DeviceKind, DeviceStatus
from hcp.records.market import PRICE_UNITS, PriceKind, PriceTick
from hcp.records.telemetry import AsicReading, AsicTelemetry, GpuReading, GpuTelemetry
from hcp.records.workloads import QosClass, WorkloadRequest

__all__ = [
    "PRICE_UNITS",
    "SCHEMA_VERSION",
    "Alert",
    "AlertStatus",
    "AsicReading",
    "AsicTelemetry",
    "CommandKind",
    "ControlCommand",
    "DeadLetter",
    "Decision",
    "DecisionKind",
    "DeviceChange",
    "DeviceKind",
    "DeviceStatus",
    "GpuReading",
    "GpuTelemetry",
    "MeteredUsage",
    "PriceKind",
    "PriceTick",
    "QosClass",
    "Record",
    "Severity",
    "UsageLine",
    "WorkloadRequest",
]
