with

telemetry as (

    select * from {{ ref('stg_kafka__telemetry_gpu') }}

),

unnested as (

    select
        event_id,
        event_time,
        site_id,
        collector_id,
        interval_s,
        unnest(from_json(readings, '[{
            "device_id": "VARCHAR",
            "gpu_type": "VARCHAR",
            "utilisation_pct": "DOUBLE",
            "memory_used_gib": "DOUBLE",
            "memory_total_gib": "DOUBLE",
            "power_w": "DOUBLE",
            "temp_c": "DOUBLE",
            "ecc_errors": "INTEGER",
            "job_id": "VARCHAR",
            "customer_id": "VARCHAR",
            "priority": "INTEGER"
        }]')) as reading
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
        reading.gpu_type,
        reading.utilisation_pct,
        reading.memory_used_gib,
        reading.memory_total_gib,
        reading.power_w,
        reading.temp_c,
        reading.ecc_errors,
        reading.job_id,
        reading.customer_id,
        reading.priority,
        -- hcp.economics.energy_mwh: W x s / 3.6e9
        reading.power_w * interval_s / 3.6e9 as energy_mwh
    from unnested

)

select * from final
