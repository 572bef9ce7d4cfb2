"""The published SDK page's workflows, built with the SDK (shared by the demo and its tests)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from waygrid import (
    Condition,
    DeliveryStrategy,
    JoinStrategy,
    Node,
    RepeatPolicy,
    RetryPolicy,
    Secret,
    Spec,
)


def quick_start() -> Spec:
    """The Quick Start: an AI step with exponential retries, then a webhook."""
    return Spec.single(
        entry_point=Node.standard("waygrid://processor/openai")
        .label("AI Processing")
        .with_retry(RetryPolicy.exponential(timedelta(seconds=1), max_retries=3))
        .with_parameters({"model": "gpt-4", "temperature": 0.7, "apiKey": Secret("tenant/openai")})
        .on_success(Node.standard("waygrid://destination/webhook").label("Deliver Result")),
        repeat_policy=RepeatPolicy.NO_REPEAT,
    )


def enrichment() -> Spec:
    """The Fork Node and Join Node sections, attached with `joined_by`."""
    join = (
        Node.join("waygrid://system/waystation")
        .join_id("enrich-parallel")
        .strategy(JoinStrategy.AND)
        .timeout(timedelta(seconds=30))
        .on_success(Node.standard("waygrid://processor/aggregate").label("Aggregate"))
        .on_failure(Node.standard("waygrid://destination/webhook").label("Report failure"))
        .on_timeout(Node.standard("waygrid://destination/webhook").label("Report timeout"))
    )
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
        .joined_by(join)
    )
    return Spec.single(fork, repeat_policy=RepeatPolicy.indefinitely(timedelta(hours=1)))


def error_handling() -> Spec:
    """The Error Handling Pipeline (its JSON-pointer conditions are not on today's server)."""
    return Spec.single(
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


def quorum() -> Spec:
    """Parallel Processing with Quorum: three providers, continue when two answer."""
    join = (
        Node.join("waygrid://system/waystation")
        .join_id("multi-provider")
        .strategy(JoinStrategy.quorum(2))
        .timeout(timedelta(seconds=30))
        .on_success(Node.standard("waygrid://processor/aggregate").label("Aggregate results"))
        .on_timeout(Node.standard("waygrid://processor/partial").label("Partial results"))
    )
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("multi-provider")
        .branches(
            {
                "provider-a": Node.standard("waygrid://destination/webhook").label("Provider A"),
                "provider-b": Node.standard("waygrid://destination/webhook").label("Provider B"),
                "provider-c": Node.standard("waygrid://destination/webhook").label("Provider C"),
            }
        )
        .joined_by(join)
    )
    return Spec.single(entry_point=fork, repeat_policy=RepeatPolicy.NO_REPEAT)


def scheduled_report() -> Spec:
    """A scheduled, repeating traversal: the delivery and repeat policies of the page."""
    return Spec.single(
        Node.standard("waygrid://processor/report")
        .label("Nightly report")
        .with_delivery(
            DeliveryStrategy.schedule_at(datetime(2030, 1, 1, 2, 0, tzinfo=timezone.utc))
        )
        .with_retry(
            RetryPolicy.bounded_exponential(
                base=timedelta(seconds=1), cap=timedelta(minutes=1), max_retries=10
            )
        )
        .on_success(Node.standard("waygrid://destination/email").label("Send")),
        repeat_policy=RepeatPolicy.times(every=timedelta(days=1), times=30),
    )


WORKFLOWS = {
    "Quick Start": quick_start,
    "Fork/join enrichment": enrichment,
    "Error handling pipeline": error_handling,
    "Parallel processing with quorum": quorum,
    "Scheduled report": scheduled_report,
}
"""Every demo workflow by title."""
