"""Selectors: given the candidates best first, the positions to keep and in which order (diversity, slots
reserved for exploration)."""
