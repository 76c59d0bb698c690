"""The deployments `hcp serve` serves: one per batch flow, each on a cron schedule, parameters its flow accepts."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from croniter import croniter

import flows
from flows.deployments import deployment_specs, load_flow, runner_deployments
from hcp.settings import StorageSettings

pytestmark = pytest.mark.component

EXPECTED = {
    "warehouse-hourly": "flows.warehouse:build_warehouse",
    "quality-hourly": "flows.quality:check_landed_batches",
    "billing-daily": "flows.billing:bill_customers",
    "report-daily": "flows.reports:build_daily_report",
    "models-weekly": "flows.training:train_models",
    "forecasts-daily": "flows.planning:publish_forecasts",
}


def test_every_batch_flow_has_a_scheduled_deployment(tmp_path: Path):
    specs = {spec.name: spec for spec in deployment_specs(StorageSettings(home=tmp_path))}

    assert {name: spec.entrypoint for name, spec in specs.items()} == EXPECTED
    for spec in specs.values():
        assert croniter.is_valid(spec.cron), spec


def test_deployment_parameters_bind_to_their_flow_and_point_into_the_home(tmp_path: Path):
    for spec in deployment_specs(StorageSettings(home=tmp_path)):
        flow = load_flow(spec.entrypoint)
        inspect.signature(flow.fn).bind(**spec.parameters)  # raises TypeError on a missing or unknown parameter
        for name, value in spec.parameters.items():
            if name in ("landing_dir", "warehouse_path", "quality_dir", "billing_dir", "reports_dir", "home"):
                assert Path(value).is_absolute() and Path(value).is_relative_to(tmp_path.resolve()), (spec.name, name)


def test_runner_deployments_carry_the_cron_schedules(tmp_path: Path):
    specs = deployment_specs(StorageSettings(home=tmp_path))

    deployments = runner_deployments(specs)

    assert [d.name for d in deployments] == [spec.name for spec in specs]
    for deployment, spec in zip(deployments, specs, strict=True):
        [schedule] = deployment.schedules
        assert schedule.schedule.cron == spec.cron
        assert deployment.entrypoint == spec.entrypoint.replace(":", ".")


def test_every_flow_module_imports_and_every_deployed_flow_is_deployed():
    names = [m.name for m in pkgutil.walk_packages(flows.__path__, "flows.")]
    for name in names:
        importlib.import_module(name)
    assert {entrypoint.partition(":")[0] for entrypoint in EXPECTED.values()} <= set(names)
