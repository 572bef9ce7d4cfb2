"""WaygridClient against a real HTTP server on loopback (Starlette + uvicorn in a thread)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import anyio
import httpx
import pytest

from tests.ingest_server import Drop, IngestServer, Reply, Slow
from tests.servers import UvicornThread
from waygrid import (
    AuthenticationError,
    Node,
    RateLimitError,
    RepeatPolicy,
    RetryPolicy,
    ServerError,
    Spec,
    SpecError,
    SpecRejectedError,
    SpecValidationError,
    WaygridConnectionError,
    WaygridError,
    WaygridStatusError,
    WaygridTimeoutError,
    __version__,
)
from waygrid.client import SubmitResult, WaygridClient

API_KEY = "wg_live_4f9c2d7e1b8a_SECRET"
FAST: dict[str, Any] = {"backoff_base": 0.001, "backoff_cap": 0.005}


@pytest.fixture(scope="module")
def ingest_server() -> Iterator[IngestServer]:
    """A uvicorn server on a free loopback port for the whole module."""
    server = IngestServer()
    with UvicornThread(server, http="h11") as running:
        server.url = running.url
        yield server


@pytest.fixture
def server(ingest_server: IngestServer) -> IngestServer:
    """The module's server, with an empty script and history."""
    ingest_server.reset()
    return ingest_server


@pytest.fixture
def spec() -> Spec:
    """A minimal valid spec."""
    return Spec.single(Node.standard("waygrid://processor/a"))


def client_for(server: IngestServer, **options: Any) -> WaygridClient:
    options = {**FAST, **options}
    return WaygridClient(server.url, options.pop("api_key", API_KEY), **options)


def echo_500(request_json: str) -> Reply:
    """The real server's answer to a body that does not decode: the request, pretty-printed."""
    pretty = json.dumps(json.loads(request_json), indent=2)
    text = "org.http4s.InvalidMessageBodyFailure: Invalid message body: Could not decode JSON: "
    text += pretty
    return Reply(500, {"error": text})


# --- Success, headers, envelope -----------------------------------------------------------------


@pytest.mark.anyio
async def test_submit_returns_the_traversal(server: IngestServer, spec: Spec) -> None:
    """A 200 answer becomes a SubmitResult with the id, hash, key and attempt count."""
    async with client_for(server) as client:
        result = await client.submit(spec)
    assert isinstance(result, SubmitResult)
    assert result == SubmitResult(
        traversal_id=server.traversals[result.idempotency_key]["traversalId"],
        dag_hash=server.traversals[result.idempotency_key]["dagHash"],
        idempotency_key=result.idempotency_key,
        attempts=1,
        status_code=200,
    )
    assert len(result.traversal_id) == 26
    assert len(result.dag_hash) == 16
    assert len(result.idempotency_key) == 32
    int(result.idempotency_key, 16)


@pytest.mark.anyio
async def test_request_line_and_headers(server: IngestServer, spec: Spec) -> None:
    """POST /v1/ingest with Bearer auth, JSON content type, User-Agent, key and extra headers."""
    async with client_for(server, headers={"X-Tenant": "acme"}) as client:
        result = await client.submit(spec)
    (seen,) = server.requests
    assert seen.path == "/v1/ingest"
    assert seen.headers["authorization"] == f"Bearer {API_KEY}"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"] == f"waygrid-python/{__version__}"
    assert seen.headers["idempotency-key"] == result.idempotency_key
    assert seen.headers["x-tenant"] == "acme"
    assert int(seen.headers["content-length"]) == len(seen.body)


@pytest.mark.anyio
async def test_no_authorization_header_without_key(server: IngestServer, spec: Spec) -> None:
    """Without an API key no Authorization header is sent."""
    async with client_for(server, api_key=None) as client:
        await client.submit(spec)
    assert "authorization" not in server.requests[0].headers


@pytest.mark.anyio
async def test_envelope_without_payload(server: IngestServer, spec: Spec) -> None:
    """The body is exactly {"graph": <spec.to_json()>} when there is no payload."""
    async with client_for(server) as client:
        await client.submit(spec)
    assert server.requests[0].body == b'{"graph":' + spec.to_json().encode() + b"}"


@pytest.mark.anyio
async def test_envelope_with_payload(server: IngestServer, spec: Spec) -> None:
    """The payload follows the graph, compact, byte for byte."""
    payload = {"order": {"id": 42, "items": ["a", "ü"]}, "ok": True, "price": 9.5, "note": None}
    async with client_for(server) as client:
        await client.submit(spec, payload=payload)
    compact = json.dumps(payload, separators=(",", ":"))
    expected = '{"graph":' + spec.to_json() + ',"payload":' + compact + "}"
    assert server.requests[0].body == expected.encode()
    assert json.loads(server.requests[0].body)["payload"] == payload


