"""The data-quality gate: validate the landed batches with great-expectations, store results, build Data Docs.

`run_gate` checks every landing file under a landing root (schema, ranges, uniqueness of event ids, freshness
and agreement with the warehouse's `raw.loaded_files` manifest) and returns a `GateReport` naming each failure.
It never raises on bad data (`require_passed` does); the validation results go to a great-expectations file
context under `<quality dir>/gx`, whose Data Docs (static HTML) show every run, and each report is also written
as JSON under `<quality dir>/reports/`. Running it twice on the same files gives the same findings.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from hcp.quality.batches import read_landed_batches
from hcp.quality.exceptions import QualityError, QualityGateError
from hcp.quality.report import GateFailure, GateReport
from hcp.quality.settings import QualitySettings
from hcp.quality.suites import DatasetSuite, suite_for

logger = logging.getLogger(__name__)

DATA_DOCS_SITE = "local_site"


def data_docs_index(quality_dir: Path) -> Path:
    """Where the gate's Data Docs start."""
    return quality_dir / "gx" / "uncommitted" / "data_docs" / DATA_DOCS_SITE / "index.html"


def run_gate(
    landing_root: Path,
    warehouse_path: Path | None,
    quality_dir: Path,
    settings: QualitySettings | None = None,
    now: datetime | None = None,
) -> GateReport:
    """Validate every landed batch under `landing_root`; store the results under `quality_dir`."""
    settings = settings or QualitySettings()
    now = now or datetime.now(UTC)
    batches = read_landed_batches(landing_root, warehouse_path, now)
    failures: list[GateFailure] = []
    checks = 0
    if not batches.tables:
        failures.append(GateFailure("freshness", "files", f"landed files under {landing_root}", None, ("none",)))
    else:
        context = _context(quality_dir)
        for dataset, frame in batches.tables.items():
            suite = suite_for(dataset, settings.max_age_hours)
            frame = _prepared(dataset, frame, settings)
            outcome = _validate(context, suite, frame)
            checks += len(outcome)
            failures += _failures(suite, outcome, settings.examples_per_failure)
        try:
            context.build_data_docs()
        except Exception as err:  # GE raises many types here; the gate's verdict does not depend on the docs
            logger.warning("building the Data Docs failed: %s", err)
    report = GateReport(
        checked_at=now.isoformat(timespec="seconds"),
        files=batches.files,
        pending_files=batches.pending_files,
        checks=checks,
        failures=tuple(failures),
        data_docs=str(data_docs_index(quality_dir)) if batches.tables else None,
        datasets={name: len(frame) for name, frame in batches.tables.items()},
    )
    _store(report, quality_dir)
    return report


def require_passed(report: GateReport) -> GateReport:
    """Return the report if the gate passed; raise `QualityGateError` naming each failure if not."""
    if not report.passed:
        raise QualityGateError(report)
    return report


def _prepared(dataset: str, frame: pd.DataFrame, settings: QualitySettings) -> pd.DataFrame:
    """Only plain columns go to GE (no timezone-aware timestamps); topics get their freshness column."""
    if dataset == "topics":
        fresh = frame["topic"].isin(settings.fresh_topics)
        frame = frame.assign(fresh_topic_age_hours=frame["newest_landed_age_hours"].where(fresh))
    return frame[[c for c in frame.columns if not isinstance(frame[c].dtype, pd.DatetimeTZDtype)]]


def _context(quality_dir: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    try:
        quality_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(quality_dir))
        if not isinstance(context.variables.progress_bars, ProgressBarsConfig):
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            context.variables.save()
    except Exception as err:
        raise QualityError(f"cannot open the great-expectations context in {quality_dir}: {err}") from err
    return context


def _validate(context, suite: DatasetSuite, frame: pd.DataFrame) -> list:
    """Run one dataset's suite through a (re-created, so idempotent) checkpoint; return its expectation results."""
    import great_expectations as gx

    name = suite.dataset.replace(".", "_")
    source = context.data_sources.add_or_update_pandas("landed_batches")
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name=name)
    try:
        batch = asset.get_batch_definition("whole_batch")
    except KeyError:
        batch = asset.add_batch_definition_whole_dataframe("whole_batch")
    expectation_suite = context.suites.add_or_update(
        gx.ExpectationSuite(name=name, expectations=list(suite.expectations))
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=expectation_suite)
    )
    ids = [c for c in suite.id_columns if c in frame.columns]
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"gate_{name}",
            validation_definitions=[definition],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ids},
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    return [r for run in result.run_results.values() for r in run.results]


def _failures(suite: DatasetSuite, results: list, examples: int) -> list[GateFailure]:
    failures = []
    for result in results:
        if result.success:
            continue
        config = result.expectation_config
        meta = config.meta or {}
        detail = result.result or {}
        column = str(config.kwargs.get("column", ""))
        rows = (detail.get("unexpected_index_list") or [])[:examples]
        quoted = tuple(_example(row, column) for row in rows)
        if not quoted and result.exception_info and result.exception_info.get("raised_exception"):
            quoted = (str(result.exception_info.get("exception_message"))[:300],)
        failures.append(
            GateFailure(
                check=meta.get("check", "schema"),
                dataset=suite.dataset,
                expectation=meta.get("expects", config.type),
                failing_rows=detail.get("unexpected_count"),
                examples=quoted,
            )
        )
    return failures


def _example(row: object, column: str) -> str:
    """One offending row as `column=value` pairs (GE gives a dict of id columns and the checked value); of the
    `lowest_<field>_device` columns only the checked field's is kept."""
    if not isinstance(row, dict):
        return str(row)
    wanted = f"lowest_{column.removeprefix('min_').removeprefix('max_')}_device"
    return ", ".join(
        f"{key}={_plain(value)}"
        for key, value in row.items()
        if _plain(value) not in ("", "None", "nan") and (not key.startswith("lowest_") or key == wanted)
    )


def _plain(value: object) -> str:
    return str(value.item() if hasattr(value, "item") else value)


def _store(report: GateReport, quality_dir: Path) -> None:
    reports = quality_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report.to_dict(), indent=2, default=str)
    stamp = report.checked_at.replace(":", "").replace("+0000", "Z")
    (reports / f"gate-{stamp}.json").write_text(text)
    (reports / "latest.json").write_text(text)
