with

device_changes as (

    select * from {{ ref('stg_kafka__fleet_devices') }}

),

ordered as (

    select
        device_id,
        site_id,
        device_kind,
        model,
        status,
        reason,
        event_id,
        event_time as valid_from,
        lead(event_time) over (partition by device_id order by event_time, event_id) as valid_to,
        row_number() over (partition by device_id order by event_time, event_id) as change_number
    from device_changes

),

final as (

    select
        device_id || '/' || change_number as status_interval_id,
        device_id,
        change_number,
        site_id,
        device_kind,
        model,
        status,
        reason,
        valid_from,
        valid_to,
        valid_to is null as is_current,
        event_id
    from ordered

)

select * from final
