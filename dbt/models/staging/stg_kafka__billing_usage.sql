with

source as not materialized (

    select * from {{ source('kafka', 'billing_usage') }}

),

parsed as (

    {{ parse_first_copies('source') }}

),

renamed as (

    select
        payload->>'event_id' as event_id,
        (payload->>'event_time')::timestamptz as event_time,
        (payload->>'schema_version')::integer as schema_version,
        payload->>'source_event_id' as source_event_id,
        (payload->>'source_partition')::integer as source_partition,
        (payload->>'source_offset')::bigint as source_offset,
        payload->>'site_id' as site_id,
        payload->'lines' as lines,
        kafka_partition,
        kafka_offset,
        landed_at
    from parsed

),

final as (

    select * from renamed

)

select * from final
