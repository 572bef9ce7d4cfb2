"""The contract's rules, one case each, in both modes (specs built like user code)."""

from __future__ import annotations

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
from waygrid.nodes import INode, JoinNode, StandardNode
from waygrid.simulate import Dispatch, Simulation, simulate

MODES = ["intended", "upstream"]
MS = timedelta(milliseconds=1)
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def std(name: str) -> StandardNode:
    """A standard node labelled ``name``."""
    return Node.standard(f"waygrid://processor/{name}").label(name)


def fork(branches: dict[str, INode], join: JoinNode | None = None, name: str = "fan") -> INode:
    """A fork with ``branches``, woven with ``join`` (an AND join labelled meet by default)."""
    join = join or Node.join("waygrid://system/waystation").label("meet")
    return (
        Node.fork("waygrid://system/waystation")
        .label(name)
        .join_id("j")
        .branches(branches)
        .joined_by(join.join_id("j"))
    )


def meet(strategy: JoinStrategy = JoinStrategy.AND, **edges: INode) -> JoinNode:
    """A join labelled meet."""
    node = Node.join("waygrid://system/waystation").label("meet").strategy(strategy)
    for edge, target in edges.items():
        node = getattr(node, edge)(target)
    return node


def after_start(node: INode) -> Spec:
    """A spec whose entry point ``start`` leads to ``node``."""
    return Spec.single(std("start").on_success(node))


def at_ms(run: Simulation) -> list[tuple[str, float, int]]:
    """Dispatches as (label, ms, attempt), in dispatch order."""
    return [(d.label, d.at / MS, d.attempt) for d in run.dispatches]


# --- basics ---


@pytest.mark.parametrize("mode", MODES)
def test_single_node_completes_at_once(mode: str) -> None:
    """A lone node succeeds 0 ms after dispatch and the run completes."""
    run = simulate(Spec.single(std("a")), mode=mode)  # type: ignore[arg-type]
    assert run.status == "completed"
    assert run.dispatches == (Dispatch("a", timedelta(0), 1),)
    assert run.duration == timedelta(0)
    assert run.events[0].kind == "start" and run.events[-1].kind == "completed"


@pytest.mark.parametrize("mode", MODES)
def test_script_last_outcome_repeats_and_after_ms(mode: str) -> None:
    """Outcomes are consumed per execution; the last repeats; afterMs delays the answer."""
    node = std("a").with_retry(RetryPolicy.linear(timedelta(milliseconds=100), 3))
    run = simulate(
        Spec.single(node),
        script={"a": [{"outcome": "fail", "afterMs": 5}, "fail"]},
        mode=mode,  # type: ignore[arg-type]
    )
    assert run.status == "failed"
    assert at_ms(run) == [("a", 0, 1), ("a", 105, 2), ("a", 205, 3), ("a", 305, 4)]


@pytest.mark.parametrize("mode", MODES)
def test_hang_stalls(mode: str) -> None:
    """A node that never answers leaves the run stalled."""
    run = simulate(Spec.single(std("a").on_success(std("b"))), script={"a": "hang"}, mode=mode)  # type: ignore[arg-type]
    assert run.status == "stalled"
    assert not run.ran("b")


@pytest.mark.parametrize("mode", MODES)
def test_only_first_entry_point_runs(mode: str) -> None:
    """Entry points after the first never start; a note says so."""
    run = simulate(Spec.multiple([std("a"), std("b")]), mode=mode)  # type: ignore[arg-type]
    assert [d.label for d in run.dispatches] == ["a"]
    assert any(e.kind == "note" for e in run.events)


@pytest.mark.parametrize("mode", MODES)
def test_repeat_policy_not_executed(mode: str) -> None:
    """A repeat policy runs the traversal once."""
    run = simulate(Spec.single(std("a"), RepeatPolicy.indefinitely(timedelta(hours=1))), mode=mode)  # type: ignore[arg-type]
    assert run.status == "completed" and run.attempts("a") == 1


@pytest.mark.parametrize("mode", MODES)
def test_cancel_after(mode: str) -> None:
    """cancel_after cancels the traversal at that virtual time."""
    run = simulate(
        Spec.single(std("a").on_success(std("b"))),
        script={"a": {"outcome": "ok", "afterMs": 500}},
        cancel_after=timedelta(milliseconds=100),
        mode=mode,  # type: ignore[arg-type]
    )
    assert run.status == "canceled" and run.duration == 100 * MS and not run.ran("b")


