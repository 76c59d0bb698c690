"""The shipped Prometheus rules and configuration are valid, and the rules fire as their unit tests state."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from hcp.settings import REPO_ROOT

OPS = REPO_ROOT / "ops"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool absent: apt-get install prometheus")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=OPS / "prometheus", timeout=60)


@needs_promtool
def test_promtool_accepts_the_alert_rules() -> None:
    result = promtool("check", "rules", "alert-rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_alert_rules_pass_their_promtool_unit_tests() -> None:
    result = promtool("test", "rules", "alert-rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_example_prometheus_configuration_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_grafana_dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads((OPS / "grafana" / "hcp-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert len(exprs) >= 10
    source = "".join(p.read_text() for d in ("observability", "notify") for p in (REPO_ROOT / "hcp" / d).glob("*.py"))
    for expr in exprs:
        names = set(re.findall(r"\bhcp_[a-z_]+", expr))
        for name in names:
            base = name.removesuffix("_bucket").removesuffix("_total")
            assert f'"{base}' in source, f"{name} is not exported by hcp.observability or hcp.notify"
