"""The fleet configuration: sites, their price node and power cap, and the devices at each.

Read from YAML (`load_fleet`); `hcp/demo_fleet.yaml` is the built-in default used by the demo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hcp.economics import ASIC_MODELS, GPU_MODELS
from hcp.exceptions import ConfigError

DEMO_FLEET_FILE = Path(__file__).with_name("demo_fleet.yaml")
GPUS_PER_NODE = 8


class DeviceGroup(BaseModel):
    """`count` devices of one model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(description="ASIC model name or GPU type")
    count: int = Field(ge=1, le=1_000_000)


class Site(BaseModel):
    """One site behind one power connection, settled at one price node."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    node: str = Field(description="settlement point whose real-time price the site pays, e.g. HB_WEST")
    power_cap_mw: float = Field(gt=0, le=10_000)
    asics: tuple[DeviceGroup, ...] = ()
    gpus: tuple[DeviceGroup, ...] = ()
    collector_size: int = Field(250, ge=1, le=100_000, description="devices polled by one site collector")

    @field_validator("asics")
    @classmethod
    def _known_asics(cls, groups: tuple[DeviceGroup, ...]) -> tuple[DeviceGroup, ...]:
        for group in groups:
            if group.model not in ASIC_MODELS:
                raise ValueError(f"unknown ASIC model {group.model!r}; known: {', '.join(ASIC_MODELS)}")
        return groups

    @field_validator("gpus")
    @classmethod
    def _known_gpus(cls, groups: tuple[DeviceGroup, ...]) -> tuple[DeviceGroup, ...]:
        for group in groups:
            if group.model not in GPU_MODELS:
                raise ValueError(f"unknown GPU type {group.model!r}; known: {', '.join(GPU_MODELS)}")
        return groups


class Customer(BaseModel):
    """An AI customer whose jobs run on the GPUs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    share: float = Field(1.0, gt=0, description="relative share of the submitted jobs")


class Fleet(BaseModel):
    """Every site and customer the platform knows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sites: tuple[Site, ...] = Field(min_length=1)
    customers: tuple[Customer, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Fleet:
        for label, ids in (
            ("site_id", [s.site_id for s in self.sites]),
            ("customer_id", [c.customer_id for c in self.customers]),
        ):
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate {label} in fleet")
        return self

    def site(self, site_id: str) -> Site:
        for site in self.sites:
            if site.site_id == site_id:
                return site
        raise KeyError(site_id)


def model_slug(model: str) -> str:
    """`S19j Pro` -> `s19jpro`: the model part of a device id."""
    return "".join(ch for ch in model.lower() if ch.isalnum())


def device_ids(site: Site, group: DeviceGroup, first_number: int = 1) -> tuple[str, ...]:
    """Ids of a group's devices: `<site>-<model slug>-<nnnn>`, numbered per model from `first_number`."""
    slug = model_slug(group.model)
    return tuple(f"{site.site_id}-{slug}-{n:04d}" for n in range(first_number, first_number + group.count))


@dataclass(frozen=True)
class GpuNode:
    """A GPU server: up to `GPUS_PER_NODE` GPUs of one type at one site, the unit jobs are placed on."""

    node_id: str
    site_id: str
    gpu_type: str
    device_ids: tuple[str, ...]


def gpu_nodes(site: Site) -> tuple[GpuNode, ...]:
    """The site's GPUs grouped into nodes of `GPUS_PER_NODE` in device order, ids `<site>-<type>-n<nnn>`."""
    nodes: list[GpuNode] = []
    numbers: dict[str, int] = {}
    for group in site.gpus:
        first = numbers.get(group.model, 0) + 1
        ids = device_ids(site, group, first)
        numbers[group.model] = first + group.count - 1
        for start in range(0, len(ids), GPUS_PER_NODE):
            index = sum(1 for node in nodes if node.gpu_type == group.model) + 1
            nodes.append(
                GpuNode(
                    node_id=f"{site.site_id}-{model_slug(group.model)}-n{index:03d}",
                    site_id=site.site_id,
                    gpu_type=group.model,
                    device_ids=ids[start : start + GPUS_PER_NODE],
                )
            )
    return tuple(nodes)


ModelT = TypeVar("ModelT", bound=BaseModel)


def read_yaml_model(path: Path, model: type[ModelT], what: str = "fleet file") -> ModelT:
    """Read a YAML file and validate it as `model`, or raise `ConfigError` saying what is wrong and where."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{what} {path} is not valid YAML: {err}") from err
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in err.errors())
        raise ConfigError(f"{what} {path} is invalid: {problems}") from err


def load_fleet(path: Path | None = None) -> Fleet:
    """Read and validate a fleet YAML file; the built-in demo fleet when `path` is None."""
    return read_yaml_model(path or DEMO_FLEET_FILE, Fleet)
