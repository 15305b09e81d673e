"""How much one GraphQL request may ask for, checked before anything runs, and the check itself:
parsing (at most ``MAX_TOKENS`` tokens), GraphQL's own validation rules and ours (depth, aliases,
cost), cached by document text, since a client sends the same few operations over and over (the
validation was a third of a feed page's GraphQL cost before the cache, ``feedmix bench api``). The
cache is ours rather than Strawberry's ``ValidationCache`` because its key hashes the whole syntax
tree on every request and its depth limiter makes a new rule class per request, which misses.

Cost: every field costs 1, a ``feed`` field costs ``FEED_COST`` more (it runs a whole pipeline), and a
field taking ``first`` multiplies what is below it by that many items (a variable counts as the most a
page may hold, since validation runs before variables are known). A community feed inside every item
of a feed is what the limit exists for: 26 pipeline runs from one request. One full page of 100 items
costs under half the limit."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    parse,
    specified_rules,
    validate,
)

MAX_DEPTH = 10
MAX_COST = 10_000
FEED_COST = 500
MAX_ALIASES = 20
MAX_TOKENS = 3_000
#: what a ``first`` given as a variable counts as (the largest page)
VARIABLE_FIRST = 100
Fragments = dict[str, FragmentDefinitionNode]


def _fields(
    selection: SelectionSetNode | None, fragments: Fragments, seen: frozenset[str]
) -> list[FieldNode]:
    """The fields a selection set selects, through inline fragments and fragment spreads."""
    out: list[FieldNode] = []
    for node in selection.selections if selection is not None else ():
        if isinstance(node, FieldNode):
            out.append(node)
        elif isinstance(node, InlineFragmentNode):
            out.extend(_fields(node.selection_set, fragments, seen))
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:  # a cycle is the validator's error, not ours
                out.extend(_fields(fragment.selection_set, fragments, seen | {name}))
    return out


def query_cost(selection: SelectionSetNode | None, fragments: Fragments, seen: frozenset[str]) -> int:
    total = 0
    for node in _fields(selection, fragments, seen):
        below = query_cost(node.selection_set, fragments, seen)
        total += 1 + below * _first(node) + (FEED_COST if node.name.value == "feed" else 0)
    return total


def query_depth(selection: SelectionSetNode | None, fragments: Fragments) -> int:
    """Levels of fields below a selection (``{ a { b } }`` is 2; introspection counts like any field)."""
    fields = _fields(selection, fragments, frozenset())
    return max((1 + query_depth(f.selection_set, fragments) for f in fields), default=0)


def alias_count(selection: SelectionSetNode | None, fragments: Fragments) -> int:
    fields = _fields(selection, fragments, frozenset())
    return sum((f.alias is not None) + alias_count(f.selection_set, fragments) for f in fields)


def _first(node: FieldNode) -> int:
    for arg in node.arguments or ():
        if arg.name.value == "first":
            return int(arg.value.value) if isinstance(arg.value, IntValueNode) else VARIABLE_FIRST
    return 1


class OperationLimits(ValidationRule):
    """Refuses an operation deeper than ``MAX_DEPTH``, with more than ``MAX_ALIASES`` aliases, or whose
    estimated cost is above ``MAX_COST``, saying what it measured."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        context: ValidationContext = self.context
        fragments = {
            d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        name = node.name.value if node.name else "anonymous"
        depth = query_depth(node.selection_set, fragments)
        if depth > MAX_DEPTH:
            context.report_error(
                GraphQLError(
                    f"operation {name!r} is {depth} levels deep, above the limit of {MAX_DEPTH}",
                    node,
                    extensions={"code": "QUERY_TOO_DEEP", "depth": depth, "limit": MAX_DEPTH},
                )
            )
        aliases = alias_count(node.selection_set, fragments)
        if aliases > MAX_ALIASES:
            context.report_error(
                GraphQLError(
                    f"operation {name!r} has {aliases} aliases, above the limit of {MAX_ALIASES}",
                    node,
                    extensions={"code": "TOO_MANY_ALIASES", "aliases": aliases, "limit": MAX_ALIASES},
                )
            )
        cost = query_cost(node.selection_set, fragments, frozenset())
        if cost > MAX_COST:
            context.report_error(
                GraphQLError(
                    f"operation {name!r} costs {cost}, above the limit of {MAX_COST}: ask for fewer items "
                    "(first) or fewer nested feeds",
                    node,
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": MAX_COST},
                )
            )


RULES = (*specified_rules, OperationLimits)


def document_errors(schema: GraphQLSchema, text: str) -> list[GraphQLError]:
    """What is wrong with a document, for this schema (empty: run it); cached per schema and text."""
    return list(_checked(schema, text))


@lru_cache(maxsize=512)
def _checked(schema: GraphQLSchema, text: str) -> tuple[GraphQLError, ...]:
    try:
        document = parse(text, max_tokens=MAX_TOKENS)
    except GraphQLError as e:
        return (e,)
    return tuple(validate(schema, document, RULES))
