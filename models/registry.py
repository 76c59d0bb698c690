"""The model registry: versioned artifacts under the storage home, each with its metadata and gate verdict.

Layout: `<home>/models/<name>/<version>/` holds the model file(s) and `metadata.json` (parameters, data window,
metrics, baselines, library versions, seed, `passed_gate` and the gate's reason). Versions sort by creation
time. Loading means: the newest version whose gate passed; a version that failed its gate is kept for the
record but never loaded.
"""

from __future__ import annotations

import json
import platform
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from models.exceptions import RegistryError

METADATA_FILE = "metadata.json"
LIBRARIES = ("lightgbm", "prophet", "scikit-learn", "numpy", "polars", "pandas")


@dataclass(frozen=True)
class ModelVersion:
    """One registered artifact: its folder and metadata."""

    name: str
    version: str
    path: Path
    metadata: dict[str, Any]

    @property
    def passed_gate(self) -> bool:
        return bool(self.metadata.get("passed_gate"))

    def read_text(self, file_name: str) -> str:
        try:
            return (self.path / file_name).read_text()
        except OSError as err:
            raise RegistryError(f"model {self.name} {self.version}: cannot read {file_name}: {err}") from err


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model depends on (recorded with every artifact)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def registry_dir(home: Path) -> Path:
    return home / "models"


def register_model(
    home: Path, name: str, files: dict[str, str], metadata: dict[str, Any], now: datetime | None = None
) -> ModelVersion:
    """Write `files` (file name -> text) and the metadata (with library versions added) as a new version."""
    created = (now or datetime.now(UTC)).astimezone(UTC)
    version = f"{created:%Y%m%dT%H%M%S%fZ}"
    folder = registry_dir(home) / name / version
    staging = folder.with_name(f".{version}.partial")
    full = {
        "name": name,
        "version": version,
        "created_at": created.isoformat(),
        "library_versions": library_versions(),
        **metadata,
    }
    try:
        staging.mkdir(parents=True, exist_ok=False)
        for file_name, text in files.items():
            (staging / file_name).write_text(text)
        (staging / METADATA_FILE).write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
        staging.rename(folder)  # a version appears whole or not at all
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise RegistryError(f"cannot register model {name} under {folder}: {err}") from err
    return ModelVersion(name, version, folder, full)


def list_versions(home: Path, name: str) -> list[ModelVersion]:
    """Every complete version of `name`, oldest first."""
    root = registry_dir(home) / name
    if not root.is_dir():
        return []
    versions = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            meta = json.loads((folder / METADATA_FILE).read_text())
        except (OSError, json.JSONDecodeError):
            continue  # not a complete version
        versions.append(ModelVersion(name, folder.name, folder, meta))
    return versions


def latest_passing(home: Path, name: str) -> ModelVersion | None:
    """The newest version of `name` that passed its gate, or None."""
    passing = [v for v in list_versions(home, name) if v.passed_gate]
    return passing[-1] if passing else None
