with

source as (

    select * from {{ source('kafka', 'alerts') }}

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

    -- a message produced twice (a retry) lands twice: keep the first copy
    select * from renamed
    qualify row_number() over (partition by event_id order by kafka_partition, kafka_offset) = 1

)

select * from final
