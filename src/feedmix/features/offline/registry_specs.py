"""The feature registry as point-in-time join specs: training reads the features serving reads.

One ``FeatureSetSpec`` per registry entity, derived from the same ``FeatureDefinition`` list the
online stores are laid out by, so adding a feature to the registry adds it to training rows too:

* which key: ``post`` by the impression's ``post_id``, ``user`` by its ``user_id``; ``community``
  and ``user_community`` by the post's community, looked up in a post -> community table
  (``post_communities_table``) that ``build_training_rows`` gets as ``tables``. The keys are
  spelled as the streaming aggregator writes them (``entity_keys``): the community *name*, and
  ``"<user_id>|<community>"``. An impression of a post the table does not know has no community
  key, so its community features are NULL (filled with the defaults, flagged missing).
* column names: the online hydrator's (``f.ctr_1h``, ``f.user.clicks_24h``...), so a model reads
  the same column names in training and in serving, and ``join_logged_features`` output
  (``served.f.ctr_1h``) lines up with them.
* expiry: the online row's TTL (``EntitySchema.ttl_s``, the smallest ``ttl_s`` of the entity's
  features), counted from the key's latest write of any feature (``ttl_from="record"``), which
  is how both online stores expire a row.
* defaults and dtypes for ``fill_defaults``: the registry's, the ones serving falls back to.

One difference from the online stores remains: when a row has expired online and is then written
again with only some of its features, the online store serves the others at their defaults, while
the join still sees their older values (as long as the new write keeps the record alive). The
streaming aggregator always writes every feature of a row, so its features are not affected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from feedmix.features.entity_keys import COMPOSITE_SEPARATOR
from feedmix.features.entity_schema import EntitySchema
from feedmix.features.feature_columns import feature_column
from feedmix.features.offline.parquet_io import sql_str
from feedmix.features.offline.pit_join import FeatureSetSpec
from feedmix.features.registry import FeatureRegistry

#: the name under which the post -> community table is handed to ``build_training_rows``
POST_COMMUNITIES_TABLE = "post_communities"
#: the entities whose key needs the post's community
COMMUNITY_ENTITIES = ("community", "user_community")

_COMMUNITY_SQL = f"(SELECT community FROM {POST_COMMUNITIES_TABLE} pc WHERE pc.post_id = ev.post_id)"
_KEYS: dict[str, tuple[str, str | None]] = {
    # entity -> (impression column, or "" with a derived key expression over the exported events)
    "post": ("post_id", None),
    "user": ("user_id", None),
    "community": ("", _COMMUNITY_SQL),
    "user_community": ("", f"user_id || {sql_str(COMPOSITE_SEPARATOR.decode())} || {_COMMUNITY_SQL}"),
}


@dataclass(frozen=True)
class RegistryFeatureSets:
    """The join specs for a registry, and what ``fill_defaults`` needs to finish their columns."""

    specs: list[FeatureSetSpec]
    #: output column -> the registry's default (what serving reads for an absent value)
    defaults: dict[str, Any] = field(default_factory=dict)
    #: output column -> the registry's dtype (``float32``, ``int64``, ``bool``)
    dtypes: dict[str, str] = field(default_factory=dict)
    #: entities of the registry left out (their key needs a post -> community table)
    skipped: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return list(self.defaults)


def registry_feature_sets(registry: FeatureRegistry, *, communities: bool = True) -> RegistryFeatureSets:
    """One spec per entity of ``registry``, in registry entity order.

    ``communities=False`` leaves out ``community`` and ``user_community`` (for when no
    post -> community table is at hand); they are listed in ``skipped``.
    """
    specs: list[FeatureSetSpec] = []
    defaults: dict[str, Any] = {}
    dtypes: dict[str, str] = {}
    skipped: list[str] = []
    for entity in registry.entities():
        if entity not in _KEYS:
            raise ValueError(f"no training-row key is defined for entity {entity!r}")
        if not communities and entity in COMMUNITY_ENTITIES:
            skipped.append(entity)
            continue
        key, key_sql = _KEYS[entity]
        schema = EntitySchema(registry, entity)
        prefix = feature_column(entity, "x").removesuffix(".x")
        spec = FeatureSetSpec(
            entity,
            key,
            list(schema.names),
            max_age_s=schema.ttl_s,
            key_sql=key_sql,
            name=prefix,
            ttl_from="record",
        )
        for d in schema.definitions:
            column = spec.output_column(d.name)
            if column != feature_column(entity, d.name):  # the hydrator's naming changed shape
                raise AssertionError(
                    f"{column!r} is not the serving column {feature_column(entity, d.name)!r}"
                )
            defaults[column] = d.default
            dtypes[column] = d.dtype
        specs.append(spec)
    return RegistryFeatureSets(specs, defaults, dtypes, skipped)


def post_communities_table(post_communities: Mapping[str, str] | pa.Table) -> pa.Table:
    """The post -> community table the community keys are looked up in (``post_id``, ``community``).

    Accepts a mapping or a table with those two columns. Post ids are the events' spelling
    (canonical base36), communities the keys the aggregator writes (names). A post listed twice
    with two communities is an error: its key would be ambiguous.
    """
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(post_communities, pa.Table):
        missing = {"post_id", "community"} - set(post_communities.column_names)
        if missing:
            raise ValueError(f"the post -> community table lacks columns {sorted(missing)}")
        pairs = zip(
            post_communities.column("post_id").to_pylist(),
            post_communities.column("community").to_pylist(),
            strict=True,
        )
    else:
        pairs = post_communities.items()
    seen: dict[str, str] = {}
    for post, community in pairs:
        if post is None or community is None:
            continue
        post, community = str(post), str(community)
        if seen.setdefault(post, community) != community:
            raise ValueError(f"post {post!r} is in two communities: {seen[post]!r} and {community!r}")
    return pa.table(
        {
            "post_id": pa.array(list(seen), pa.string()),
            "community": pa.array(list(seen.values()), pa.string()),
        }
    )


def corpus_post_communities(
    post_ids: Sequence[str], community_index: Sequence[int], names: Sequence[str]
) -> pa.Table:
    """The table for a corpus: ``post_ids`` in canonical base36 (``entity_keys.post_keys``), each
    post's community index and the index -> name list the aggregator was given."""
    return post_communities_table(
        {post: names[int(c)] for post, c in zip(post_ids, community_index, strict=True) if int(c) >= 0}
    )


def read_post_communities(path: str | Path) -> pa.Table:
    """The post -> community table from a Parquet or CSV file with ``post_id`` and ``community``."""
    p = Path(path)
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(p, columns=["post_id", "community"])
    else:
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(
            p,
            convert_options=pacsv.ConvertOptions(
                include_columns=["post_id", "community"],
                column_types={"post_id": pa.string(), "community": pa.string()},
            ),
        )
    return post_communities_table(table)
