import pytest

from feedmix.signals.codebook import CODEBOOK_PATH
from feedmix.signals.judges.prompt import load_prompt


def test_the_prompt_embeds_the_codebook_additions_and_schema() -> None:
    p = load_prompt("label-v1")
    assert CODEBOOK_PATH.read_text() in p.text
    assert "brand_safety_reason" in p.text and "Clarifications" in p.text
    assert p.schema["required"][0] == "id"


def test_the_digest_the_recordings_were_made_under() -> None:
    # the shipped recordings answer this digest; a change to the codebook, additions, template or schema
    # makes a new prompt, whose answers must be recorded again
    assert load_prompt().digest == "ddec47c09f8d86f9"


def test_an_unknown_prompt_is_refused() -> None:
    with pytest.raises(ValueError, match="prompt 'label-v9'"):
        load_prompt("label-v9")
