"""Power: curtail ASIC models whose breakeven is below the real-time energy price."""
