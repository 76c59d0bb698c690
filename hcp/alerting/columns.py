"""The per-poll alert rules on a poll decoded as columns (`hcp.telemetry_columns.TelemetryColumns`).

Same conditions, in the same order, as `asic_conditions` and `gpu_conditions` on the poll's readings: numpy
picks the readings that could meet a rule (a superset: every comparison is the rule's own, on the same
float64 values), and only those go through the reading rules one by one. Most readings of a poll are far from
every limit, so a poll costs a few array comparisons instead of a Python loop over its readings.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hcp.alerting.book import Condition
from hcp.alerting.rules import (
    NAMEPLATE_AT_STATE,
    STEADY_POWER_TOLERANCE,
    asic_conditions,
    gpu_conditions,
    gpu_reading_conditions,
    never_open,
)
from hcp.alerting.settings import AlertSettings
from hcp.economics import PowerState
from hcp.telemetry_access import readings_at
from hcp.telemetry_columns import TelemetryColumns

# Slack on the hashrate rule's pre-selection only (the reading rule decides): rounding can never drop a reading.
_SLACK = 1e-9


def asic_candidates(poll: TelemetryColumns, s: AlertSettings) -> np.ndarray:
    """Row numbers of the ASIC readings that could meet an ASIC rule; every other reading meets none."""
    n = poll.numbers
    awake = np.array(poll.texts["power_state"], dtype=object) != PowerState.SLEEP.value
    nameplate = [NAMEPLATE_AT_STATE.get(key) for key in zip(poll.models, poll.texts["power_state"], strict=True)]
    expected_th = np.array([np.nan if e is None else e[0] for e in nameplate], dtype=np.float64)
    expected_w = np.array([np.nan if e is None else e[1] for e in nameplate], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        steady = np.abs(n["power_w"] / expected_w - 1.0) <= STEADY_POWER_TOLERANCE + _SLACK
        slow = n["hashrate_th"] / expected_th < s.asic_hashrate_min_ratio + _SLACK
    maybe = (
        (n["temp_chip_c"] > s.asic_chip_temp_max_c - s.temp_hysteresis_c)
        | ((n["hashboards_ok"] < s.asic_hashboards_expected) & awake)
        | (awake & (n["fan_rpm"] < s.asic_fan_min_rpm))
        | (~np.isnan(expected_th) & (n["hashboards_ok"] >= 3) & steady & slow)
    )
    return np.flatnonzero(maybe)


def asic_conditions_of_columns(
    poll: TelemetryColumns, s: AlertSettings, is_open: Callable[[str], bool] = never_open
) -> list[Condition]:
    """`asic_conditions` of the poll's readings, from its columns."""
    return asic_conditions(poll.site_id, readings_at(poll, asic_candidates(poll, s).tolist()), s, is_open)


def gpu_conditions_of_columns(
    poll: TelemetryColumns, stuck_polls: dict[str, int], s: AlertSettings, is_open: Callable[[str], bool] = never_open
) -> list[Condition]:
    """`gpu_conditions` of the poll's readings, from its columns (`stuck_polls` updated the same way)."""
    if len(set(poll.device_ids)) != len(poll):  # a device twice in a poll: its stuck count moves per reading
        return gpu_conditions(poll.site_id, readings_at(poll, range(len(poll))), stuck_polls, s, is_open)
    n = poll.numbers
    has_job = np.fromiter((job is not None for job in poll.texts["job_id"]), dtype=bool, count=len(poll))
    stuck = has_job & (n["utilisation_pct"] <= s.gpu_stuck_util_max_pct)
    stuck_rows = np.flatnonzero(stuck).tolist()
    stuck_polls.update(dict.fromkeys((poll.device_ids[i] for i in np.flatnonzero(~stuck).tolist()), 0))
    for i in stuck_rows:
        device_id = poll.device_ids[i]
        stuck_polls[device_id] = stuck_polls.get(device_id, 0) + 1
    long_stuck = np.zeros(len(poll), dtype=bool)
    long_stuck[[i for i in stuck_rows if stuck_polls[poll.device_ids[i]] >= s.gpu_stuck_polls]] = True
    maybe = (n["temp_c"] > s.gpu_temp_max_c - s.temp_hysteresis_c) | (n["ecc_errors"] > s.gpu_ecc_errors_max)
    found: list[Condition] = []
    for r in readings_at(poll, np.flatnonzero(maybe | long_stuck).tolist()):
        found += gpu_reading_conditions(poll.site_id, r, stuck_polls[r.device_id], s, is_open)
    return found
