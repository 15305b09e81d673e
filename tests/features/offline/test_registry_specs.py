"""The registry as join specs: the serving hydrator's column names, keys, defaults, dtypes and TTLs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from feedmix.components.candidate_hydrators.online_features_hydrator import OnlineFeaturesHydrator
from feedmix.features.definitions import default_registry
from feedmix.features.entity_schema import EntitySchema
from feedmix.features.memory_online_store import MemoryOnlineStore
from feedmix.features.offline.feature_log import OfflineFeatureStore
from feedmix.features.offline.pit_join import build_training_rows
from feedmix.features.offline.registry_specs import (
    POST_COMMUNITIES_TABLE,
    post_communities_table,
    read_post_communities,
    registry_feature_sets,
)
from feedmix.features.registry import FeatureDefinition, FeatureRegistry

from .helpers import T0, event, export


def test_one_spec_per_entity_named_like_the_serving_columns() -> None:
    registry = default_registry()
    sets = registry_feature_sets(registry)
    store = MemoryOnlineStore(registry)

    assert (
        [s.entity for s in sets.specs]
        == registry.entities()
        == ["user", "post", "community", "user_community"]
    )
    for spec in sets.specs:
        hydrator = OnlineFeaturesHydrator("h", store, entity=spec.entity)
        # every feature of the entity, in storage order, under the column name serving gives it
        assert [spec.output_column(f) for f in spec.features] == list(
            hydrator.column_names[spec.entity].values()
        )
        schema = EntitySchema(registry, spec.entity)
        assert (spec.max_age_s, spec.ttl_from) == (schema.ttl_s, "record")  # the online row's expiry
    assert {s.entity: s.key for s in sets.specs if s.key_sql is None} == {
        "post": "post_id",
        "user": "user_id",
    }
    assert sets.defaults["f.ctr_1h"] == pytest.approx(0.05) and sets.defaults["f.user.clicks_24h"] == 0
    assert sets.dtypes["f.ctr_1h"] == "float32" and sets.dtypes["f.community.impressions_24h"] == "int64"
    assert sets.columns == list(sets.defaults) and len(sets.columns) == len(registry)
    assert sets.skipped == []


def test_community_entities_are_skipped_without_a_post_table() -> None:
    sets = registry_feature_sets(default_registry(), communities=False)
    assert [s.entity for s in sets.specs] == ["user", "post"]
    assert sets.skipped == ["community", "user_community"]
    assert not any(c.startswith("f.community") or c.startswith("f.user_community") for c in sets.columns)


def test_community_keys_come_from_the_posts_community(tmp_path: Path) -> None:
    store = OfflineFeatureStore(tmp_path / "f", durable=False)
    store.write("community", ["pics", "news"], {"impressions_24h": np.array([10, 20])}, T0 - 5)
    store.write("user_community", ["u1|pics", "u2|pics"], {"clicks_24h": np.array([1, 2])}, T0 - 5)
    events = [
        event(1, "impression", "u1", "a", T0),
        event(2, "impression", "u2", "a", T0),
        event(3, "impression", "u1", "b", T0),
        event(4, "impression", "u1", "zz", T0),  # a post of unknown community
    ]
    sets = registry_feature_sets(default_registry())
    tables = {POST_COMMUNITIES_TABLE: post_communities_table({"a": "pics", "b": "news"})}
    rows = build_training_rows(export(events, tmp_path / "ev"), tmp_path / "f", sets.specs, 60, tables=tables)
    assert rows.column("f.community.impressions_24h").to_pylist() == [10, 10, 20, None]
    assert rows.column("f.user_community.clicks_24h").to_pylist() == [1, 2, None, None]


def test_values_expire_in_training_as_the_online_row_does(tmp_path: Path) -> None:
    registry = FeatureRegistry(
        [
            FeatureDefinition("post", "a", "int64", 0, 100.0, "t", "short-lived"),
            FeatureDefinition("post", "b", "int64", 0, 1000.0, "t", "long-lived"),
        ]
    )
    store = OfflineFeatureStore(tmp_path / "f", durable=False)
    store.write("post", ["p"], {"a": np.array([1]), "b": np.array([2])}, T0)
    store.write("post", ["q"], {"a": np.array([3]), "b": np.array([4])}, T0)
    store.write("post", ["q"], {"b": np.array([5])}, T0 + 90)  # a partial write keeps q's row alive
    events = [event(1, "impression", "u", "p", T0 + 99), event(2, "impression", "u", "p", T0 + 101)]
    events.append(event(3, "impression", "u", "q", T0 + 150))
    (spec,) = registry_feature_sets(registry).specs
    assert spec.max_age_s == 100.0  # the row lives as long as its shortest-lived feature
    rows = build_training_rows(export(events, tmp_path / "ev"), tmp_path / "f", [spec], 60).to_pylist()
    assert [(r["f.a"], r["f.b"]) for r in rows] == [(1, 2), (None, None), (3, 5)]


def test_post_community_tables() -> None:
    table = post_communities_table(
        pa.table({"post_id": ["a", "b", "a", None], "community": ["x", "y", "x", "z"]})
    )
    assert table.to_pylist() == [{"post_id": "a", "community": "x"}, {"post_id": "b", "community": "y"}]
    with pytest.raises(ValueError, match="two communities"):
        post_communities_table(pa.table({"post_id": ["a", "a"], "community": ["x", "y"]}))
    with pytest.raises(ValueError, match="lacks columns"):
        post_communities_table(pa.table({"post_id": ["a"]}))


def test_post_communities_files_keep_numeric_looking_ids_as_text(tmp_path: Path) -> None:
    csv = tmp_path / "pc.csv"
    csv.write_text("post_id,community,extra\n100,pics,1\n3f,news,2\n")
    assert read_post_communities(csv).to_pylist() == [
        {"post_id": "100", "community": "pics"},
        {"post_id": "3f", "community": "news"},
    ]
    pq.write_table(pa.table({"post_id": ["7"], "community": ["aww"]}), tmp_path / "pc.parquet")
    assert read_post_communities(tmp_path / "pc.parquet").to_pylist() == [
        {"post_id": "7", "community": "aww"}
    ]
