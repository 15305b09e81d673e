"""What the feed knows about a user at request time (profile, seen posts, scroll session)."""
