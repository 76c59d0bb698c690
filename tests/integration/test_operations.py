"""Operations end to end on the real broker: a worker, the notifier and a real Prometheus during a short
demo-like run with the four injected faults. Each fault raises its alert within 10 simulated seconds, is
notified once to a local webhook and a local SMTP server, and resolves when it clears; the worker's metrics
endpoint serves fleet and pipeline metrics while it runs, and Prometheus scrapes it and evaluates the shipped
rules."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import datetime, timedelta

import pytest

from hcp.notify.process import start_notifier_process
from hcp.processes import start_worker_process, stop_process, wait_until_group_stable
from hcp.settings import REPO_ROOT, SimulatorSettings
from simulators.faults import Fault
from simulators.runner import run_simulation
from tests.conftest import free_port
from tests.receivers import SmtpSink, WebhookSink

pytestmark = pytest.mark.integration

FLEET = """
sites:
  - {site_id: west-1, node: HB_WEST, power_cap_mw: 5.0, collector_size: 50,
     asics: [{model: S21, count: 20}], gpus: [{model: H100, count: 16}]}
  - {site_id: west-2, node: LZ_WEST, power_cap_mw: 5.0, collector_size: 50,
     asics: [{model: S19 XP, count: 10}], gpus: [{model: A100, count: 8}]}
customers:
  - {customer_id: acme-ai, share: 1}
"""
FAULTS = (
    Fault(kind="price_spike", at_s=0, duration_s=900, node="HB_WEST", value=3000.0),
    Fault(kind="asic_overheat", at_s=600, duration_s=600, device_id="west-1-s21-0001"),
    Fault(kind="gpu_offline", at_s=900, duration_s=300, device_id="west-2-a100-0001"),
    Fault(kind="stuck_queue", at_s=1200, duration_s=600, site_id="west-1"),
)
RULE_OF = {"price_spike": "price_spike", "asic_overheat": "asic_overheat", "gpu_offline": "device_offline",
           "stuck_queue": "gpu_stuck_job"}


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def injected_alerts(bodies: list[dict], sim: SimulatorSettings) -> dict[str, list[dict]]:
    """Webhook bodies per injected fault kind (matched by rule and subject)."""
    subjects = {"price_spike": "HB_WEST", "asic_overheat": "west-1-s21-0001", "gpu_offline": "west-2-a100-0001"}
    found: dict[str, list[dict]] = {kind: [] for kind in RULE_OF}
    for body in bodies:
        alert = body["alert"]
        for kind, rule in RULE_OF.items():
            if alert["rule"] == rule and (kind == "stuck_queue" or alert["device_id"] == subjects[kind]):
                found[kind].append(body)
    return found


def fault_visible_at(fault: Fault, sim: SimulatorSettings) -> datetime:
    """When the platform can first see the fault: its start; a real-time price only at its interval's end."""
    start = sim.start + timedelta(seconds=fault.at_s)
    return start + timedelta(seconds=sim.price_interval_s) if fault.kind == "price_spike" else start


@pytest.fixture
def prometheus(tmp_path):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus absent: apt-get install prometheus")
    yield binary


