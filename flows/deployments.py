"""The scheduled deployments `hcp serve` serves: every batch flow of the platform, with its cron schedule.

The same schedules are written in `prefect.yaml` for work-pool deployments (`prefect deploy --all`); this
module is the served form, whose parameters point at one storage home. A deployment whose flow module cannot be
imported (a part of the platform not installed) is left out with a warning rather than stopping the others.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hcp.settings import StorageSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeploymentSpec:
    """A flow (by `module:function`), its deployment name, cron schedule (UTC) and parameters."""

    name: str
    entrypoint: str
    cron: str
    description: str
    parameters: dict[str, Any]


def deployment_specs(storage: StorageSettings, fleet_file: Path | None = None) -> list[DeploymentSpec]:
    """Every scheduled deployment, its parameters pointing at `storage`'s home (absolute paths)."""
    home = storage.home.resolve()
    landing, warehouse = str(home / "landing"), str(home / "warehouse.duckdb")
    specs = [
        DeploymentSpec(
            "warehouse-hourly",
            "flows.warehouse:build_warehouse",
            "5 * * * *",
            "Load new landing files into DuckDB, then dbt build.",
            {
                "landing_dir": landing,
                "warehouse_path": warehouse,
                "fleet_file": str(fleet_file) if fleet_file else None,
            },
        ),
        DeploymentSpec(
            "quality-hourly",
            "flows.quality:check_landed_batches",
            "20 * * * *",
            "Data-quality gate over every landed batch; Data Docs under <home>/quality.",
            {"landing_dir": landing, "warehouse_path": warehouse, "quality_dir": str(home / "quality")},
        ),
        DeploymentSpec(
            "billing-daily",
            "flows.billing:bill_customers",
            "30 1 * * *",
            "Invoice every customer for the month of the latest usage (drafts until it is over), reconcile the meters.",
            {"warehouse_path": warehouse, "billing_dir": str(home / "billing")},
        ),
        DeploymentSpec(
            "report-daily",
            "flows.reports:build_daily_report",
            "0 2 * * *",
            "Daily operations and finance report (HTML) of the latest complete day.",
            {"warehouse_path": warehouse, "reports_dir": str(home / "reports")},
        ),
        DeploymentSpec(
            "models-weekly",
            "flows.training:train_models",
            "0 3 * * 1",
            "Train, evaluate, gate and register the workload classifier and the forecasters.",
            _training_parameters(home),
        ),
        DeploymentSpec(
            "forecasts-daily",
            "flows.planning:publish_forecasts",
            "50 5 * * *",
            "Forecast demand and prices for the coming week and write the capacity plan.",
            _forecast_parameters(home, warehouse, fleet_file),
        ),
    ]
    return [spec for spec in specs if spec.parameters is not None]


def _training_parameters(home: Path) -> dict[str, Any] | None:
    try:
        from models.settings import ModelSettings
    except ImportError:
        return None
    settings = ModelSettings()
    return {
        "pods_file": str(settings.pods_file),
        "requests_file": str(settings.requests_file),
        "prices_file": str(settings.prices_file),
        "home": str(home),
        "seed": settings.seed,
    }


def _forecast_parameters(home: Path, warehouse: str, fleet_file: Path | None) -> dict[str, Any] | None:
    try:
        from models.settings import ModelSettings
    except ImportError:
        return None
    settings = ModelSettings()
    return {
        "home": str(home),
        "requests_file": str(settings.requests_file),
        "prices_file": str(settings.prices_file),
        "warehouse_path": warehouse,
        "fleet_file": str(fleet_file) if fleet_file else None,
        "seed": settings.seed,
    }


def load_flow(entrypoint: str) -> Callable[..., Any] | None:
    """The flow object behind `module:function`, or None (with a warning) if its module is not there."""
    module_name, _, function = entrypoint.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        logger.warning("deployment of %s left out: %s", entrypoint, err)
        return None
    return getattr(module, function, None)


def runner_deployments(specs: list[DeploymentSpec]) -> list[Any]:
    """`RunnerDeployment`s for `prefect.serve`: each loads its flow by module path, so any working folder works."""
    from prefect.deployments.runner import EntrypointType

    deployments = []
    for spec in specs:
        flow = load_flow(spec.entrypoint)
        if flow is None:
            continue
        deployments.append(
            flow.to_deployment(
                name=spec.name,
                cron=spec.cron,
                parameters={k: v for k, v in spec.parameters.items() if v is not None},
                description=spec.description,
                tags=["hcp"],
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return deployments
