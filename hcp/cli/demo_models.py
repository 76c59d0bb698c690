"""The models' part of `hcp demo`: a workload classifier before the workers start, forecasts before the warehouse.

The control worker loads the newest promoted classifier from `<home>/models` at start, so the demo trains one
first when none is registered (the full pod trace: a few seconds; `HCP_MODELS_DEMO_SAMPLE` trains on a sample).
After the simulation it publishes the week's price forecast and capacity plan, which the warehouse build then
exposes as `fct_price_forecast_hourly` and `fct_capacity_plan_hourly`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from rich.console import Console

from hcp.exceptions import HcpError
from hcp.settings import StorageSettings, load_settings


def ensure_classifier(storage: StorageSettings, console: Console) -> None:
    """Train and register the classifier unless a promoted one is registered (skipped without the pod trace)."""
    from models.loading import load_classifier
    from models.settings import ModelSettings

    loaded = load_classifier(storage.home)
    if loaded is not None:
        console.print(f"workload classifier {loaded[1].version} (registered) classifies jobs sent without a class")
        return
    settings = load_settings(ModelSettings)
    if not settings.pods_file.is_file():
        console.print(f"[yellow]no pod trace at {settings.pods_file}: jobs without a class are routed as BE[/]")
        return
    pods_file = settings.pods_file
    if settings.demo_sample:
        pods_file = _sample(settings.pods_file, settings.demo_sample, settings.seed, storage.run_dir)
    from flows.training import train_classifier_task

    started = time.monotonic()
    summary = train_classifier_task.fn(str(pods_file), str(storage.home), settings.seed)
    verdict = "promoted" if summary["passed_gate"] else "NOT promoted"
    scores = summary["metrics"]["lightgbm"]
    console.print(
        f"trained workload classifier {summary['version']} on {pods_file.name} in {time.monotonic() - started:.1f} s:"
        f" accuracy {scores['accuracy']:.3f}, macro-F1 {scores['macro_f1']:.3f}, {verdict} ({summary['gate']})"
    )


def clear_forecasts(storage: StorageSettings) -> None:
    """Forget the forecasts of an earlier run (the demo starts from a clean slate)."""
    from flows.planning import forecasts_dir

    shutil.rmtree(forecasts_dir(storage.home), ignore_errors=True)


def publish_demo_forecasts(storage: StorageSettings, fleet_file: Path | None, console: Console) -> None:
    """Forecast demand (from the landed requests: a run of a day or more) and prices, plan capacity; a run too
    short to forecast from is reported, not fatal."""
    from flows.planning import demand_history, publish_forecasts
    from models.settings import ModelSettings

    settings = load_settings(ModelSettings)
    started = time.monotonic()
    try:
        demand_history(None, str(storage.landing_dir), None)  # before starting a flow run for nothing
        result = publish_forecasts(
            home=str(storage.home),
            requests_file=None,  # the run's own requests; a trace of another period would plan the wrong week
            prices_file=str(settings.prices_file),
            fleet_file=str(fleet_file) if fleet_file else None,
            seed=settings.seed,
            landing_dir=str(storage.landing_dir),
        )
    except HcpError as err:
        console.print(f"[yellow]no forecasts this run: {err}[/]")
        return
    plan = result["plan"]
    console.print(
        f"forecasts in {time.monotonic() - started:.1f} s: demand from {result['demand']['source']},"
        f" prices for {result['prices']['nodes']} node(s), capacity plan {plan['rows']} site-hours,"
        f" expected margin {plan.get('expected_margin_usd', 0):,.0f} USD"
    )


def _sample(pods_file: Path, rows: int, seed: int, folder: Path) -> Path:
    import polars as pl

    frame = pl.read_csv(pods_file)
    sample = frame.sample(min(rows, len(frame)), seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pods-sample-{rows}.csv"
    sample.write_csv(path)
    return path
