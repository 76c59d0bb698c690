"""The alert rules, as pure functions from one record (and the rule's memory) to the conditions found.

`RULES` is the table of every rule: its severity, the setting holding its threshold and what it means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hcp.alerting.book import Condition, key_of
from hcp.alerting.settings import AlertSettings
from hcp.economics import ASIC_MODELS, POWER_STATE_PROFILES, PowerState
from hcp.records import AsicReading, GpuReading, PriceKind, PriceTick, Severity

# A device is "steady" (not ramping between power states) when its power is within this share of what its
# reported state draws; hashrate is judged only then, so a ramp is not mistaken for a drop.
STEADY_POWER_TOLERANCE = 0.15


@dataclass(frozen=True)
class Rule:
    """One rule's contract, for the operations table and the tests."""

    name: str
    severity: Severity
    setting: str
    meaning: str


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule("asic_overheat", Severity.CRITICAL, "asic_chip_temp_max_c", "ASIC hottest chip above the limit"),
        Rule("asic_hashrate_drop", Severity.WARNING, "asic_hashrate_min_ratio",
             "steady ASIC hashing below a share of its nameplate at its power state"),
        Rule("asic_hashboard_down", Severity.WARNING, "asic_hashboards_expected", "fewer hash boards hashing"),
        Rule("asic_fan_failure", Severity.CRITICAL, "asic_fan_min_rpm", "slowest fan below the limit while powered"),
        Rule("device_offline", Severity.WARNING, "device_offline_missed_polls",
             "a device (ASIC or GPU) missing from its collector's polls"),
        Rule("gpu_overheat", Severity.CRITICAL, "gpu_temp_max_c", "GPU core above the limit"),
        Rule("gpu_ecc_errors", Severity.WARNING, "gpu_ecc_errors_max", "uncorrectable ECC errors in a poll"),
        Rule("gpu_stuck_job", Severity.CRITICAL, "gpu_stuck_util_max_pct",
             "a GPU holds a job but computes nothing (the job and the queue behind it are stuck)"),
        Rule("price_spike", Severity.CRITICAL, "price_spike_usd_mwh", "real-time energy price above the limit"),
        Rule("negative_price", Severity.INFO, "negative_price_usd_mwh", "real-time energy price below the limit"),
        Rule("hashprice_move", Severity.WARNING, "hashprice_move_pct", "hashprice moved more than the limit"),
        Rule("ls_job_sla", Severity.CRITICAL, "sla_qos_classes", "a latency-sensitive job waits past its SLA"),
        Rule("site_above_cap", Severity.CRITICAL, "site_power_cap_ratio", "site device power above its cap"),
        Rule("consumer_lag", Severity.WARNING, "consumer_lag_max_messages", "a consumer group far behind a topic"),
        Rule("deadletter_rate", Severity.WARNING, "deadletters_max_per_minute", "dead letters arriving too fast"),
    )
}


def condition(rule: str, message: str, **fields: object) -> Condition:
    return Condition(rule=rule, severity=RULES[rule].severity, message=message, **fields)  # type: ignore[arg-type]


def limit_for(open_key: Callable[[str], bool], key: str, limit: float, band: float) -> float:
    """Hysteresis: an open alert holds until the value falls `band` below the limit that fired it."""
    return limit - band if open_key(key) else limit


def never_open(_: str) -> bool:
    return False


def asic_conditions(
    site_id: str, readings: Sequence[AsicReading], s: AlertSettings, is_open: Callable[[str], bool] = never_open
) -> list[Condition]:
    """Overheat, hashrate drop, hash board down and fan failure of every ASIC in one poll."""
    found: list[Condition] = []
    for r in readings:
        where = {"site_id": site_id, "device_id": r.device_id}
        # The key (and the hysteresis) matter only near the limit: most readings skip them.
        if r.temp_chip_c > s.asic_chip_temp_max_c - s.temp_hysteresis_c and r.temp_chip_c > limit_for(
            is_open, key_of("asic_overheat", site_id, r.device_id), s.asic_chip_temp_max_c, s.temp_hysteresis_c
        ):
            found.append(condition("asic_overheat", f"{r.device_id} chip at {r.temp_chip_c:.0f} °C",
                                   value=r.temp_chip_c, threshold=s.asic_chip_temp_max_c, **where))
        if r.hashboards_ok < s.asic_hashboards_expected and r.power_state is not PowerState.SLEEP:
            found.append(condition("asic_hashboard_down",
                                   f"{r.device_id}: {r.hashboards_ok} of {s.asic_hashboards_expected} hash boards",
                                   value=r.hashboards_ok, threshold=s.asic_hashboards_expected, **where))
        if r.power_state is not PowerState.SLEEP and r.fan_rpm < s.asic_fan_min_rpm:
            found.append(condition("asic_fan_failure", f"{r.device_id} fan at {r.fan_rpm} rpm",
                                   value=r.fan_rpm, threshold=s.asic_fan_min_rpm, **where))
        ratio = hashrate_ratio(r)
        if ratio is not None and ratio < s.asic_hashrate_min_ratio:
            found.append(condition("asic_hashrate_drop",
                                   f"{r.device_id} hashes {ratio:.0%} of its nameplate at {r.power_state.value}",
                                   value=round(ratio, 3), threshold=s.asic_hashrate_min_ratio, **where))
    return found


# (model, power state) -> (nameplate hashrate, nameplate power) at that state; None for a state that hashes nothing.
NAMEPLATE_AT_STATE: dict[tuple[str, PowerState], tuple[float, float] | None] = {
    (name, state): (model.hashrate_th * profile.hashrate_factor, model.power_w * profile.power_factor)
    if profile.hashrate_factor > 0 else None
    for name, model in ASIC_MODELS.items()
    for state, profile in POWER_STATE_PROFILES.items()
}


