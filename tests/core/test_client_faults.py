"""WaygridClient against misbehaving loopback servers: trickling, huge bodies, proxy statuses."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from tests.netfaults import (
    Answer,
    FaultServer,
    Hang,
    HugeBody,
    ProxyStatus,
    Slow,
    Trickle,
    fault_server,
)
from waygrid import (
    AuthenticationError,
    Node,
    ServerError,
    Spec,
    SpecError,
    SpecRejectedError,
    WaygridStatusError,
    WaygridTimeoutError,
)
from waygrid.client import MAX_RESPONSE_BYTES, WaygridClient
from waygrid.errors import is_permanent

FAST: dict[str, Any] = {"backoff_base": 0.001, "backoff_cap": 0.005}
SPEC = Spec.single(Node.standard("waygrid://processor/a"))
MIB = 1024 * 1024


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """A fault server, healthy until a test says otherwise."""
    with fault_server() as running:
        yield running


# --- Finding 4: a timeout is a deadline ---------------------------------------------------------


@pytest.mark.anyio
async def test_trickled_answer_ends_at_the_attempt_deadline(server: FaultServer) -> None:
    """One byte every 0.1 s defeats per-read timeouts; the attempt deadline still ends it."""
    server.reset(Trickle(interval=0.1))
    client = WaygridClient(server.url, timeout=0.3, **FAST)  # attempt_timeout = 0.3 + 0.3
    assert client.attempt_timeout == 0.6
    async with client:
        started = time.monotonic()
        with pytest.raises(WaygridTimeoutError, match=r"attempt_timeout=0\.6 s") as caught:
            await client.submit(SPEC)
        elapsed = time.monotonic() - started
        server.default = Slow(0)
        assert (await client.submit(SPEC)).attempts == 1  # the cut connection was not reused
    assert 0.55 <= elapsed < 1.5
    assert caught.value.deadline == "attempt"
    assert "retry_read_timeouts" in str(caught.value)  # not retried: it may have been processed
    assert len(server.requests) == 2
    assert server.traversals == 2
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.anyio
async def test_per_read_timeouts_alone_never_fire_on_a_trickle(server: FaultServer) -> None:
    """The trickle is real: with a long attempt deadline, only the total deadline stops it."""
    server.reset(Trickle(interval=0.05))
    async with WaygridClient(server.url, timeout=0.3, attempt_timeout=30, **FAST) as client:
        started = time.monotonic()
        with pytest.raises(WaygridTimeoutError) as caught:
            await client.submit(SPEC, deadline=1.0)
        elapsed = time.monotonic() - started
    assert caught.value.deadline == "total"  # no ReadTimeout in 1 s despite read=0.3
    assert 0.95 <= elapsed < 1.6
    assert server.bytes_sent > 10


@pytest.mark.anyio
async def test_attempt_deadline_covers_reading_the_body(server: FaultServer) -> None:
    """Headers at once and a body trickled after them: the attempt deadline still applies."""
    server.reset(Trickle(interval=0.05, chunk=4, headers_first=True, body_bytes=4000))
    async with WaygridClient(server.url, timeout=5, attempt_timeout=0.5, **FAST) as client:
        started = time.monotonic()
        with pytest.raises(WaygridTimeoutError, match=r"attempt_timeout=0\.5 s"):
            await client.submit(SPEC)
    assert time.monotonic() - started < 1.2


@pytest.mark.anyio
async def test_attempt_deadline_retried_when_asked(server: FaultServer) -> None:
    """With retry_read_timeouts, a cut attempt is retried with the same key, within the total."""
    server.reset(Hang())
    server.queue(Trickle(interval=0.1))
    async with WaygridClient(
        server.url, timeout=5, attempt_timeout=0.3, retry_read_timeouts=True, **FAST
    ) as client:
        with pytest.raises(WaygridTimeoutError, match=r"attempt_timeout=0\.3 s") as caught:
            await client.submit(SPEC, max_retries=2)
    assert caught.value.deadline == "attempt"
    assert len(server.requests) == 3
    assert len(set(server.keys)) == 1


@pytest.mark.anyio
async def test_healthy_server_within_the_attempt_deadline(server: FaultServer) -> None:
    """A slow but timely answer is a success: the deadline is a bound, not a delay."""
    server.reset(Slow(0.2))
    async with WaygridClient(server.url, attempt_timeout=1.0, **FAST) as client:
        result = await client.submit(SPEC, deadline=2.0)
    assert result.attempts == 1
    assert server.key_counts() == {result.idempotency_key: 1}


# --- Finding 6: response bodies are capped ------------------------------------------------------


async def _peak_memory(client: WaygridClient, server: FaultServer) -> tuple[BaseException, int]:
    """The error of one submit, and the peak of Python memory allocated during it (after a
    healthy submit has done the first-use imports and set-up)."""
    server.queue(Slow(0))
    await client.submit(SPEC)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        with pytest.raises(WaygridStatusError) as caught:
            await client.submit(SPEC)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return caught.value, peak


@pytest.mark.anyio
@pytest.mark.parametrize("chunked", [False, True])
async def test_huge_error_body_is_cut_at_1_mib(server: FaultServer, chunked: bool) -> None:
    """A 150 MB error body: 1 MiB read and kept, the connection closed, memory stays small."""
    server.reset(HugeBody(150 * 1000 * 1000, status=500, chunked=chunked))
    async with WaygridClient(server.url, max_retries=0, **FAST) as client:
        error, peak = await _peak_memory(client, server)
        assert isinstance(error, ServerError)
        assert error.body_truncated
        assert len(error.body.encode()) <= MAX_RESPONSE_BYTES
        assert len(error.body) > MAX_RESPONSE_BYTES // 2
        assert "cut at 1 MiB" in str(error)
        assert len(str(error)) < 2000
        assert peak < 5 * MIB, f"peak {peak / MIB:.1f} MiB"
        # The rest was never read: the server could only fill the socket buffers.
        assert server.bytes_sent < 40 * MIB
        server.reset(Slow(0))
        assert (await client.submit(SPEC)).attempts == 1  # the client is fine afterwards


@pytest.mark.anyio
async def test_huge_success_body_is_a_malformed_success(server: FaultServer) -> None:
    """A 2xx body over the cap is not parsed: a typed error saying it was cut at 1 MiB."""
    server.reset(HugeBody(150 * 1000 * 1000, status=200))
    async with WaygridClient(server.url, max_retries=0, **FAST) as client:
        error, peak = await _peak_memory(client, server)
    assert type(error) is WaygridStatusError
    assert error.status_code == 200
    assert error.body_truncated
    assert "cut at 1 MiB" in str(error)
    assert peak < 5 * MIB, f"peak {peak / MIB:.1f} MiB"


@pytest.mark.anyio
async def test_cap_is_exactly_1_mib(server: FaultServer) -> None:
    """A body of exactly 1 MiB is kept whole; one byte more is cut."""
    server.reset(Answer(503, b"y" * MAX_RESPONSE_BYTES))
    server.queue(Answer(503, b"z" * (MAX_RESPONSE_BYTES + 1)))
    async with WaygridClient(server.url, max_retries=0, **FAST) as client:
        with pytest.raises(ServerError) as over:
            await client.submit(SPEC)
        with pytest.raises(ServerError) as exact:
            await client.submit(SPEC)
    assert over.value.body_truncated and len(over.value.body) == MAX_RESPONSE_BYTES
    assert "cut at 1 MiB" in str(over.value)
    assert not exact.value.body_truncated and len(exact.value.body) == MAX_RESPONSE_BYTES
    assert "cut at" not in str(exact.value)


@pytest.mark.anyio
async def test_identity_encoding_is_asked_for(server: FaultServer) -> None:
    """The client asks for uncompressed answers, so the cap bounds memory too."""
    async with WaygridClient(server.url) as client:
        await client.submit(SPEC)
    assert server.requests[0].headers["accept-encoding"] == "identity"


def test_max_response_bytes() -> None:
    """The cap is a public constant of 1 MiB."""
    assert MAX_RESPONSE_BYTES == 1 << 20


# --- Finding 2 (client half): a proxy's status is not a rejected spec ---------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("status", [404, 400, 421])
async def test_proxy_status_is_not_permanent(server: FaultServer, status: int) -> None:
    """An ingress's HTML 404/400/421: one request (contract), but worth sending again later."""
    server.reset(ProxyStatus(status))
    async with WaygridClient(server.url, **FAST) as client:
        with pytest.raises(WaygridStatusError) as caught:
            await client.submit(SPEC)
    error = caught.value
    assert type(error) is WaygridStatusError
    assert error.status_code == status
    assert error.retryable
    assert not is_permanent(error)
    assert "nginx" in error.body
    assert len(server.requests) == 1  # the client's own loop keeps the contract's rule
    if status != 404:
        assert "proxy" in str(error)


