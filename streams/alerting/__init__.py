"""Alert rules applied to the stream, and the fleet, market and pipeline metrics read on the way."""
