"""How much memory DuckDB may hold, and where it spills the rest, while it writes the warehouse.

Every writer takes them: the loader, the billing store and dbt (its profile reads them from the environment that
`warehouse.transform.build_models` sets). DuckDB's own default is 80 % of the machine's memory; a month of a large
fleet's telemetry takes dbt past 14 GiB, so on a machine that also runs workers the limit is what keeps the build
from taking it all: beyond it DuckDB spills to the temp directory (docs/benchmarks.md, "A month of billing at
scale"). The profile's fallback for `HCP_WAREHOUSE_MEMORY_LIMIT` repeats `DEFAULT_MEMORY_LIMIT` for dbt run by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hcp.settings import WarehouseSettings

MEMORY_LIMIT_ENV = "HCP_WAREHOUSE_MEMORY_LIMIT"
TEMP_DIRECTORY_ENV = "HCP_WAREHOUSE_TEMP_DIRECTORY"
DEFAULT_MEMORY_LIMIT = WarehouseSettings.model_fields["memory_limit"].default


@dataclass(frozen=True)
class WarehouseLimits:
    """DuckDB's `memory_limit` (a share such as '60%' or a size such as '8GB') and its spill folder."""

    memory_limit: str = DEFAULT_MEMORY_LIMIT
    temp_directory: Path | None = None
    """None: `<warehouse file>.tmp` beside the warehouse (DuckDB's own choice for a file database)."""

    @classmethod
    def from_settings(cls, settings: WarehouseSettings) -> WarehouseLimits:
        return cls(settings.memory_limit, settings.temp_directory)

    @classmethod
    def from_parameters(cls, memory_limit: str | None, temp_directory: str | None) -> WarehouseLimits:
        """Back from `task_parameters` (None: the default)."""
        return cls(memory_limit or DEFAULT_MEMORY_LIMIT, Path(temp_directory) if temp_directory else None)

    def task_parameters(self) -> dict[str, str | None]:
        """As a flow passes them to its tasks (plain values, shown with the run in the Prefect UI)."""
        return {
            "memory_limit": self.memory_limit,
            "temp_directory": str(self.temp_directory) if self.temp_directory else None,
        }

    def spill_dir(self, warehouse_path: Path) -> Path:
        return self.temp_directory or Path(f"{warehouse_path}.tmp")

    def duckdb_config(self, warehouse_path: Path) -> dict[str, str]:
        """The `config` of `duckdb.connect` for a connection that writes `warehouse_path`."""
        return {"memory_limit": self.memory_limit, "temp_directory": str(self.spill_dir(warehouse_path))}

    def dbt_environment(self, warehouse_path: Path) -> dict[str, str]:
        """The variables `dbt/profiles.yml` reads the same limits from."""
        return {MEMORY_LIMIT_ENV: self.memory_limit, TEMP_DIRECTORY_ENV: str(self.spill_dir(warehouse_path))}
