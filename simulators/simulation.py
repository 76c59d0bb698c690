"""The whole simulated world, stepped on the simulated grid: market, customers (with the scheduled AI burst),
ASICs and GPUs, obeying the platform's control commands. Pure: no broker, no files written; `simulators.runner`
sends what `step` returns and feeds `apply_command` what the platform publishes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from hcp.codec import decode_record
from hcp.exceptions import ConfigError, RecordError
from hcp.fleet import Fleet
from hcp.records import (
    AsicTelemetry,
    CommandKind,
    ControlCommand,
    GpuTelemetry,
    PriceTick,
    Record,
    WorkloadRequest,
)
from hcp.settings import SimulatorSettings
from hcp.topics import CONTROL_COMMANDS
from simulators.asic import AsicFleetSimulator
from simulators.burst import plan_burst
from simulators.exceptions import SimulatorError
from simulators.faults import Fault, FaultInjector
from simulators.gpu import GpuFleetSimulator
from simulators.market import ReplayMarket, SyntheticMarket
from simulators.scheduler import LocalScheduler
from simulators.workloads import WorkloadGenerator

log = logging.getLogger(__name__)


def fleet_nodes(fleet: Fleet) -> list[str]:
    """The price nodes of the fleet's sites, in fleet order, each once."""
    return list(dict.fromkeys(site.node for site in fleet.sites))


def build_market(sim: SimulatorSettings, fleet: Fleet) -> SyntheticMarket | ReplayMarket:
    """The price feed the settings ask for; `ConfigError` when a replay file is not configured or unusable."""
    nodes = fleet_nodes(fleet)
    if sim.market_source == "synthetic":
        return SyntheticMarket(nodes, sim.start, sim.seed, sim.price_interval_s)
    rt, da, hashprice = sim.rt_prices_file, sim.da_prices_file, sim.hashprice_file
    if rt is None or da is None or hashprice is None:
        named = {"HCP_SIM_RT_PRICES_FILE": rt, "HCP_SIM_DA_PRICES_FILE": da, "HCP_SIM_HASHPRICE_FILE": hashprice}
        missing = ", ".join(name for name, path in named.items() if path is None)
        raise ConfigError(f"the replay market needs {missing}")
    return ReplayMarket(rt, da, hashprice, sim.gpu_prices_dir, nodes, sim.start)


def record_key(record: Record) -> str:
    """The message key of a simulated record, as its topic's contract in `hcp.topics` states it."""
    if isinstance(record, PriceTick):
        return record.key
    if isinstance(record, WorkloadRequest):
        return record.customer_id
    if isinstance(record, AsicTelemetry | GpuTelemetry):
        return record.site_id
    raise TypeError(f"no key rule for {type(record).__name__}")


class FleetSimulation:
    """Every simulator of one run, seeded from `sim.seed`.

    With `sim.gpu_scheduler == 'platform'` the GPUs run only what `place_job` commands place; with 'local' the
    simulator queues and places the submitted jobs itself and refuses job commands.
    """

    def __init__(self, sim: SimulatorSettings, fleet: Fleet, faults: Sequence[Fault] = ()) -> None:
        self.market = build_market(sim, fleet)
        self.workloads = WorkloadGenerator(
            fleet, sim.jobs_per_hour, sim.seed, sim.workload_arrivals_file, start=sim.start
        )
        self.burst = plan_burst(fleet, sim.start, sim.seed) if sim.ai_burst else None
        self._burst_pending = list(self.burst.requests) if self.burst else []
        self.asics = AsicFleetSimulator(
            fleet, sim.telemetry_interval_s, sim.ramp_delay_s, np.random.default_rng([sim.seed, 10])
        )
        self.gpus = GpuFleetSimulator(fleet, sim.telemetry_interval_s, np.random.default_rng([sim.seed, 11]))
        self.scheduler = LocalScheduler(self.gpus) if sim.gpu_scheduler == "local" else None
        self.faults = FaultInjector(faults, sim.start) if faults else None

    def step(self, now: datetime) -> list[Record]:
        """What happens at `now`: prices published, jobs submitted (queued locally when the simulator schedules),
        jobs that are done end, device polls."""
        records: list[Record] = list(self.market.ticks_due(now))
        for request in self._requests_due(now):
            if self.scheduler is not None:
                self.scheduler.submit(request, now)
            records.append(request)
        records.extend(self.asics.poll(now))
        self.gpus.release_finished(now)
        if self.scheduler is not None:
            self.scheduler.place_queued(now)
        records.extend(self.gpus.poll(now))
        return self.faults.apply(records, now) if self.faults else records

    def _requests_due(self, now: datetime) -> list[WorkloadRequest]:
        due = self.workloads.requests_due(now)
        while self._burst_pending and self._burst_pending[0].event_time <= now:
            due.append(self._burst_pending.pop(0))
        return sorted(due, key=lambda request: request.event_time)

    def apply_command(self, payload: bytes | None, now: datetime) -> ControlCommand | None:
        """Decode and apply one `control.commands` message; None (logged) when it is invalid or cannot be obeyed
        (targets nothing, GPUs not free, job not running, job commands while the simulator schedules)."""
        try:
            command = decode_record(CONTROL_COMMANDS, payload)
            assert isinstance(command, ControlCommand)
            outcome = self._obey(command, now)
        except (RecordError, SimulatorError) as err:
            log.warning("ignoring control command: %s", err)
            return None
        log.debug("command %s (%s): %s", command.command_id, command.kind.value, outcome)
        return command

    def _obey(self, command: ControlCommand, now: datetime) -> str:
        if command.kind in (CommandKind.SET_POWER_STATE, CommandKind.SET_POWER_MIX):
            return f"{self.asics.apply(command, now)} device(s) retargeted"
        if self.scheduler is not None:
            raise SimulatorError(f"command {command.command_id}: the simulator schedules its GPUs itself")
        if command.kind is CommandKind.PLACE_JOB:
            return f"job {command.job_id} on {', '.join(self.gpus.place(command, now))}"
        return f"job {command.job_id} preempted from {', '.join(self.gpus.preempt(command, now))}"