@pytest.mark.anyio
async def test_scalar_and_list_payloads(server: IngestServer, spec: Spec) -> None:
    """Any JSON value is a payload: lists, strings, numbers, false."""
    async with client_for(server) as client:
        for payload in ([1, 2], "text", 0, False):
            await client.submit(spec, payload=payload)
    assert [json.loads(s.body)["payload"] for s in server.requests] == [[1, 2], "text", 0, False]


@pytest.mark.anyio
@pytest.mark.parametrize("payload", [{"when": datetime.now()}, {1, 2}, {"x": float("nan")}])
async def test_bad_payload_fails_before_sending(
    server: IngestServer, spec: Spec, payload: object
) -> None:
    """A payload JSON cannot carry raises SpecError and nothing is sent."""
    async with client_for(server) as client:
        with pytest.raises(SpecError, match="payload is not JSON-serializable"):
            await client.submit(spec, payload=payload)  # type: ignore[arg-type]
    assert server.requests == []


@pytest.mark.anyio
async def test_invalid_spec_is_not_sent(server: IngestServer) -> None:
    """validate=True raises SpecValidationError before any network I/O."""
    fork = (
        Node.fork("waygrid://system/waystation")
        .join_id("j")
        .branches(
            {
                "a": Node.standard("waygrid://processor/a"),
                "b": Node.standard("waygrid://processor/b"),
            }
        )
    )
    async with client_for(server) as client:
        with pytest.raises(SpecValidationError):
            await client.submit(Spec.single(fork))
        assert server.requests == []
        await client.submit(Spec.single(fork), validate=False)
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_explicit_idempotency_key(server: IngestServer, spec: Spec) -> None:
    """A caller's key is sent as is and reported back; a malformed one is refused."""
    async with client_for(server) as client:
        result = await client.submit(spec, idempotency_key="order-42")
        again = await client.submit(spec, idempotency_key="order-42")
        with pytest.raises(ValueError, match="idempotency_key"):
            await client.submit(spec, idempotency_key="has space")
    assert result.idempotency_key == "order-42"
    assert again.traversal_id == result.traversal_id  # the server deduplicated it
    assert server.keys == ["order-42", "order-42"]


@pytest.mark.anyio
async def test_each_submit_gets_a_new_key(server: IngestServer, spec: Spec) -> None:
    """Two logical submits carry two different keys and start two traversals."""
    async with client_for(server) as client:
        first = await client.submit(spec)
        second = await client.submit(spec)
    assert first.idempotency_key != second.idempotency_key
    assert first.traversal_id != second.traversal_id


@pytest.mark.anyio
async def test_base_url_path_prefix_and_trailing_slash(server: IngestServer, spec: Spec) -> None:
    """A base URL with a path prefix and/or trailing slash gets /v1/ingest appended once."""
    for base in (f"{server.url}/", f"{server.url}/gw", f"{server.url}/gw/"):
        async with WaygridClient(base, **FAST) as client:
            await client.submit(spec)
    assert [s.path for s in server.requests] == ["/v1/ingest", "/gw/v1/ingest", "/gw/v1/ingest"]


@pytest.mark.anyio
@pytest.mark.parametrize("status", [201, 202])
async def test_201_and_202_are_success(server: IngestServer, spec: Spec, status: int) -> None:
    """201 and 202 with the usual body are accepted."""
    body = {"traversalId": "01J9Z8Q4W5X6Y7Z8A9B0C1D2E3", "dagHash": "0123456789abcdef"}
    server.reset(Reply(status, body))
    async with client_for(server) as client:
        result = await client.submit(spec)
    assert (result.traversal_id, result.dag_hash, result.status_code) == (
        body["traversalId"],
        body["dagHash"],
        status,
    )


# --- Retries ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_retries_503_with_the_same_key(server: IngestServer, spec: Spec) -> None:
    """503s are retried; every attempt carries the same Idempotency-Key and body."""
    server.reset(Reply(503, {"error": "busy"}), Reply(502), Reply(504))
    async with client_for(server) as client:
        result = await client.submit(spec, payload={"n": 1})
    assert result.attempts == 4
    assert server.keys == [result.idempotency_key] * 4
    assert len({s.body for s in server.requests}) == 1
    assert len(server.traversals) == 1


@pytest.mark.anyio
async def test_retry_after_seconds_is_honoured(server: IngestServer, spec: Spec) -> None:
    """A 429 with Retry-After: 0.3 makes the client wait that long before the next attempt."""
    server.reset(Reply(429, {"error": "slow down"}, {"Retry-After": "0.3"}))
    async with client_for(server) as client:
        result = await client.submit(spec)
    assert result.attempts == 2
    first, second = server.requests
    assert second.at - first.at >= 0.28


