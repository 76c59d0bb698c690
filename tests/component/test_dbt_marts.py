"""The dbt project built on a temp DuckDB: marts hold what hand computation from the records says."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hcp.economics import energy_mwh, mining_revenue_usd_per_hour
from hcp.fleet import load_fleet
from hcp.records import AsicTelemetry, GpuTelemetry, PriceKind
from hcp.settings import WarehouseSettings
from warehouse.connection import open_readonly
from warehouse.exceptions import DbtBuildError
from warehouse.loader import load_landing
from warehouse.transform import DbtBuildSummary, build_models

from .conftest import LandingScenario

pytestmark = pytest.mark.component

PROJECT_DIR = WarehouseSettings().dbt_project_dir


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory, landing_scenario: LandingScenario) -> Iterator[Path]:
    """One dbt build over the landed scenario, shared by every test of the module."""
    base = tmp_path_factory.mktemp("dbt-marts")
    landing_scenario.write(base / "landing")
    warehouse = base / "warehouse.duckdb"
    load_landing(base / "landing", warehouse, load_fleet())
    build_models(PROJECT_DIR, warehouse)
    yield warehouse


def query(warehouse: Path, sql: str) -> list[tuple]:
    conn = open_readonly(warehouse)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def price_at(scenario: LandingScenario, kind: PriceKind, at: datetime, node: str | None = None) -> float | None:
    for tick in scenario.prices:
        if tick.kind is kind and tick.node == node and tick.interval_start <= at < tick.interval_end:
            return tick.value
    return None


def expected_site_hours(scenario: LandingScenario) -> dict[tuple[str, datetime], dict[str, float | None]]:
    """Per site and hour: energy, cost and mining revenue, from the records with hcp.economics."""
    nodes = {site.site_id: site.node for site in load_fleet().sites}
    polls: list[AsicTelemetry | GpuTelemetry] = list({p.event_id: p for p in scenario.asic_polls}.values())
    polls += scenario.gpu_polls
    hours: dict[tuple[str, datetime], dict[str, float | None]] = defaultdict(
        lambda: {"asic_mwh": 0.0, "gpu_mwh": 0.0, "power_cost_usd": 0.0, "mining_revenue_usd": 0.0}
    )
    for poll in polls:
        row = hours[(poll.site_id, poll.event_time.replace(minute=0, second=0, microsecond=0))]
        price = price_at(scenario, PriceKind.ENERGY_RT, poll.event_time, nodes[poll.site_id])
        mwh = sum(energy_mwh(r.power_w, poll.interval_s) for r in poll.readings)
        row["asic_mwh" if isinstance(poll, AsicTelemetry) else "gpu_mwh"] += mwh
        row["power_cost_usd"] = (
            None if price is None or row["power_cost_usd"] is None else row["power_cost_usd"] + mwh * price
        )
        if isinstance(poll, AsicTelemetry):
            hashprice = price_at(scenario, PriceKind.HASHPRICE, poll.event_time)
            assert hashprice is not None
            hours_of_poll = poll.interval_s / 3600
            row["mining_revenue_usd"] += sum(
                mining_revenue_usd_per_hour(r.hashrate_th, hashprice) * hours_of_poll for r in poll.readings
            )
    return hours


def test_build_creates_a_table_for_every_mart_model(built_warehouse):
    tables = {row[0] for row in query(built_warehouse, "select table_name from information_schema.tables "
                                                        "where table_schema = 'main' and table_type = 'BASE TABLE'")}
    models = {path.stem for path in (PROJECT_DIR / "models" / "marts").glob("*.sql")}
    assert {"fct_site_energy_hourly", "fct_decisions", "dim_devices"} <= models
    assert models <= tables


def test_site_energy_hourly_matches_hand_computed_energy_cost_and_revenue(built_warehouse, landing_scenario):
    expected = expected_site_hours(landing_scenario)
    rows = query(
        built_warehouse,
        "select site_id, hour_start, asic_mwh, gpu_mwh, total_mwh, power_cost_usd, mining_revenue_usd "
        "from main.fct_site_energy_hourly",
    )

    assert {(site, hour) for site, hour, *_ in rows} == set(expected)
    for site, hour, asic_mwh, gpu_mwh, total_mwh, cost, revenue in rows:
        want = expected[(site, hour)]
        assert asic_mwh == pytest.approx(want["asic_mwh"])
        assert gpu_mwh == pytest.approx(want["gpu_mwh"])
        assert total_mwh == pytest.approx(want["asic_mwh"] + want["gpu_mwh"])
        assert revenue == pytest.approx(want["mining_revenue_usd"])
        if want["power_cost_usd"] is None:
            assert cost is None
        else:
            assert cost == pytest.approx(want["power_cost_usd"])


def test_hour_without_a_real_time_price_counts_energy_and_has_no_cost(built_warehouse):
    rows = query(
        built_warehouse,
        "select total_mwh, unpriced_mwh, power_cost_usd, mining_margin_usd, mining_revenue_usd "
        "from main.fct_site_energy_hourly where site_id = 'west-1' and hour(hour_start) = 11",
    )

    assert len(rows) == 1
    total, unpriced, cost, margin, revenue = rows[0]
    assert total > 0
    assert unpriced == pytest.approx(total)
    assert cost is None and margin is None
    assert revenue > 0


def test_mining_margin_is_revenue_minus_asic_power_cost(built_warehouse):
    rows = query(
        built_warehouse,
        "select mining_revenue_usd, asic_power_cost_usd, mining_margin_usd from main.fct_site_energy_hourly "
        "where mining_margin_usd is not null",
    )

    assert rows
    for revenue, asic_cost, margin in rows:
        assert margin == pytest.approx(revenue - asic_cost)


def test_average_price_ignores_day_ahead_and_other_nodes(built_warehouse, landing_scenario):
    (price,) = query(
        built_warehouse,
        "select avg_rt_price_usd_mwh from main.fct_site_energy_hourly where site_id = 'west-2'",
    )[0]
    poll = next(p for p in landing_scenario.asic_polls if p.site_id == "west-2")
    assert price == pytest.approx(price_at(landing_scenario, PriceKind.ENERGY_RT, poll.event_time, "LZ_WEST"))


def test_duplicated_message_is_staged_once(built_warehouse, landing_scenario):
    (raw, staged) = query(
        built_warehouse,
        "select (select count(*) from raw.telemetry_asic), (select count(*) from staging.stg_kafka__telemetry_asic)",
    )[0]
    assert raw == len(landing_scenario.asic_polls) + 1
    assert staged == len(landing_scenario.asic_polls)


def test_dead_letter_staging_reads_origin_and_error_from_headers(built_warehouse, landing_scenario):
    rows = query(
        built_warehouse,
        "select original_topic, original_partition, original_offset, error_class, error_message, payload_text "
        "from staging.stg_kafka__deadletters",
    )
    letter = landing_scenario.dead_letter
    assert rows == [
        (
            letter.original_topic,
            letter.original_partition,
            letter.original_offset,
            letter.error_class,
            letter.error_message,
            landing_scenario.dead_letter_payload.decode(),
        )
    ]


def test_decision_fact_has_one_row_per_decision_with_its_numbers_and_command(built_warehouse, landing_scenario):
    decision = landing_scenario.decisions[0]
    rows = query(
        built_warehouse,
        "select decision_id, reason, energy_price_usd_mwh, breakeven_headroom_usd_mwh, changed_action, "
        "command_power_state from main.fct_decisions",
    )
    assert rows == [
        (
            decision.decision_id,
            decision.reason,
            decision.energy_price_usd_mwh,
            pytest.approx(decision.breakeven_usd_mwh - decision.energy_price_usd_mwh),
            True,
            landing_scenario.commands[0].power_state.value,
        )
    ]


def test_device_dimension_counts_readings_per_device(built_warehouse, landing_scenario):
    polls = list({p.event_id: p for p in (*landing_scenario.asic_polls, *landing_scenario.gpu_polls)}.values())
    expected: dict[str, int] = defaultdict(int)
    for poll in polls:
        for reading in poll.readings:
            expected[reading.device_id] += 1

    rows = query(built_warehouse, "select device_id, readings, first_seen_at <= last_seen_at from main.dim_devices")

    assert {device: count for device, count, _ in rows} == expected
    assert all(ordered for *_, ordered in rows)


def test_dbt_build_passes_on_an_empty_warehouse_given_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    warehouse = Path("state") / "empty.duckdb"
    load_landing(Path("no-landing"), warehouse, load_fleet())

    summary = build_models(PROJECT_DIR, warehouse)

    assert isinstance(summary, DbtBuildSummary)
    assert summary.nodes > 0
    assert set(summary.statuses) <= {"success", "pass"}
    assert (tmp_path / "state" / "dbt" / "target" / "run_results.json").is_file()
    assert not (PROJECT_DIR / "state").exists()
    assert query(tmp_path / warehouse, "select count(*) from main.fct_site_energy_hourly") == [(0,)]


def test_failed_build_names_the_failed_model(tmp_path):
    project = tmp_path / "broken"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text((PROJECT_DIR / "dbt_project.yml").read_text())
    (project / "profiles.yml").write_text((PROJECT_DIR / "profiles.yml").read_text())
    (project / "models" / "good_model.sql").write_text("select 1 as one\n")
    (project / "models" / "broken_model.sql").write_text("select * from no_such_table\n")

    with pytest.raises(DbtBuildError, match=re.escape("model.hcp.broken_model")) as caught:
        build_models(project, tmp_path / "broken.duckdb", work_dir=tmp_path / "dbt")

    assert caught.value.failed_nodes == ("model.hcp.broken_model",)


def test_hours_are_cut_in_utc(built_warehouse):
    rows = query(built_warehouse, "select hour_start from main.fct_site_energy_hourly")
    assert rows
    assert all(hour.utcoffset() == timedelta(0) and hour.minute == 0 for (hour,) in rows)
