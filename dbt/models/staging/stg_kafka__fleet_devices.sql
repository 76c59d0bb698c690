with

source as not materialized (

    select * from {{ source('kafka', 'fleet_devices') }}

),

parsed as (

    {{ parse_first_copies('source') }}

),

renamed as (

    select
        payload->>'event_id' as event_id,
        (payload->>'event_time')::timestamptz as event_time,
        (payload->>'schema_version')::integer as schema_version,
        payload->>'device_id' as device_id,
        payload->>'site_id' as site_id,
        payload->>'device_kind' as device_kind,
        payload->>'model' as model,
        payload->>'status' as status,
        (payload->>'first_seen')::boolean as first_seen,
        (payload->>'last_seen')::timestamptz as last_seen,
        payload->>'reason' as reason,
        kafka_partition,
        kafka_offset,
        landed_at
    from parsed

),

final as (

    select * from renamed

)

select * from final
