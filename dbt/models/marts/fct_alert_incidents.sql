with

alerts as (

    select * from {{ ref('stg_kafka__alerts') }}

),

firing as (

    select * from alerts
    where status = 'firing'
    qualify row_number() over (partition by alert_id order by event_time, event_id) = 1

),

resolved as (

    select * from alerts
    where status = 'resolved'
    qualify row_number() over (partition by alert_id order by event_time, event_id) = 1

),

final as (

    select
        firing.alert_id,
        firing.rule,
        firing.severity,
        firing.site_id,
        firing.device_id,
        firing.message,
        firing.value as fired_value,
        firing.threshold,
        firing.event_time as fired_at,
        resolved.event_time as resolved_at,
        resolved.alert_id is null as is_open,
        date_diff('second', firing.event_time, resolved.event_time) as duration_s
    from firing
    left join resolved
        on firing.alert_id = resolved.alert_id

)

select * from final
