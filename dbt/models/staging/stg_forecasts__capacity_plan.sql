with

source as (

    {{ read_forecast_parquet('capacity_plan_hourly.parquet',
        "null::varchar as site_id, null::timestamptz as hour, null::varchar as node,
         null::double as price_forecast_usd_mwh, null::double as requests_forecast, null::double as requests_lo,
         null::double as requests_hi, null::double as gpu_hours_forecast, null::double as gpu_hours_hi,
         null::bigint as gpu_capacity, null::double as gpus_firm, null::double as gpus_best_effort,
         null::double as gpu_utilisation, null::double as recommended_gpu_mw, null::double as recommended_asic_mw,
         null::double as gpu_power_share, null::boolean as mining, null::double as asic_breakeven_usd_mwh,
         null::double as power_cap_mw, null::double as expected_margin_usd, null::varchar as demand_source,
         null::timestamptz as created_at") }}

),

final as (

    select
        site_id,
        hour as hour_start,
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
    from source

)

select * from final