# --- retries (§7) ---


@pytest.mark.parametrize("mode", MODES)
def test_exponential_retry_delays_have_deterministic_jitter(mode: str) -> None:
    """Exponential(1 s) retries after 1075, 2300 and 4230 ms, not 1, 2 and 4 s."""
    node = std("charge").with_retry(RetryPolicy.exponential(timedelta(seconds=1), 3))
    run = simulate(Spec.single(node), script={"charge": "fail"}, mode=mode)  # type: ignore[arg-type]
    assert run.status == "failed"
    assert run.dispatch_times("charge") == [
        timedelta(0),
        1075 * MS,
        (1075 + 2300) * MS,
        (1075 + 2300 + 4230) * MS,
    ]


def test_fibonacci_wrap_differs_between_modes() -> None:
    """Attempt 47 of Fibonacci: upstream fires the wrapped (negative) delay at once; intended stalls."""
    node = std("f").with_retry(RetryPolicy.fibonacci(timedelta(0), 60))
    up = simulate(Spec.single(node), script={"f": "fail"}, mode="upstream")
    assert up.status == "failed" and up.attempts("f") == 61
    intended = simulate(Spec.single(node), script={"f": "fail"})
    assert intended.status == "stalled" and intended.attempts("f") == 47
    assert intended.events[-2].get("error") == "BackoffOverflow"


def test_fibonacci_negative_delay_is_queued_now_upstream() -> None:
    """A wrapped Fibonacci delay dates the retry in the past: it is queued at the failure time."""
    node = std("f").with_retry(RetryPolicy.fibonacci(timedelta(milliseconds=1), 47))
    run = simulate(Spec.single(node), script={"f": "fail"}, mode="upstream")
    late = [
        e for e in run.events if e.kind == "retry-scheduled" and e.get("requestedMs") is not None
    ]
    assert len(late) == 1 and late[0].get("attempt") == 48
    last, before = run.dispatches[-1], run.dispatches[-2]
    assert last.attempt == 48 and last.at == before.at


@pytest.mark.parametrize("mode", MODES)
def test_exponential_overflow_is_an_fsm_error(mode: str) -> None:
    """Exponential(1 s) attempt 34 overflows on the server: dropped upstream, stalled intended."""
    node = std("x").with_retry(RetryPolicy.exponential(timedelta(0), 40))
    node = std("x").with_retry(RetryPolicy.exponential(timedelta(seconds=1), 40))
    run = simulate(Spec.single(node), script={"x": "fail"}, mode=mode)  # type: ignore[arg-type]
    assert run.status == "stalled" and run.attempts("x") == 34
    assert [e.get("error") for e in run.events if e.kind == "error"] == ["BackoffOverflow"]


def test_item_cap_stalls() -> None:
    """A run stops as stalled after 100,000 items."""
    node = std("x").with_retry(RetryPolicy.linear(timedelta(milliseconds=1), 100_000))
    run = simulate(Spec.single(node), script={"x": "fail"})
    assert run.status == "stalled" and run.attempts("x") == 50_000


# --- failure paths and delivery (§5.1, §8) ---


@pytest.mark.parametrize("mode", MODES)
def test_failure_path_after_retries_with_own_delivery(mode: str) -> None:
    """Retries are exhausted first, then on_failure runs with its own delivery."""
    handler = std("handler").with_delivery(DeliveryStrategy.schedule_after(timedelta(seconds=2)))
    node = (
        std("a").with_retry(RetryPolicy.linear(timedelta(milliseconds=100), 1)).on_failure(handler)
    )
    run = simulate(Spec.single(node), script={"a": "fail"}, mode=mode)  # type: ignore[arg-type]
    assert run.status == "completed"
    assert at_ms(run) == [("a", 0, 1), ("a", 100, 2), ("handler", 2100, 1)]


