"""Every code snippet of the published Python SDK page, run as written.

The snippets' undefined names (``my_node``, ``success_handler``, ...) are real nodes defined
below. The FastAPI and Django snippets are covered by tests/fastapi and tests/django.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from waygrid import (
    Condition,
    DeliveryStrategy,
    JoinStrategy,
    Node,
    RepeatPolicy,
    RetryPolicy,
    Spec,
    SpecValidationError,
)
from waygrid.policies import ExponentialRetryPolicy, LinearRetryPolicy

# The names the page uses without defining them.
my_node = Node.standard("waygrid://processor/openai")
node1 = Node.standard("waygrid://origin/http")
node2 = Node.standard("waygrid://origin/grpc")
node3 = Node.standard("waygrid://origin/kafka")
success_handler = Node.standard("waygrid://destination/webhook").label("Success")
failure_handler = Node.standard("waygrid://destination/webhook").label("Failure")
escalation_node = Node.standard("waygrid://destination/pager").label("Escalate")
archive_node = Node.standard("waygrid://destination/archive").label("Archive")
aggregate_node = Node.standard("waygrid://processor/aggregate").label("Aggregate")
error_handler = Node.standard("waygrid://destination/webhook").label("Join failed")
timeout_handler = Node.standard("waygrid://destination/webhook").label("Join timed out")
aggregate_results = Node.standard("waygrid://processor/aggregate").label("Aggregate results")
handle_partial_results = Node.standard("waygrid://processor/partial").label("Partial results")

RUNTIME_FORK_JOIN = {
    "runtime-branch-failure-fails-traversal",
    "runtime-control-node-never-answered",
    "runtime-join-continuation-stalls",
}
"""What today's server does wrong with a fork entry point woven by ``joined_by``."""


def quick_start_spec() -> Spec:
    """The Quick Start's spec, exactly as the page builds it."""
    # Define a simple workflow
    spec = Spec.single(
        entry_point=Node.standard("waygrid://processor/openai")
        .label("AI Processing")
        .with_retry(RetryPolicy.exponential(timedelta(seconds=1), max_retries=3))
        .on_success(Node.standard("waygrid://destination/webhook").label("Deliver Result")),
        repeat_policy=RepeatPolicy.NO_REPEAT,
    )
    return spec


def test_quick_start_builds_and_serializes() -> None:
    """The Quick Start spec converts to the server's JSON."""
    spec = quick_start_spec()
    # Convert to JSON
    json_str = spec.to_json()
    wire = json.loads(json_str)
    entry = wire["entryPoints"][0]
    assert entry["label"] == "AI Processing"
    assert entry["retryPolicy"] == {"type": "Exponential", "base": "1s", "maxRetries": 3}
    assert entry["onSuccess"]["label"] == "Deliver Result"
    assert wire["repeatPolicy"] == {"type": "NoRepeat"}
    assert spec.validate() == []


def test_spec_single_and_multiple() -> None:
    """Spec.single and Spec.multiple as the Core API section shows them."""
    # Single entry point (most common)
    spec = Spec.single(entry_point=my_node, repeat_policy=RepeatPolicy.NO_REPEAT)
    assert spec.entry_points == (my_node,)

    # Multiple entry points (fan-in from multiple origins)
    spec = Spec.multiple(entry_points=[node1, node2, node3], repeat_policy=RepeatPolicy.NO_REPEAT)
    assert [n.address for n in spec.entry_points] == [n.address for n in (node1, node2, node3)]
    assert len(spec.compile().entry_points) == 3


def test_standard_node_minimal_and_full() -> None:
    """The Standard Node snippet: minimal and full configuration."""
    # Minimal
    node = Node.standard("waygrid://processor/openai")
    assert node.address == "waygrid://processor/openai"

    # Full configuration
    node = (
        Node.standard("waygrid://processor/openai")
        .label("AI Content Analysis")
        .with_retry(RetryPolicy.exponential(timedelta(seconds=1), max_retries=5))
        .with_delivery(DeliveryStrategy.schedule_after(timedelta(minutes=5)))
        .on_success(success_handler)
        .on_failure(failure_handler)
        .on_conditions(
            [
                Condition.when(Condition.json_equals("/sentiment", "negative"), escalation_node),
                Condition.when(Condition.json_equals("/sentiment", "positive"), archive_node),
            ]
        )
    )
    wire = Spec.single(node).to_dict()["entryPoints"][0]
    assert wire["deliveryStrategy"] == {"type": "ScheduleAfter", "delay": "5m"}
    assert wire["onConditions"][0]["condition"] == {
        "type": "JsonEquals",
        "pointer": "/sentiment",
        "value": "negative",
    }
    warnings = Spec.single(node).validate()
    assert {w.code for w in warnings} == {"unsupported-by-server"}


