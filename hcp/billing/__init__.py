"""Billing (pure): rate cards, metering GPU-seconds, pricing usage into invoice lines, late-data adjustments and
reconciliation of the stream meter with the warehouse. Money is integer cents; quantities are Decimal.

The Prefect flow `flows/billing.py:bill_customers` and the stream agent `streams/billing` call these functions;
nothing here imports faust, prefect or duckdb. See docs/billing.md.
"""
