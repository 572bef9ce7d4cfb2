"""One long-lived event loop in a daemon thread that runs coroutines for any thread or loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """An event loop running forever in its own daemon thread, started on first use.

    Sync callers block on ``run()``; async callers on any other loop ``await arun()``. Either
    way the coroutine runs on this one loop, so objects bound to a loop (an httpx connection
    pool) are only ever touched from it. After ``os.fork()`` the child starts a fresh thread
    and loop on first use (the parent's thread does not exist there).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        self.generation = 0
        """How many loops this object has started (1 normally; +1 after each fork)."""

    def _ensure(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None and self._pid == os.getpid():
            return loop
        with self._lock:
            if self._closed:
                raise RuntimeError("this WaygridService was closed")
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                started = threading.Event()
                thread = threading.Thread(
                    target=self._serve, args=(loop, started), name=self._name, daemon=True
                )
                thread.start()
                started.wait()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
                self.generation += 1
            return self._loop

    def _loop_for(self, coro: Coroutine[Any, Any, object]) -> asyncio.AbstractEventLoop:
        try:
            return self._ensure()
        except BaseException:
            coro.close()  # never started: close it, or Python warns it was never awaited
            raise

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def in_loop_thread(self) -> bool:
        """Whether the caller runs on this object's loop thread."""
        return self._thread is threading.current_thread()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result (from a thread without a loop).

        Raises:
            RuntimeError: Called from the loop thread itself (it would wait for itself).
        """
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("LoopThread.run() called from its own loop: await the coroutine")
        return asyncio.run_coroutine_threadsafe(coro, self._loop_for(coro)).result()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coro`` on the loop; a future of its result (for threads that wait on many)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop_for(coro))

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the loop from any other loop; cancelling the caller cancels it."""
        loop = self._loop_for(coro)
        if asyncio.get_running_loop() is loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    def close(self, last: Coroutine[Any, Any, None] | None = None) -> None:
        """Run ``last`` (e.g. closing a pool) on the loop, then stop the loop and its thread.

        Safe to call twice, after a fork and from an ``atexit`` handler.
        """
        with self._lock:
            loop, thread, pid = self._loop, self._thread, self._pid
            self._closed = True
            self._loop = self._thread = None
        if loop is None or thread is None or pid != os.getpid() or not thread.is_alive():
            if last is not None:
                last.close()
            return
        if thread is threading.current_thread():
            raise RuntimeError("a WaygridService cannot be closed from its own event loop")
        if last is not None:
            # Closing must not fail (it also runs at interpreter exit).
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(last, loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
