with

source as (

    select * from {{ source('kafka', 'telemetry_asic') }}

),

parsed as (

    select
        decode(value)::json as payload,
        "partition" as kafka_partition,
        "offset" as kafka_offset,
        landed_at
    from source

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

    -- a message produced twice (a retry) lands twice: keep the first copy
    select * from renamed
    qualify row_number() over (partition by event_id order by kafka_partition, kafka_offset) = 1

)

select * from final
