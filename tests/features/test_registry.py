"""Feature definitions, the registry, the project's definitions and the CLI table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedmix.events.post_ids import MAX_POST_ID, ints_to_post_ids
from feedmix.features.definitions import (
    CTR_PRIOR,
    OWNER,
    default_registry,
    feature_definitions,
    features_table,
    smoothed_ctr,
)
from feedmix.features.entity_keys import as_key_array, community_keys, post_keys, user_community_keys
from feedmix.features.entity_schema import EntitySchema
from feedmix.features.registry import FeatureDefinition, FeatureRegistry


def fd(entity: str = "post", name: str = "x", dtype: str = "int64", default: object = 0) -> FeatureDefinition:
    return FeatureDefinition(entity, name, dtype, default, 60.0, "team", "what")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"entity": "ad"}, "entity"),
        ({"name": "Bad-Name"}, "invalid"),
        ({"name": "_private"}, "invalid"),
        ({"dtype": "float64"}, "dtype"),
        ({"dtype": "int64", "default": 0.5}, "default"),
        ({"dtype": "int64", "default": True}, "default"),
        ({"dtype": "bool", "default": 0}, "default"),
        ({"dtype": "float32", "default": 1e300}, "default"),
    ],
)
def test_invalid_definitions_are_rejected(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fd(**kwargs)  # type: ignore[arg-type]


def test_ttl_and_owner_are_required() -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        FeatureDefinition("post", "x", "int64", 0, 0.0, "team", "")
    with pytest.raises(ValueError, match="owner"):
        FeatureDefinition("post", "x", "int64", 0, 1.0, "", "")


def test_registry_keeps_storage_order_lists_sorted_and_rejects_duplicates() -> None:
    reg = FeatureRegistry([fd(name="b"), fd(name="a"), fd("user", "a")])

    assert [d.name for d in reg.by_entity("post")] == ["b", "a"]  # registration = storage order
    assert [d.qualified_name for d in reg.list()] == ["post.a", "post.b", "user.a"]
    assert reg.get("user", "a").entity == "user"
    assert reg.entities() == ["user", "post"]
    assert len(reg) == 3
    assert reg.as_rows()[0] == {
        "entity": "post",
        "name": "a",
        "dtype": "int64",
        "default": 0,
        "ttl_s": 60.0,
        "owner": "team",
        "description": "what",
    }
    with pytest.raises(ValueError, match=r"post\.a is already registered"):
        reg.register(fd(name="a"))
    with pytest.raises(KeyError, match=r"post\.zz"):
        reg.get("post", "zz")


def test_the_layout_fingerprint_changes_with_names_order_and_dtypes() -> None:
    base = FeatureRegistry([fd(name="a"), fd(name="b")]).layout_fingerprint("post")
    assert FeatureRegistry([fd(name="a"), fd(name="b")]).layout_fingerprint("post") == base
    assert FeatureRegistry([fd(name="b"), fd(name="a")]).layout_fingerprint("post") != base
    assert FeatureRegistry([fd(name="a"), fd(name="b", dtype="float32")]).layout_fingerprint("post") != base
    assert FeatureRegistry([fd(name="a")]).layout_fingerprint("post") != base


def test_the_project_definitions_cover_the_issue() -> None:
    reg = default_registry()
    counts = ("impressions", "clicks", "upvotes", "hides", "comments")

    def names(windows: tuple[str, ...], kinds: tuple[str, ...]) -> set[str]:
        return {f"{kind}_{window}" for window in windows for kind in (*kinds, "ctr")}

    assert {d.name for d in reg.by_entity("post")} == names(("1h", "24h", "7d"), counts)
    assert {d.name for d in reg.by_entity("user")} == names(("24h", "7d"), counts)
    assert {d.name for d in reg.by_entity("community")} == names(("24h", "7d"), counts)
    assert {d.name for d in reg.by_entity("user_community")} == names(("24h", "7d"), counts[:4])
    assert len(reg) == 18 + 12 + 12 + 10
    # storage order: window by window, the counts and then the rate
    assert [d.name for d in reg.by_entity("user_community")][:5] == [
        "impressions_24h",
        "clicks_24h",
        "upvotes_24h",
        "hides_24h",
        "ctr_24h",
    ]
    # a record expires whole, so every feature outlives the longest window (7 d) by an hour
    assert {d.ttl_s for d in feature_definitions()} == {7 * 86400.0 + 3600.0}
    assert {d.dtype for d in feature_definitions() if not d.name.startswith("ctr_")} == {"int64"}
    assert all(d.owner == OWNER and d.description for d in feature_definitions())
    # a rate's default is its prior: "unknown" means the same as "no impressions yet"
    assert reg.get("post", "ctr_1h").default == pytest.approx(CTR_PRIOR)
    assert smoothed_ctr(0, 0).item() == pytest.approx(CTR_PRIOR)
    assert smoothed_ctr([10], [10]).item() == pytest.approx(11 / 30)


def test_features_table_is_aligned_text_with_every_feature() -> None:
    text = features_table(default_registry())
    lines = text.splitlines()
    assert lines[0].split() == ["entity", "name", "dtype", "default", "ttl", "owner", "description"]
    assert len(lines) == 1 + len(default_registry())
    name_col = lines[0].index("name")
    assert all(line[name_col - 2 : name_col] == "  " for line in lines)  # columns line up
    assert any(line.split()[:5] == ["post", "ctr_1h", "float32", "0.05", "169h"] for line in lines)


def test_the_record_layout_is_packed_with_a_header() -> None:
    schema = EntitySchema(FeatureRegistry([fd(name="a"), fd(name="b", dtype="float32", default=0.0)]), "post")
    assert schema.record_size == 8 + 8 + 1 + 8 + 4
    assert schema.written_ranges(["b", "a"]) == [(18, 29)]  # adjacent fields merge
    assert schema.written_ranges(["b"]) == [(26, 29)]


@given(st.lists(st.integers(min_value=0, max_value=MAX_POST_ID), max_size=50))
def test_post_keys_are_the_canonical_base36_ids(ids: list[int]) -> None:
    keys = post_keys(np.array(ids, dtype=np.int64))
    assert [k.decode() for k in keys.tolist()] == ints_to_post_ids(ids)


def test_post_keys_reject_ids_outside_the_range() -> None:
    with pytest.raises(ValueError):
        post_keys([-1])


def test_community_and_pair_keys() -> None:
    assert community_keys([2, 0]).tolist() == [b"2", b"0"]
    named = community_keys([1, 0], ["pics", "funny"])
    assert named.tolist() == [b"funny", b"pics"]
    assert user_community_keys("u1", named).tolist() == [b"u1|funny", b"u1|pics"]
    with pytest.raises(ValueError):
        community_keys([5], ["pics"])
    assert as_key_array(["é"]).tolist() == ["é".encode()]