@pytest.mark.anyio
async def test_retry_after_http_date_is_honoured_and_capped(
    server: IngestServer, spec: Spec
) -> None:
    """Retry-After as an HTTP-date is read, and the wait is capped by retry_after_cap."""
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    server.reset(Reply(503, None, {"Retry-After": when}))
    async with client_for(server, retry_after_cap=0.25) as client:
        await client.submit(spec)
    first, second = server.requests
    assert 0.23 <= second.at - first.at < 2.0


@pytest.mark.anyio
async def test_backoff_waits_grow(server: IngestServer, spec: Spec) -> None:
    """Without Retry-After the waits follow capped exponential backoff (at least half a step)."""
    server.reset(*[Reply(503)] * 3)
    async with client_for(server, backoff_base=0.04, backoff_cap=0.1) as client:
        await client.submit(spec)
    times = [s.at for s in server.requests]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.02 - 0.005
    assert gaps[1] >= 0.04 - 0.005
    assert gaps[2] >= 0.05 - 0.005  # 0.16 capped at 0.1
    assert sum(gaps) < 1.0


@pytest.mark.anyio
@pytest.mark.parametrize("max_retries", [0, 2])
async def test_max_retries_is_respected(server: IngestServer, spec: Spec, max_retries: int) -> None:
    """A server that keeps failing sees exactly 1 + max_retries attempts, then ServerError."""
    server.reset(*[Reply(503, {"error": "down"})] * 10)
    async with client_for(server, max_retries=max_retries) as client:
        with pytest.raises(ServerError) as caught:
            await client.submit(spec)
    assert len(server.requests) == 1 + max_retries
    assert caught.value.status_code == 503
    assert caught.value.retry_after is None
    if max_retries:
        assert f"after {1 + max_retries} attempts" in str(caught.value)


@pytest.mark.anyio
async def test_server_error_keeps_retry_after(server: IngestServer, spec: Spec) -> None:
    """A 503 with Retry-After that outlasts the retries keeps the server's wait on ServerError."""
    server.reset(Reply(503, {"error": "maintenance"}, headers={"Retry-After": "0"}))
    async with client_for(server, max_retries=0) as client:
        with pytest.raises(ServerError) as caught:
            await client.submit(spec)
    assert caught.value.retry_after == 0


@pytest.mark.anyio
async def test_rate_limit_error_after_retries(server: IngestServer, spec: Spec) -> None:
    """429 until the retries run out gives RateLimitError with the server's retry_after."""
    server.reset(*[Reply(429, {"error": "quota"}, {"Retry-After": "0"})] * 3)
    async with client_for(server, max_retries=2) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.submit(spec)
    assert caught.value.retry_after == 0.0
    assert caught.value.status_code == 429
    assert len(server.requests) == 3


@pytest.mark.anyio
async def test_plain_500_is_retried(server: IngestServer, spec: Spec) -> None:
    """A 500 that is not a spec rejection (e.g. the event sink failed) is retried."""
    kafka = {"error": "org.apache.kafka.common.errors.TimeoutException: Topic not present"}
    server.reset(Reply(500, kafka), Reply(500, kafka))
    async with client_for(server) as client:
        result = await client.submit(spec)
    assert result.attempts == 3


@pytest.mark.anyio
async def test_dropped_connection_is_retried(server: IngestServer, spec: Spec) -> None:
    """A connection closed without an answer is retried with the same key."""
    server.reset(Drop())
    async with client_for(server) as client:
        result = await client.submit(spec)
    assert result.attempts == 2
    assert server.keys == [result.idempotency_key] * 2


@pytest.mark.anyio
async def test_retries_end_with_one_traversal(server: IngestServer, spec: Spec) -> None:
    """Through 503, 429 with Retry-After and dropped connections, one submit is one traversal."""
    server.reset(
        Reply(503, {"error": "starting"}, {"Retry-After": "0.05"}),
        Drop(processed=True),
        Reply(429, {"error": "slow down"}, {"Retry-After": "0.05"}),
        Drop(),
    )
    async with client_for(server, max_retries=5) as client:
        result = await client.submit(spec, payload={"order": 7})
    assert result.attempts == 5
    assert set(server.keys) == {result.idempotency_key}
    assert server.traversals == {
        result.idempotency_key: {"traversalId": result.traversal_id, "dagHash": result.dag_hash}
    }


@pytest.mark.anyio
async def test_read_timeout_is_not_retried_by_default(server: IngestServer, spec: Spec) -> None:
    """A read timeout raises WaygridTimeoutError after one attempt: the server may have acted."""
    server.reset(Slow(0.6))
    async with client_for(server, timeout=httpx.Timeout(5.0, read=0.15)) as client:
        with pytest.raises(WaygridTimeoutError, match="retry_read_timeouts") as caught:
            await client.submit(spec)
    assert len(server.requests) == 1
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


