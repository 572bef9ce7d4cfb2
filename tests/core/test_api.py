"""The public surface: exports, the error tree, immutability, and what importing pulls in."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

import waygrid
from waygrid import (
    AuthenticationError,
    Node,
    RateLimitError,
    RetryPolicy,
    ServerError,
    Spec,
    SpecDecodeError,
    SpecError,
    SpecRejectedError,
    SpecValidationError,
    WaygridAPIError,
    WaygridConnectionError,
    WaygridError,
    WaygridStatusError,
    WaygridTimeoutError,
)

EXPORTS = [
    "AuthenticationError",
    "Condition",
    "ConditionalEdge",
    "DeliveryStrategy",
    "ForkNode",
    "INode",
    "JoinNode",
    "JoinStrategy",
    "Node",
    "RateLimitError",
    "RepeatPolicy",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "Simulation",
    "Spec",
    "SpecDecodeError",
    "SpecError",
    "SpecRejectedError",
    "SpecValidationError",
    "StandardNode",
    "SubmitResult",
    "ValidationIssue",
    "WaygridAPIError",
    "WaygridClient",
    "WaygridConnectionError",
    "WaygridError",
    "WaygridStatusError",
    "WaygridTimeoutError",
    "__version__",
    "simulate",
]


def test_all_is_pinned_and_sorted() -> None:
    """waygrid.__all__ is exactly the documented surface, sorted."""
    assert waygrid.__all__ == EXPORTS
    assert sorted(waygrid.__all__) == waygrid.__all__
    for name in waygrid.__all__:
        assert hasattr(waygrid, name), name


def test_error_tree() -> None:
    """The exception hierarchy is the contract's."""
    assert issubclass(SpecError, WaygridError) and issubclass(SpecError, ValueError)
    assert issubclass(SpecDecodeError, SpecError) and issubclass(SpecValidationError, SpecError)
    assert issubclass(WaygridAPIError, WaygridError)
    assert issubclass(WaygridTimeoutError, WaygridConnectionError)
    assert issubclass(WaygridConnectionError, WaygridAPIError)
    for cls in (SpecRejectedError, AuthenticationError, RateLimitError, ServerError):
        assert issubclass(cls, WaygridStatusError)
    assert issubclass(WaygridStatusError, WaygridAPIError)


def test_values_are_immutable_and_compared_by_value() -> None:
    """Builders return copies; equal specs are equal and hash alike."""
    base = Node.standard("waygrid://processor/a")
    labelled = base.label("A")
    assert base.label_text is None and labelled.label_text == "A"
    one = Spec.single(labelled.with_retry(RetryPolicy.linear(timedelta(seconds=1), 2)))
    two = Spec.single(
        Node.standard("waygrid://processor/a")
        .with_retry(RetryPolicy.linear(timedelta(seconds=1), 2))
        .label("A")
    )
    assert one == two and hash(one) == hash(two) and len({one, two}) == 1
    assert one != Spec.single(base)


def test_bad_arguments_get_clear_errors() -> None:
    """Passing the wrong kind of object fails at once with the call named."""
    with pytest.raises(SpecError, match="on_success"):
        Node.standard("waygrid://p/a").on_success("waygrid://p/b")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match=r"Condition\.when"):
        Node.standard("waygrid://p/a").on_conditions([Node.standard("waygrid://p/b")])  # type: ignore[list-item]
    with pytest.raises(SpecError, match="entry point"):
        Spec.single("waygrid://p/a")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="at least one"):
        Spec.multiple([])


def test_importing_waygrid_loads_no_framework() -> None:
    """`import waygrid` in a fresh interpreter loads neither Django, FastAPI nor Starlette."""
    code = (
        "import sys, waygrid; from waygrid import WaygridClient, Spec; "
        "bad = [m for m in ('django', 'fastapi', 'starlette', 'uvicorn', 'pydantic') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_adapters_do_not_import_each_other() -> None:
    """Each adapter imports the core only, never the other adapter."""
    for package, other in (
        ("waygrid_fastapi", "waygrid_django"),
        ("waygrid_django", "waygrid_fastapi"),
    ):
        code = f"import sys, {package}; print({other!r} in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "False", package
