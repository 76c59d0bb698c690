"""Prefect flows: batch work over landed files and the warehouse."""

from flows.warehouse import build_warehouse

__all__ = ["build_warehouse"]
