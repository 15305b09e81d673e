"""LLM judges: labelling posts and judging labellers' answers with a language model behind one interface.
Implementations: an OpenAI-compatible HTTP endpoint (vLLM, Ollama, llama.cpp server; configured by URL,
never required), a recorded judge that replays stored judgements (what CI and offline runs use), and a
panel that takes several judges' majority."""
