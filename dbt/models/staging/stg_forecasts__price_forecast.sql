with

source as (

    {{ read_forecast_parquet('price_forecast_hourly.parquet',
        "null::varchar as node, null::date as origin, null::timestamp as hour_local,
         null::double as price_usd_mwh, null::varchar as source, null::timestamptz as hour_utc,
         null::timestamptz as created_at") }}

),

final as (

    select
        node,
        origin as forecast_origin,
        hour_utc as hour_start,
        hour_local,
        price_usd_mwh,
        source as model,
        created_at
    from source

)

select * from final
