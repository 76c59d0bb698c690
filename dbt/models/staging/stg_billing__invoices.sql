with

source as (

    select * from {{ source('billing', 'invoices') }}

),

final as (

    select
        invoice_id,
        customer_id,
        period_id,
        period_start,
        period_end,
        status,
        currency,
        total_cents,
        line_count,
        content_sha256,
        issued_at
    from source

)

select * from final
