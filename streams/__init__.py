"""streams: see docs/architecture.md."""
