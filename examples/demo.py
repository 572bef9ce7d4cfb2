"""`make demo`: build the published workflows, validate them, show them, submit them.

Everything runs on this machine: the Waygrid dev server starts on a free loopback port, the
SDK's client submits to it, then the FastAPI and Django examples run against the same server.
"""

from __future__ import annotations

import asyncio
import sys

from examples.workflows import WORKFLOWS
from waygrid import Spec, SpecValidationError, WaygridClient
from waygrid.testing import DevServer


def _banner(title: str) -> None:
    print(f"\n{'=' * 78}\n{title}\n{'=' * 78}")


def show(title: str, spec: Spec) -> None:
    """Validate one workflow and print its JSON, dagHash and Mermaid diagram."""
    _banner(title)
    try:
        warnings = spec.validate()
    except SpecValidationError as error:  # pragma: no cover - the demo workflows are valid
        print(error)
        return
    for warning in warnings:
        print(f"warning: {warning}")
    dag = spec.compile()
    print(f"valid; dagHash {dag.dag_hash}; {len(dag.nodes)} compiled nodes")
    print('\nJSON (what POST /v1/ingest receives as "graph"):')
    print(spec.to_json(indent=2))
    print("\nMermaid:")
    print(spec.to_mermaid())


async def submit_all(server: DevServer) -> None:
    """Submit every workflow through the SDK's client and print what the server answered."""
    _banner(f"Submitting to the dev server at {server.base_url}")
    async with WaygridClient(server.base_url) as client:
        for title, build in WORKFLOWS.items():
            result = await client.submit(build(), payload={"demo": title})
            print(f"{title:<34} traversalId {result.traversal_id}  dagHash {result.dag_hash}")
    stored = server.traversals()
    print(f"\nthe dev server holds {len(stored)} traversals; browse {server.base_url}/_dev/")


def main() -> None:
    """Run the whole demo."""
    for title, build in WORKFLOWS.items():
        show(title, build())
    with DevServer() as server:
        asyncio.run(submit_all(server))
        from examples.fastapi_app.demo import run_demo as fastapi_demo

        _banner("FastAPI example (examples/fastapi_app) against the dev server")
        fastapi_demo(server.base_url)
        from examples.django_project.demo import run_demo as django_demo

        _banner("Django example (examples/django_project) against the dev server")
        django_demo(server.base_url)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
