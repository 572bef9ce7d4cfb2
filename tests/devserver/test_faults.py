"""The real WaygridClient against the running dev server with injected faults: one traversal each."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from waygrid import (
    Node,
    RateLimitError,
    ServerError,
    Spec,
    SpecRejectedError,
    WaygridConnectionError,
)
from waygrid.client import WaygridClient
from waygrid.testing import DevServer

pytestmark = pytest.mark.anyio

FAST: dict[str, Any] = {"backoff_base": 0.001, "backoff_cap": 0.005}


async def test_503s_with_retry_after_are_retried_to_one_traversal(
    waygrid_server: DevServer, spec: Spec
) -> None:
    """Two injected 503s, then success: three requests, one traversal, one idempotency key."""
    waygrid_server.fail_next(2, status=503, retry_after=0)
    async with waygrid_server.client(**FAST) as client:
        result = await client.submit(spec)
    assert result.attempts == 3
    assert waygrid_server.ingest_requests == 3
    assert [t.traversal_id for t in waygrid_server.traversals()] == [result.traversal_id]
    assert waygrid_server.traversals()[0].idempotency_key == result.idempotency_key


async def test_429_waits_for_retry_after(waygrid_server: DevServer, spec: Spec) -> None:
    """A 429 with Retry-After: 0.3 makes the client wait that long (not its tiny backoff)."""
    waygrid_server.fail_next(1, status=429, retry_after=0.3)
    async with waygrid_server.client(**FAST) as client:
        started = time.monotonic()
        result = await client.submit(spec)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.3
    assert result.attempts == 2
    assert len(waygrid_server.traversals()) == 1


@pytest.mark.parametrize("after_processing", [False, True])
async def test_dropped_connections_end_with_one_traversal(
    waygrid_server: DevServer, spec: Spec, after_processing: bool
) -> None:
    """Connections cut before or after the traversal started: still exactly one traversal."""
    waygrid_server.drop_next(2, after_processing=after_processing)
    async with waygrid_server.client(**FAST) as client:
        result = await client.submit(spec, {"order": 1})
    assert result.attempts == 3
    assert waygrid_server.ingest_requests == 3
    stored = waygrid_server.traversals()
    assert [t.traversal_id for t in stored] == [result.traversal_id]
    assert stored[0].payload == {"order": 1}


async def test_a_mix_of_faults_across_concurrent_submits(
    waygrid_server: DevServer, spec: Spec
) -> None:
    """Ten concurrent submits through 503s, 429s and lost answers: ten traversals, no duplicate."""
    waygrid_server.fail_next(3, status=503, retry_after=0)
    waygrid_server.drop_next(4, after_processing=True)
    waygrid_server.fail_next(2, status=429, retry_after=0)
    waygrid_server.drop_next(2)
    async with waygrid_server.client(max_retries=8, **FAST) as client:
        results = await asyncio.gather(*(client.submit(spec, n) for n in range(10)))
    stored = waygrid_server.traversals()
    assert sorted(t.traversal_id for t in stored) == sorted(r.traversal_id for r in results)
    assert sorted(t.payload for t in stored) == list(range(10))  # type: ignore[type-var]
    assert waygrid_server.ingest_requests == 10 + 11
    assert waygrid_server.state.pending_faults == 0


async def test_a_rejected_spec_is_not_retried(waygrid_server: DevServer) -> None:
    """A spec the compiler rejects: SpecRejectedError after exactly one request."""
    fork = (
        Node.fork("waygrid://system/fork")
        .join_id("j")
        .branches({"only": Node.standard("waygrid://processor/a")})
    )
    async with waygrid_server.client(**FAST) as client:
        with pytest.raises(SpecRejectedError) as caught:
            await client.submit(Spec.single(fork), validate=False)
    assert waygrid_server.ingest_requests == 1
    assert "RouteCompilerError" in caught.value.reason
    assert "fork-insufficient-branches" in {issue.code for issue in caught.value.issues}
    assert waygrid_server.traversals() == []


async def test_a_spec_the_strict_server_cannot_decode_is_not_retried(
    strict_server: DevServer,
) -> None:
    """A JSON-pointer condition on a --strict server: rejected once, with the path."""
    from waygrid import Condition

    node = Node.standard("waygrid://processor/a").on_conditions(
        [Condition.when(Condition.json_exists("/x"), Node.standard("waygrid://processor/b"))]
    )
    async with strict_server.client(**FAST) as client:
        with pytest.raises(SpecRejectedError) as caught:
            await client.submit(Spec.single(node), {"secret": "payload-value"})
    assert strict_server.ingest_requests == 1
    assert "payload-value" not in str(caught.value)
    assert caught.value.issues[0].path == "$.entryPoints[0].onConditions[0].condition.type"


async def test_retries_run_out_on_a_server_that_keeps_failing(
    waygrid_server: DevServer, spec: Spec
) -> None:
    """max_retries=2: three requests, then ServerError / RateLimitError, and no traversal."""
    waygrid_server.fail_next(3, status=503)
    async with waygrid_server.client(max_retries=2, **FAST) as client:
        with pytest.raises(ServerError):
            await client.submit(spec)
        assert waygrid_server.ingest_requests == 3
        waygrid_server.fail_next(3, status=429, retry_after=0)
        with pytest.raises(RateLimitError):
            await client.submit(spec)
    assert waygrid_server.ingest_requests == 6
    assert waygrid_server.traversals() == []


async def test_connections_dropped_every_time_give_a_connection_error(
    waygrid_server: DevServer, spec: Spec
) -> None:
    """Every attempt cut before processing: WaygridConnectionError after max_retries + 1 tries."""
    waygrid_server.drop_next(10)
    async with waygrid_server.client(max_retries=2, **FAST) as client:
        with pytest.raises(WaygridConnectionError):
            await client.submit(spec)
    assert waygrid_server.ingest_requests == 3
    assert waygrid_server.traversals() == []


async def test_a_server_that_is_down_gives_a_connection_error(spec: Spec) -> None:
    """Nothing listening: WaygridConnectionError once the configured retries are used up."""
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = WaygridClient(f"http://127.0.0.1:{port}", max_retries=2, **FAST)
    async with client:
        with pytest.raises(WaygridConnectionError) as caught:
            await client.submit(spec)
    assert "after 3 attempts" in str(caught.value)
