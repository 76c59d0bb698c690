with

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

lines as (

    select * from {{ ref('stg_billing__invoice_lines') }}

),

line_totals as (

    select
        invoice_id,
        count(*) as lines,
        sum(amount_cents) as lines_total_cents,
        -- a line with adjusts_period_id corrects an earlier, closed period: it counts as an adjustment only
        coalesce(sum(amount_cents) filter (where line_kind = 'usage' and adjusts_period_id is null), 0)
            as usage_cents,
        coalesce(sum(amount_cents) filter (
            where line_kind in ('commitment_shortfall', 'overage') and adjusts_period_id is null
        ), 0) as commitment_cents,
        coalesce(sum(amount_cents) filter (where line_kind like '%credit' and adjusts_period_id is null), 0)
            as credit_cents,
        coalesce(sum(amount_cents) filter (where line_kind = 'minimum_charge' and adjusts_period_id is null), 0)
            as minimum_charge_cents,
        coalesce(sum(amount_cents) filter (where adjusts_period_id is not null), 0) as adjustment_cents,
        coalesce(sum(quantity) filter (where line_kind = 'usage' and adjusts_period_id is null), 0)
            as usage_gpu_hours
    from lines
    group by invoice_id

),

final as (

    select
        invoices.invoice_id,
        invoices.customer_id,
        invoices.period_id,
        invoices.period_start,
        invoices.period_end,
        invoices.status,
        invoices.issued_at,
        invoices.currency,
        coalesce(line_totals.lines, 0) as lines,
        line_totals.usage_gpu_hours,
        line_totals.usage_cents,
        line_totals.commitment_cents,
        line_totals.credit_cents,
        line_totals.minimum_charge_cents,
        line_totals.adjustment_cents,
        invoices.total_cents,
        invoices.total_cents::decimal(18, 2) / 100 as total_usd,
        coalesce(line_totals.lines_total_cents, 0) as lines_total_cents,
        invoices.content_sha256
    from invoices
    left join line_totals
        on invoices.invoice_id = line_totals.invoice_id

)

select * from final
