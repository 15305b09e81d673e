"""Side effects: what a served page leaves behind (the session's record, logs); synchronous ones run
before the response, the rest after it, and neither can fail the feed."""
