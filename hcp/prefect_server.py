"""A local Prefect server (API and UI) as a child process, with its state under the platform's storage home.

`start_prefect_server` runs `prefect server start` with `PREFECT_HOME=<home>/prefect`, waits until its API
answers and returns a handle whose `stop()` ends it. `hcp serve` and the UI tests and screenshots use it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hcp.exceptions import HcpError


class ServeSettings(BaseSettings):
    """Where `hcp serve` runs the Prefect server and how long it waits for it."""

    model_config = SettingsConfigDict(env_prefix="HCP_SERVE_", extra="ignore")

    host: str = Field("127.0.0.1", min_length=1, description="address the Prefect server (API and UI) binds to")
    port: int = Field(4200, ge=1024, le=65535, description="port of the Prefect server")
    start_timeout_s: float = Field(180.0, gt=0, le=1800, description="longest wait for the server to answer")
    scheduler_loop_s: float = Field(
        60.0, ge=1, le=3600, description="how often the server's scheduler creates the next scheduled runs"
    )


class PrefectServerError(HcpError):
    """The Prefect server could not be started or did not answer in time."""


@dataclass
class PrefectServer:
    """A running `prefect server start` child process."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_file: Path

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 20.0) -> int:
        """Ask the server to stop, kill it after `timeout` seconds; returns its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def prefect_environment(prefect_home: Path, settings: ServeSettings) -> dict[str, str]:
    """The environment of the server process: its own PREFECT_HOME, no telemetry, the scheduler's loop."""
    env = dict(os.environ)
    env.update(
        {
            "PREFECT_HOME": str(prefect_home.resolve()),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": f"{settings.scheduler_loop_s:g}",
            # the UI asks its browser to call this API: without it, it calls the default port 4200
            "PREFECT_UI_API_URL": f"http://{settings.host}:{settings.port}/api",
            "PREFECT_SERVER_API_HOST": settings.host,
            "PREFECT_SERVER_API_PORT": str(settings.port),
        }
    )
    env.pop("PREFECT_API_URL", None)
    return env


def start_prefect_server(prefect_home: Path, log_file: Path, settings: ServeSettings | None = None) -> PrefectServer:
    """Start the server and wait until `/api/health` answers; raise `PrefectServerError` with the log's tail."""
    settings = settings or ServeSettings()
    prefect_home.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect), "server", "start", "--host", settings.host, "--port", str(settings.port)]
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=prefect_environment(prefect_home, settings)
        )
    server = PrefectServer(process, settings.host, settings.port, log_file)
    deadline = time.monotonic() + settings.start_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PrefectServerError(f"prefect server exited with {process.returncode}: {_tail(log_file)}")
        if _healthy(server.api_url):
            return server
        time.sleep(0.5)
    server.stop()
    raise PrefectServerError(
        f"prefect server did not answer on {server.api_url} within {settings.start_timeout_s:g} s: {_tail(log_file)}"
    )


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:  # noqa: S310 (local http URL)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(log_file: Path, chars: int = 1500) -> str:
    try:
        return log_file.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"
