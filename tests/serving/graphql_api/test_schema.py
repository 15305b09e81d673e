from graphql import parse, validate

from feedmix.serving.graphql_api.persisted import OPERATIONS_DIR
from feedmix.serving.graphql_api.schema import SCHEMA_FILE, build_schema, schema_sdl


def test_the_exported_schema_is_the_served_one() -> None:
    # changed the types? run: feedmix graphql-schema (rewrites serving/graphql_api/schema.graphql)
    assert SCHEMA_FILE.read_text() == schema_sdl()


def test_every_persisted_operation_is_valid_against_the_schema() -> None:
    schema = build_schema()._schema
    files = sorted(OPERATIONS_DIR.glob("*.graphql"))
    assert {f.stem for f in files} >= {"HomeFeed", "CommunityFeed", "Post", "RecordEvents"}
    for f in files:
        assert validate(schema, parse(f.read_text())) == [], f.name