@pytest.mark.anyio
async def test_read_timeout_retried_when_asked(server: IngestServer, spec: Spec) -> None:
    """retry_read_timeouts=True retries; the key makes the server return the same traversal."""
    server.reset(Slow(0.6))
    timeout = httpx.Timeout(5.0, read=0.15)
    async with client_for(server, timeout=timeout, retry_read_timeouts=True) as client:
        result = await client.submit(spec)
    assert result.attempts == 2
    assert len(server.traversals) == 1


@pytest.mark.anyio
async def test_read_timeouts_until_the_end(server: IngestServer, spec: Spec) -> None:
    """With the option on, a server that never answers in time ends in WaygridTimeoutError."""
    server.reset(Slow(0.4), Slow(0.4))
    timeout = httpx.Timeout(5.0, read=0.1)
    async with client_for(
        server, timeout=timeout, retry_read_timeouts=True, max_retries=1
    ) as client:
        with pytest.raises(WaygridTimeoutError, match="after 2 attempts"):
            await client.submit(spec)
    assert len(server.requests) == 2


@pytest.mark.anyio
async def test_connection_refused(spec: Spec, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listening: WaygridConnectionError after the configured retries, no httpx error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    caplog.set_level(logging.INFO, logger="waygrid")
    async with WaygridClient(f"http://127.0.0.1:{port}", max_retries=2, **FAST) as client:
        with pytest.raises(WaygridConnectionError, match="after 3 attempts") as caught:
            await client.submit(spec)
    assert type(caught.value) is WaygridConnectionError
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    retries = [r for r in caplog.records if r.name == "waygrid" and "retry" in r.getMessage()]
    assert len(retries) == 2


@pytest.mark.anyio
async def test_connect_error_then_success(spec: Spec) -> None:
    """A transport that fails to connect once is retried; both attempts carry the same key."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(
            200, json={"traversalId": "01J9Z8Q4W5X6Y7Z8A9B0C1D2E3", "dagHash": "00ff00ff00ff00ff"}
        )

    transport = httpx.MockTransport(handler)
    async with WaygridClient("http://waygrid.test", transport=transport, **FAST) as client:
        result = await client.submit(spec)
    assert result.attempts == 2
    assert [r.headers["idempotency-key"] for r in seen] == [result.idempotency_key] * 2
    assert str(seen[0].url) == "http://waygrid.test/v1/ingest"


@pytest.mark.anyio
async def test_connect_timeout_is_a_timeout_error(spec: Spec) -> None:
    """Connect timeouts are retried and end in WaygridTimeoutError."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectTimeout("timed out", request=request)

    transport = httpx.MockTransport(handler)
    async with WaygridClient(
        "http://waygrid.test", transport=transport, max_retries=3, **FAST
    ) as client:
        with pytest.raises(WaygridTimeoutError, match="after 4 attempts"):
            await client.submit(spec)
    assert calls == 4


# --- Errors -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_undecodable_spec_is_rejected_and_echo_dropped(
    server: IngestServer, spec: Spec
) -> None:
    """InvalidMessageBodyFailure: SpecRejectedError, one request, the echoed body cut away."""
    payload = {"card": "4111-1111-1111-1111"}
    request_json = json.dumps({"graph": json.loads(spec.to_json()), "payload": payload})
    server.reset(echo_500(request_json))
    async with client_for(server) as client:
        with pytest.raises(SpecRejectedError) as caught:
            await client.submit(spec, payload=payload)
    error = caught.value
    assert len(server.requests) == 1
    assert error.status_code == 500
    assert error.reason == (
        "org.http4s.InvalidMessageBodyFailure: Invalid message body: Could not decode JSON"
    )
    assert error.reason in str(error)
    assert json.loads(error.body) == {"error": error.reason}
    for text in (str(error), error.body, repr(error), error.reason):
        assert "4111" not in text
        assert "waygrid://processor/a" not in text
    assert error.issues == ()


