"""`hcp models`: classify workloads, forecast demand and prices, train and evaluate the models (docs/models.md)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hcp.cli.context import storage_settings, use_local_prefect_home
from hcp.cli.options import HomeOption
from hcp.settings import load_settings

console = Console()
models_app = typer.Typer(help="Workload classifier, demand and price forecasters.", no_args_is_help=True)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

OutOption = Annotated[Path, typer.Option("--out", help="CSV file to write.")]
SeedOption = Annotated[int | None, typer.Option("--seed", envvar="HCP_MODELS_SEED", help="Random seed.")]


class ModelChoice(StrEnum):
    ALL = "all"
    CLASSIFIER = "classifier"
    DEMAND = "demand"
    PRICES = "prices"


ModelOption = Annotated[ModelChoice, typer.Option("--model", help="Which model (all by default).")]
PodsOption = Annotated[
    Path | None, typer.Option("--pods", envvar="HCP_MODELS_PODS_FILE", help="Labelled pod trace (Alibaba shape).")
]
RequestsOption = Annotated[
    Path | None,
    typer.Option("--requests", envvar="HCP_MODELS_REQUESTS_FILE", help="Request trace (GenAI trace shape)."),
]
PricesOption = Annotated[
    Path | None,
    typer.Option("--prices", envvar="HCP_MODELS_PRICES_FILE", help="Wide day-ahead prices (ERCOT shape)."),
]
NodeOption = Annotated[str | None, typer.Option("--node", envvar="HCP_MODELS_NODE", help="Price node, e.g. HB_WEST.")]
HoldoutOption = Annotated[
    datetime | None,
    typer.Option(
        "--holdout-start",
        envvar="HCP_MODELS_HOLDOUT_START",
        formats=["%Y-%m-%d"],
        help="First day of the price model's held-back period.",
    ),
]


def _settings(**overrides: object):  # type: ignore[no-untyped-def]
    from models.settings import ModelSettings

    return load_settings(ModelSettings, **overrides)


@models_app.command("classify")
def classify(
    input_file: Annotated[Path, typer.Option("--input", help="Pods CSV (Alibaba pod trace columns; qos ignored).")],
    out: OutOption,
    home: HomeOption = None,
    pods: PodsOption = None,
    seed: SeedOption = None,
) -> None:
    """Predict each pod's QoS class: `name,predicted_qos,prob_<class>...`.

    Uses the newest promoted classifier under the home's registry; without one, trains on the labelled pod
    trace (`--pods`) first and says so.
    """
    from models.classifier import POD_FEATURE_COLUMNS, labels_of, pod_features, predict_classifier, train_classifier
    from models.frames import read_csv
    from models.loading import load_classifier

    frame = read_csv(input_file, "pods", POD_FEATURE_COLUMNS)
    loaded = load_classifier(storage_settings(home).home)
    if loaded is not None:
        model, version = loaded
        console.print(f"classifier {version.version} from {version.path}")
    else:
        settings = _settings(pods_file=pods, seed=seed)
        console.print(f"no promoted classifier registered: training on {settings.pods_file} (seed {settings.seed})")
        labelled = read_csv(settings.pods_file, "labelled pods", (*POD_FEATURE_COLUMNS, "qos"))
        model = train_classifier(pod_features(labelled), labels_of(labelled), settings.seed)
    predictions = predict_classifier(model, frame)
    predictions.write_csv(out)
    counts = predictions["predicted_qos"].value_counts(sort=True).rows()
    console.print(f"wrote {len(predictions):,} predictions to {out}: " + ", ".join(f"{c} {n}" for c, n in counts))


@models_app.command("forecast-demand")
def forecast_demand(
    history: Annotated[Path, typer.Option("--history", help="Requests CSV (GenAI request trace shape).")],
    out: OutOption,
    horizon_hours: Annotated[int, typer.Option("--horizon-hours", min=1, max=24 * 31, help="Hours to forecast.")] = 168,
    seed: SeedOption = None,
) -> None:
    """Hourly requests for the hours after the history: `hour,requests,requests_lo,requests_hi` (80 % interval)."""
    import polars as pl

    from models.demand import hourly_demand, predict_demand, train_demand
    from models.frames import read_csv

    hourly = hourly_demand(read_csv(history, "requests", ("gmt_create",)))
    model = train_demand(hourly, _settings(seed=seed).seed, target="requests")
    forecast = predict_demand(model, horizon_hours)
    forecast.with_columns(pl.col("hour").dt.strftime(TIME_FORMAT), pl.exclude("hour").round(3)).write_csv(out)
    console.print(f"wrote {len(forecast)} hours from {forecast['hour'][0]:%Y-%m-%d %H:%M} to {out}")


@models_app.command("forecast-prices")
def forecast_prices(
    history: Annotated[Path, typer.Option("--history", help="Wide day-ahead prices CSV (ERCOT shape).")],
    node: Annotated[str, typer.Option("--node", help="Column (node) to forecast, e.g. HB_WEST.")],
    start: Annotated[datetime, typer.Option("--start", formats=["%Y-%m-%d"], help="First forecast day.")],
    out: OutOption,
    days: Annotated[int, typer.Option("--days", min=1, max=3660, help="Forecast days (rolling origin).")] = 1,
    horizon_hours: Annotated[
        int, typer.Option("--horizon-hours", min=1, max=168, help="Hours forecast from each day's midnight.")
    ] = 24,
    seed: SeedOption = None,
) -> None:
    """Rolling origin: for each day from `--start`, that day's hours from history before it: `origin,hour,price`.

    The model is trained on the history before `--start` only.
    """
    import polars as pl

    from models.frames import read_csv
    from models.prices import TIME_COLUMN, day_ahead_history, train_price_model
    from models.prices import forecast_prices as rolling_forecast

    series = day_ahead_history(read_csv(history, "day-ahead prices", (TIME_COLUMN, node)), node)
    model = train_price_model(series, _settings(seed=seed).seed, train_end=start)
    forecast = rolling_forecast(model, series, start.date(), days, horizon_hours)
    forecast.with_columns(pl.col("origin").dt.strftime("%Y-%m-%d"), pl.col("hour").dt.strftime(TIME_FORMAT)).write_csv(
        out
    )
    console.print(f"wrote {len(forecast):,} rows ({days} origin(s) x {horizon_hours} h) to {out}")


@models_app.command("train")
def train(
    model: ModelOption = ModelChoice.ALL,
    home: HomeOption = None,
    pods: PodsOption = None,
    requests: RequestsOption = None,
    prices: PricesOption = None,
    node: NodeOption = None,
    holdout_start: HoldoutOption = None,
    seed: SeedOption = None,
) -> None:
    """Train, evaluate, gate and register models (Prefect flows); print the metric tables and the verdicts."""
    storage = storage_settings(home)
    storage.home.mkdir(parents=True, exist_ok=True)  # Prefect creates its home folder but not the parents
    use_local_prefect_home(storage)
    from flows import training

    s = _settings(
        pods_file=pods,
        requests_file=requests,
        prices_file=prices,
        node=node,
        seed=seed,
        holdout_start=holdout_start.date() if holdout_start else None,
    )
    home_dir = str(storage.home)
    runs = {
        ModelChoice.CLASSIFIER: lambda: training.train_classifier(str(s.pods_file), home_dir, s.seed),
        ModelChoice.DEMAND: lambda: training.train_demand_forecaster(str(s.requests_file), home_dir, s.seed),
        ModelChoice.PRICES: lambda: training.train_price_forecaster(
            str(s.prices_file), home_dir, s.seed, s.node, s.holdout_start.isoformat()
        ),
    }
    for choice, run in runs.items():
        if model in (ModelChoice.ALL, choice):
            summary = run()
            print_metrics(f"{summary['model']} {summary['version']}", summary["metrics"])
            verdict = "[green]promoted[/]" if summary["passed_gate"] else "[red]NOT promoted[/]"
            console.print(f"{verdict}: {summary['gate']}")


@models_app.command("evaluate")
def evaluate(
    model: ModelOption = ModelChoice.ALL,
    pods: PodsOption = None,
    requests: RequestsOption = None,
    prices: PricesOption = None,
    node: NodeOption = None,
    holdout_start: HoldoutOption = None,
    seed: SeedOption = None,
    compare_prophet: Annotated[
        bool, typer.Option("--compare-prophet", help="Also score Prophet as price forecaster (slow: a fit a day).")
    ] = False,
) -> None:
    """Evaluate on the held-back data against the baselines and print the tables (registers nothing)."""
    from models import classifier, demand
    from models import prices as price_model
    from models.frames import read_csv

    s = _settings(
        pods_file=pods,
        requests_file=requests,
        prices_file=prices,
        node=node,
        seed=seed,
        holdout_start=holdout_start.date() if holdout_start else None,
    )
    if model in (ModelChoice.ALL, ModelChoice.CLASSIFIER):
        frame = read_csv(s.pods_file, "pods", (*classifier.POD_FEATURE_COLUMNS, "qos"))
        result = classifier.evaluate_classifier(frame, s.seed)
        print_metrics(f"classifier ({result.test_rows} held-back pods)", result.table)
        console.print(classifier.classifier_gate(result, s.min_accuracy)[1])
    if model in (ModelChoice.ALL, ModelChoice.DEMAND):
        hourly = demand.hourly_demand(read_csv(s.requests_file, "requests", ("gmt_create",)))
        result_d = demand.evaluate_demand(hourly, s.seed)
        print_metrics(f"demand (last {result_d.test_hours} h held back)", result_d.table)
        console.print(demand.demand_gate(result_d)[1])
    if model in (ModelChoice.ALL, ModelChoice.PRICES):
        frame = read_csv(s.prices_file, "day-ahead prices", (price_model.TIME_COLUMN, s.node))
        series = price_model.day_ahead_history(frame, s.node)
        start = datetime.combine(s.holdout_start, datetime.min.time())
        result_p = price_model.evaluate_prices(series, s.seed, start)
        table = dict(result_p.table)
        if compare_prophet:
            from models.price_prophet import evaluate_prophet_prices

            table["prophet"] = evaluate_prophet_prices(series, start)
        title = f"prices {s.node} (rolling origin {result_p.holdout_start:%Y-%m-%d}..{result_p.holdout_end:%Y-%m-%d})"
        print_metrics(title, table)
        console.print(price_model.price_gate(result_p)[1])


def print_metrics(title: str, table: dict[str, dict[str, float]]) -> None:
    """One row per model, one column per metric."""
    metrics = list(dict.fromkeys(m for scores in table.values() for m in scores))
    out = Table("model", *metrics, title=title)
    for name, scores in table.items():
        out.add_row(name, *(f"{scores[m]:.4f}" if m in scores else "" for m in metrics))
    console.print(out)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