@pytest.mark.anyio
async def test_waygrid_rejection_is_permanent(server: FaultServer) -> None:
    """The server's 500 with a compiler error is the one permanent answer."""
    text = "com.monadial.waygrid.common.domain.RouteCompilerError: fork needs two branches"
    server.reset(Answer(500, json.dumps({"error": text}).encode()))
    async with WaygridClient(server.url, **FAST) as client:
        with pytest.raises(SpecRejectedError) as caught:
            await client.submit(SPEC)
    assert not caught.value.retryable
    assert is_permanent(caught.value)
    assert len(server.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 404, 422])
async def test_rejection_text_under_another_status_is_not_recognised(
    server: FaultServer, status: int
) -> None:
    """Only Waygrid's 500 {"error": ...} is a rejection: the same text as a 4xx is not permanent."""
    text = "org.http4s.InvalidMessageBodyFailure: Invalid message body"
    server.reset(Answer(status, json.dumps({"error": text}).encode()))
    async with WaygridClient(server.url, **FAST) as client:
        with pytest.raises(WaygridStatusError) as caught:
            await client.submit(SPEC)
    assert not isinstance(caught.value, SpecRejectedError)
    assert not is_permanent(caught.value)


@pytest.mark.anyio
async def test_proxy_502_is_retried_and_not_permanent(server: FaultServer) -> None:
    """A gateway's HTML 502 is retried by the client, and not permanent after the last retry."""
    server.reset(ProxyStatus(502))
    async with WaygridClient(server.url, max_retries=2, **FAST) as client:
        with pytest.raises(ServerError) as caught:
            await client.submit(SPEC)
    assert len(server.requests) == 3
    assert not is_permanent(caught.value)


@pytest.mark.anyio
async def test_other_failures_are_not_permanent(server: FaultServer) -> None:
    """401, a malformed 2xx and timeouts may all succeed later; a bad payload never will."""
    server.reset(Answer(401, b'{"error":"unauthorized"}'))
    async with WaygridClient(server.url, max_retries=0, attempt_timeout=0.2, **FAST) as client:
        with pytest.raises(AuthenticationError) as auth:
            await client.submit(SPEC)
        server.reset(Answer(200, b"<html>portal</html>"))
        with pytest.raises(WaygridStatusError) as malformed:
            await client.submit(SPEC)
        server.reset(Hang())
        with pytest.raises(WaygridTimeoutError) as timeout:
            await client.submit(SPEC)
        with pytest.raises(SpecError) as bad_payload:
            await client.submit(SPEC, payload={"x": float("nan")})
    assert [is_permanent(e.value) for e in (auth, malformed, timeout)] == [False] * 3
    assert is_permanent(bad_payload.value)
    assert not is_permanent(ValueError("not a Waygrid error"))
