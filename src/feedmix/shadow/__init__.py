"""Shadow testing: record a candidate pipeline beside production on live requests, then compare them."""
