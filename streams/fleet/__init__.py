"""Fleet: device discovery and online/offline status from telemetry."""
