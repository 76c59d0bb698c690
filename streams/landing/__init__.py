"""Landing: every message of every topic written to append-only Parquet files; bad records dead-lettered."""
