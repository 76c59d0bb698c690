"""Running the dbt project against the warehouse, in process (`dbtRunner`), with its artefacts kept out of the repo.

The project's `profiles.yml` reads the DuckDB path from `HCP_WAREHOUSE_DUCKDB_PATH`, and DuckDB's memory limit
and spill folder from `HCP_WAREHOUSE_MEMORY_LIMIT` and `HCP_WAREHOUSE_TEMP_DIRECTORY` (`warehouse.limits`);
`build_models` sets them for the duration of the run and restores them after.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dbt.cli.main import dbtRunner

from warehouse.exceptions import DbtBuildError
from warehouse.limits import WarehouseLimits

WAREHOUSE_PATH_ENV = "HCP_WAREHOUSE_DUCKDB_PATH"
_FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


@dataclass(frozen=True)
class DbtBuildSummary:
    """Nodes dbt ran (models, tests, unit tests) and how many ended in each status."""

    nodes: int
    statuses: Mapping[str, int] = field(default_factory=dict)


def dbt_work_dir(warehouse_path: Path) -> Path:
    """Where dbt's target and log folders go: next to the warehouse file, never in the repository."""
    return warehouse_path.parent / "dbt"


def build_models(
    project_dir: Path,
    warehouse_path: Path,
    work_dir: Path | None = None,
    select: tuple[str, ...] = (),
    limits: WarehouseLimits | None = None,
) -> DbtBuildSummary:
    """Run `dbt build` on `project_dir` against `warehouse_path`; raise `DbtBuildError` naming failed nodes.

    `select` limits the build to those dbt selectors (e.g. `("+fct_invoices",)`); empty builds everything. DuckDB
    holds at most `limits.memory_limit` (default `WarehouseLimits()`) and spills the rest.
    """
    # dbt resolves a relative target path against the project folder: make every path absolute first.
    project_dir, warehouse_path = project_dir.resolve(), warehouse_path.resolve()
    work_dir = (work_dir or dbt_work_dir(warehouse_path)).resolve()
    args = [
        "build",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        # Without this dbt writes a tracking cookie (.user.yml) into the profiles dir, which is in the repo.
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
        # One line per node is noise in a demo or a flow log; the full log is in <work dir>/logs/dbt.log.
        "--log-level",
        "warn",
    ]
    if select:
        args += ["--select", *select]
    limits = limits or WarehouseLimits()
    with _environment({WAREHOUSE_PATH_ENV: str(warehouse_path), **limits.dbt_environment(warehouse_path)}):
        outcome = dbtRunner().invoke(args)
    if outcome.exception is not None:
        raise DbtBuildError(f"dbt build could not run: {outcome.exception}") from outcome.exception
    results = getattr(outcome.result, "results", None) or []
    failed = tuple(sorted(r.node.unique_id for r in results if str(r.status) in _FAILED_STATUSES))
    if failed or not outcome.success:
        messages = "; ".join(f"{r.node.unique_id}: {r.message}" for r in results if str(r.status) in _FAILED_STATUSES)
        raise DbtBuildError(
            f"dbt build failed on {len(failed)} node(s): {', '.join(failed) or 'unknown'} ({messages})", failed
        )
    return DbtBuildSummary(nodes=len(results), statuses=dict(Counter(str(r.status) for r in results)))


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for dbt (it reads `env_var()` from the process environment), restored after."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
