"""The single exception family of the warehouse package."""

from __future__ import annotations

from hcp.exceptions import HcpError


class WarehouseError(HcpError):
    """The warehouse could not be loaded, opened or built."""


class LoadError(WarehouseError):
    """Landing files could not be loaded; the load was rolled back and the warehouse is unchanged."""


class DbtBuildError(WarehouseError):
    """`dbt build` failed; `failed_nodes` names the models and tests that errored or failed."""

    def __init__(self, message: str, failed_nodes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.failed_nodes = failed_nodes