def test_fork_node() -> None:
    """The Fork Node snippet builds a fork whose join still has to be attached."""
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("enrich-parallel")
        .label("Parallel Enrichment")
        .branches(
            {
                "sentiment": Node.standard("waygrid://processor/sentiment"),
                "translate": Node.standard("waygrid://processor/translate"),
                "summarize": Node.standard("waygrid://processor/openai"),
            }
        )
    )
    assert [name for name, _ in fork.branch_nodes] == ["sentiment", "summarize", "translate"]
    with pytest.raises(SpecValidationError) as caught:
        Spec.single(fork).validate()
    assert caught.value.errors[0].code == "fork-without-join"
    assert "joined_by" in (caught.value.errors[0].hint or "")


def test_join_node() -> None:
    """The Join Node snippet, attached to the Fork Node snippet's fork, makes a valid spec."""
    join = (
        Node.join("waygrid://system/waystation")
        .join_id("enrich-parallel")  # Must match Fork's join_id
        .strategy(JoinStrategy.AND)  # Wait for all
        .timeout(timedelta(seconds=30))
        .on_success(aggregate_node)
        .on_failure(error_handler)
        .on_timeout(timeout_handler)
    )
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("enrich-parallel")
        .branches(
            {
                "sentiment": Node.standard("waygrid://processor/sentiment"),
                "translate": Node.standard("waygrid://processor/translate"),
            }
        )
        .joined_by(join)
    )
    spec = Spec.single(fork)
    # The compiler accepts it; the runtime warnings say where today's server misbehaves.
    assert {issue.code for issue in spec.validate()} == RUNTIME_FORK_JOIN
    kinds = sorted(node.kind for node in spec.compile().nodes)
    assert kinds.count("join") == 1 and kinds.count("fork") == 1


def test_retry_policies() -> None:
    """Every retry policy of the page, with its wire form."""
    policies = [
        # No retries
        RetryPolicy.NONE,
        # Linear backoff: 5s, 5s, 5s...
        RetryPolicy.linear(timedelta(seconds=5), max_retries=3),
        # Exponential backoff: 1s, 2s, 4s, 8s...
        RetryPolicy.exponential(timedelta(seconds=1), max_retries=5),
        # Bounded exponential: exponential with cap
        RetryPolicy.bounded_exponential(
            base=timedelta(seconds=1), cap=timedelta(minutes=1), max_retries=10
        ),
        # Fibonacci backoff: 1s, 1s, 2s, 3s, 5s...
        RetryPolicy.fibonacci(timedelta(seconds=1), max_retries=5),
        # Full jitter (randomized)
        RetryPolicy.full_jitter(timedelta(seconds=1), max_retries=5),
        # Decorrelated jitter (AWS-style)
        RetryPolicy.decorrelated_jitter(timedelta(seconds=1), max_retries=5),
    ]
    wire = [
        Spec.single(my_node.with_retry(p)).to_dict()["entryPoints"][0]["retryPolicy"]
        for p in policies
    ]
    assert wire == [
        {"type": "None"},
        {"type": "Linear", "base": "5s", "maxRetries": 3},
        {"type": "Exponential", "base": "1s", "maxRetries": 5},
        {"type": "BoundedExponential", "base": "1s", "cap": "1m", "maxRetries": 10},
        {"type": "Fibonacci", "base": "1s", "maxRetries": 5},
        {"type": "FullJitter", "base": "1s", "maxRetries": 5},
        {"type": "DecorrelatedJitter", "base": "1s", "maxRetries": 5},
    ]


def test_delivery_strategies() -> None:
    """Every delivery strategy of the page, with its wire form."""
    strategies = [
        # Execute immediately (default)
        DeliveryStrategy.IMMEDIATE,
        # Schedule after delay
        DeliveryStrategy.schedule_after(timedelta(minutes=5)),
        # Schedule at specific time
        DeliveryStrategy.schedule_at(datetime(2024, 12, 25, tzinfo=timezone.utc)),
    ]
    wire = [
        Spec.single(my_node.with_delivery(s)).to_dict()["entryPoints"][0]["deliveryStrategy"]
        for s in strategies
    ]
    assert wire == [
        {"type": "Immediate"},
        {"type": "ScheduleAfter", "delay": "5m"},
        {"type": "ScheduleAt", "time": "2024-12-25T00:00:00Z"},
    ]


