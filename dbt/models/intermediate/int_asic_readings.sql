with

telemetry as (

    select * from {{ ref('stg_kafka__telemetry_asic') }}

),

unnested as (

    select
        event_id,
        event_time,
        site_id,
        collector_id,
        interval_s,
        unnest(readings) as reading
    from telemetry

),

final as (

    select
        event_id || '/' || reading.device_id as reading_id,
        event_id,
        event_time,
        site_id,
        collector_id,
        interval_s,
        reading.device_id,
        reading.model,
        reading.power_state,
        reading.hashrate_th,
        reading.power_w,
        reading.temp_inlet_c,
        reading.temp_chip_c,
        reading.fan_rpm,
        reading.hashboards_ok,
        reading.errors,
        -- hcp.economics.energy_mwh: W x s / 3.6e9
        reading.power_w * interval_s / 3.6e9 as energy_mwh
    from unnested

)

select * from final
