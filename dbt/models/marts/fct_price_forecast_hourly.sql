with

forecasts as (

    select * from {{ ref('stg_forecasts__price_forecast') }}

),

final as (

    select
        node || '/' || strftime(hour_start at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ') as node_hour_id,
        node,
        hour_start,
        hour_local,
        forecast_origin,
        price_usd_mwh,
        model,
        created_at
    from forecasts

)

select * from final
