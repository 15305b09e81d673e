"""Content signals: what a post is about (intent, sentiment and stance, commercial, products, category,
brand safety), labelled by models in tiers (rules, a teacher, a distilled student), evaluated against a
labelled dev set and LLM judges, and versioned in a registry that ranking and ads read from.

The definitions are the codebook's (``CODEBOOK.md``, a copy of ../shared/signals/CODEBOOK.md) plus the
brand-safety, stance and clarifying additions in ``CODEBOOK_ADDITIONS.md``.
"""
