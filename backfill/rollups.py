"""The arithmetic of the hourly site energy rollup, as plain functions: the Beam pipeline only wires them.

The same rules as the dbt mart `fct_site_energy_hourly` (dbt/models/marts/fct_site_energy_hourly.sql):
- a message landed twice counts once (the first copy by partition and offset, as `first_copy_per_event`);
- a poll's energy is the sum of its readings' `power_w x interval_s / 3.6e9` (`hcp.economics.energy_mwh`);
- a poll is priced at its site's node's real-time price for the interval holding its event time (a price
  published twice: the later publication wins); mining revenue at the latest hashprice whose day started at or
  before the poll, provisional when the poll is past that day;
- an hour states its cost (and mining revenue) only when every poll of it had its price (and hashprice).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime

from hcp.economics import energy_mwh
from hcp.records import PriceKind, PriceTick
from hcp.telemetry_columns import TelemetryColumns, decode_telemetry
from hcp.topics import TELEMETRY_ASIC


@dataclass(frozen=True)
class PollEnergy:
    """One landed telemetry message (a collector's poll), reduced to what the rollup needs."""

    event_id: str
    partition: int
    offset: int
    device_kind: str  # 'asic' or 'gpu'
    site_id: str
    event_time: datetime
    interval_s: float
    energy_mwh: float
    hashrate_th: float


def poll_energy(topic: str, partition: int, offset: int, value: bytes) -> PollEnergy:
    poll = decode_telemetry(topic, value)
    hashrate = float(poll.numbers["hashrate_th"].sum()) if topic == TELEMETRY_ASIC else 0.0
    return PollEnergy(
        event_id=poll.event_id,
        partition=partition,
        offset=offset,
        device_kind="asic" if topic == TELEMETRY_ASIC else "gpu",
        site_id=poll.site_id,
        event_time=poll.event_time,
        interval_s=poll.interval_s,
        energy_mwh=float(energy_mwh(poll.numbers["power_w"], poll.interval_s).sum()),
        hashrate_th=hashrate,
    )


def first_copy(copies: list[PollEnergy]) -> PollEnergy:
    """The copy of an event that landed first (lowest partition, then offset)."""
    return min(copies, key=lambda p: (p.partition, p.offset))


@dataclass(frozen=True)
class Prices:
    """Real-time prices per node and hashprices, each (interval) at its latest publication."""

    rt: dict[str, tuple[list[datetime], list[tuple[datetime, float]]]]  # node -> (starts, [(end, price)])
    hashprice_starts: list[datetime]
    hashprices: list[tuple[datetime, float]]  # (interval_end, value), in start order

    @classmethod
    def from_ticks(cls, ticks: list[PriceTick]) -> Prices:
        latest: dict[tuple[str, str | None, datetime], PriceTick] = {}
        for tick in {t.event_id: t for t in ticks}.values():
            if tick.kind not in (PriceKind.ENERGY_RT, PriceKind.HASHPRICE):
                continue
            key = (tick.kind.value, tick.node if tick.kind is PriceKind.ENERGY_RT else None, tick.interval_start)
            best = latest.get(key)
            if best is None or (tick.event_time, tick.event_id) > (best.event_time, best.event_id):
                latest[key] = tick
        rt: dict[str, list[PriceTick]] = {}
        hashprices: list[PriceTick] = []
        for (kind, node, _), tick in sorted(latest.items(), key=lambda item: item[0][2]):
            if kind == PriceKind.ENERGY_RT.value:
                rt.setdefault(node or "", []).append(tick)
            else:
                hashprices.append(tick)
        return cls(
            rt={n: ([t.interval_start for t in ts], [(t.interval_end, t.value) for t in ts]) for n, ts in rt.items()},
            hashprice_starts=[t.interval_start for t in hashprices],
            hashprices=[(t.interval_end, t.value) for t in hashprices],
        )

    def rt_price(self, node: str | None, at: datetime) -> float | None:
        starts, ends = self.rt.get(node or "", ([], []))
        i = bisect.bisect_right(starts, at) - 1
        # intervals do not overlap: the one starting last at or before `at` is the only candidate
        return ends[i][1] if i >= 0 and at < ends[i][0] else None

    def hashprice(self, at: datetime) -> tuple[float | None, bool]:
        """(hashprice, provisional) for a poll at `at`: the latest day started at or before it."""
        i = bisect.bisect_right(self.hashprice_starts, at) - 1
        if i < 0:
            return None, False
        end, value = self.hashprices[i]
        return value, at >= end


@dataclass
class SiteHour:
    """The running sums of one site and hour."""

    node: str | None = None
    asic_mwh: float = 0.0
    gpu_mwh: float = 0.0
    unpriced_mwh: float = 0.0
    priced_price_seconds: float = 0.0
    priced_seconds: float = 0.0
    power_cost_usd: float = 0.0
    asic_power_cost_usd: float = 0.0
    mining_revenue_usd: float = 0.0
    unpriced_polls: int = 0
    unpriced_asic_polls: int = 0
    no_hashprice_asic_polls: int = 0
    provisional: bool = False
    asic_polls: int = 0
    gpu_polls: int = 0

    def add_poll(self, poll: PollEnergy, node: str | None, prices: Prices) -> SiteHour:
        self.node = self.node or node
        price = prices.rt_price(node, poll.event_time)
        asic = poll.device_kind == "asic"
        if asic:
            self.asic_mwh += poll.energy_mwh
            self.asic_polls += 1
        else:
            self.gpu_mwh += poll.energy_mwh
            self.gpu_polls += 1
        if price is None:
            self.unpriced_mwh += poll.energy_mwh
            self.unpriced_polls += 1
            self.unpriced_asic_polls += asic
        else:
            cost = poll.energy_mwh * price
            self.power_cost_usd += cost
            self.asic_power_cost_usd += cost if asic else 0.0
            self.priced_price_seconds += price * poll.interval_s
            self.priced_seconds += poll.interval_s
        if asic:
            hashprice, provisional = prices.hashprice(poll.event_time)
            if hashprice is None:
                self.no_hashprice_asic_polls += 1
            else:
                self.mining_revenue_usd += poll.hashrate_th / 1000.0 * hashprice * poll.interval_s / 86400.0
                self.provisional |= provisional
        return self

    def merge(self, other: SiteHour) -> SiteHour:
        for name in (
            "asic_mwh", "gpu_mwh", "unpriced_mwh", "priced_price_seconds", "priced_seconds", "power_cost_usd",
            "asic_power_cost_usd", "mining_revenue_usd", "unpriced_polls", "unpriced_asic_polls",
            "no_hashprice_asic_polls", "asic_polls", "gpu_polls",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.node = self.node or other.node
        self.provisional |= other.provisional
        return self

    def row(self, site_id: str, hour_start: datetime) -> dict[str, object]:
        """The row as the mart states it."""
        asic_cost = self.asic_power_cost_usd if self.unpriced_asic_polls == 0 else None
        revenue = self.mining_revenue_usd if self.no_hashprice_asic_polls == 0 else None
        return {
            "site_hour_id": f"{site_id}/{hour_start:%Y-%m-%dT%H:00Z}",
            "site_id": site_id,
            "hour_start": hour_start,
            "node": self.node,
            "asic_mwh": self.asic_mwh,
            "gpu_mwh": self.gpu_mwh,
            "total_mwh": self.asic_mwh + self.gpu_mwh,
            "unpriced_mwh": self.unpriced_mwh,
            "avg_rt_price_usd_mwh": self.priced_price_seconds / self.priced_seconds if self.priced_seconds else None,
            "power_cost_usd": self.power_cost_usd if self.unpriced_polls == 0 else None,
            "asic_power_cost_usd": asic_cost,
            "mining_revenue_usd": revenue,
            "mining_margin_usd": None if revenue is None or asic_cost is None else revenue - asic_cost,
            "mining_revenue_is_provisional": self.provisional,
            "asic_polls": self.asic_polls,
            "gpu_polls": self.gpu_polls,
        }


@dataclass
class DeviceHour:
    """The running sums of one device and hour (`fct_device_telemetry_hourly`)."""

    device_kind: str = ""
    site_id: str = ""
    model: str = ""
    latest: datetime | None = None  # site and model are those of the hour's latest reading
    readings: int = 0
    observed_s: float = 0.0
    power_seconds: float = 0.0
    max_power_w: float | None = None
    energy_mwh: float = 0.0
    hashrate_seconds: float | None = None
    temp_sum: float = 0.0
    temp_count: int = 0
    max_temp_c: float | None = None
    utilisation_seconds: float | None = None
    working_s: float = 0.0
    errors: int = 0

    @staticmethod
    def _add(a: float | None, b: float | None) -> float | None:
        return b if a is None else a if b is None else a + b

    @staticmethod
    def _max(a: float | None, b: float | None) -> float | None:
        return b if a is None else a if b is None else max(a, b)

    def merge(self, other: DeviceHour) -> DeviceHour:
        if other.latest is not None and (self.latest is None or other.latest > self.latest):
            self.latest, self.site_id, self.model = other.latest, other.site_id, other.model
        self.device_kind = self.device_kind or other.device_kind
        self.readings += other.readings
        self.observed_s += other.observed_s
        self.power_seconds += other.power_seconds
        self.max_power_w = self._max(self.max_power_w, other.max_power_w)
        self.energy_mwh += other.energy_mwh
        self.hashrate_seconds = self._add(self.hashrate_seconds, other.hashrate_seconds)
        self.temp_sum += other.temp_sum
        self.temp_count += other.temp_count
        self.max_temp_c = self._max(self.max_temp_c, other.max_temp_c)
        self.utilisation_seconds = self._add(self.utilisation_seconds, other.utilisation_seconds)
        self.working_s += other.working_s
        self.errors += other.errors
        return self

    def row(self, device_id: str, hour_start: datetime) -> dict[str, object]:
        def per_second(total: float | None) -> float | None:
            return None if total is None else total / self.observed_s

        return {
            "device_hour_id": f"{device_id}/{hour_start:%Y-%m-%dT%H:00Z}",
            "device_id": device_id,
            "hour_start": hour_start,
            "device_kind": self.device_kind,
            "site_id": self.site_id,
            "model": self.model,
            "readings": self.readings,
            "observed_s": self.observed_s,
            "avg_power_w": self.power_seconds / self.observed_s,
            "max_power_w": self.max_power_w,
            "energy_mwh": self.energy_mwh,
            "avg_hashrate_th": per_second(self.hashrate_seconds),
            "avg_temp_c": self.temp_sum / self.temp_count if self.temp_count else None,
            "max_temp_c": self.max_temp_c,
            "avg_utilisation_pct": per_second(self.utilisation_seconds),
            "working_s": self.working_s,
            "working_fraction": self.working_s / self.observed_s,
            "errors": self.errors,
        }


def device_hours(poll: TelemetryColumns) -> list[tuple[str, DeviceHour]]:
    """One single-reading `DeviceHour` per reading of the poll, keyed by device id (the mart's per-reading rules:
    ASIC temperature is the chip's, work is any state but sleep; GPU errors are ECC errors, work is a job)."""
    asic = poll.topic == TELEMETRY_ASIC
    n, interval = poll.numbers, poll.interval_s
    power = n["power_w"].tolist()
    temps = (n["temp_chip_c"] if asic else n["temp_c"]).tolist()
    errors = (n["errors"] if asic else n["ecc_errors"]).tolist()
    hashrates = n["hashrate_th"].tolist() if asic else [None] * len(power)
    utilisations = [None] * len(power) if asic else n["utilisation_pct"].tolist()
    working = (
        [state != "sleep" for state in poll.texts["power_state"]] if asic
        else [job is not None for job in poll.texts["job_id"]]
    )
    rows = []
    for device_id, model, w, t, e, h, u, busy in zip(
        poll.device_ids, poll.models, power, temps, errors, hashrates, utilisations, working, strict=True
    ):
        rows.append(
            (
                device_id,
                DeviceHour(
                    device_kind="asic" if asic else "gpu", site_id=poll.site_id, model=model,
                    latest=poll.event_time, readings=1, observed_s=interval, power_seconds=w * interval,
                    max_power_w=w, energy_mwh=float(energy_mwh(w, interval)),
                    hashrate_seconds=None if h is None else h * interval, temp_sum=t, temp_count=1, max_temp_c=t,
                    utilisation_seconds=None if u is None else u * interval, working_s=interval if busy else 0.0,
                    errors=int(e),
                ),
            )
        )
    return rows


@dataclass
class GpuUsage:
    """The running sums of one customer, GPU type, priority, site and hour (`fct_gpu_usage_hourly`): a GPU bills
    its poll's interval while it runs a customer's job."""

    gpu_seconds: float = 0.0
    readings: int = 0
    jobs: frozenset[str] = frozenset()
    utilisation_sum: float = 0.0
    energy_mwh: float = 0.0

    def merge(self, other: GpuUsage) -> GpuUsage:
        return GpuUsage(
            self.gpu_seconds + other.gpu_seconds,
            self.readings + other.readings,
            self.jobs | other.jobs,
            self.utilisation_sum + other.utilisation_sum,
            self.energy_mwh + other.energy_mwh,
        )

    def row(self, customer_id: str, gpu_type: str, priority: int | None, site_id: str, hour_start: datetime) -> dict:
        usage_id = f"{customer_id}/{gpu_type}/{priority}/{site_id}/{hour_start:%Y-%m-%dT%H:00Z}"
        return {
            "usage_id": None if priority is None else usage_id,  # as SQL: a null in the concatenation
            "customer_id": customer_id,
            "gpu_type": gpu_type,
            "priority": priority,
            "site_id": site_id,
            "hour_start": hour_start,
            "gpu_seconds": self.gpu_seconds,
            "gpu_hours": self.gpu_seconds / 3600.0,
            "readings": self.readings,
            "jobs": len(self.jobs),
            "avg_utilisation_pct": self.utilisation_sum / self.readings,
            "energy_mwh": self.energy_mwh,
        }


def gpu_usage(poll: TelemetryColumns) -> list[tuple[tuple[str, str, int | None, str], GpuUsage]]:
    """One single-reading `GpuUsage` per busy GPU reading of a GPU poll, keyed by (customer, GPU type, priority,
    site); an ASIC poll has none."""
    if poll.topic == TELEMETRY_ASIC:
        return []
    n, interval = poll.numbers, poll.interval_s
    rows = []
    for gpu_type, job, customer, priority, utilisation, power in zip(
        poll.models, poll.texts["job_id"], poll.texts["customer_id"], n["priority"].tolist(),
        n["utilisation_pct"].tolist(), n["power_w"].tolist(), strict=True,
    ):
        if job is None or customer is None:
            continue
        usage = GpuUsage(interval, 1, frozenset((job,)), utilisation, float(energy_mwh(power, interval)))
        rows.append(((customer, gpu_type, None if priority != priority else int(priority), poll.site_id), usage))
    return rows