@pytest.mark.anyio
async def test_malformed_body_is_rejected(server: IngestServer, spec: Spec) -> None:
    """MalformedMessageBodyFailure is a rejected spec too, never retried."""
    text = "org.http4s.MalformedMessageBodyFailure: Malformed message body: Invalid JSON"
    server.reset(Reply(500, {"error": text}))
    async with client_for(server) as client:
        with pytest.raises(SpecRejectedError, match="Malformed message body: Invalid JSON"):
            await client.submit(spec)
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_route_compiler_error_is_rejected(server: IngestServer, spec: Spec) -> None:
    """A RouteCompilerError keeps its whole reason and is not retried."""
    text = (
        "com.monadial.waygrid.common.domain.algebra.RouteCompilerError: Invalid DAG structure:\n"
        "  Fork node 'x' has no matching Join node"
    )
    server.reset(Reply(500, {"error": text}))
    async with client_for(server) as client:
        with pytest.raises(SpecRejectedError) as caught:
            await client.submit(spec)
    assert caught.value.reason == text
    assert "has no matching Join node" in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_dev_server_detail_and_issues(server: IngestServer, spec: Spec) -> None:
    """The dev server's detail and issues become ValidationIssues on the error and its message."""
    body = {
        "error": "org.http4s.InvalidMessageBodyFailure: Invalid message body: Could not decode "
        'JSON: {\n  "graph" : {}\n}',
        "detail": {"path": "$.graph.entryPoints", "reason": "missing required field"},
        "issues": [
            {
                "severity": "warning",
                "code": "address-format",
                "path": "$.graph.entryPoints[0].address",
                "message": "address does not look like waygrid://<component>/<service>",
                "hint": "use lower case",
            }
        ],
    }
    server.reset(Reply(500, body))
    async with client_for(server) as client:
        with pytest.raises(SpecRejectedError) as caught:
            await client.submit(spec)
    error = caught.value
    assert [(i.severity, i.code, i.path) for i in error.issues] == [
        ("error", "server-rejected", "$.graph.entryPoints"),
        ("warning", "address-format", "$.graph.entryPoints[0].address"),
    ]
    assert error.issues[0].message == "missing required field"
    assert error.issues[1].hint == "use lower case"
    assert "$.graph.entryPoints: missing required field" in str(error)
    assert '"graph" : {}' not in error.body
    assert json.loads(error.body)["detail"] == body["detail"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "error_class", "text"),
    [
        (400, WaygridStatusError, "400 Bad Request"),
        (401, AuthenticationError, "check the API key"),
        (403, AuthenticationError, "check the API key"),
        (404, WaygridStatusError, "is base_url the address of a Waygrid server"),
        (409, WaygridStatusError, "was already used for a different request"),
        (422, WaygridStatusError, "422 Unprocessable"),
        (501, ServerError, "501 Not Implemented"),
    ],
)
async def test_status_mapping_without_retry(
    server: IngestServer,
    spec: Spec,
    status: int,
    error_class: type[WaygridStatusError],
    text: str,
) -> None:
    """Each non-retryable status maps to its error class after exactly one request."""
    server.reset(Reply(status, {"error": "nope"}))
    async with client_for(server) as client:
        with pytest.raises(error_class, match=text) as caught:
            await client.submit(spec, idempotency_key="k-1")
    assert type(caught.value) is error_class
    assert caught.value.status_code == status
    assert json.loads(caught.value.body) == {"error": "nope"}
    assert len(server.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "raw", [b"<html>hello</html>", b'{"traversalId": 5, "dagHash": "x"}', b'{"dagHash": "ab"}']
)
async def test_malformed_success_body(server: IngestServer, spec: Spec, raw: bytes) -> None:
    """A 2xx without the expected JSON is a WaygridStatusError, not retried."""
    server.reset(Reply(200, raw=raw, headers={"content-type": "application/json"}))
    async with client_for(server) as client:
        with pytest.raises(WaygridStatusError, match="without the expected") as caught:
            await client.submit(spec)
    assert caught.value.status_code == 200
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_echo_in_plain_text_body_is_cut(server: IngestServer, spec: Spec) -> None:
    """A non-JSON error body that echoes the request is cut at the echo too."""
    raw = b'Invalid message body: Could not decode JSON: {"payload": {"ssn": "078-05-1120"}}'
    server.reset(Reply(400, raw=raw))
    async with client_for(server) as client:
        with pytest.raises(WaygridStatusError) as caught:
            await client.submit(spec)
    assert caught.value.body == "Invalid message body: Could not decode JSON"
    assert "078-05" not in str(caught.value)


# --- Secrets ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_api_key_never_leaks(
    server: IngestServer, spec: Spec, caplog: pytest.LogCaptureFixture
) -> None:
    """The key is scrubbed from error messages, bodies and logs even when the server echoes it."""
    caplog.set_level(logging.DEBUG)
    echo = {"error": f"denied for Authorization: Bearer {API_KEY}", "seen": API_KEY}
    server.reset(
        Reply(503, echo), Reply(502, raw=f"bad gateway {API_KEY}".encode()), Reply(401, echo)
    )
    client = client_for(server, max_retries=3)
    async with client:
        with pytest.raises(AuthenticationError) as caught:
            await client.submit(spec)
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    error = caught.value
    texts = [str(error), repr(error), error.body, repr(client), caplog.text]
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert API_KEY not in text
    assert "[redacted]" in error.body
    assert "retry 1 of 3" in caplog.text  # the retries were logged, without the key