def hashrate_ratio(r: AsicReading) -> float | None:
    """Hashrate over the nameplate at the reported state, for a steady, hashing, known ASIC; else None."""
    expected = NAMEPLATE_AT_STATE.get((r.model, r.power_state))
    if expected is None or r.hashboards_ok < 3:
        return None
    expected_th, expected_w = expected
    if abs(r.power_w / expected_w - 1.0) > STEADY_POWER_TOLERANCE:
        return None
    return r.hashrate_th / expected_th


def gpu_conditions(
    site_id: str,
    readings: Sequence[GpuReading],
    stuck_polls: dict[str, int],
    s: AlertSettings,
    is_open: Callable[[str], bool] = never_open,
) -> list[Condition]:
    """Overheat, ECC errors and stuck jobs of every GPU in one poll; `stuck_polls` counts consecutive stuck polls."""
    found: list[Condition] = []
    for r in readings:
        stuck = r.job_id is not None and r.utilisation_pct <= s.gpu_stuck_util_max_pct
        stuck_polls[r.device_id] = stuck_polls.get(r.device_id, 0) + 1 if stuck else 0
        found += gpu_reading_conditions(site_id, r, stuck_polls[r.device_id], s, is_open)
    return found


def gpu_reading_conditions(
    site_id: str, r: GpuReading, stuck_count: int, s: AlertSettings, is_open: Callable[[str], bool] = never_open
) -> list[Condition]:
    """One GPU's overheat, ECC errors and stuck job, given its consecutive stuck polls so far (this one included)."""
    found: list[Condition] = []
    where = {"site_id": site_id, "device_id": r.device_id}
    if r.temp_c > s.gpu_temp_max_c - s.temp_hysteresis_c and r.temp_c > limit_for(
        is_open, key_of("gpu_overheat", site_id, r.device_id), s.gpu_temp_max_c, s.temp_hysteresis_c
    ):
        found.append(condition("gpu_overheat", f"{r.device_id} at {r.temp_c:.0f} °C",
                               value=r.temp_c, threshold=s.gpu_temp_max_c, **where))
    if r.ecc_errors > s.gpu_ecc_errors_max:
        found.append(condition("gpu_ecc_errors", f"{r.device_id}: {r.ecc_errors} uncorrectable ECC error(s)",
                               value=r.ecc_errors, threshold=s.gpu_ecc_errors_max, **where))
    if stuck_count >= s.gpu_stuck_polls:
        found.append(condition("gpu_stuck_job",
                               f"job {r.job_id} on {r.device_id} is stuck at {r.utilisation_pct:.0f}% utilisation",
                               value=r.utilisation_pct, threshold=s.gpu_stuck_util_max_pct, **where))
    return found


def energy_price_conditions(tick: PriceTick, s: AlertSettings) -> list[Condition]:
    """Spike or negative real-time price at one node (subject: the node)."""
    if tick.kind is not PriceKind.ENERGY_RT:
        return []
    node = tick.node
    if tick.value > s.price_spike_usd_mwh:
        return [condition("price_spike", f"real-time price at {node} is {tick.value:,.0f} USD/MWh",
                          device_id=node, value=tick.value, threshold=s.price_spike_usd_mwh)]
    if tick.value < s.negative_price_usd_mwh:
        return [condition("negative_price", f"real-time price at {node} is {tick.value:,.2f} USD/MWh",
                          device_id=node, value=tick.value, threshold=s.negative_price_usd_mwh)]
    return []


def hashprice_conditions(tick: PriceTick, previous: float | None, s: AlertSettings) -> list[Condition]:
    """A hashprice tick that moved more than the limit against the previous one."""
    if tick.kind is not PriceKind.HASHPRICE or not previous:
        return []
    move_pct = (tick.value / previous - 1.0) * 100.0
    if abs(move_pct) <= s.hashprice_move_pct:
        return []
    return [condition("hashprice_move", f"hashprice moved {move_pct:+.1f}% to {tick.value:.2f} USD/PH/day",
                      value=round(move_pct, 2), threshold=s.hashprice_move_pct)]


def site_cap_conditions(
    site_id: str, power_mw: float, cap_mw: float, s: AlertSettings, is_open: Callable[[str], bool] = never_open
) -> list[Condition]:
    limit = cap_mw * s.site_power_cap_ratio
    if power_mw <= limit_for(is_open, key_of("site_above_cap", site_id, None), limit,
                             cap_mw * s.site_power_hysteresis_ratio):
        return []
    return [condition("site_above_cap", f"{site_id} draws {power_mw:.3f} MW, above its {limit:.3f} MW cap",
                      site_id=site_id, value=round(power_mw, 4), threshold=round(limit, 4))]


def lag_conditions(lag: dict[tuple[str, str], int], s: AlertSettings) -> list[Condition]:
    """Consumer lag by (group, topic) above the limit (subject: `group/topic`)."""
    return [
        condition("consumer_lag", f"group {group} is {behind:,} message(s) behind {topic}",
                  device_id=f"{group}/{topic}", value=behind, threshold=s.consumer_lag_max_messages)
        for (group, topic), behind in sorted(lag.items())
        if behind > s.consumer_lag_max_messages
    ]


def deadletter_conditions(per_minute: float, s: AlertSettings) -> list[Condition]:
    if per_minute <= s.deadletters_max_per_minute:
        return []
    return [condition("deadletter_rate", f"{per_minute:.1f} dead letters per minute",
                      value=round(per_minute, 2), threshold=s.deadletters_max_per_minute)]
