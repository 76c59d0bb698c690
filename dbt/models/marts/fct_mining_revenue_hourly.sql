with

asic_readings as (

    select * from {{ ref('int_asic_readings') }}

),

market_prices as (

    select * from {{ ref('stg_kafka__market_prices') }}

),

-- the latest publication of each day's hashprice wins (a correction replaces the first one)
hashprices as (

    select interval_start, interval_end as hashprice_interval_end, value as hashprice_usd_ph_day
    from market_prices
    where kind = 'hashprice'
    qualify row_number() over (partition by interval_start order by event_time desc, event_id desc) = 1

),

-- one row per poll and model: the readings of one poll share its time and interval
model_polls as (

    select
        site_id,
        model,
        event_id,
        event_time,
        interval_s,
        count(*) as devices,
        count(*) filter (where power_state <> 'sleep') as devices_hashing,
        sum(hashrate_th) as hashrate_th,
        sum(energy_mwh) as energy_mwh
    from asic_readings
    group by all

),

valued_polls as (

    select
        model_polls.*,
        hashprices.hashprice_usd_ph_day,
        model_polls.event_time >= hashprices.hashprice_interval_end as hashprice_is_provisional,
        -- hcp.economics.mining_revenue_usd_per_hour, over interval_s instead of an hour
        model_polls.hashrate_th / 1000.0 * hashprices.hashprice_usd_ph_day * model_polls.interval_s / 86400.0
            as mining_revenue_usd
    from model_polls
    -- the day's hashprice is published when the day ends; until then the latest published one stands in
    asof left join hashprices
        on model_polls.event_time >= hashprices.interval_start

),

hourly as (

    select
        site_id,
        model,
        date_trunc('hour', event_time) as hour_start,
        count(*) as polls,
        max(devices) as devices,
        sum(devices_hashing * interval_s) / sum(interval_s) as avg_devices_hashing,
        sum(hashrate_th * interval_s) / sum(interval_s) as avg_hashrate_th,
        sum(hashrate_th * interval_s) / 3600.0 as th_hours,
        sum(energy_mwh) as energy_mwh,
        sum(hashrate_th * interval_s * hashprice_usd_ph_day) / nullif(sum(hashrate_th * interval_s), 0)
            as avg_hashprice_usd_ph_day,
        case when count(*) filter (where hashprice_usd_ph_day is null) = 0 then sum(mining_revenue_usd) end
            as mining_revenue_usd,
        coalesce(bool_or(hashprice_is_provisional), false) as revenue_is_provisional
    from valued_polls
    group by site_id, model, date_trunc('hour', event_time)

),

final as (

    select
        site_id || '/' || model || '/' || strftime(hour_start, '%Y-%m-%dT%H:00Z') as site_model_hour_id,
        site_id,
        model,
        hour_start,
        polls,
        devices,
        avg_devices_hashing,
        avg_hashrate_th,
        th_hours,
        energy_mwh,
        avg_hashprice_usd_ph_day,
        mining_revenue_usd,
        revenue_is_provisional
    from hourly

)

select * from final
