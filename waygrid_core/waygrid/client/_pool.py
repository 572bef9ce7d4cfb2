"""The client's connection pool: one ``httpx.AsyncClient`` per event loop, reopened after close."""

from __future__ import annotations

import asyncio

import httpx

__all__ = ["Pool"]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # not under asyncio (e.g. trio): connections are not tied to a loop
        return None


class Pool:
    """Opens the ``httpx.AsyncClient`` on first use and again after a close or a new loop."""

    __slots__ = ("_headers", "_http", "_limits", "_loop", "_timeout", "_transport")

    def __init__(
        self,
        headers: httpx.Headers,
        timeout: httpx.Timeout,
        limits: httpx.Limits,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self._headers = headers
        self._timeout = timeout
        self._limits = limits
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self) -> httpx.AsyncClient:
        """The open client for the running event loop."""
        http = self._http
        loop = _running_loop()
        if http is None or http.is_closed or loop is not self._loop:
            # A pool opened under another (probably finished) event loop cannot be used or even
            # closed from this one; it is dropped.
            http = httpx.AsyncClient(
                headers=self._headers,
                timeout=self._timeout,
                limits=self._limits,
                transport=self._transport,
                follow_redirects=False,
            )
            self._http, self._loop = http, loop
        return http

    async def aclose(self) -> None:
        """Close the open client, when it belongs to the running loop; the next call reopens."""
        http, self._http = self._http, None
        if http is not None and self._loop is _running_loop():
            await http.aclose()
