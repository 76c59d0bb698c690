"""The stream meter: billable GPU-seconds from telemetry.gpu, published to billing.usage (docs/billing.md)."""
