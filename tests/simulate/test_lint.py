"""runtime_issues(): warnings where the server's runtime misbehaves, each checked by simulating it."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from waygrid import DeliveryStrategy, JoinStrategy, Node, RetryPolicy, Spec, SpecValidationError
from waygrid.nodes import INode
from waygrid.simulate import runtime_issues, simulate

VECTORS = Path(__file__).resolve().parent.parent / "sim-vectors"


def vector(name: str) -> tuple[Spec, dict[str, Any]]:
    """A shared vector's spec and script."""
    vec = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return Spec.from_dict(vec["spec"]), vec["script"]


def codes(spec: Spec) -> dict[str, list[str]]:
    """The warnings' codes with their paths."""
    found: dict[str, list[str]] = {}
    for issue in runtime_issues(spec.compile()):
        assert issue.severity == "warning"
        found.setdefault(issue.code, []).append(issue.path)
    return found


def std(name: str) -> Node:
    """A labelled standard node."""
    return Node.standard(f"waygrid://processor/{name}").label(name)  # type: ignore[return-value]


def woven(branches: dict[str, INode], strategy: JoinStrategy = JoinStrategy.AND) -> INode:
    """A fork woven to its join with joined_by."""
    return (
        Node.fork("waygrid://system/waystation")
        .join_id("j")
        .branches(branches)
        .joined_by(Node.join("waygrid://system/waystation").join_id("j").strategy(strategy))
    )


def test_clean_specs_get_no_warning() -> None:
    """A chain with retries, and a fork whose branch nodes handle failures, are clean."""
    for name in (
        "basic-single-node-ok",
        "retry-linear-exhausted--upstream",
        "failure-path-own-delivery",
    ):
        assert codes(vector(name)[0]) == {}
    handled = Spec.single(std("s").on_success(std("t").on_failure(std("fix"))))
    assert codes(handled) == {}


def test_repeat_policy_not_executed() -> None:
    """basic-repeat-indefinitely: warned at $.repeatPolicy; the run is a single one."""
    spec, script = vector("basic-repeat-indefinitely-runs-once--upstream")
    assert codes(spec)["runtime-repeat-not-executed"] == ["$.repeatPolicy"]
    run = simulate(spec, script=script, mode="upstream")
    assert run.status == "completed" and run.attempts("poll") == 1 and run.attempts("store") == 1


def test_entry_points_after_the_first_never_start() -> None:
    """Each entry point after the first is warned about, and never runs."""
    spec = Spec.multiple([std("a"), std("b"), std("c")])
    assert codes(spec)["runtime-entry-never-starts"] == ["$.entryPoints[1]", "$.entryPoints[2]"]
    run = simulate(spec, mode="upstream")
    assert not run.ran("b") and not run.ran("c")


def test_conditions_that_match_twice() -> None:
    """cond-two-matches-stall: warned at the node; upstream stalls there."""
    spec, script = vector("cond-two-matches-stall--upstream")
    assert list(codes(spec)) == ["runtime-conditions-match-twice"]
    assert simulate(spec, script=script, mode="upstream").status == "stalled"


def test_join_continuation_stalls() -> None:
    """fj-and-continuation: the join's duplicated continuation is warned; upstream stalls."""
    spec, script = vector("fj-and-continuation--upstream")
    (path,) = codes(spec)["runtime-join-continuation-stalls"]
    assert path.endswith(".onSuccess") and ".branches." in path
    run = simulate(spec, script=script, mode="upstream")
    assert run.status == "stalled" and not run.ran("after-join")


def test_control_nodes_dispatched_as_work() -> None:
    """A fork entry point and a fork as a branch's first node are never answered upstream."""
    entry, script = vector("fj-fork-entry-point--intended")
    assert codes(entry)["runtime-control-node-never-answered"] == ["$.entryPoints[0]"]
    assert simulate(entry, script=script, mode="upstream").status == "stalled"
    nested, script = vector("nested-fork-first-in-branch--upstream")
    (path,) = codes(nested)["runtime-control-node-never-answered"]
    assert ".branches." in path
    assert simulate(nested, script=script, mode="upstream").status == "stalled"


def test_failure_inside_a_branch_fails_the_traversal() -> None:
    """fj-or-one-branch-fails: warned at the fork; upstream fails at the branch failure."""
    spec, script = vector("fj-or-one-branch-fails--upstream")
    assert codes(spec)["runtime-branch-failure-fails-traversal"] == ["$.entryPoints[0].onSuccess"]
    assert simulate(spec, script=script, mode="upstream").status == "failed"