@pytest.mark.anyio
async def test_key_in_sensitive_custom_header_is_scrubbed(server: IngestServer, spec: Spec) -> None:
    """Credentials passed as custom headers (X-Api-Key, ...) are scrubbed from errors too."""
    token = "custom-token-value-123"
    server.reset(Reply(400, {"error": f"bad token {token}"}))
    async with client_for(server, api_key=None, headers={"X-Api-Key": token}) as client:
        with pytest.raises(WaygridStatusError) as caught:
            await client.submit(spec)
    assert server.requests[0].headers["x-api-key"] == token
    assert token not in str(caught.value)
    assert token not in caught.value.body


def test_repr_hides_the_key() -> None:
    """repr(client) shows the URL and whether a key is set, never the key."""
    client = WaygridClient("https://api.waygrid.io/", API_KEY)
    assert repr(client) == (
        "WaygridClient(base_url='https://api.waygrid.io/v1/ingest', api_key='***', max_retries=3)"
    )
    assert "api_key=None" in repr(WaygridClient("https://api.waygrid.io"))
    with_password = WaygridClient("https://user:hunter2@api.waygrid.io")
    assert "hunter2" not in repr(with_password)


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (("api.waygrid.io",), {}, "absolute http:// or https:// URL"),
        (("ftp://api.waygrid.io",), {}, "absolute http:// or https:// URL"),
        (("https://api.waygrid.io?x=1",), {}, "query string"),
        (("https://api.waygrid.io", "bad key\n"), {}, "api_key must be"),
        (("https://api.waygrid.io", ""), {}, "api_key must be"),
        (("https://api.waygrid.io",), {"max_retries": -1}, "max_retries"),
        (("https://api.waygrid.io",), {"backoff_base": float("inf")}, "backoff_base"),
        (("https://api.waygrid.io",), {"headers": {"X-A": "a\r\nb"}}, "X-A"),
    ],
)
def test_constructor_rejects_bad_arguments(
    args: tuple[Any, ...], options: dict[str, Any], message: str
) -> None:
    """Malformed arguments raise ValueError with a message that never repeats the key."""
    with pytest.raises(ValueError, match=message) as caught:
        WaygridClient(*args, **options)
    assert "bad key" not in str(caught.value)


# --- Configuration from the environment ---------------------------------------------------------


@pytest.mark.anyio
async def test_from_env(server: IngestServer, spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    """from_env reads the base URL, key, timeout and retry count."""
    monkeypatch.setenv("WAYGRID_BASE_URL", server.url)
    monkeypatch.setenv("WAYGRID_API_KEY", API_KEY)
    monkeypatch.setenv("WAYGRID_TIMEOUT", "5")
    monkeypatch.setenv("WAYGRID_MAX_RETRIES", "1")
    server.reset(*[Reply(503)] * 5)
    client = WaygridClient.from_env(backoff_base=0.001)
    assert client.max_retries == 1
    assert client.base_url == f"{server.url}/v1/ingest"
    async with client:
        with pytest.raises(ServerError):
            await client.submit(spec)
    assert len(server.requests) == 2
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_from_env_overrides_and_empty_key() -> None:
    """Explicit arguments beat the variables; an empty WAYGRID_API_KEY means no key."""
    environ = {
        "WAYGRID_BASE_URL": "http://127.0.0.1:1337",
        "WAYGRID_API_KEY": "",
        "WAYGRID_MAX_RETRIES": "7",
    }
    client = WaygridClient.from_env(environ=environ, max_retries=0)
    assert client.max_retries == 0
    assert "api_key=None" in repr(client)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({}, "WAYGRID_BASE_URL"),
        ({"WAYGRID_BASE_URL": "  "}, "WAYGRID_BASE_URL"),
        ({"WAYGRID_BASE_URL": "localhost:1337"}, "WAYGRID_BASE_URL"),
        ({"WAYGRID_BASE_URL": "http://h", "WAYGRID_API_KEY": "a b"}, "WAYGRID_API_KEY"),
        ({"WAYGRID_BASE_URL": "http://h", "WAYGRID_TIMEOUT": "soon"}, "WAYGRID_TIMEOUT"),
        ({"WAYGRID_BASE_URL": "http://h", "WAYGRID_TIMEOUT": "-1"}, "WAYGRID_TIMEOUT"),
        ({"WAYGRID_BASE_URL": "http://h", "WAYGRID_MAX_RETRIES": "-1"}, "WAYGRID_MAX_RETRIES"),
    ],
)
def test_from_env_names_the_bad_variable(environ: dict[str, str], variable: str) -> None:
    """A missing or malformed variable raises WaygridError naming it."""
    with pytest.raises(WaygridError, match=variable):
        WaygridClient.from_env(environ=environ)


# --- Life cycle and concurrency -----------------------------------------------------------------