@pytest.mark.parametrize("mode", MODES)
def test_schedule_at_past_dispatches_at_once(mode: str) -> None:
    """ScheduleAt not strictly after now dispatches immediately; ScheduleAfter truncates to ms."""
    past = std("b").with_delivery(DeliveryStrategy.schedule_at(START - timedelta(days=1)))
    later = std("c").with_delivery(DeliveryStrategy.schedule_after(timedelta(microseconds=1500)))
    run = simulate(Spec.single(std("a").on_success(past.on_success(later))), mode=mode)  # type: ignore[arg-type]
    assert at_ms(run) == [("a", 0, 1), ("b", 0, 1), ("c", 1, 1)]


# --- conditions (§5.3) ---


@pytest.mark.parametrize("mode", MODES)
def test_two_true_conditions_stall(mode: str) -> None:
    """Two matching conditions are an error, not first-match-wins."""
    node = std("a").on_conditions(
        [Condition.when(Condition.ALWAYS, std("b")), Condition.when(Condition.ALWAYS, std("c"))]
    )
    run = simulate(Spec.single(node), mode=mode)  # type: ignore[arg-type]
    assert run.status == "stalled" and not run.ran("b") and not run.ran("c")


@pytest.mark.parametrize("mode", MODES)
def test_false_conditions_fall_back_to_on_success(mode: str) -> None:
    """When no condition holds, on_success is taken; nested Not/And/Or evaluate without data."""
    never = Condition.and_([Condition.ALWAYS, Condition.not_(Condition.or_([]))])
    node = (
        std("a")
        .on_conditions([Condition.when(Condition.not_(never), std("b"))])
        .on_success(std("c"))
    )
    run = simulate(Spec.single(node), mode=mode)  # type: ignore[arg-type]
    assert [d.label for d in run.dispatches] == ["a", "c"]


# --- fork/join (§5.3, §5.4, §6) ---


def test_join_continuation_runs_once_intended_and_stalls_upstream() -> None:
    """joined_by with a continuation: intended runs it once, upstream errors at the join."""
    spec = Spec.single(
        std("start").on_success(fork({"a": std("a"), "b": std("b")}, meet(on_success=std("after"))))
    )
    script = {"a": {"outcome": "ok", "afterMs": 100}, "b": {"outcome": "ok", "afterMs": 300}}
    intended = simulate(spec, script=script)
    assert intended.status == "completed" and intended.dispatch_times("after") == [300 * MS]
    upstream = simulate(spec, script=script, mode="upstream")
    assert upstream.status == "stalled" and not upstream.ran("after")


@pytest.mark.parametrize("mode", MODES)
def test_fork_entry_point(mode: str) -> None:
    """A fork entry point is dispatched: intended fans it out, upstream never answers it."""
    spec = Spec.single(fork({"a": std("a"), "b": std("b")}))
    run = simulate(spec, mode=mode)  # type: ignore[arg-type]
    if mode == "intended":
        assert run.status == "completed" and run.ran("a") and run.ran("b")
    else:
        assert run.status == "stalled" and [d.label for d in run.dispatches] == ["fan"]


def test_or_join_drops_the_loser_intended_and_not_upstream() -> None:
    """OR join: the losing branch's late failure is dropped (intended), fails the run (upstream)."""
    spec = after_start(
        fork({"a": std("a"), "b": std("b")}, meet(JoinStrategy.OR, on_success=std("after")))
    )
    script = {"a": {"outcome": "ok", "afterMs": 10}, "b": {"outcome": "fail", "afterMs": 50}}
    intended = simulate(spec, script=script)
    assert intended.status == "completed" and intended.ran("after")
    assert any(e.kind == "dropped" for e in intended.events) or any(
        e.kind == "branch-canceled" for e in intended.events
    )
    upstream = simulate(spec, script=script, mode="upstream")
    # Two copies of the continuation: an error at the join; b's late failure then fails the run.
    assert upstream.status == "failed" and not upstream.ran("after")
    assert upstream.duration == 50 * MS


def test_branch_failure_fails_the_branch_intended_and_the_traversal_upstream() -> None:
    """A failure inside a branch: intended fails the branch (AND join fails), upstream fails all."""
    spec = after_start(fork({"a": std("a"), "b": std("b")}, meet(on_failure=std("cleanup"))))
    script = {"a": "fail", "b": {"outcome": "ok", "afterMs": 50}}
    intended = simulate(spec, script=script)
    assert intended.status == "completed" and intended.ran("cleanup")
    assert [e.kind for e in intended.events].count("join-failed") == 1
    upstream = simulate(spec, script=script, mode="upstream")
    assert upstream.status == "failed" and not upstream.ran("cleanup")


