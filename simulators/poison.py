"""Valid and poison ASIC telemetry polls, built from the record classes: fault tests and the poison bench.

The poison kinds are those issue 6 names: invalid JSON, an unknown schema version, NaN or negative power, a
timestamp a day off, a 1 MB payload, a device of a site the fleet lacks.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from hcp.economics import ASIC_MODELS, PowerState
from hcp.fleet import load_fleet
from hcp.records import AsicReading, AsicTelemetry

T0 = datetime(2023, 1, 16, tzinfo=UTC)


# Every poison kind but the 1 MB payload, which a standard producer refuses (as a Kafka broker does).
SENDABLE_POISON_KINDS = ("invalid_json", "unknown_schema_version", "nan_power", "negative_power",
                         "timestamp_a_day_off", "unknown_device_site")


@functools.cache
def demo_sites() -> tuple[str, ...]:
    """The demo fleet's sites: a poll keyed by one of them is plausible."""
    return tuple(site.site_id for site in load_fleet().sites)


def asic_poll(run: str, index: int, site: str, at: datetime, readings: int = 20) -> AsicTelemetry:
    spec = ASIC_MODELS["S21"]
    return AsicTelemetry(
        event_id=f"{run}:{site}:{index}",
        event_time=at,
        site_id=site,
        collector_id=f"{site}-c0",
        interval_s=10.0,
        readings=tuple(
            AsicReading(
                device_id=f"{site}-s21-{i:04d}", model="S21", power_state=PowerState.NORMAL,
                hashrate_th=spec.hashrate_at(PowerState.NORMAL), power_w=spec.power_at(PowerState.NORMAL),
                temp_inlet_c=22.0, temp_chip_c=68.0, fan_rpm=5200, hashboards_ok=3, errors=0,
            )
            for i in range(readings)
        ),
    )


def valid_polls(run: str, count: int, start: datetime = T0, readings: int = 20) -> list[tuple[str, bytes]]:
    """`count` valid polls round-robin over the sites, 10 s apart per site: (key, value)."""
    polls = []
    for index in range(count):
        sites = demo_sites()
        site = sites[index % len(sites)]
        at = start + timedelta(seconds=10 * (index // len(sites)))
        polls.append((site, asic_poll(run, index, site, at, readings).to_json()))
    return polls


def poison_polls(run: str, at: datetime, kinds: Iterable[str] | None = None) -> dict[str, tuple[str, bytes]]:
    """One poison message of each kind the issue names (or of `kinds`), by kind: (key, value), stamped `at`."""
    def variant(index: int, change) -> bytes:
        body = json.loads(asic_poll(f"{run}-poison", index, "west-1", at).to_json())
        change(body)
        return json.dumps(body).encode()

    def reading(field: str, value: object):
        return lambda body: body["readings"][0].__setitem__(field, value)

    builders = {
        "invalid_json": lambda: ("west-1", b'{"event_id": "broken", "readings": [{'),
        "unknown_schema_version": lambda: ("west-1", variant(901, lambda body: body.__setitem__("schema_version", 2))),
        "nan_power": lambda: ("west-1", variant(902, reading("power_w", float("nan")))),
        "negative_power": lambda: ("west-1", variant(903, reading("power_w", -3500.0))),
        "timestamp_a_day_off": lambda: ("west-1", variant(904, lambda body: body.__setitem__(
            "event_time", (at + timedelta(days=1)).isoformat()))),
        # about 1.13 MB, valid otherwise
        "one_megabyte_payload": lambda: (
            "west-1", asic_poll(f"{run}-poison", 900, "west-1", at, readings=6000).to_json()
        ),
        "unknown_device_site": lambda: ("mars-9", variant(905, lambda body: body.__setitem__("site_id", "mars-9"))),
    }
    return {kind: builders[kind]() for kind in (kinds if kinds is not None else builders)}
