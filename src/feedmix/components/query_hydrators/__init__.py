"""Query hydrators: what the request knows before any candidate exists (the user's communities, seen
posts, vectors), run concurrently; each returns every feature it declares."""