def test_quorum_met_drops_the_rest_intended() -> None:
    """Quorum(1): the first arrival completes the join; the other branch's next node never runs."""
    spec = after_start(
        fork(
            {"a": std("a"), "b": std("b").on_success(std("b2"))},
            meet(JoinStrategy.quorum(1)),
        )
    )
    script = {"a": "ok", "b": {"outcome": "ok", "afterMs": 100}}
    intended = simulate(spec, script=script)
    assert intended.status == "completed" and not intended.ran("b2")


@pytest.mark.parametrize("mode", MODES)
def test_join_timeout_takes_on_timeout(mode: str) -> None:
    """A join still waiting at its timeout takes on_timeout; the slow branch is dropped (intended)."""
    join = meet(on_timeout=std("late")).timeout(timedelta(seconds=1))
    spec = after_start(fork({"a": std("a"), "b": std("b")}, join))
    run = simulate(spec, script={"b": {"outcome": "ok", "afterMs": 5000}}, mode=mode)  # type: ignore[arg-type]
    assert run.dispatch_times("late") == [1000 * MS]
    assert run.status == "completed"


def test_stale_join_timer_is_canceled_intended_and_fires_upstream() -> None:
    """A join that completed before its timeout: intended cancels the timer; upstream it fires."""
    join = meet(on_timeout=std("late")).timeout(timedelta(seconds=1))
    spec = after_start(fork({"a": std("a"), "b": std("b")}, join))
    script = {"a": {"outcome": "ok", "afterMs": 10}}
    intended = simulate(spec, script=script)
    assert intended.status == "completed" and not intended.ran("late")
    assert any(e.kind == "timer-canceled" for e in intended.events)
    join = meet(on_success=std("after")).timeout(timedelta(seconds=1))
    spec = after_start(fork({"a": std("a"), "b": std("b")}, join))
    upstream = simulate(spec, script=script, mode="upstream")
    # The join errors at completion (two continuations) and the armed timer fails the run.
    assert upstream.status == "failed" and upstream.duration == 1000 * MS


def test_nested_fork_inside_branch_intended() -> None:
    """A nested fork as a branch's first node fans out, and its join continues the outer branch."""
    inner = (
        Node.fork("waygrid://system/inner")
        .label("inner")
        .join_id("k")
        .branches({"x": std("x"), "y": std("y")})
        .joined_by(Node.join("waygrid://system/inner").label("inner-meet").join_id("k"))
    )
    spec = after_start(fork({"a": std("a"), "n": inner}, meet(on_success=std("after"))))
    run = simulate(spec)
    assert run.status == "completed"
    assert {"x", "y", "after"} <= {d.label for d in run.dispatches}
    assert run.attempts("after") == 1


# --- errors ---


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ({"nope": "ok"}, "script['nope']: no standard node"),
        ({"a": "maybe"}, "unknown outcome"),
        ({"a": [{"outcome": "ok", "afterMs": -1}]}, "script['a'][0].afterMs"),
        ({"a": [{"outcome": "ok", "afterMs": 1.5}]}, "afterMs"),
        ({"a": {"outcome": "ok", "extra": 1}}, "unknown key 'extra'"),
        ({"a": {"afterMs": 1}}, "missing 'outcome'"),
        ({"fan": "ok"}, "no standard node"),
        ([], "expected a mapping"),
    ],
)
def test_bad_scripts_raise_value_error_with_a_path(script: object, message: str) -> None:
    """Bad scripts get a ValueError naming the bad entry."""
    spec = Spec.single(std("a").on_success(fork({"b": std("b"), "c": std("c")})))
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        simulate(spec, script=script)  # type: ignore[arg-type]


def test_bad_arguments_raise_value_error() -> None:
    """Mode, start, seed and cancel_after are checked."""
    spec = Spec.single(std("a"))
    with pytest.raises(ValueError, match="mode"):
        simulate(spec, mode="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive"):
        simulate(spec, start=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="cancel_after"):
        simulate(spec, cancel_after=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="seed"):
        simulate(spec, seed="1")  # type: ignore[arg-type]


