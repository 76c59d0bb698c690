with

source as (

    select * from {{ source('kafka', 'control_commands') }}

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
        payload->>'command_id' as command_id,
        payload->>'decision_id' as decision_id,
        payload->>'site_id' as site_id,
        payload->>'kind' as kind,
        payload->>'asic_model' as asic_model,
        (payload->'device_ids')::varchar[] as device_ids,
        payload->>'power_state' as power_state,
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
