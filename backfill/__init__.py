"""Batch recomputation of the warehouse rollups from the landed history, with Apache Beam."""