def test_rejected_spec_raises_spec_validation_error() -> None:
    """A spec the server's compiler rejects is not simulated."""
    bad = (
        Node.fork("waygrid://system/waystation")
        .join_id("j")
        .branches({"a": std("a"), "b": std("b")})
    )
    with pytest.raises(SpecValidationError):
        simulate(Spec.single(bad))


def test_dict_spec_and_to_dict() -> None:
    """A spec dict is read with Spec.from_dict; to_dict has the documented keys."""
    node = std("a").with_retry(RetryPolicy.linear(timedelta(seconds=1), 1))
    run = simulate(Spec.single(node).to_dict(), script={"a": ["fail", "ok"]})
    data = run.to_dict()
    assert data["status"] == "completed" and data["mode"] == "intended"
    assert data["durationMs"] == 1030
    assert data["dispatches"] == [["a", 0, 1], ["a", 1030, 2]]
    assert run.events[0].to_dict() == {"atMs": 0, "kind": "start", "entry": "a", "mode": "intended"}


def test_timeline_and_mermaid() -> None:
    """The timeline lists time, node, attempt and what happened, and how the run ended."""
    node = std("charge").with_retry(RetryPolicy.exponential(timedelta(seconds=1), 2))
    run = simulate(Spec.single(node), script={"charge": ["fail", "fail", "ok"]})
    text = run.timeline()
    assert "+1.075s" in text and "charge" in text and "#2" in text
    assert text.splitlines()[-1] == "completed after +3.375s"
    assert str(run) == text
    chart = run.to_mermaid()
    assert chart.startswith("gantt\n") and "section charge" in chart
    assert "crit" in chart


def test_replay_helpers_for_a_real_clock() -> None:
    """events_until() and node_states() show a run as it stood at a given virtual time."""
    node = std("charge").with_retry(RetryPolicy.exponential(timedelta(seconds=1), 2))
    run = simulate(
        after_start(node),
        script={"charge": ["fail", {"outcome": "ok", "afterMs": 500}]},
    )
    assert run.events_until(timedelta(0))[-1].kind == "retry-scheduled"
    assert run.node_states(timedelta(0)) == {"start": "succeeded", "charge": "retrying"}
    assert run.node_states(timedelta(milliseconds=1075)) == {
        "start": "succeeded",
        "charge": "running",
    }
    assert run.node_states()["charge"] == "succeeded"
    assert run.events_until(run.duration) == run.events
    assert run.events_until(-MS) == ()


def test_virtual_clock_beyond_timedelta_max_stalls() -> None:
    """Retries adding up past datetime.timedelta.max end the run as stalled, not in an error."""
    node = std("x").with_retry(RetryPolicy.linear(timedelta(days=365 * 250), 20_000))
    run = simulate(Spec.single(node), script={"x": "fail"})
    assert run.status == "stalled"
    assert run.events[-2].kind == "note" and "timedelta.max" in str(run.events[-2].get("text"))
    assert run.duration <= timedelta.max


# --- the §6 table, the remaining rows ---


def test_fork_as_on_failure_target() -> None:
    """A fork reached by on_failure is dispatched: intended fans it out, upstream never answers."""
    recovery = fork({"x": std("x"), "y": std("y")})
    spec = Spec.single(std("a").on_failure(recovery))
    intended = simulate(spec, script={"a": "fail"})
    assert intended.status == "completed" and intended.ran("x") and intended.ran("y")
    upstream = simulate(spec, script={"a": "fail"}, mode="upstream")
    assert upstream.status == "stalled" and [d.label for d in upstream.dispatches] == ["a", "fan"]


def test_join_as_a_branch_first_node() -> None:
    """branches {x: join, y: join}: intended, both branches arrive at once; upstream, no answer."""
    join = Node.join("waygrid://system/waystation").label("meet").join_id("j")
    join = join.on_success(std("after"))
    branches: dict[str, INode] = {"x": join, "y": join}
    spec = after_start(Node.fork("waygrid://system/waystation").join_id("j").branches(branches))
    intended = simulate(spec)
    assert intended.status == "completed" and intended.attempts("after") == 1
    assert [e.get("action") for e in intended.events if e.kind == "control"] == ["arrive"] * 2
    upstream = simulate(spec, mode="upstream")
    assert upstream.status == "stalled" and upstream.attempts("meet") == 2
    assert not upstream.ran("after")


