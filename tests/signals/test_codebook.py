from pathlib import Path

import pytest

from feedmix.signals.codebook import CATEGORIES, CODEBOOK_PATH, INTENTS, codebook_digest, reason_tier

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "signals" / "CODEBOOK.md"


def test_the_copy_is_the_shared_codebook_word_for_word() -> None:
    if not SHARED.is_file():
        pytest.skip("no ../shared/signals beside this checkout")
    assert CODEBOOK_PATH.read_text() == SHARED.read_text()


def test_every_label_set_is_the_codebooks() -> None:
    text = CODEBOOK_PATH.read_text()
    for intent in INTENTS:
        assert f"`{intent}`" in text
    for category in CATEGORIES:
        assert category in text
    assert len(CATEGORIES) == 16


def test_the_digest_is_stable_and_short() -> None:
    assert codebook_digest() == codebook_digest()
    assert len(codebook_digest()) == 16


def test_reasons_map_to_their_tier() -> None:
    assert reason_tier(None) == "safe"
    assert reason_tier("nsfw") == "unsafe"
    assert reason_tier("alcohol_tobacco") == "sensitive"
    with pytest.raises(ValueError, match="brand_safety_reason"):
        reason_tier("spicy")
