from feedmix.signals import gate
from feedmix.signals.posts import MAX_CHARS


def test_ordinary_english_passes() -> None:
    assert gate.status("Looking for a durable backpack under $100") == "ok"
    assert gate.status("Nintendo yesterday") == "ok"


def test_empty_and_whitespace_and_markup_only_are_empty() -> None:
    assert gate.status("") == "empty"
    assert gate.status("   \n\n ") == "empty"
    assert gate.status("<div><br/></div> &nbsp;") == "empty"


def test_emoji_only_is_its_own_status() -> None:
    assert gate.status("😂😂🔥👍") == "emoji_only"


def test_other_scripts_and_other_latin_languages_are_not_english() -> None:
    assert gate.status("Это мой новый телефон, что вы думаете о нём") == "non_english"
    assert gate.status("これは私の新しい電話です") == "non_english"
    spanish = (
        "Hoy compré unos zapatos nuevos en la tienda del centro y estoy muy contenta con ellos porque son"
    )
    assert gate.status(spanish) == "non_english"


def test_over_forty_thousand_characters_is_cut_not_refused() -> None:
    huge = "My review of the HD600. " * 3000
    assert len(huge) > MAX_CHARS
    assert gate.status(huge) == "too_long"
    assert len(gate.model_text(huge)) == MAX_CHARS


def test_markdown_links_keep_their_words_and_tags_vanish() -> None:
    cleaned = gate.clean("**Great** deal on [Sennheiser HD600](http://amazon.com/x) <b>today</b> &amp; more")
    assert "Sennheiser HD600" in cleaned
    assert "http" not in cleaned and "<b>" not in cleaned and "&amp;" not in cleaned
