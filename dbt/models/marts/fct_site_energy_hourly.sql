with

asic_readings as (

    select * from {{ ref('int_asic_readings') }}

),

gpu_readings as (

    select * from {{ ref('int_gpu_readings') }}

),

market_prices as (

    select * from {{ ref('stg_kafka__market_prices') }}

),

sites as (

    select * from {{ ref('stg_fleet__sites') }}

),

-- one row per collector poll: the readings of one poll share its time, interval and price
polls as (

    select
        'asic' as device_kind,
        site_id,
        event_id,
        event_time,
        interval_s,
        sum(energy_mwh) as energy_mwh,
        sum(hashrate_th) as hashrate_th
    from asic_readings
    group by all

    union all

    select
        'gpu' as device_kind,
        site_id,
        event_id,
        event_time,
        interval_s,
        sum(energy_mwh) as energy_mwh,
        0.0 as hashrate_th
    from gpu_readings
    group by all

),

-- a price published twice for one interval (a correction): the later publication wins
rt_prices as (

    select node, interval_start, interval_end, value as rt_price_usd_mwh
    from market_prices
    where kind = 'energy_rt'
    qualify row_number() over (partition by node, interval_start order by event_time desc, event_id desc) = 1

),

hashprices as (

    select interval_start, interval_end as hashprice_interval_end, value as hashprice_usd_ph_day
    from market_prices
    where kind = 'hashprice'
    qualify row_number() over (partition by interval_start order by event_time desc, event_id desc) = 1

),

priced_polls as (

    select
        polls.*,
        sites.node,
        rt_prices.rt_price_usd_mwh,
        hashprices.hashprice_usd_ph_day,
        polls.event_time >= hashprices.hashprice_interval_end as hashprice_is_provisional,
        polls.energy_mwh * rt_prices.rt_price_usd_mwh as power_cost_usd,
        -- hcp.economics.mining_revenue_usd_per_hour, over interval_s instead of an hour
        polls.hashrate_th / 1000.0 * hashprices.hashprice_usd_ph_day * polls.interval_s / 86400.0
            as mining_revenue_usd
    from polls
    left join sites
        on polls.site_id = sites.site_id
    left join rt_prices
        on sites.node = rt_prices.node
        and polls.event_time >= rt_prices.interval_start
        and polls.event_time < rt_prices.interval_end
    -- the day's hashprice is published when the day ends; until then the latest published one stands in
    -- and the hour is marked provisional
    asof left join hashprices
        on polls.event_time >= hashprices.interval_start

),

hourly as (

    select
        site_id,
        date_trunc('hour', event_time) as hour_start,
        any_value(node) as node,
        coalesce(sum(energy_mwh) filter (where device_kind = 'asic'), 0.0) as asic_mwh,
        coalesce(sum(energy_mwh) filter (where device_kind = 'gpu'), 0.0) as gpu_mwh,
        sum(energy_mwh) as total_mwh,
        coalesce(sum(energy_mwh) filter (where rt_price_usd_mwh is null), 0.0) as unpriced_mwh,
        sum(rt_price_usd_mwh * interval_s) / sum(interval_s) filter (where rt_price_usd_mwh is not null)
            as avg_rt_price_usd_mwh,
        -- a cost or revenue is only stated when every poll of the hour had its price
        case when count(*) filter (where rt_price_usd_mwh is null) = 0
            then sum(power_cost_usd) end as power_cost_usd,
        case when count(*) filter (where device_kind = 'asic' and rt_price_usd_mwh is null) = 0
            then coalesce(sum(power_cost_usd) filter (where device_kind = 'asic'), 0.0) end
            as asic_power_cost_usd,
        case when count(*) filter (where device_kind = 'asic' and hashprice_usd_ph_day is null) = 0
            then coalesce(sum(mining_revenue_usd) filter (where device_kind = 'asic'), 0.0) end
            as mining_revenue_usd,
        coalesce(bool_or(hashprice_is_provisional) filter (where device_kind = 'asic'), false)
            as mining_revenue_is_provisional,
        count(*) filter (where device_kind = 'asic') as asic_polls,
        count(*) filter (where device_kind = 'gpu') as gpu_polls
    from priced_polls
    group by site_id, date_trunc('hour', event_time)

),

final as (

    select
        site_id || '/' || strftime(hour_start, '%Y-%m-%dT%H:00Z') as site_hour_id,
        site_id,
        hour_start,
        node,
        asic_mwh,
        gpu_mwh,
        total_mwh,
        unpriced_mwh,
        avg_rt_price_usd_mwh,
        power_cost_usd,
        asic_power_cost_usd,
        mining_revenue_usd,
        mining_revenue_usd - asic_power_cost_usd as mining_margin_usd,
        mining_revenue_is_provisional,
        asic_polls,
        gpu_polls
    from hourly

)

select * from final