def test_quorum_met_upstream_keeps_dispatching_the_other_branches() -> None:
    """Quorum(1) met: upstream still dispatches the slower branch's next node; intended drops it."""

    def quorum() -> JoinNode:
        return meet(JoinStrategy.quorum(1)).join_id("j")

    slow = std("slow-after").with_delivery(DeliveryStrategy.IMMEDIATE)
    branches: dict[str, INode] = {
        # Only a's copy of the join has a continuation, so upstream it is not duplicated.
        "a": std("a").on_success(quorum().on_success(slow)),
        "b": std("b").on_success(std("b2").on_success(quorum())),
    }
    spec = after_start(Node.fork("waygrid://system/waystation").join_id("j").branches(branches))
    script = {
        "slow-after": {"outcome": "ok", "afterMs": 1000},
        "b": {"outcome": "ok", "afterMs": 100},
    }
    upstream = simulate(spec, script=script, mode="upstream")
    assert upstream.dispatch_times("b2") == [100 * MS]
    assert upstream.status == "completed" and upstream.duration == 1000 * MS
    # Intended runs the first-registered copy (b's, processed first): no continuation.
    intended = simulate(spec, script=script)
    assert intended.status == "completed" and intended.duration == timedelta(0)
    assert not intended.ran("b2") and not intended.ran("slow-after")


def test_answers_after_a_join_timeout() -> None:
    """After the join timed out, a late failure fails the run upstream and is dropped intended."""
    join = meet(on_timeout=std("late")).timeout(timedelta(milliseconds=100))
    spec = after_start(fork({"a": std("a"), "b": std("b")}, join))
    script = {"a": {"outcome": "fail", "afterMs": 500}, "late": {"outcome": "ok", "afterMs": 1000}}
    intended = simulate(spec, script=script)
    assert intended.dispatch_times("late") == [100 * MS]
    assert intended.status == "completed" and intended.duration == 1100 * MS
    assert any(e.kind == "dropped" and e.node == "a" for e in intended.events)
    upstream = simulate(spec, script=script, mode="upstream")
    # Upstream a's late failure reaches the FSM and fails the traversal before late answers.
    assert upstream.dispatch_times("late") == [100 * MS]
    assert upstream.status == "failed" and upstream.duration == 500 * MS


def test_hand_written_join_copies_that_differ() -> None:
    """Copies of one join with other strategies: the first-registered copy decides."""
    or_copy = (
        Node.join("waygrid://system/waystation")
        .label("meet")
        .join_id("j")
        .strategy(JoinStrategy.OR)
    )
    and_copy = Node.join("waygrid://system/waystation").label("meet").join_id("j")
    branches: dict[str, INode] = {
        "a": std("a").on_success(and_copy),
        "b": std("b").on_success(or_copy),
    }
    spec = after_start(Node.fork("waygrid://system/waystation").join_id("j").branches(branches))
    (join,) = [n for n in spec.compile().nodes if n.kind == "join"]
    # The stack processes the last branch name first: b's copy (OR) registers the join.
    assert join.join_strategy == JoinStrategy.OR
    script = {"a": "hang", "b": "ok"}
    for mode in MODES:
        run = simulate(spec, script=script, mode=mode)  # type: ignore[arg-type]
        assert run.status == "completed", mode  # OR: one arrival completes the join


@pytest.mark.parametrize("mode", MODES)
def test_json_pointer_conditions_are_false(mode: str) -> None:
    """JsonExists/JsonEquals (rejected by today's server) count as false, with a note."""
    node = std("a").on_conditions(
        [
            Condition.when(Condition.json_exists("/x"), std("b")),
            Condition.when(Condition.not_(Condition.json_equals("/y", 1)), std("c")),
        ]
    )
    run = simulate(Spec.single(node), mode=mode)  # type: ignore[arg-type]
    assert run.status == "completed" and [d.label for d in run.dispatches] == ["a", "c"]
    assert [e.kind for e in run.events[:2]] == ["start", "note"]
    assert "JSON-pointer" in str(run.events[1].get("text"))
