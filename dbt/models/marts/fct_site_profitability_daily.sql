with

site_energy as (

    select * from {{ ref('fct_site_energy_hourly') }}

),

gpu_usage as (

    select * from {{ ref('fct_gpu_usage_hourly') }}

),

market_prices as (

    select * from {{ ref('stg_kafka__market_prices') }}

),

-- the latest publication of each GPU type's hourly rental rate wins
gpu_rates as (

    select gpu_type, interval_start, value as usd_per_gpu_hour
    from market_prices
    where kind = 'gpu_rental'
    qualify row_number() over (partition by gpu_type, interval_start order by event_time desc, event_id desc) = 1

),

-- AI revenue at the published rental rate of the hour (the latest one published before it stands in)
valued_usage as (

    select
        gpu_usage.site_id,
        gpu_usage.hour_start,
        gpu_usage.gpu_hours,
        gpu_usage.gpu_hours * gpu_rates.usd_per_gpu_hour as ai_revenue_usd,
        gpu_rates.usd_per_gpu_hour is null as is_unrated
    from gpu_usage
    asof left join gpu_rates
        on gpu_usage.gpu_type = gpu_rates.gpu_type
        and gpu_usage.hour_start >= gpu_rates.interval_start

),

energy_daily as (

    select
        site_id,
        date_trunc('day', hour_start) as day,
        sum(total_mwh) as total_mwh,
        sum(unpriced_mwh) as unpriced_mwh,
        -- hours whose real-time price is not known yet add no cost: power_cost_is_partial says so
        coalesce(sum(power_cost_usd), 0.0) as power_cost_usd,
        count(*) filter (where power_cost_usd is null) > 0 as power_cost_is_partial,
        coalesce(sum(mining_revenue_usd), 0.0) as mining_revenue_usd,
        bool_or(mining_revenue_is_provisional) as mining_revenue_is_provisional
    from site_energy
    group by all

),

ai_daily as (

    select
        site_id,
        date_trunc('day', hour_start) as day,
        sum(gpu_hours) as gpu_hours,
        coalesce(sum(ai_revenue_usd), 0.0) as ai_revenue_usd,
        coalesce(sum(gpu_hours) filter (where is_unrated), 0.0) as unrated_gpu_hours
    from valued_usage
    group by all

),

final as (

    select
        energy_daily.site_id || '/' || strftime(energy_daily.day, '%Y-%m-%d') as site_day_id,
        energy_daily.site_id,
        energy_daily.day::date as day,
        energy_daily.total_mwh,
        energy_daily.unpriced_mwh,
        coalesce(ai_daily.gpu_hours, 0.0) as gpu_hours,
        coalesce(ai_daily.unrated_gpu_hours, 0.0) as unrated_gpu_hours,
        energy_daily.mining_revenue_usd,
        coalesce(ai_daily.ai_revenue_usd, 0.0) as ai_revenue_usd,
        energy_daily.power_cost_usd,
        energy_daily.mining_revenue_usd + coalesce(ai_daily.ai_revenue_usd, 0.0) - energy_daily.power_cost_usd
            as margin_usd,
        energy_daily.power_cost_is_partial,
        energy_daily.mining_revenue_is_provisional
    from energy_daily
    left join ai_daily
        on energy_daily.site_id = ai_daily.site_id
        and energy_daily.day = ai_daily.day

)

select * from final
