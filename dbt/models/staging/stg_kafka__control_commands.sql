with

source as not materialized (

    select * from {{ source('kafka', 'control_commands') }}

),

parsed as (

    {{ parse_first_copies('source') }}

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

    select * from renamed

)

select * from final
