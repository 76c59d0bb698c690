with

lines as (

    select * from {{ ref('stg_billing__invoice_lines') }}

),

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

final as (

    select
        lines.invoice_line_id,
        lines.invoice_id,
        lines.line_no,
        lines.customer_id,
        lines.period_id,
        invoices.period_start,
        invoices.period_end,
        invoices.status as invoice_status,
        lines.line_kind,
        lines.description,
        lines.gpu_type,
        lines.priority_class,
        lines.tier,
        lines.quantity,
        lines.unit,
        lines.unit_price_usd,
        lines.amount_cents,
        lines.amount_cents::decimal(18, 2) / 100 as amount_usd,
        lines.adjusts_period_id,
        lines.adjusts_period_id is not null as is_adjustment
    from lines
    inner join invoices
        on lines.invoice_id = invoices.invoice_id

)

select * from final
