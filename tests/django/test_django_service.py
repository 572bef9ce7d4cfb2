"""WaygridService: sync and async submission under WSGI and ASGI, threads, loops, one pool."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.core.exceptions import SynchronousOnlyOperation

from tests.django.helpers import free_port
from tests.django.views import SPEC
from waygrid import Node, Spec, SpecValidationError, WaygridConnectionError
from waygrid.testing import DevServer
from waygrid_django import WaygridService


@pytest.mark.parametrize("view", ["sync", "async"])
def test_views_submit_under_wsgi_and_asgi(
    view: str, django_server: str, service: WaygridService, waygrid_server: DevServer
) -> None:
    """Sync and async views, served by WSGI and by ASGI, submit over one pool and connection."""
    ids = []
    with httpx.Client(base_url=django_server, timeout=30) as http:
        for number in range(6):
            response = http.post(f"/{view}/", json={"n": number})
            assert response.status_code == 200, response.text
            ids.append(response.json()["traversal_id"])
    stored = {t.traversal_id: t.payload for t in waygrid_server.traversals()}
    assert stored == {tid: {"n": n} for n, tid in enumerate(ids)}
    assert service.pools_opened == 1
    assert waygrid_server.connections_accepted == 1  # every request reused one connection


@pytest.mark.parametrize("view", ["sync", "async"])
def test_concurrent_requests_share_one_pool(
    view: str, django_server: str, service: WaygridService, waygrid_server: DevServer
) -> None:
    """Eight clients hitting a view at once still go through the service's single pool."""

    def post(number: int) -> str:
        response = http.post(f"/{view}/", json={"n": number})
        assert response.status_code == 200, response.text
        return str(response.json()["traversal_id"])

    with httpx.Client(base_url=django_server, timeout=30) as http, ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(post, range(40)))
    assert len(set(ids)) == 40
    assert len(waygrid_server.traversals()) == 40
    assert service.pools_opened == 1
    assert 1 <= waygrid_server.connections_accepted <= 8


def test_eight_threads_submit_at_once(service: WaygridService, waygrid_server: DevServer) -> None:
    """Eight threads calling the sync wrapper at once: every submit lands, over one pool."""
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: service.submit(SPEC, {"n": n}), range(200)))
    assert len({r.traversal_id for r in results}) == 200
    assert sorted(t.payload["n"] for t in waygrid_server.traversals()) == list(range(200))
    assert service.pools_opened == 1
    assert waygrid_server.connections_accepted <= 8


def test_asubmit_from_many_short_lived_loops(
    service: WaygridService, waygrid_server: DevServer
) -> None:
    """Each asyncio.run() makes and closes a loop; no 'event loop is closed', still one pool."""
    for number in range(5):
        result = asyncio.run(service.asubmit(SPEC, {"n": number}))
        assert waygrid_server.traversal(result.traversal_id) is not None
    assert service.pools_opened == 1
    assert waygrid_server.connections_accepted == 1


def test_asubmit_concurrently_on_one_loop(
    service: WaygridService, waygrid_server: DevServer
) -> None:
    """Fifty concurrent asubmit calls on one loop all succeed."""

    async def main() -> list[str]:
        results = await asyncio.gather(*(service.asubmit(SPEC, n) for n in range(50)))
        return [r.traversal_id for r in results]

    assert len(set(asyncio.run(main()))) == 50
    assert len(waygrid_server.traversals()) == 50


def test_cancelling_asubmit_cancels_the_request(service: WaygridService) -> None:
    """A cancelled caller does not leave the service's loop stuck."""

    async def main() -> None:
        task = asyncio.create_task(service.asubmit(SPEC))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await service.asubmit(SPEC)  # the service still works

    asyncio.run(main())


def test_submit_refuses_to_block_a_running_loop(service: WaygridService) -> None:
    """The sync wrapper inside async code raises Django's SynchronousOnlyOperation."""

    async def main() -> None:
        with pytest.raises(SynchronousOnlyOperation, match="asubmit"):
            service.submit(SPEC)

    asyncio.run(main())


def test_invalid_spec_fails_before_the_network(
    service: WaygridService, waygrid_server: DevServer
) -> None:
    """A fork without its join is rejected locally by both APIs."""
    bad = Spec.single(
        Node.fork("waygrid://system/waystation")
        .join_id("j")
        .branches(
            {
                "a": Node.standard("waygrid://processor/a"),
                "b": Node.standard("waygrid://processor/b"),
            }
        )
    )
    with pytest.raises(SpecValidationError):
        service.submit(bad)
    with pytest.raises(SpecValidationError):
        asyncio.run(service.asubmit(bad))
    assert waygrid_server.ingest_requests == 0


def test_unreachable_server_raises_the_core_error() -> None:
    """With nothing listening, both APIs raise WaygridConnectionError."""
    service = WaygridService(f"http://127.0.0.1:{free_port()}", max_retries=0)
    try:
        with pytest.raises(WaygridConnectionError):
            service.submit(SPEC)
        with pytest.raises(WaygridConnectionError):
            asyncio.run(service.asubmit(SPEC))
    finally:
        service.close()


def test_close_is_idempotent_and_final(waygrid_server: DevServer) -> None:
    """A closed service refuses new work; closing twice is fine."""
    service = WaygridService(waygrid_server.url)
    service.submit(SPEC)
    service.close()
    service.close()
    with pytest.raises(RuntimeError, match="closed"):
        service.submit(SPEC)


def test_repr_hides_the_api_key() -> None:
    """The API key never shows in the repr."""
    service = WaygridService("https://api.waygrid.io", "wg_live_SECRET")
    assert "SECRET" not in repr(service)
    service.close()
