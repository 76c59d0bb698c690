with

source as (

    select * from {{ source('billing', 'closed_periods') }}

),

final as (

    select
        customer_id || '/' || period_id as closed_period_id,
        customer_id,
        period_id,
        invoice_id,
        closed_at,
        total_cents,
        content_sha256
    from source

)

select * from final
