with

source as (

    select * from {{ source('billing', 'invoice_lines') }}

),

final as (

    select
        invoice_id || '/' || line_no as invoice_line_id,
        invoice_id,
        line_no,
        customer_id,
        period_id,
        line_kind,
        description,
        gpu_type,
        priority_class,
        tier,
        quantity,
        unit,
        unit_price_usd,
        amount_cents,
        adjusts_period_id
    from source

)

select * from final
