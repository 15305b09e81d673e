"""Features: what the ranking knows about posts, users and communities."""
