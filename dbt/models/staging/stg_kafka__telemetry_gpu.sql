{%- set poll_structure -%}
{
    "event_id": "VARCHAR",
    "event_time": "VARCHAR",
    "schema_version": "INTEGER",
    "site_id": "VARCHAR",
    "collector_id": "VARCHAR",
    "interval_s": "DOUBLE",
    "readings": [{
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
    }]
}
{%- endset -%}

-- `readings`: the poll's devices, a list of structs (unnest it)
with

source as not materialized (

    select * from {{ source('kafka', 'telemetry_gpu') }}

),

parsed as (

    {{ parse_first_copies('source', structure=poll_structure) }}

),

renamed as (

    select
        payload.event_id,
        payload.event_time::timestamptz as event_time,
        payload.schema_version,
        payload.site_id,
        payload.collector_id,
        payload.interval_s,
        payload.readings,
        kafka_partition,
        kafka_offset,
        landed_at
    from parsed

),

final as (

    select * from renamed

)

select * from final
