"""`dbt docs generate` for the warehouse: the model catalog as one self-contained HTML page (`--static`)."""

from __future__ import annotations

from pathlib import Path

from dbt.cli.main import dbtRunner

from warehouse.exceptions import DbtBuildError
from warehouse.transform import WAREHOUSE_PATH_ENV, _environment, dbt_work_dir

STATIC_PAGE = "static_index.html"


def generate_docs(project_dir: Path, warehouse_path: Path) -> Path:
    """Generate the dbt docs (models, columns, tests, lineage, catalog) and return the static HTML page, which
    opens from the file system in any browser; `target/index.html` is the same site for `dbt docs serve`."""
    project_dir, warehouse_path = project_dir.resolve(), warehouse_path.resolve()
    target = dbt_work_dir(warehouse_path).resolve() / "target"
    args = [
        "docs",
        "generate",
        "--static",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(target),
        "--log-path",
        str(target.parent / "logs"),
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
        "--log-level",
        "warn",
    ]
    with _environment(WAREHOUSE_PATH_ENV, str(warehouse_path)):
        outcome = dbtRunner().invoke(args)
    if outcome.exception is not None or not outcome.success:
        raise DbtBuildError(f"dbt docs generate failed: {outcome.exception or 'see ' + str(target.parent / 'logs')}")
    return target / STATIC_PAGE
