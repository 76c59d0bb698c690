with

gpu_readings as (

    select * from {{ ref('int_gpu_readings') }}

),

-- a GPU bills while it runs a customer's job; each reading stands for its poll's interval_s, counted in
-- the UTC hour of the poll's event_time (hcp.billing.metering applies the same rule to the stream)
busy_readings as (

    select * from gpu_readings
    where job_id is not null and customer_id is not null

),

hourly as (

    select
        customer_id,
        gpu_type,
        priority,
        site_id,
        date_trunc('hour', event_time) as hour_start,
        sum(interval_s) as gpu_seconds,
        count(*) as readings,
        count(distinct job_id) as jobs,
        avg(utilisation_pct) as avg_utilisation_pct,
        sum(energy_mwh) as energy_mwh
    from busy_readings
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
        readings,
        jobs,
        avg_utilisation_pct,
        energy_mwh
    from hourly

)

select * from final
