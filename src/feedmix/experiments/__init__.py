"""Online experiments: definitions in a store, deterministic assignment in layers with holdouts,
exposures logged where a variant takes effect, and the analysis that turns events into decisions."""
