"""How much one GraphQL request may ask for, checked before anything runs. Depth, aliases and tokens
have Strawberry's own limiters; cost has none, so this module estimates it: every field costs 1, a
``feed`` field costs ``FEED_COST`` more (it runs a whole pipeline), and a field taking ``first``
multiplies what is below it by that many items (a variable counts as the most a page may hold, since
validation runs before variables are known). A community feed inside every item of a feed is what the
limit exists for: 26 pipeline runs from one request. One full page of 100 items costs under half the
limit."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

MAX_DEPTH = 10
MAX_COST = 10_000
FEED_COST = 500
MAX_ALIASES = 20
MAX_TOKENS = 3_000
#: what a ``first`` given as a variable counts as (the largest page)
VARIABLE_FIRST = 100


def query_cost(
    selection: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode], seen: frozenset[str]
) -> int:
    if selection is None:
        return 0
    total = 0
    for node in selection.selections:
        if isinstance(node, FieldNode):
            below = query_cost(node.selection_set, fragments, seen)
            total += 1 + below * _first(node) + (FEED_COST if node.name.value == "feed" else 0)
        elif isinstance(node, InlineFragmentNode):
            total += query_cost(node.selection_set, fragments, seen)
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:  # a cycle is the validator's error, not ours
                total += query_cost(fragment.selection_set, fragments, seen | {name})
    return total


def _first(node: FieldNode) -> int:
    for arg in node.arguments or ():
        if arg.name.value == "first":
            return int(arg.value.value) if isinstance(arg.value, IntValueNode) else VARIABLE_FIRST
    return 1


class CostLimit(ValidationRule):
    """Refuses an operation whose estimated cost is above ``MAX_COST``, saying what it cost."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        context: ValidationContext = self.context
        fragments = {
            d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        cost = query_cost(node.selection_set, fragments, frozenset())
        if cost > MAX_COST:
            name = node.name.value if node.name else "anonymous"
            context.report_error(
                GraphQLError(
                    f"operation {name!r} costs {cost}, above the limit of {MAX_COST}: ask for fewer items "
                    "(first) or fewer nested feeds",
                    node,
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": MAX_COST},
                )
            )
