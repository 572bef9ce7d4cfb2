"""The spec: a traversal's entry points and repeat policy, and its wire form."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._codec import decode_json, decode_spec, spec_to_dict, spec_to_json
from ._gc import gc_paused
from ._json import loads_strict
from ._tree import TreeValue
from .dag import CompiledDag, compile_spec, to_mermaid, validate_spec
from .errors import SpecError
from .nodes import INode, Node
from .policies.repeat import RepeatPolicy

if TYPE_CHECKING:
    from .errors import ValidationIssue

__all__ = ["Spec"]


class _Memo(TreeValue):
    """Room on a `Spec` for what is computed once from it: its JSON text and its warnings.

    Not dataclass fields, so they take no part in equality, hashing, repr or pickling."""

    __slots__ = ("_json", "_warnings")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Spec(_Memo):
    """A traversal specification: what the server's ``POST /v1/ingest`` takes as ``"graph"``.

    Example:
        >>> spec = Spec.single(
        ...     entry_point=Node.standard("waygrid://processor/openai")
        ...         .on_success(Node.standard("waygrid://destination/webhook")),
        ...     repeat_policy=RepeatPolicy.NO_REPEAT,
        ... )
        >>> spec.to_json()[:40]
        '{"entryPoints":[{"type":"standard","addr'
    """

    entry_points: tuple[INode, ...]
    """Where traversals start (the server starts the first; the others are alternatives)."""
    repeat_policy: RepeatPolicy = RepeatPolicy.NO_REPEAT
    """Whether the traversal repeats."""

    def __post_init__(self) -> None:
        if not isinstance(self.entry_points, tuple):
            object.__setattr__(self, "entry_points", tuple(self.entry_points))
        if not self.entry_points:
            raise SpecError("a spec needs at least one entry point")
        for index, node in enumerate(self.entry_points):
            if not isinstance(node, Node):
                raise SpecError(
                    f"entry point {index} must be a node (Node.standard/fork/join), "
                    f"got {type(node).__name__} {node!r}"
                )
        if not isinstance(self.repeat_policy, RepeatPolicy):
            raise SpecError(f"repeat_policy must be a RepeatPolicy, got {self.repeat_policy!r}")

    @staticmethod
    def single(entry_point: INode, repeat_policy: RepeatPolicy = RepeatPolicy.NO_REPEAT) -> Spec:
        """A spec with one entry point (the common case)."""
        return Spec((entry_point,), repeat_policy)

    @staticmethod
    def multiple(
        entry_points: Iterable[INode], repeat_policy: RepeatPolicy = RepeatPolicy.NO_REPEAT
    ) -> Spec:
        """A spec with several entry points."""
        return Spec(tuple(entry_points), repeat_policy)

    # --- Wire form -----------------------------------------------------------------------------

    def to_json(self, indent: int | None = None) -> str:
        """The canonical JSON text the server accepts: byte-stable, compact unless ``indent``.

        Raises:
            SpecError: when a fork or join has no join id, or when ``indent`` is asked for a
                spec nested too deeply for `json.dumps` (the compact form has no such limit).
        """
        text: str | None = getattr(self, "_json", None)
        if text is None:  # computed once: the spec is immutable
            text = spec_to_json(self)
            object.__setattr__(self, "_json", text)
        if indent is None:
            return text
        try:
            return json.dumps(loads_strict(text), indent=indent)
        except RecursionError:
            raise SpecError(
                "the spec is nested too deeply to indent; use to_json() without indent"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """The wire form as plain dicts, lists, strings, numbers, booleans (a fresh copy)."""
        with gc_paused():
            return spec_to_dict(self)

    @staticmethod
    def from_dict(obj: object) -> Spec:
        """Read a spec from its wire form (the value of ``"graph"``).

        Strict like the server, with the leniencies the published docs promise: missing
        ``retryPolicy``/``deliveryStrategy``, ``null`` for absent, ``times`` for ``time``,
        every duration form the server reads, timestamps with offsets.

        Raises:
            SpecDecodeError: with the path of the offending value and what was expected.
        """
        with gc_paused():
            return decode_spec(obj)

    @staticmethod
    def from_json(text: str | bytes) -> Spec:
        """Read a spec from JSON text; see `from_dict`. Duplicate keys are rejected."""
        with gc_paused():
            return decode_json(text)

    # --- Validation and compilation --------------------------------------------------------

    def validate(self, strict: bool = False) -> list[ValidationIssue]:
        """Check the spec with the server's compiler rules, before any network call.

        Returns:
            The warnings (accepted by the server, but likely wrong).

        Raises:
            SpecValidationError: when an error-severity issue exists (with ``strict=True``,
                also when a warning does).
        """
        warnings: tuple[ValidationIssue, ...] | None = getattr(self, "_warnings", None)
        if warnings is None or (strict and warnings):  # computed once; strict raises each time
            with gc_paused():
                found = validate_spec(self, strict=strict)
            warnings = tuple(found)
            object.__setattr__(self, "_warnings", warnings)
        return list(warnings)

    def compile(self, salt: str = "test") -> CompiledDag:
        """Compile the spec as the server does, giving its nodes, edges and dagHash.

        Raises:
            SpecValidationError: for graphs the server's compiler rejects.
        """
        with gc_paused():
            return compile_spec(self, salt=salt)

    def to_mermaid(self) -> str:
        """A Mermaid ``flowchart`` of the compiled graph."""
        return to_mermaid(self.compile())
