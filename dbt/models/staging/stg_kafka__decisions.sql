with

source as not materialized (

    select * from {{ source('kafka', 'decisions') }}

),

parsed as (

    {{ parse_first_copies('source') }}

),

renamed as (

    select
        payload->>'event_id' as event_id,
        (payload->>'event_time')::timestamptz as event_time,
        (payload->>'schema_version')::integer as schema_version,
        payload->>'decision_id' as decision_id,
        payload->>'site_id' as site_id,
        payload->>'kind' as kind,
        payload->>'subject' as subject,
        (payload->>'interval_start')::timestamptz as interval_start,
        payload->>'action' as action,
        payload->>'previous_action' as previous_action,
        payload->>'reason' as reason,
        (payload->>'energy_price_usd_mwh')::double as energy_price_usd_mwh,
        (payload->>'hashprice_usd_ph_day')::double as hashprice_usd_ph_day,
        (payload->>'breakeven_usd_mwh')::double as breakeven_usd_mwh,
        (payload->>'run_fraction')::double as run_fraction,
        (payload->>'power_mw')::double as power_mw,
        (payload->>'site_power_cap_mw')::double as site_power_cap_mw,
        (payload->>'queue_wait_s')::double as queue_wait_s,
        payload->>'command_id' as command_id,
        kafka_partition,
        kafka_offset,
        landed_at
    from parsed

),

final as (

    select * from renamed

)

select * from final