def test_repeat_policies() -> None:
    """Every repeat policy of the page, with its wire form (``time``, not ``times``)."""
    policies = [
        # One-shot execution
        RepeatPolicy.NO_REPEAT,
        # Repeat forever
        RepeatPolicy.indefinitely(timedelta(hours=1)),
        # Repeat N times
        RepeatPolicy.times(every=timedelta(hours=1), times=10),
        # Repeat until timestamp
        RepeatPolicy.until(
            every=timedelta(hours=1), until=datetime(2024, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
        ),
    ]
    wire = [Spec.single(my_node, repeat_policy=p).to_dict()["repeatPolicy"] for p in policies]
    assert wire == [
        {"type": "NoRepeat"},
        {"type": "Indefinitely", "every": "1h"},
        {"type": "Times", "every": "1h", "time": 10},
        {"type": "Until", "every": "1h", "until": "2024-12-31T23:59:59Z"},
    ]


def test_conditions() -> None:
    """Every condition of the page, with its wire form."""
    conditions = [
        # Always matches
        Condition.ALWAYS,
        # Check if JSON pointer exists
        Condition.json_exists("/result/data"),
        # Check JSON value equality
        Condition.json_equals("/status", "approved"),
        Condition.json_equals("/count", 0),
        Condition.json_equals("/valid", True),
        # Logical operators
        Condition.not_(Condition.json_exists("/error")),
        Condition.and_(
            [
                Condition.json_exists("/result"),
                Condition.json_equals("/result/valid", True),
            ]
        ),
        Condition.or_(
            [
                Condition.json_equals("/status", "approved"),
                Condition.json_equals("/status", "auto_approved"),
            ]
        ),
    ]
    node = my_node.on_conditions([Condition.when(c, success_handler) for c in conditions])
    wire = [e["condition"] for e in Spec.single(node).to_dict()["entryPoints"][0]["onConditions"]]
    assert wire[0] == {"type": "Always"}
    assert wire[3] == {"type": "JsonEquals", "pointer": "/count", "value": 0}
    assert wire[4] == {"type": "JsonEquals", "pointer": "/valid", "value": True}
    assert wire[5] == {"type": "Not", "cond": {"type": "JsonExists", "pointer": "/error"}}
    assert wire[6]["type"] == "And" and len(wire[6]["all"]) == 2
    assert wire[7]["type"] == "Or" and len(wire[7]["any"]) == 2
    assert Spec.from_dict(Spec.single(node).to_dict()) == Spec.single(node)


def test_error_handling_pipeline() -> None:
    """The Error Handling Pipeline builds, compiles and warns about its JSON-pointer conditions."""
    workflow = (
        Node.standard("waygrid://processor/risky-operation")
        .with_retry(RetryPolicy.exponential(timedelta(seconds=1), max_retries=3))
        .on_success(Node.standard("waygrid://destination/webhook").label("Success Notification"))
        .on_failure(
            Node.standard("waygrid://processor/error-classifier")
            .label("Classify Error")
            .on_conditions(
                [
                    Condition.when(
                        Condition.json_equals("/errorType", "retryable"),
                        Node.standard("waygrid://system/scheduler")
                        .with_delivery(DeliveryStrategy.schedule_after(timedelta(hours=1)))
                        .label("Retry Later"),
                    ),
                    Condition.when(
                        Condition.json_equals("/errorType", "fatal"),
                        Node.standard("waygrid://destination/webhook").label("Alert On-Call"),
                    ),
                ]
            )
        )
    )
    spec = Spec.single(workflow)
    assert {w.code for w in spec.validate()} == {"unsupported-by-server"}
    assert len(spec.compile().nodes) == 5


def test_parallel_processing_with_quorum() -> None:
    """The quorum example as published fails validation; attached with joined_by it is valid."""
    # Call 3 providers, continue when 2 respond
    spec = Spec.single(
        entry_point=Node.fork("waygrid://system/waystation")
        .join_id("multi-provider")
        .branches(
            {
                "provider-a": Node.standard("waygrid://destination/webhook").label("Provider A"),
                "provider-b": Node.standard("waygrid://destination/webhook").label("Provider B"),
                "provider-c": Node.standard("waygrid://destination/webhook").label("Provider C"),
            }
        ),
        repeat_policy=RepeatPolicy.NO_REPEAT,
    )

    # The Join node with Quorum strategy
    join = (
        Node.join("waygrid://system/waystation")
        .join_id("multi-provider")
        .strategy(JoinStrategy.quorum(2))  # 2 of 3 required
        .timeout(timedelta(seconds=30))
        .on_success(aggregate_results)
        .on_timeout(handle_partial_results)
    )

    with pytest.raises(SpecValidationError) as caught:
        spec.validate()
    assert caught.value.errors[0].code == "fork-without-join"
    assert "joined_by" in (caught.value.errors[0].hint or "")

    fork = spec.entry_points[0]
    assert isinstance(fork, type(Node.fork("waygrid://x/y")))
    joined = Spec.single(fork.joined_by(join), repeat_policy=RepeatPolicy.NO_REPEAT)
    assert {issue.code for issue in joined.validate()} == RUNTIME_FORK_JOIN
    compiled = joined.compile()
    # fork + 3 providers + join + (aggregate, partial) once per arriving branch
    assert len(compiled.nodes) == 1 + 3 + 1 + 3 * 2
    assert Spec.from_json(joined.to_json()) == joined


def test_type_hints_example() -> None:
    """The Type Hints section's function type-checks and builds a spec."""
    from waygrid.types import ConditionalEdge, INode

    def build_workflow(
        processor_address: str, destination_address: str, max_retries: int = 3
    ) -> Spec:
        entry: INode = (
            Node.standard(processor_address)
            .with_retry(RetryPolicy.exponential(timedelta(seconds=1), max_retries=max_retries))
            .on_success(Node.standard(destination_address))
        )
        return Spec.single(entry_point=entry, repeat_policy=RepeatPolicy.NO_REPEAT)

    spec = build_workflow("waygrid://processor/openai", "waygrid://destination/webhook")
    assert spec.validate() == []
    assert isinstance(Condition.when(Condition.ALWAYS, my_node), ConditionalEdge)


def test_dataclasses_section() -> None:
    """The models are frozen dataclasses with the fields the Dataclasses section names."""
    spec = Spec.single(my_node)
    assert {f.name for f in dataclasses.fields(spec)} >= {"entry_points", "repeat_policy"}
    linear = LinearRetryPolicy(timedelta(seconds=1), 3)
    exponential = ExponentialRetryPolicy(base=timedelta(seconds=1), max_retries=3)
    assert (linear.base, linear.max_retries) == (timedelta(seconds=1), 3)
    assert [f.name for f in dataclasses.fields(exponential)] == ["base", "max_retries"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        linear.max_retries = 4  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.repeat_policy = RepeatPolicy.NO_REPEAT  # type: ignore[misc]


@pytest.mark.parametrize(
    "module",
    [
        "waygrid.spec",
        "waygrid.nodes.base",
        "waygrid.nodes.standard",
        "waygrid.nodes.fork",
        "waygrid.nodes.join",
        "waygrid.policies.retry",
        "waygrid.policies.delivery",
        "waygrid.policies.repeat",
        "waygrid.conditions.condition",
        "waygrid.strategies.join",
        "waygrid.client.client",
        "waygrid.client.result",
        "waygrid.types",
    ],
)
def test_repository_structure(module: str) -> None:
    """Every module of the page's repository structure exists."""
    assert importlib.import_module(module).__doc__


def test_quick_start_client_against_a_local_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Quick Start's client part, as written, against the dev server on loopback."""
    import asyncio
    import os

    from waygrid import WaygridClient
    from waygrid.testing import DevServer

    spec = quick_start_spec()
    with DevServer(api_key="quick-start-key") as server:
        monkeypatch.setenv("WAYGRID_API_KEY", "quick-start-key")

        async def main() -> None:
            async with WaygridClient(
                base_url=server.base_url,  # the page says "https://api.waygrid.io"
                api_key=os.environ["WAYGRID_API_KEY"],
            ) as client:
                result = await client.submit(spec)
                print(f"Traversal ID: {result.traversal_id}")

        asyncio.run(main())
        (stored,) = server.traversals()
    printed = capsys.readouterr().out
    assert printed == f"Traversal ID: {stored.traversal_id}\n"
    assert len(stored.traversal_id) == 26
    assert stored.dag_hash == spec.compile().dag_hash
