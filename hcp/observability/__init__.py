"""Metrics and health checks of every long-running process: a Prometheus registry, a lag poller and an HTTP
endpoint (`/metrics`, `/health/live`, `/health/ready`)."""

from hcp.observability.lag import LagPoller, LagSnapshot, read_lag
from hcp.observability.metrics import PlatformMetrics
from hcp.observability.server import HealthServer
from hcp.observability.settings import MetricsSettings

__all__ = ["HealthServer", "LagPoller", "LagSnapshot", "MetricsSettings", "PlatformMetrics", "read_lag"]
