with

plan as (

    select * from {{ ref('stg_forecasts__capacity_plan') }}

),

final as (

    select
        site_id || '/' || strftime(hour_start at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ') as site_hour_id,
        site_id,
        hour_start,
        node,
        price_forecast_usd_mwh,
        requests_forecast,
        requests_lo,
        requests_hi,
        gpu_hours_forecast,
        gpu_hours_hi,
        gpu_capacity,
        gpus_firm,
        gpus_best_effort,
        gpu_utilisation,
        recommended_gpu_mw,
        recommended_asic_mw,
        gpu_power_share,
        mining,
        asic_breakeven_usd_mwh,
        power_cap_mw,
        expected_margin_usd,
        demand_source,
        created_at
    from plan

)

select * from final
