with

metered as (

    select * from {{ ref('stg_kafka__billing_usage') }}

),

-- staging keeps one copy per event_id (meter:<poll event_id>), so a poll metered twice counts once
unnested as (

    select
        site_id,
        unnest(from_json(lines, '[{
            "customer_id": "VARCHAR",
            "gpu_type": "VARCHAR",
            "priority": "INTEGER",
            "hour_start": "TIMESTAMPTZ",
            "gpu_seconds": "DOUBLE"
        }]')) as line
    from metered

),

hourly as (

    select
        line.customer_id,
        line.gpu_type,
        line.priority,
        site_id,
        line.hour_start,
        sum(line.gpu_seconds) as gpu_seconds,
        count(*) as polls
    from unnested
    group by all

),

final as (

    select
        customer_id || '/' || gpu_type || '/' || priority || '/' || site_id || '/'
            || strftime(hour_start, '%Y-%m-%dT%H:00Z') as usage_id,
        customer_id,
        gpu_type,
        priority,
        site_id,
        hour_start,
        gpu_seconds,
        gpu_seconds / 3600.0 as gpu_hours,
        polls
    from hourly

)

select * from final
