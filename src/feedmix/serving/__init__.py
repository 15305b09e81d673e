"""HTTP service (REST), app wiring and the feed service behind the endpoints."""
