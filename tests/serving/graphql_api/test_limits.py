from graphql import parse

from feedmix.serving.graphql_api import limits
from feedmix.serving.graphql_api.limits import query_cost


def _cost(text: str) -> int:
    doc = parse(text)
    op = doc.definitions[0]
    frags = {d.name.value: d for d in doc.definitions[1:]}  # type: ignore[attr-defined]
    return query_cost(op.selection_set, frags, frozenset())  # type: ignore[attr-defined]


def test_every_field_costs_one_and_first_multiplies_what_is_below() -> None:
    assert _cost("{ post(id: 1) { id title } }") == 3
    # a feed runs a pipeline: it costs that much more
    assert _cost("{ feed(userId: 1, first: 10) { edges { position } } }") == 1 + limits.FEED_COST + 10 * 2
    # a variable counts as the largest page
    n = limits.VARIABLE_FIRST
    assert _cost("query($n: Int!) { feed(userId: 1, first: $n) { requestId } }") == 1 + limits.FEED_COST + n


def test_fragments_and_inline_fragments_count_once_per_use() -> None:
    text = """
    { feed(userId: 1, first: 2) { edges { node { ... on Post { ...P } } } } }
    fragment P on Post { id title }
    """
    assert _cost(text) == 1 + limits.FEED_COST + 2 * (1 + 1 + 2)


def test_depth_and_aliases_count_through_fragments() -> None:
    doc = parse("{ a { b { c } } x: d ...F } fragment F on Q { y: e { f } }")
    op = doc.definitions[0]
    frags = {d.name.value: d for d in doc.definitions[1:]}  # type: ignore[attr-defined]
    assert limits.query_depth(op.selection_set, frags) == 3  # type: ignore[attr-defined]
    assert limits.alias_count(op.selection_set, frags) == 2  # type: ignore[attr-defined]


def test_a_feed_in_every_item_of_a_feed_is_over_the_limit_and_a_full_page_is_not() -> None:
    inner = "community { feed(first: 25) { edges { position } } }"
    assert (
        _cost("{ feed(userId: 1, first: 25) { edges { node { ... on Post { " + inner + " } } } } }")
        > limits.MAX_COST
    )
    fields = " ".join(f"f{i}" for i in range(30))
    page = "{ feed(userId: 1, first: 100) { edges { node { ... on Post { " + fields + " } } } } }"
    assert _cost(page) < limits.MAX_COST / 2