def test_injected_faults_alert_notify_once_and_resolve_while_metrics_are_scraped(platform, tmp_path, prometheus):
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(FLEET)
    metrics_port = free_port()
    webhook, smtp = WebhookSink(), SmtpSink()
    env = platform.env | {
        "HCP_FLEET_FILE": str(fleet_file),
        "HCP_METRICS_PORT": str(metrics_port),
        "HCP_METRICS_LAG_POLL_INTERVAL_S": "1",
        "HCP_NOTIFY_WEBHOOK_URL": webhook.url,
        "HCP_NOTIFY_WEBHOOK_SECRET": "it-secret",
        "HCP_NOTIFY_SMTP_HOST": "127.0.0.1",
        "HCP_NOTIFY_SMTP_PORT": str(smtp.port),
        "HCP_NOTIFY_SMTP_TO": '["ops@example.com"]',
        "HCP_NOTIFY_ROUTES": '{"critical": ["webhook", "email"], "warning": ["webhook", "email"], "info": []}',
        "HCP_NOTIFY_POLL_INTERVAL_S": "0.2",
        "HCP_NOTIFY_RATE_LIMIT_PER_MINUTE": "100000",
    }
    prom_port = free_port()
    prom_dir = tmp_path / "prometheus"
    prom_dir.mkdir()
    (prom_dir / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(REPO_ROOT / "ops" / "prometheus" / "alert-rules.yml")],
        "scrape_configs": [{"job_name": "hcp-worker", "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}],
    }))
    prom = subprocess.Popen(
        [prometheus, f"--config.file={prom_dir / 'prometheus.yml'}", f"--storage.tsdb.path={prom_dir / 'data'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=(prom_dir / "log").open("wb"), stderr=subprocess.STDOUT,
    )
    run_dir = platform.storage.run_dir
    worker = start_worker_process(env, run_dir / "worker.log", loglevel="info")
    notifier = start_notifier_process(env, run_dir / "notifier.log")
    sim = SimulatorSettings(hours=0.75, speed=600, jobs_per_hour=120, ai_burst=False)
    try:
        wait_until_group_stable(platform.broker, "hcp", worker)
        from hcp.fleet import load_fleet

        run_simulation(sim, platform.broker, platform.storage, load_fleet(fleet_file), run_id="ops", faults=FAULTS)

        # While the worker runs: its endpoint serves fleet and pipeline metrics, and it is ready.
        status, text = get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200
        for sample in ('hcp_site_hashrate_ths{site="west-1"}', 'hcp_site_devices{kind="gpu",site="west-2",state=',
                       'hcp_messages_consumed_total{topic="telemetry.asic"}', "hcp_consumer_lag_messages{",
                       "hcp_decision_latency_seconds_bucket", 'hcp_energy_price_usd_mwh{market="rt",node="HB_WEST"}',
                       'hcp_site_revenue_usd_per_hour{site="west-1",source="mining"}', "hcp_alerts_total{"):
            assert sample in text, sample
        assert get(f"http://127.0.0.1:{metrics_port}/health/ready")[0] == 200

        # `hcp status --once` draws the run's state from the topics.
        frame = subprocess.run([sys.executable, "-m", "hcp", "status", "--once", "--width", "160"], env=env,
                               capture_output=True, text=True, timeout=60)
        assert frame.returncode == 0, frame.stderr
        for expected in ("west-1", "west-2", "HB_WEST", "last decisions", "job queue", "active alerts"):
            assert expected in frame.stdout, expected

        def all_resolved() -> bool:
            found = injected_alerts(webhook.bodies(), sim)
            return all(any(b["kind"] == "resolved" for b in bodies) for bodies in found.values())

        wait_for(all_resolved, 60, "the injected faults' resolved notifications")
        time.sleep(2)  # any duplicate would arrive by now

        found = injected_alerts(webhook.bodies(), sim)
        for fault in FAULTS:
            bodies = found[fault.kind]
            kinds = Counter(b["kind"] for b in bodies)
            assert kinds == {"firing": 1, "resolved": 1}, (fault.kind, kinds)
            fired = datetime.fromisoformat(next(b["alert"]["event_time"] for b in bodies if b["kind"] == "firing"))
            delay = (fired - fault_visible_at(fault, sim)).total_seconds()
            assert 0 <= delay <= 10, (fault.kind, delay)
            alert_ids = {b["alert"]["alert_id"] for b in bodies}
            assert len(alert_ids) == 1
            mails = [m for m in smtp.messages if m["X-HCP-Alert-Id"] in alert_ids]
            assert sorted(m["Subject"].split()[2] for m in mails) == ["FIRING", "RESOLVED"], fault.kind

        # Prometheus scraped the worker and evaluates the shipped rules on its series.
        api = f"http://127.0.0.1:{prom_port}/api/v1"
        wait_for(lambda: '"health":"up"' in get(f"{api}/targets")[1], 30, "Prometheus to scrape the worker")
        hashrate = json.loads(get(f"{api}/query?query=hcp_site_hashrate_ths")[1])["data"]["result"]
        assert {r["metric"]["site"] for r in hashrate} == {"west-1", "west-2"}
        groups = json.loads(get(f"{api}/rules")[1])["data"]["groups"]
        assert {g["name"] for g in groups} == {"hcp-recording", "hcp-pipeline", "hcp-fleet"}
        wait_for(lambda: json.loads(get(f"{api}/query?query=hcp:site_margin_usd_per_hour")[1])["data"]["result"],
                 30, "the recording rule to evaluate")
        rules = [r for g in json.loads(get(f"{api}/rules")[1])["data"]["groups"] for r in g["rules"]]
        assert all(r["health"] in ("ok", "unknown") for r in rules), [r for r in rules if r["health"] == "err"]
    finally:
        for process in (notifier, worker):
            stop_process(process)
        prom.terminate()
        prom.wait(30)
        webhook.close()
        smtp.close()
