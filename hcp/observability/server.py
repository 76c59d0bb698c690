"""An HTTP endpoint for Prometheus and health checks, in a daemon thread (works beside any event loop).

- `GET /metrics`: the registry in Prometheus text format;
- `GET /health/live`: 200 while the process runs;
- `GET /health/ready`: 200 when the readiness check passes (broker reachable, lag under threshold), else 503,
  with the check's details as JSON.

With a token set, every request must carry `Authorization: Bearer <token>` (else 401).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from hcp.observability.exceptions import ObservabilityError

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], tuple[bool, dict[str, object]]]


class HealthServer:
    """Serves one registry and one readiness check on `host:port` until `stop()`."""

    def __init__(
        self,
        registry: CollectorRegistry,
        ready: ReadinessCheck,
        host: str,
        port: int,
        token: str | None = None,
    ) -> None:
        self.registry, self.ready, self.token = registry, ready, token
        try:
            self._server = ThreadingHTTPServer((host, port), self._handler())
        except OSError as err:
            raise ObservabilityError(f"cannot serve metrics on {host}:{port}: {err}; set HCP_METRICS_PORT") from err
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="hcp-metrics", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _authorised(self, header: str | None) -> bool:
        if not self.token:
            return True
        expected = f"Bearer {self.token}"
        return header is not None and hmac.compare_digest(header.encode(), expected.encode())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not outer._authorised(self.headers.get("Authorization")):
                    self._reply(401, b"unauthorised: send Authorization: Bearer <HCP_METRICS_TOKEN>\n", "text/plain")
                    return
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._reply(200, generate_latest(outer.registry), CONTENT_TYPE_LATEST)
                elif path in ("/health/live", "/healthz"):
                    self._reply(200, b'{"live": true}\n', "application/json")
                elif path in ("/health/ready", "/readyz"):
                    ok, details = outer.ready()
                    body = json.dumps({"ready": ok, **details}, default=str).encode() + b"\n"
                    self._reply(200 if ok else 503, body, "application/json")
                else:
                    self._reply(404, b"not found: /metrics, /health/live, /health/ready\n", "text/plain")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("metrics endpoint: " + format, *args)

        return Handler
