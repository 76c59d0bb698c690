with

source as not materialized (

    select * from {{ source('kafka', 'alerts') }}

),

parsed as (

    {{ parse_first_copies('source') }}

),

renamed as (

    select
        payload->>'event_id' as event_id,
        (payload->>'event_time')::timestamptz as event_time,
        (payload->>'schema_version')::integer as schema_version,
        payload->>'alert_id' as alert_id,
        payload->>'rule' as rule,
        payload->>'severity' as severity,
        payload->>'status' as status,
        payload->>'site_id' as site_id,
        payload->>'device_id' as device_id,
        payload->>'message' as message,
        (payload->>'value')::double as value,
        (payload->>'threshold')::double as threshold,
        kafka_partition,
        kafka_offset,
        landed_at
    from parsed

),

final as (

    select * from renamed

)

select * from final
