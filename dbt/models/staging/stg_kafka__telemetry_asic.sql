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
        "model": "VARCHAR",
        "power_state": "VARCHAR",
        "hashrate_th": "DOUBLE",
        "power_w": "DOUBLE",
        "temp_inlet_c": "DOUBLE",
        "temp_chip_c": "DOUBLE",
        "fan_rpm": "INTEGER",
        "hashboards_ok": "INTEGER",
        "errors": "INTEGER"
    }]
}
{%- endset -%}

-- `readings`: the poll's devices, a list of structs (unnest it)
with

source as not materialized (

    select * from {{ source('kafka', 'telemetry_asic') }}

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
