with

source as (

    select * from {{ source('fleet', 'site_devices') }}

),

final as (

    select
        site_id || '/' || device_kind || '/' || model as site_device_id,
        site_id,
        device_kind,
        model,
        count as device_count
    from source

)

select * from final
