with

source as not materialized (

    select * from {{ source('kafka', 'market_prices') }}

),

parsed as (

    {{ parse_first_copies('source') }}

),

renamed as (

    select
        payload->>'event_id' as event_id,
        (payload->>'event_time')::timestamptz as event_time,
        (payload->>'schema_version')::integer as schema_version,
        payload->>'kind' as kind,
        payload->>'node' as node,
        payload->>'gpu_type' as gpu_type,
        (payload->>'interval_start')::timestamptz as interval_start,
        (payload->>'interval_end')::timestamptz as interval_end,
        (payload->>'value')::double as value,
        payload->>'unit' as unit,
        kafka_partition,
        kafka_offset,
        landed_at
    from parsed

),

final as (

    select * from renamed

)

select * from final
