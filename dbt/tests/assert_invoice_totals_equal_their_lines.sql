-- An invoice's stored total is exactly the sum of its lines, to the cent (rows returned here fail the test).
select invoice_id, total_cents, lines_total_cents
from {{ ref('fct_invoices') }}
where total_cents <> lines_total_cents
