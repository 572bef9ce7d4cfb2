"""Property tests: equality, hashing and the wire form see every field of every model class."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core import strategies as s
from waygrid import Condition, Node, Spec
from waygrid._tree import TreeValue
from waygrid.conditions import ConditionalEdge, JsonEqualsCondition, NotCondition
from waygrid.nodes import INode

# A strategy for a new value of each field, by field name: the test fails when a model class
# gains a field that is missing here, so no field escapes it.
_children = st.none() | s.nodes
NEW_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "address": s.addresses,
    "retry_policy": s.retry_policies,
    "delivery_strategy": s.deliveries,
    "parameters": s.parameters.map(lambda p: Node.standard("a://b").with_parameters(p).parameters),
    "label_text": s.labels,
    "on_success_node": _children,
    "on_failure_node": _children,
    "on_timeout_node": _children,
    "conditional_edges": st.lists(st.builds(Condition.when, s.conditions, s.nodes), max_size=2).map(
        tuple
    ),
    "branch_nodes": st.dictionaries(st.text(max_size=6), s.nodes, max_size=3).map(
        lambda d: tuple(d.items())
    ),
    "join_node_id": st.text(max_size=6),
    "join_strategy": s.strategies_,
    "join_timeout": st.none() | s.durations,
    "condition": s.conditions,
    "conditions": st.lists(s.conditions, max_size=3).map(tuple),
    "pointer": s.pointers,
    "value_json": s.json_values.map(lambda v: json.dumps(v, separators=(",", ":"))),
    "to": s.nodes,
    "entry_points": st.lists(s.nodes, min_size=1, max_size=3).map(tuple),
    "repeat_policy": s.repeats,
}


def _model_classes() -> list[type[TreeValue]]:
    found: list[type[TreeValue]] = []
    pending: list[type[TreeValue]] = [TreeValue]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if dataclasses.is_dataclass(cls) and cls not in (Node, Condition):
            found.append(cls)
    return found


def _parts_of_kind(condition: Condition, kind: type) -> list[Condition]:
    found, stack = [], [condition]
    while stack:
        item = stack.pop()
        if type(item) is kind:
            found.append(item)
        stack.extend(getattr(item, "conditions", ()))
        if isinstance(item, NotCondition):
            stack.append(item.condition)
    return found


def _conditions_of_kind(kind: type) -> st.SearchStrategy[Condition]:
    return s.conditions.map(lambda c: _parts_of_kind(c, kind)).filter(bool).flatmap(st.sampled_from)


def _instances(cls: type) -> st.SearchStrategy[Any]:
    if issubclass(cls, Node):
        return s.nodes.filter(lambda node: type(node) is cls)
    if cls is Spec:
        return s.specs
    if cls is ConditionalEdge:
        return st.builds(Condition.when, s.conditions, s.nodes)
    return _conditions_of_kind(cls)


def _with_field(value: Any, name: str, new: Any) -> Any:
    if type(value) is JsonEqualsCondition:
        fields = {"pointer": value.pointer, "value": json.loads(value.value_json)}
        fields["value" if name == "value_json" else name] = (
            json.loads(new) if name == "value_json" else new
        )
        return JsonEqualsCondition(fields["pointer"], fields["value"])
    return dataclasses.replace(value, **{name: new})


def _as_spec(value: Any) -> Spec:
    """The smallest spec whose JSON holds ``value``."""
    if isinstance(value, Spec):
        return value
    if isinstance(value, Condition):
        value = Condition.when(value, Node.standard("waygrid://processor/x"))
    if isinstance(value, ConditionalEdge):
        value = Node.standard("waygrid://origin/http").on_conditions([value])
    node: INode = value
    return Spec.single(node)


def test_every_field_has_a_new_value_strategy() -> None:
    """Every field of every node, condition, edge and spec class is covered by this file."""
    names = {f.name for cls in _model_classes() for f in dataclasses.fields(cls)}
    assert len(_model_classes()) >= 10
    assert names == set(NEW_VALUES)


@st.composite
def changed_pairs(draw: st.DrawFn) -> tuple[Any, Any, str]:
    """A model value and a copy of it with exactly one field changed."""
    with_fields = [c for c in _model_classes() if dataclasses.fields(c)]
    cls = draw(st.sampled_from(sorted(with_fields, key=lambda c: c.__name__)))
    fields = dataclasses.fields(cls)
    original = draw(_instances(cls))
    name = draw(st.sampled_from([f.name for f in fields]))
    old = getattr(original, name)
    new = draw(NEW_VALUES[name].filter(lambda v: v != old))
    changed = _with_field(original, name, new)
    return original, changed, name


@settings(max_examples=400, deadline=None)
@given(changed_pairs())
def test_changing_one_field_changes_equality_and_json(pair: tuple[Any, Any, str]) -> None:
    """Change any one field of any node, condition, edge or spec: unequal, and its JSON differs."""
    original, changed, name = pair
    assert original != changed, name
    assert (original == changed) is False, name
    assert changed != original, name
    left, right = _as_spec(original), _as_spec(changed)
    assert left != right, name
    assert left.to_json() != right.to_json(), name
    assert Spec.from_json(right.to_json()) == right


@settings(max_examples=100, deadline=None)
@given(s.specs)
def test_equal_copies_hash_alike(spec: Spec) -> None:
    """A spec read back from its JSON is equal to, and hashes like, the original."""
    copy = Spec.from_json(spec.to_json())
    assert copy == spec and hash(copy) == hash(spec)


def test_label_is_part_of_equality() -> None:
    """The issue's example: a label makes a node unequal to the unlabelled one."""
    plain = Node.standard("waygrid://processor/a")
    assert plain != plain.label("X")
    assert hash(plain) != hash(plain.label("X"))
