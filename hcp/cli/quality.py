"""`hcp flows run quality`: run the data-quality gate over the landed batches now."""

from __future__ import annotations

import typer
from rich.console import Console

from hcp.cli.context import storage_settings, use_local_prefect_home
from hcp.cli.options import HomeOption

console = Console()


def run_quality(home: HomeOption = None) -> None:
    """Check every landed batch (schema, ranges, unique event ids, freshness, manifest); exit 2 naming each
    failure if any check fails. Thresholds: HCP_QUALITY_MAX_AGE_HOURS, HCP_QUALITY_FRESH_TOPICS."""
    storage = storage_settings(home)
    use_local_prefect_home(storage)
    from flows.quality import check_landed_batches

    summary = check_landed_batches(
        landing_dir=str(storage.landing_dir),
        warehouse_path=str(storage.warehouse_path),
        quality_dir=str(storage.quality_dir),
    )
    console.print(
        f"quality gate passed: {summary['files']} landed files ({summary['pending_files']} not loaded yet), "
        f"{summary['checks']} checks"
    )
    console.print(f"data docs: [bold]{summary['data_docs']}[/]")


def register(app: typer.Typer) -> None:
    from hcp.cli.flows import run_app

    run_app.command("quality")(run_quality)
