with

source as not materialized (

    select * from {{ source('kafka', 'telemetry_asic') }}

),

parsed as (

    {{ parse_first_copies('source') }}

),

renamed as (

    select
        payload->>'event_id' as event_id,
        (payload->>'event_time')::timestamptz as event_time,
        (payload->>'schema_version')::integer as schema_version,
        payload->>'site_id' as site_id,
        payload->>'collector_id' as collector_id,
        (payload->>'interval_s')::double as interval_s,
        payload->'readings' as readings,
        kafka_partition,
        kafka_offset,
        landed_at
    from parsed

),

final as (

    select * from renamed

)

select * from final
