"""GraphQL for product clients (``/graphql``): the same feed, post, community and event services as
REST, shaped as one graph a client queries in one round trip. Modules: ``types`` (the object types),
``loaders`` (one batched read per entity kind), ``schema`` (queries, mutations, the exported SDL),
``limits`` (depth and cost), ``persisted`` (persisted documents), ``router`` (the HTTP endpoint)."""
