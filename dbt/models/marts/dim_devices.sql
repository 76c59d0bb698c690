with

asic_readings as (

    select * from {{ ref('int_asic_readings') }}

),

gpu_readings as (

    select * from {{ ref('int_gpu_readings') }}

),

device_changes as (

    select * from {{ ref('stg_kafka__fleet_devices') }}

),

readings as (

    select device_id, 'asic' as device_kind, site_id, model, event_time from asic_readings
    union all
    select device_id, 'gpu' as device_kind, site_id, gpu_type as model, event_time from gpu_readings

),

observed as (

    select
        device_id,
        arg_max(device_kind, event_time) as device_kind,
        arg_max(site_id, event_time) as site_id,
        arg_max(model, event_time) as model,
        min(event_time) as first_seen_at,
        max(event_time) as last_seen_at,
        count(*) as readings
    from readings
    group by device_id

),

latest_changes as (

    select * from device_changes
    qualify row_number() over (partition by device_id order by event_time desc, event_id desc) = 1

),

final as (

    select
        coalesce(observed.device_id, latest_changes.device_id) as device_id,
        coalesce(observed.device_kind, latest_changes.device_kind) as device_kind,
        coalesce(observed.site_id, latest_changes.site_id) as site_id,
        coalesce(observed.model, latest_changes.model) as model,
        observed.first_seen_at,
        observed.last_seen_at,
        coalesce(observed.readings, 0) as readings,
        latest_changes.status,
        latest_changes.event_time as status_changed_at
    from observed
    full outer join latest_changes
        on observed.device_id = latest_changes.device_id

)

select * from final