@pytest.mark.anyio
async def test_usable_after_async_with_and_without_it(server: IngestServer, spec: Spec) -> None:
    """The seed's `async with client: await client.submit(...)` can be repeated on one client."""
    client = client_for(server)
    async with client:
        await client.submit(spec)
    async with client:
        await client.submit(spec)
    await client.submit(spec)  # no async with at all
    await client.aclose()
    await client.aclose()  # closing twice is harmless
    assert len(server.requests) == 3


@pytest.mark.anyio
async def test_nested_async_with_keeps_the_pool(server: IngestServer, spec: Spec) -> None:
    """An inner `async with` does not close the pool the outer block is using."""
    async with client_for(server) as client:
        async with client:
            await client.submit(spec)
        await client.submit(spec)
    first, second = server.requests
    assert first.port == second.port  # the same kept-alive connection


@pytest.mark.anyio
async def test_seed_quick_start_usage(server: IngestServer) -> None:
    """The seed page's client snippets work as written (keyword arguments, per-call async with)."""
    spec = Spec.single(
        entry_point=Node.standard("waygrid://processor/openai")
        .label("AI Processing")
        .with_retry(RetryPolicy.exponential(timedelta(seconds=1), max_retries=3))
        .on_success(Node.standard("waygrid://destination/webhook").label("Deliver Result")),
        repeat_policy=RepeatPolicy.NO_REPEAT,
    )
    async with WaygridClient(base_url=server.url, api_key=API_KEY) as client:
        result = await client.submit(spec)
    assert len(result.traversal_id) == 26

    service_client = WaygridClient(base_url=server.url, api_key=API_KEY)  # Django service
    for data in ({"a": "1"}, {"b": "2"}):
        async with service_client:
            await service_client.submit(spec, payload=data)
    assert len(server.requests) == 3


@pytest.mark.anyio
async def test_user_transport_survives_async_with(server: IngestServer, spec: Spec) -> None:
    """A caller's transport is closed with the client and still works for the next block."""
    client = client_for(server, transport=httpx.AsyncHTTPTransport())
    for _ in range(2):
        async with client:
            await client.submit(spec)
    assert len(server.requests) == 2


@pytest.mark.anyio
async def test_in_process_asgi_transport(server: IngestServer, spec: Spec) -> None:
    """The transport seam reaches an ASGI app in-process, with no socket at all."""
    transport = httpx.ASGITransport(app=server.app)
    async with WaygridClient("http://waygrid.test", API_KEY, transport=transport) as client:
        result = await client.submit(spec, payload={"x": 1})
    (seen,) = server.requests
    assert seen.headers["idempotency-key"] == result.idempotency_key
    assert json.loads(seen.body)["payload"] == {"x": 1}


def test_reuse_across_event_loops(server: IngestServer, spec: Spec) -> None:
    """A client kept across asyncio.run calls opens a fresh pool for each new loop."""
    client = client_for(server)
    first = asyncio.run(client.submit(spec))
    second = asyncio.run(client.submit(spec))
    asyncio.run(client.aclose())
    assert first.traversal_id != second.traversal_id


@pytest.mark.anyio
async def test_concurrent_submits_share_one_pool(server: IngestServer, spec: Spec) -> None:
    """64 submits, 32 at a time: concurrent on one pool, whose kept-alive connections are reused."""
    results: list[SubmitResult] = []
    ports: list[set[int]] = []

    async def one(n: int) -> None:
        results.append(await client.submit(spec, payload={"n": n}))

    async with client_for(server) as client:
        for batch in range(2):
            async with anyio.create_task_group() as group:
                for n in range(32):
                    group.start_soon(one, batch * 32 + n)
            ports.append({s.port for s in server.requests[batch * 32 :]})
    assert len(results) == 64
    assert len({r.traversal_id for r in results}) == 64
    assert len({r.idempotency_key for r in results}) == 64
    assert 1 < len(ports[0]) <= 32  # concurrent, and never more connections than requests
    assert ports[0] & ports[1]  # the second batch reused the first batch's connections


# --- Per-call options and deadlines -------------------------------------------------------------


@pytest.mark.anyio
async def test_per_call_max_retries(server: IngestServer, spec: Spec) -> None:
    """submit(max_retries=...) overrides the client's count for that call only."""
    server.reset(*[Reply(503, {"error": "down"})] * 10)
    async with client_for(server, max_retries=3) as client:
        with pytest.raises(ServerError):
            await client.submit(spec, max_retries=0)
        assert len(server.requests) == 1
        server.reset(Reply(503), Reply(503))
        result = await client.submit(spec)  # the client's 3 again
        assert result.attempts == 3
    server.reset(Reply(503), Reply(503))
    async with client_for(server, max_retries=0) as client:
        result = await client.submit(spec, max_retries=2)
    assert result.attempts == 3
    assert client.max_retries == 0


