"""The workflow of the published page's Django example: AI processing, then a webhook."""

from __future__ import annotations

from waygrid import Node, RepeatPolicy, Spec

# Built once, at import: specs are immutable values, and the client reuses the JSON it encoded
# for the last spec it sent.
START_WORKFLOW = Spec.single(
    entry_point=Node.standard("waygrid://processor/openai").on_success(
        Node.standard("waygrid://destination/webhook")
    ),
    repeat_policy=RepeatPolicy.NO_REPEAT,
)
