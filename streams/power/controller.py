"""The site controller: prices and AI job requests in, power and routing decisions and commands out. Pure (no faust).

Prices: on each real-time price of a node (the interval that just ended) every site at that node decides the
coming interval. Each ASIC model's run fraction comes from `hcp.policy.step` (the very function `hcp backtest`
replays, with the same observation); the allocator (`hcp.allocation.allocate`) then splits the site's cap
between the GPU work of the site's router and the ASICs the policy lets run (the others sleep, their sleep power
taken off the cap). Price response is the policy's; the split under the cap is the allocator's.

Jobs: a request goes to the site with the most free GPUs of its type, if one has enough, else to the site with
the shortest queue (fleet order breaks ties). Every router decision becomes a Decision (and a place_job or
preempt_job command). Before a placement is sent, the site must be able to power it: ASICs move down (never up)
to the allocator's split to make room, and a job that still cannot be powered is taken back and rejected. A
request for a job that already runs or waits at a site (a redelivery) decides nothing.

Restart: every output's `changes` hold what changed (prices, policy states, mixes, each site's last interval
market and, when its router booked something, the site's whole job state `router:<site>`); `restore` reads them
back, so a restored controller decides the rest of a sequence as one that never stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from hcp.allocation import (
    STATE_ORDER,
    Allocation,
    AllocationError,
    AsicGroup,
    Market,
    SiteCap,
    allocate,
    build_problem,
    gpu_class_for,
)
from hcp.economics import ASIC_MODELS, PowerState
from hcp.fleet import Fleet, Site
from hcp.policy import DEFAULT_POLICY, CurtailmentPolicy, PolicyState, estimate_price, step
from hcp.records import ControlCommand, Decision, PriceKind, PriceTick, WorkloadRequest
from hcp.routing import Classify, Job, RouterConfig, RouterDecision, RoutingError, job_from_request
from hcp.routing import DecisionKind as RouteKind
from streams.power.jobs import SiteJobs
from streams.power.market import DEFAULT_GPU_RATE_USD, Changes, MarketMemory
from streams.power.records import MixNumbers, mix_mw, power_mix_records, route_records

log = logging.getLogger(__name__)

Mix = dict[PowerState, int]
CAP_SLACK_MW = 1e-9


@dataclass
class ControlOutput:
    """What one message led to: records to send (commands before decisions) and table entries to write."""

    decisions: list[Decision] = field(default_factory=list)
    commands: list[ControlCommand] = field(default_factory=list)
    changes: Changes = field(default_factory=list)

    def add(self, decision: Decision, command: ControlCommand | None) -> None:
        self.decisions.append(decision)
        if command is not None:
            self.commands.append(command)


def site_models(site: Site) -> dict[str, int]:
    """ASIC model -> devices at the site."""
    counts: dict[str, int] = {}
    for group in site.asics:
        counts[group.model] = counts.get(group.model, 0) + group.count
    return counts


class SiteController:
    """Policy, allocator and router state for every site of a fleet."""

    def __init__(
        self,
        fleet: Fleet,
        policy: CurtailmentPolicy = DEFAULT_POLICY,
        router_config: RouterConfig | None = None,
        classify: Classify | None = None,
        ls_confidence: float = 0.8,
    ) -> None:
        self.fleet = fleet
        self.policy = policy
        self.router_config = router_config
        self.classify = classify
        """Predicts the class of requests that declare none (None: they are routed as best effort)."""
        self.ls_confidence = ls_confidence
        self.market = MarketMemory()
        self.policy_states: dict[tuple[str, str], PolicyState] = {}
        self.mixes: dict[tuple[str, str], Mix] = {}
        self.site_markets: dict[str, Market] = {}
        self.jobs: dict[str, SiteJobs] = {}
        self.duplicates = 0
        """Requests skipped because their job already ran or waited at a site."""
        self.restore_errors: list[str] = []
        for site in fleet.sites:
            site_jobs = SiteJobs.for_site(site, router_config)
            if site_jobs is not None:
                self.jobs[site.site_id] = site_jobs

    def restore(self, entries: Iterable[tuple[str, Any]]) -> None:
        """Read back the table entries written from earlier outputs' `changes` (after a restart).

        A site whose job state no longer fits the fleet (its GPUs changed) starts with an empty router: the error
        is logged and kept in `restore_errors`.
        """
        for key, value in entries:
            kind, _, rest = key.partition(":")
            if kind == "router":
                self._restore_jobs(rest, value)
            elif kind == "site_market":
                self.site_markets[rest] = Market(float(value[0]), float(value[1]))
            elif kind == "policy":
                site_id, _, model = rest.partition(":")
                self.policy_states[(site_id, model)] = PolicyState(**value)
            elif kind == "mix":
                site_id, _, model = rest.partition(":")
                self.mixes[(site_id, model)] = {PowerState(s): int(n) for s, n in value.items()}
            else:
                self.market.restore(key, value)

    def describe_jobs(self) -> str:
        """`west-1 3 running 1 queued, ...`: what the routers hold (logged after a restore)."""
        return ", ".join(
            f"{site_id} {len(jobs.running)} running {len(jobs.queued)} queued" for site_id, jobs in self.jobs.items()
        )

    def _restore_jobs(self, site_id: str, snapshot: dict[str, Any]) -> None:
        site = next((site for site in self.fleet.sites if site.site_id == site_id), None)
        try:
            if site is None:
                raise RoutingError(f"site {site_id} is not in the fleet any more")
            self.jobs[site_id] = SiteJobs.restore(site, snapshot, self.router_config)
        except (RoutingError, KeyError, TypeError, ValueError) as err:
            self.restore_errors.append(f"{site_id}: {err}")
            log.error("router of site %s starts empty: its saved jobs cannot be restored: %s", site_id, err)

    def on_price(self, tick: PriceTick) -> ControlOutput:
        """Remember the price, let job time pass, and on a real-time energy price decide its sites' next interval.

        A real-time price no newer than one already decided on (a duplicate, or late and out of order) decides
        nothing: its interval was decided already, and stepping the policy twice would skew its hysteresis.
        """
        changes = self.market.remember(tick)
        out = ControlOutput(changes=changes)
        self.advance(tick.event_time, out)
        if tick.kind is PriceKind.ENERGY_RT and changes:
            for site in self.fleet.sites:
                if site.node == tick.node:
                    self._decide_interval(site, tick, out)
        self._snapshot_jobs(out)
        return out

    def on_request(self, request: WorkloadRequest, event_time: datetime) -> ControlOutput:
        """Route a submitted job to a site and carry out what its router decides."""
        out = ControlOutput()
        self.advance(event_time, out)
        if any(site_jobs.knows(request.job_id) for site_jobs in self.jobs.values()):
            self.duplicates += 1
        elif (jobs := self._site_for(request.gpu_type, request.gpu_count)) is not None:
            now = jobs.now(event_time)
            job = job_from_request(request, now, classify=self.classify, ls_confidence=self.ls_confidence)
            self._route(jobs, jobs.router.submit(job, now), out)
        self._snapshot_jobs(out)
        return out

    def _snapshot_jobs(self, out: ControlOutput) -> None:
        """Add the job state of every site whose router booked something to the output's changes."""
        for site_id, jobs in self.jobs.items():
            if jobs.changed:
                out.changes.append((f"router:{site_id}", jobs.snapshot()))
                jobs.changed = False

    def advance(self, moment: datetime, out: ControlOutput) -> None:
        """End the jobs whose time is up by `moment` and let each router report SLA breaches and preempt.

        A router is ticked only when something of its is due (`Router.next_wakeup`: an SLA deadline, a victim's
        minimum runtime, a reservation), as `hcp backtest`'s replay does: every other tick would try each queued
        job again on unchanged GPUs, which for busy sites cost tens of milliseconds per message and held up every
        price decision behind it (docs/benchmarks.md, "Session 7").
        """
        for jobs in self.jobs.values():
            for ends_at, job_id in jobs.due_ends(moment):
                self._route(jobs, jobs.finish(job_id, ends_at), out)
            now = jobs.now(moment)
            wake = jobs.router.next_wakeup()
            if wake is not None and wake <= now:
                self._route(jobs, jobs.router.tick(now), out)

    def _site_for(self, gpu_type: str, gpus: int) -> SiteJobs | None:
        having = [jobs for jobs in self.jobs.values() if gpu_type in jobs.gpus_by_type]
        if not having:
            return next(iter(self.jobs.values()), None)  # its router rejects the unknown type
        roomy = [jobs for jobs in having if jobs.free_gpus(gpu_type) >= gpus]
        if roomy:
            return max(roomy, key=lambda jobs: jobs.free_gpus(gpu_type))
        return min(having, key=lambda jobs: jobs.router.queued_count)

    def _route(self, jobs: SiteJobs, decisions: list[RouterDecision], out: ControlOutput) -> None:
        pending = list(decisions)
        while pending:
            decision = pending.pop(0)
            run_seconds = jobs.apply(decision)
            if decision.kind is RouteKind.PLACED:
                refusal = self._power_placement(jobs.site, decision, out)
                if refusal is not None:
                    out.add(*route_records(jobs.site.site_id, decision, None, refusal))
                    pending.extend(jobs.finish(decision.job.job_id, decision.at))
                    continue
            out.add(*route_records(jobs.site.site_id, decision, run_seconds))

    def _power_placement(self, site: Site, placed: RouterDecision, out: ControlOutput) -> str | None:
        """Make room for a placed job by moving ASICs down; the reason it cannot run, or None when it can."""
        market = self.site_markets.get(site.site_id) or self._fallback_market(site)
        try:
            allocation = self._allocate(site, market)
        except AllocationError as err:
            return f"cannot be powered: {err}"
        job = placed.job
        demand_id = f"{_class_name(job)}:{job.gpu_type}"
        problem = allocation.problem
        for index, this_id in enumerate(problem.demand_ids):
            if this_id == demand_id and allocation.gpus_granted[index] < problem.demand_gpus[index]:
                return (
                    f"cannot be powered under the {site.power_cap_mw:g} MW cap at {market.energy_price_usd_mwh:.2f}"
                    f" USD/MWh: {allocation.gpus_granted[index]} of {problem.demand_gpus[index]} {this_id} GPUs fit"
                )
        counts = allocation.asic_counts()
        lowered: dict[str, Mix] = {}
        for model, count in site_models(site).items():
            now = self._mix(site.site_id, model, count)
            target = self._with_sleepers(counts, model, count, now)
            lowered[model] = _lower_of(now, target, count)
        gpu_mw = self.jobs[site.site_id].running_mw()
        total = gpu_mw + sum(mix_mw(model, mix) for model, mix in lowered.items())
        if total > site.power_cap_mw + CAP_SLACK_MW:
            return f"cannot be powered: {total:.3f} MW with every ASIC as low as allowed exceeds the cap"
        for model, mix in lowered.items():
            previous = self._mix(site.site_id, model, site_models(site)[model])
            if mix == previous:
                continue
            decision_id = f"{site.site_id}:{model}:{job.job_id}:{placed.at.isoformat()}"
            reason = (
                f"making room for job {job.job_id} ({int(job.gpus)} {job.gpu_type}): AI work outbids mining under"
                f" the {site.power_cap_mw:g} MW cap; site at {total:.3f} MW"
            )
            numbers = MixNumbers(market.energy_price_usd_mwh, market.hashprice_usd_ph_day, None, site.power_cap_mw)
            out.add(
                *power_mix_records(
                    site.site_id, model, decision_id, placed.at, placed.at, mix, previous, reason, numbers
                )
            )
            self._set_mix(site.site_id, model, mix, out)
        return None

    def _decide_interval(self, site: Site, tick: PriceTick, out: ControlOutput) -> None:
        interval_start = tick.interval_end
        hashprice = self.market.known_hashprice(interval_start)
        if hashprice is None:
            return
        reasons: dict[str, str] = {}
        estimate = tick.value
        breakevens: dict[str, float] = {}
        for model in site_models(site):
            observation = self.market.observe(tick, model, hashprice)
            state = self.policy_states.get((site.site_id, model), PolicyState())
            new_state, _, reasons[model] = step(state, observation, self.policy)
            estimate = estimate_price(observation, self.policy.persistence) or tick.value
            breakevens[model] = observation.breakeven
            if new_state != state:
                self.policy_states[(site.site_id, model)] = new_state
                out.changes.append((f"policy:{site.site_id}:{model}", asdict(new_state)))
        market = Market(estimate, hashprice)
        if self.site_markets.get(site.site_id) != market:
            self.site_markets[site.site_id] = market
            out.changes.append((f"site_market:{site.site_id}", [estimate, hashprice]))
        try:
            counts = self._allocate(site, market).asic_counts()
        except AllocationError as err:
            counts, reasons = {}, {model: f"{reasons[model]}; allocation failed: {err}" for model in reasons}
        for model, count in site_models(site).items():
            previous = self.mixes.get((site.site_id, model))
            fraction = self.policy_states.get((site.site_id, model), PolicyState()).run_fraction
            mix = self._with_sleepers(counts, model, count, previous) if counts else previous
            if mix is None:
                continue
            reason = (
                f"{reasons[model]}; policy runs {fraction:.2f} of {count}; allocator under the"
                f" {site.power_cap_mw:g} MW cap: {mix_mw(model, mix):.3f} MW"
            )
            decision_id = f"{site.site_id}:{model}:{interval_start.isoformat()}"
            numbers = MixNumbers(estimate, hashprice, breakevens[model], site.power_cap_mw)
            out.add(
                *power_mix_records(
                    site.site_id, model, decision_id, tick.event_time, interval_start, mix, previous, reason, numbers
                )
            )
            self._set_mix(site.site_id, model, mix, out)

    def _allocate(self, site: Site, market: Market) -> Allocation:
        """The allocator's split: each model's running devices (policy fraction x count) compete with GPU work."""
        groups, asleep_mw = [], 0.0
        for model, count in site_models(site).items():
            fraction = self.policy_states.get((site.site_id, model), PolicyState()).run_fraction
            running = round(fraction * count)
            spec = ASIC_MODELS[model]
            asleep_mw += (count - running) * spec.power_at(PowerState.SLEEP) / 1e6
            groups.append(AsicGroup(model, spec, running, self._mix_capped(site.site_id, model, running)))
        jobs = self.jobs.get(site.site_id)
        demands = jobs.demands(self.market.gpu_rate, DEFAULT_GPU_RATE_USD) if jobs else []
        cap = SiteCap(site.site_id, max(site.power_cap_mw - asleep_mw, CAP_SLACK_MW))
        return allocate(build_problem(cap, groups, demands), market)

    def _mix(self, site_id: str, model: str, count: int) -> Mix:
        known = self.mixes.get((site_id, model)) or {PowerState.NORMAL: count}
        return {state: int(known.get(state, 0)) for state in STATE_ORDER}

    def _mix_capped(self, site_id: str, model: str, running: int) -> Mix:
        """The model's current states as a starting point for `running` devices (highest states kept first)."""
        mix = self._mix(site_id, model, running)
        left, capped = running, {}
        for state in reversed(STATE_ORDER):
            take = min(left, mix.get(state, 0))
            capped[state], left = take, left - take
        capped[PowerState.SLEEP] += left
        return capped

    @staticmethod
    def _with_sleepers(counts: dict, model: str, count: int, fallback: Mix | None) -> Mix:
        if not counts:
            return dict(fallback or {PowerState.NORMAL: count})
        mix = {state: int(counts.get((model, state), 0)) for state in STATE_ORDER}
        mix[PowerState.SLEEP] += count - sum(mix.values())
        return mix

    def _set_mix(self, site_id: str, model: str, mix: Mix, out: ControlOutput) -> None:
        if self.mixes.get((site_id, model)) != mix:
            self.mixes[(site_id, model)] = mix
            out.changes.append((f"mix:{site_id}:{model}", {state.value: n for state, n in mix.items()}))

    def _fallback_market(self, site: Site) -> Market:
        """Before the site's first interval decision: the last real-time price and hashprice known, if any."""
        last = self.market.last_rt.get(site.node)
        hashprice = self.market.hashprice[max(self.market.hashprice)] if self.market.hashprice else 1.0
        return Market(last[1] if last else 0.0, hashprice)


def _class_name(job: Job) -> str:
    return gpu_class_for(job.qos_class).value


def _lower_of(now: Mix, target: Mix, count: int) -> Mix:
    """Per ladder level, the fewer devices at or above it: the target where it is lower, never higher than now."""
    levels_now = _levels(now)
    levels_target = _levels(target)
    levels = [min(a, b) for a, b in zip(levels_now, levels_target, strict=True)]
    mix: Mix = {}
    for index, state in enumerate(STATE_ORDER):
        above = levels[index + 1] if index + 1 < len(levels) else 0
        mix[state] = (count if index == 0 else levels[index]) - above
    return mix


def _levels(mix: Mix) -> list[int]:
    """Devices at or above each state of `STATE_ORDER` (the first is every device)."""
    return [sum(mix.get(state, 0) for state in STATE_ORDER[i:]) for i in range(len(STATE_ORDER))]