@pytest.mark.anyio
async def test_total_deadline_cuts_a_slow_attempt(server: IngestServer, spec: Spec) -> None:
    """A deadline shorter than the server's answer ends the call on time, saying which one."""
    server.reset(Slow(3.0))
    async with client_for(server) as client:
        started = time.monotonic()
        with pytest.raises(WaygridTimeoutError, match=r"total deadline \(deadline=0.3 s\)") as c:
            await client.submit(spec, deadline=0.3)
        elapsed = time.monotonic() - started
    assert 0.28 <= elapsed < 1.0
    assert c.value.deadline == "total"
    assert len(server.requests) == 1
    assert c.value.__cause__ is None


@pytest.mark.anyio
async def test_backoff_that_would_cross_the_deadline_is_not_taken(
    server: IngestServer, spec: Spec
) -> None:
    """A Retry-After longer than what is left of the deadline fails at once, not after it."""
    server.reset(Reply(503, {"error": "maintenance"}, {"Retry-After": "5"}))
    async with client_for(server, max_retries=3) as client:
        started = time.monotonic()
        with pytest.raises(WaygridTimeoutError) as caught:
            await client.submit(spec, deadline=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 1.0  # not the 5 s the server asked for
    assert caught.value.deadline == "total"
    message = str(caught.value)
    assert "deadline=1 s" in message
    assert "503" in message and "maintenance" in message
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_deadline_spans_attempts_and_waits(server: IngestServer, spec: Spec) -> None:
    """Retries keep going until the total deadline, which is never overrun."""
    server.reset(*[Reply(503)] * 50)
    async with client_for(server, max_retries=50, backoff_base=0.05, backoff_cap=0.05) as client:
        started = time.monotonic()
        with pytest.raises(WaygridTimeoutError, match="total deadline") as caught:
            await client.submit(spec, deadline=0.4)
        elapsed = time.monotonic() - started
    assert elapsed < 0.7  # 0.4 plus scheduling slack on a busy machine
    assert caught.value.deadline == "total"
    assert 3 <= len(server.requests) < 20


@pytest.mark.anyio
async def test_client_deadline_and_per_call_override(server: IngestServer, spec: Spec) -> None:
    """The constructor's deadline applies to every call; submit(deadline=...) replaces it."""
    async with client_for(server, deadline=0.2) as client:
        assert client.deadline == 0.2
        server.reset(Slow(0.5))
        with pytest.raises(WaygridTimeoutError, match=r"deadline=0.2 s"):
            await client.submit(spec)
        server.reset(Slow(0.5))
        result = await client.submit(spec, deadline=5)
    assert result.attempts == 1


def test_attempt_timeout_is_derived_from_timeout() -> None:
    """attempt_timeout defaults to connect + read; none without a read timeout."""
    url = "http://127.0.0.1:1"
    assert WaygridClient(url).attempt_timeout == 40.0
    assert WaygridClient(url, timeout=2).attempt_timeout == 4.0
    assert WaygridClient(url, timeout=httpx.Timeout(5.0, connect=1.0)).attempt_timeout == 6.0
    assert WaygridClient(url, timeout=httpx.Timeout(5.0, connect=None)).attempt_timeout == 5.0
    assert WaygridClient(url, timeout=None).attempt_timeout is None
    assert WaygridClient(url, timeout=httpx.Timeout(5.0, read=None)).attempt_timeout is None
    assert WaygridClient(url, timeout=2, attempt_timeout=0.5).attempt_timeout == 0.5
    assert WaygridClient(url).deadline is None


@pytest.mark.parametrize(
    "options",
    [
        {"deadline": 0},
        {"deadline": -1},
        {"deadline": float("nan")},
        {"deadline": float("inf")},
        {"deadline": True},
        {"deadline": "5"},
        {"attempt_timeout": 0},
        {"attempt_timeout": float("inf")},
    ],
)
def test_constructor_rejects_bad_deadlines(options: dict[str, Any]) -> None:
    """Deadlines are positive, finite numbers of seconds (or None)."""
    name = next(iter(options))
    with pytest.raises(ValueError, match=name):
        WaygridClient("http://127.0.0.1:1", **options)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "options",
    [
        {"deadline": 0},
        {"deadline": float("nan")},
        {"deadline": "1"},
        {"max_retries": -1},
        {"max_retries": True},
        {"max_retries": 1.5},
    ],
)
async def test_submit_rejects_bad_per_call_options(
    server: IngestServer, spec: Spec, options: dict[str, Any]
) -> None:
    """A malformed per-call option raises ValueError before anything is sent."""
    async with client_for(server) as client:
        with pytest.raises(ValueError, match=next(iter(options))):
            await client.submit(spec, **options)
    assert server.requests == []
