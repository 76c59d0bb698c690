"""The platform's Prometheus metrics, on a registry of their own (one per process; no import-time globals).

Fleet and business gauges are per site, computed from the latest poll of every collector; market gauges from
the latest price of each kind; pipeline metrics from what the process consumed and the lag poller.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import add

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from hcp.economics import (
    ASIC_MODELS,
    PowerState,
    breakeven_usd_per_mwh,
    energy_cost_usd_per_hour,
    mining_revenue_usd_per_hour,
)
from hcp.fleet import Fleet
from hcp.observability.lag import LagSnapshot
from hcp.records import Alert, AlertStatus, AsicTelemetry, GpuTelemetry, PriceKind, PriceTick
from hcp.telemetry_columns import TelemetryColumns, columns_from_record

DECISION_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class CollectorFigures:
    """One collector's latest poll, summed."""

    site_id: str
    kind: str
    hashrate_th: float = 0.0
    power_w: float = 0.0
    online: int = 0
    offline: int = 0
    curtailed: int = 0
    temp_max_c: float = 0.0
    temp_sum_c: float = 0.0
    busy: int = 0
    utilisation_sum: float = 0.0


class PlatformMetrics:
    """Every metric a process exports. Build one per process with its own registry."""

    def __init__(self, fleet: Fleet, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.sites = {site.site_id: site for site in fleet.sites}
        self.collectors: dict[str, CollectorFigures] = {}
        self.energy_rt: dict[str, float] = {}
        self.hashprice: float | None = None
        self.gpu_rental: dict[str, float] = {}
        self.last_lag: LagSnapshot | None = None
        r = self.registry
        site, site_kind = ["site"], ["site", "kind"]
        self.hashrate = Gauge("hcp_site_hashrate_ths", "ASIC hashrate, TH/s", site, registry=r)
        self.power = Gauge("hcp_site_power_watts", "device power by kind (asic, gpu), W", site_kind, registry=r)
        self.power_cap = Gauge("hcp_site_power_cap_watts", "the site's power cap, W", site, registry=r)
        self.devices = Gauge("hcp_site_devices", "devices by kind and state (online, offline, curtailed)",
                             ["site", "kind", "state"], registry=r)
        self.temp_max = Gauge("hcp_site_temp_max_celsius", "hottest ASIC chip or GPU core", site_kind, registry=r)
        self.temp_mean = Gauge("hcp_site_temp_mean_celsius", "mean ASIC chip or GPU core temperature", site_kind,
                               registry=r)
        self.gpu_util = Gauge("hcp_site_gpu_utilisation_ratio", "mean GPU utilisation, 0-1", site, registry=r)
        self.gpus_busy = Gauge("hcp_site_gpus_busy", "GPUs running a job", site, registry=r)
        self.energy_price = Gauge("hcp_energy_price_usd_mwh", "latest energy price", ["node", "market"], registry=r)
        self.hashprice_g = Gauge("hcp_hashprice_usd_ph_day", "latest hashprice, USD per PH/s per day", registry=r)
        self.btc_price = Gauge("hcp_btc_price_usd", "latest BTC price", registry=r)
        self.gpu_rental_g = Gauge("hcp_gpu_rental_usd_hour", "GPU rental rate", ["gpu_type"], registry=r)
        self.breakeven = Gauge("hcp_breakeven_usd_mwh", "ASIC breakeven energy price at today's hashprice",
                               ["model"], registry=r)
        self.revenue = Gauge("hcp_site_revenue_usd_per_hour", "revenue at the current rate (mining, ai)",
                             ["site", "source"], registry=r)
        self.cost = Gauge("hcp_site_power_cost_usd_per_hour", "power cost at the current rate", site, registry=r)
        self.messages = Counter("hcp_messages_consumed_total", "messages this process consumed", ["topic"], registry=r)
        self.end_offsets = Gauge("hcp_topic_end_offset", "messages published to a topic (sum of end offsets)",
                                 ["topic"], registry=r)
        self.lag = Gauge("hcp_consumer_lag_messages", "messages a consumer group is behind", ["group", "topic"],
                         registry=r)
        self.landing_lag = Gauge("hcp_landing_lag_messages", "messages not landed yet (landing group, all topics)",
                                 registry=r)
        self.broker_up = Gauge("hcp_broker_up", "1 when the last broker read succeeded", registry=r)
        self.deadletters = Counter("hcp_deadletters_total", "messages sent to the dead-letter topic", registry=r)
        self.decision_latency = Histogram(
            "hcp_decision_latency_seconds", "price tick or job request in the broker to its decisions sent",
            buckets=DECISION_LATENCY_BUCKETS, registry=r)
        self.decisions = Counter("hcp_decisions_total", "decisions published", registry=r)
        self.alerts = Counter("hcp_alerts_total", "alert transitions", ["rule", "severity", "status"], registry=r)
        self.alerts_active = Gauge("hcp_alerts_active", "open alerts", ["severity"], registry=r)
        for site_id, s in self.sites.items():
            self.power_cap.labels(site_id).set(s.power_cap_mw * 1e6)

    def observe_asic(self, poll: AsicTelemetry, offline: int) -> None:
        self.observe_asic_columns(columns_from_record(poll), offline)

    def observe_gpu(self, poll: GpuTelemetry, offline: int) -> None:
        self.observe_gpu_columns(columns_from_record(poll), offline)

    def observe_asic_columns(self, poll: TelemetryColumns, offline: int) -> None:
        """A collector's ASIC poll (as columns); sums run in reading order, as a loop over the readings would."""
        n = poll.numbers
        figures = CollectorFigures(poll.site_id, "asic", offline=offline)
        figures.hashrate_th = reduce(add, n["hashrate_th"].tolist(), 0.0)
        figures.power_w = reduce(add, n["power_w"].tolist(), 0.0)
        figures.online = len(poll)
        figures.curtailed = poll.texts["power_state"].count(PowerState.SLEEP.value)
        temps = n["temp_chip_c"].tolist()
        figures.temp_max_c = max(figures.temp_max_c, *temps)
        figures.temp_sum_c = reduce(add, temps, 0.0)
        self.collectors[poll.collector_id] = figures
        self._refresh_site(poll.site_id)

    def observe_gpu_columns(self, poll: TelemetryColumns, offline: int) -> None:
        """A collector's GPU poll (as columns); sums run in reading order, as a loop over the readings would."""
        n = poll.numbers
        figures = CollectorFigures(poll.site_id, "gpu", offline=offline)
        figures.power_w = reduce(add, n["power_w"].tolist(), 0.0)
        figures.online = len(poll)
        figures.busy = len(poll) - poll.texts["job_id"].count(None)
        figures.utilisation_sum = reduce(add, (n["utilisation_pct"] / 100.0).tolist(), 0.0)
        temps = n["temp_c"].tolist()
        figures.temp_max_c = max(figures.temp_max_c, *temps)
        figures.temp_sum_c = reduce(add, temps, 0.0)
        self.collectors[poll.collector_id] = figures
        self._refresh_site(poll.site_id)

    def observe_price(self, tick: PriceTick) -> None:
        if tick.kind in (PriceKind.ENERGY_RT, PriceKind.ENERGY_DA):
            market = "rt" if tick.kind is PriceKind.ENERGY_RT else "da"
            if market == "rt":
                self.energy_rt[str(tick.node)] = tick.value
            self.energy_price.labels(tick.node, market).set(tick.value)
        elif tick.kind is PriceKind.HASHPRICE:
            self.hashprice = tick.value
            self.hashprice_g.set(tick.value)
            for name, model in ASIC_MODELS.items():
                self.breakeven.labels(name).set(breakeven_usd_per_mwh(tick.value, model.joules_per_th()))
        elif tick.kind is PriceKind.BTC:
            self.btc_price.set(tick.value)
        elif tick.kind is PriceKind.GPU_RENTAL:
            self.gpu_rental[str(tick.gpu_type)] = tick.value
            self.gpu_rental_g.labels(tick.gpu_type).set(tick.value)
        for site_id in self.sites:
            self._refresh_business(site_id)

    def observe_decided(self, latency_s: float, decisions: int) -> None:
        """One price tick or job request decided: its latency from the broker to decisions sent."""
        self.decision_latency.observe(max(latency_s, 0.0))
        self.decisions.inc(decisions)

    def observe_alerts(self, alerts: list[Alert], active: list[Alert]) -> None:
        for alert in alerts:
            self.alerts.labels(alert.rule, alert.severity.value, alert.status.value).inc()
        for severity in ("info", "warning", "critical"):
            self.alerts_active.labels(severity).set(
                sum(a.severity.value == severity and a.status is AlertStatus.FIRING for a in active)
            )

    def observe_lag(self, snapshot: LagSnapshot, landing_group: str | None) -> None:
        self.last_lag = snapshot
        self.broker_up.set(1 if snapshot.reachable else 0)
        if not snapshot.reachable:
            return
        for topic, end in snapshot.end_offsets.items():
            self.end_offsets.labels(topic).set(end)
        for (group, topic), behind in snapshot.lag.items():
            self.lag.labels(group, topic).set(behind)
        if landing_group is not None:
            self.landing_lag.set(sum(v for (g, _), v in snapshot.lag.items() if g == landing_group))

    def _refresh_site(self, site_id: str) -> None:
        for kind in ("asic", "gpu"):
            mine = [f for f in self.collectors.values() if f.site_id == site_id and f.kind == kind]
            if not mine:
                continue
            online = sum(f.online for f in mine)
            self.power.labels(site_id, kind).set(sum(f.power_w for f in mine))
            self.devices.labels(site_id, kind, "online").set(online)
            self.devices.labels(site_id, kind, "offline").set(sum(f.offline for f in mine))
            self.temp_max.labels(site_id, kind).set(max(f.temp_max_c for f in mine))
            self.temp_mean.labels(site_id, kind).set(sum(f.temp_sum_c for f in mine) / max(online, 1))
            if kind == "asic":
                self.hashrate.labels(site_id).set(sum(f.hashrate_th for f in mine))
                self.devices.labels(site_id, kind, "curtailed").set(sum(f.curtailed for f in mine))
            else:
                self.gpu_util.labels(site_id).set(sum(f.utilisation_sum for f in mine) / max(online, 1))
                self.gpus_busy.labels(site_id).set(sum(f.busy for f in mine))
        self._refresh_business(site_id)

    def _refresh_business(self, site_id: str) -> None:
        mine = [f for f in self.collectors.values() if f.site_id == site_id]
        if not mine:
            return
        site = self.sites.get(site_id)  # telemetry of a site outside the fleet is dead-lettered, not a crash
        price = self.energy_rt.get(site.node) if site is not None else None
        if price is not None:
            self.cost.labels(site_id).set(energy_cost_usd_per_hour(sum(f.power_w for f in mine), price))
        if self.hashprice is not None:
            hashrate = sum(f.hashrate_th for f in mine)
            self.revenue.labels(site_id, "mining").set(mining_revenue_usd_per_hour(hashrate, self.hashprice))
        busy = sum(f.busy for f in mine if f.kind == "gpu")
        if self.gpu_rental:
            rate = sum(self.gpu_rental.values()) / len(self.gpu_rental)
            self.revenue.labels(site_id, "ai").set(busy * rate)
