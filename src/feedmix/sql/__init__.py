"""What every SQL store shares (the campaign store, the experiment store): engines that behave the same on
SQLite and PostgreSQL, URL parsing, and a versioned migration runner. Each store keeps its own tables,
its own migration steps and its own version table; only the mechanics live here."""
