import json

import pytest

from feedmix.signals.posts import PostError, Posts


def test_reads_the_four_fields_and_joins_title_and_selftext() -> None:
    posts = Posts.from_records(
        [
            {"id": "a1", "subreddit": "headphones", "title": "HD600 review", "selftext": "Great."},
            {"id": 7, "subreddit": "pics", "title": "Sunset"},
        ]
    )
    assert posts.ids == ["a1", "7"]
    assert posts.text(0) == "HD600 review\n\nGreat."
    assert posts.text(1) == "Sunset"
    assert not posts.over_18.any()


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"title": "no id"}, "'id'"),
        ({"id": "", "title": "blank id"}, "'id'"),
        ({"id": "x", "title": 5}, "'title'"),
        ({"id": "x", "selftext": ["a"]}, "'selftext'"),
        ({"id": "x", "over_18": "yes"}, "'over_18'"),
        ({"id": "x" * 65}, "'id'"),
    ],
)
def test_a_bad_post_names_its_field_and_its_place(record: dict, field: str) -> None:
    with pytest.raises(PostError, match=field) as e:
        Posts.from_records([{"id": "ok"}, record])
    assert "post 2" in str(e.value)


def test_a_line_that_is_not_json_names_its_line(tmp_path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps({"id": "a"}) + "\n{not json\n")
    with pytest.raises(PostError, match="line 2"):
        Posts.read_jsonl(path)
