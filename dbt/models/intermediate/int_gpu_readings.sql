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
