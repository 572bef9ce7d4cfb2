"""Reading one answer: at most `MAX_RESPONSE_BYTES` of its body, a longer one cut there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import httpx

__all__ = ["CAP_TEXT", "MAX_RESPONSE_BYTES", "Answer", "read_answer"]

MAX_RESPONSE_BYTES: Final = 1024 * 1024
"""The most bytes of an answer the client reads (1 MiB). A longer body is cut there, its connection
closed, and the error says so; exceptions keep at most this much of it."""
CAP_TEXT: Final = "1 MiB"
"""`MAX_RESPONSE_BYTES` in words, for messages."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt got back: at most `MAX_RESPONSE_BYTES` of the body."""

    status: int
    """The HTTP status."""
    phrase: str
    """The reason phrase."""
    retry_after: str | None
    """The ``Retry-After`` header, as sent."""
    content: bytes
    """The body, or its first `MAX_RESPONSE_BYTES`."""
    cut: bool
    """Whether the body was longer than `MAX_RESPONSE_BYTES` and cut there."""


async def read_answer(
    http: httpx.AsyncClient, url: httpx.URL, body: bytes, headers: dict[str, str]
) -> Answer:
    """POST and read at most `MAX_RESPONSE_BYTES` of the answer; a longer one is cut and its
    connection closed (closing a partly read response never returns it to the pool)."""
    request = http.build_request("POST", url, content=body, headers=headers)
    response = await http.send(request, stream=True)
    try:
        chunks: list[bytes] = []
        room = MAX_RESPONSE_BYTES
        cut = False
        async for chunk in response.aiter_bytes():
            if len(chunk) > room:
                chunks.append(chunk[:room])
                cut = True
                break
            chunks.append(chunk)
            room -= len(chunk)
    finally:
        await response.aclose()
    return Answer(
        response.status_code,
        response.reason_phrase,
        response.headers.get("retry-after"),
        b"".join(chunks),
        cut,
    )
