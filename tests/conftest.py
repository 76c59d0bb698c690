"""Fixtures shared by every tier."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcp.broker import free_port
from hcp.settings import REPO_ROOT

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The recorded data in ../shared/data. Absent: skip, except in CI (HCP_REQUIRE_SHARED_DATA=1): fail."""
    if not SHARED_DATA.is_dir():
        reason = f"recorded data folder {SHARED_DATA} is absent (see ../shared/data/README.md)"
        if os.environ.get("HCP_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(reason + "; CI requires it")
        pytest.skip(reason)
    return SHARED_DATA


@pytest.fixture(scope="session")
def prefect_test_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect server (real API, SQLite) for every flow test of the session."""
    os.environ.setdefault("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


__all__ = ["free_port"]