def test_failure_path_inside_a_branch_loses_the_branch() -> None:
    """An on_failure handler inside a branch runs without its branch on the server."""
    branch = std("a").on_failure(std("fix-a"))
    spec = Spec.single(std("s").on_success(woven({"a": branch, "b": std("b")})))
    found = codes(spec)
    assert found["runtime-failure-path-loses-branch"] == ["$.entryPoints[0].onSuccess"]
    assert found["runtime-branch-failure-fails-traversal"] == ["$.entryPoints[0].onSuccess"]
    # joined_by leaves the failure path open: upstream, its end completes the whole traversal.
    upstream = simulate(spec, script={"a": "fail"}, mode="upstream")
    assert upstream.status == "completed"
    assert not any(e.kind == "join-completed" for e in upstream.events)
    assert simulate(spec, script={"a": "fail"}).status == "failed"
    # Led to the join by hand, the handler arrives without its branch: an error upstream.
    join = Node.join("waygrid://system/waystation").join_id("j")
    branches: dict[str, INode] = {
        "a": std("a").on_success(join).on_failure(std("fix-a").on_success(join)),
        "b": std("b").on_success(join),
    }
    fork = Node.fork("waygrid://system/waystation").join_id("j").branches(branches)
    rejoined = Spec.single(std("s").on_success(fork))
    assert "runtime-failure-path-loses-branch" in codes(rejoined)
    assert simulate(rejoined, script={"a": "fail"}, mode="upstream").status == "stalled"
    assert simulate(rejoined, script={"a": "fail"}).status == "completed"


def test_scheduled_node_inside_a_branch() -> None:
    """A scheduled node in a branch loses its branch upstream: the join is never reached."""
    later = std("later").with_delivery(DeliveryStrategy.schedule_after(timedelta(seconds=1)))
    spec = Spec.single(std("s").on_success(woven({"a": std("a").on_success(later), "b": std("b")})))
    (path,) = codes(spec)["runtime-scheduled-node-in-branch"]
    assert path.endswith(".branches.a.onSuccess")
    assert simulate(spec, mode="upstream").status == "stalled"
    assert simulate(spec).status == "completed"


def test_retry_delays_that_overflow() -> None:
    """Exponential(1 s) overflows at retry 34 and Fibonacci wraps at 47: both warned."""
    exponential = Spec.single(
        std("x").with_retry(RetryPolicy.exponential(timedelta(seconds=1), 40))
    )
    (issue,) = runtime_issues(exponential.compile())
    assert issue.code == "runtime-retry-delay-overflows" and "retry 34" in issue.message
    run = simulate(exponential, script={"x": "fail"}, mode="upstream")
    assert run.status == "stalled" and run.attempts("x") == 34
    fibonacci = Spec.single(std("f").with_retry(RetryPolicy.fibonacci(timedelta(seconds=1), 50)))
    assert list(codes(fibonacci)) == ["runtime-retry-delay-overflows"]
    short = Spec.single(std("f").with_retry(RetryPolicy.fibonacci(timedelta(seconds=1), 46)))
    assert codes(short) == {}


def test_validate_includes_the_runtime_warnings_with_paths() -> None:
    """spec.validate() lists exactly runtime_issues' warnings (with paths) after its own."""
    for name in ("fj-or-one-branch-fails--upstream", "nested-fork-first-in-branch--upstream"):
        spec, _ = vector(name)
        runtime = runtime_issues(spec.compile())
        assert runtime
        assert [w for w in spec.validate() if w.code.startswith("runtime-")] == runtime
    spec = Spec.single(std("x").with_retry(RetryPolicy.exponential(timedelta(seconds=1), 40)))
    (warning,) = spec.validate()
    assert (warning.code, warning.path) == ("runtime-retry-delay-overflows", "$.entryPoints[0]")
    with pytest.raises(SpecValidationError):
        spec.validate(strict=True)


def nested_forks(width: int) -> Spec:
    """``width`` branches, each a fork nested 12 deep, every node with its own retry policy."""
    counter = iter(range(1, 1_000_000))

    def node(name: str) -> Node:
        policy = RetryPolicy.exponential(timedelta(milliseconds=next(counter)), 40)
        return std(name).with_retry(policy)  # type: ignore[return-value]

    def nest(depth: int, name: str) -> INode:
        if depth == 0:
            return node(name)
        inner = {"a": nest(depth - 1, f"{name}a"), "b": node(f"{name}b").on_failure(node("f"))}
        fork = Node.fork("waygrid://system/waystation").join_id(f"{name}{depth}")
        join = Node.join("waygrid://system/waystation").join_id(f"{name}{depth}")
        return fork.branches(inner).joined_by(join)

    return Spec.single(
        node("s").on_success(woven({f"w{i}": nest(12, f"w{i}") for i in range(width)}))
    )


def best_of(function: Any, rounds: int = 5) -> float:
    """The best wall time of ``rounds`` calls."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def test_validate_with_runtime_warnings_grows_linearly() -> None:
    """Nested forks and a distinct retry policy per node: 16x the spec costs at most ~16x."""
    specs = [nested_forks(width) for width in (2, 8, 32)]
    counts = [len(spec.compile().nodes) for spec in specs]
    assert any(w.code == "runtime-failure-path-loses-branch" for w in specs[0].validate())
    times = [best_of(spec.validate) for spec in specs]
    for scale, count, elapsed in zip((1, 4, 16), counts, times, strict=True):
        assert count <= counts[0] * scale * 1.1
        assert elapsed <= times[0] * scale * 2.5, [round(t / times[0], 1) for t in times]
