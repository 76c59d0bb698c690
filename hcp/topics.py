"""Topic names, partition counts and the record class of each topic: declared once, here."""

from __future__ import annotations

from dataclasses import dataclass

from hcp.records import (
    Alert,
    AsicTelemetry,
    ControlCommand,
    Decision,
    DeviceChange,
    GpuTelemetry,
    MeteredUsage,
    PriceTick,
    Record,
    WorkloadRequest,
)

TELEMETRY_ASIC = "telemetry.asic"
TELEMETRY_GPU = "telemetry.gpu"
MARKET_PRICES = "market.prices"
WORKLOAD_REQUESTS = "workloads.requests"
CONTROL_COMMANDS = "control.commands"
DECISIONS = "decisions"
ALERTS = "alerts"
FLEET_DEVICES = "fleet.devices"
DEAD_LETTERS = "deadletters"
BILLING_USAGE = "billing.usage"


@dataclass(frozen=True)
class TopicSpec:
    """A topic's contract: name, partitions, message key and the record class of its values."""

    name: str
    partitions: int
    key: str
    record: type[Record] | None
    description: str


TOPICS: dict[str, TopicSpec] = {
    spec.name: spec
    for spec in (
        TopicSpec(TELEMETRY_ASIC, 6, "site_id", AsicTelemetry, "ASIC readings, one message per collector poll"),
        TopicSpec(TELEMETRY_GPU, 6, "site_id", GpuTelemetry, "GPU readings, one message per collector poll"),
        TopicSpec(
            MARKET_PRICES,
            1,
            "<kind>:<node|gpu_type|->",
            PriceTick,
            "energy, hashprice, BTC and GPU rental prices; one partition keeps every price in order",
        ),
        TopicSpec(WORKLOAD_REQUESTS, 3, "customer_id", WorkloadRequest, "AI jobs submitted by customers"),
        TopicSpec(CONTROL_COMMANDS, 3, "site_id", ControlCommand, "commands the platform sends to devices"),
        TopicSpec(DECISIONS, 3, "site_id", Decision, "every decision with its reason and numbers"),
        TopicSpec(ALERTS, 1, "site_id or 'pipeline'", Alert, "alert transitions (firing, resolved)"),
        TopicSpec(FLEET_DEVICES, 3, "site_id", DeviceChange, "device discovery and status changes"),
        TopicSpec(BILLING_USAGE, 3, "site_id", MeteredUsage, "GPU-seconds the stream meter found, one per GPU poll"),
        TopicSpec(
            DEAD_LETTERS,
            1,
            "the original key",
            None,
            "rejected messages: original payload, reason and origin in headers",
        ),
    )
}

# Topics whose values are validated records (every topic but the dead letters).
RECORD_TOPICS: tuple[str, ...] = tuple(name for name, spec in TOPICS.items() if spec.record is not None)
