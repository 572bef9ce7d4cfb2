"""`make demo`: what Waygrid is, shown with the published workflows, dev server and examples.

Everything runs on this machine: the workflows are built and checked, written to files, submitted
to the Waygrid dev server on a free loopback port, then the FastAPI and Django examples run
against the same server. ``python -m examples.demo --verbose`` also prints each workflow's JSON
and Mermaid diagram; ``--out DIR`` chooses where the files go (default ``waygrid-demo/``).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from examples.workflows import WORKFLOWS
from waygrid import Spec, WaygridClient
from waygrid.testing import DevServer

INTRO = """\
Waygrid runs traversals. A traversal is a small graph of steps: each node names a service by its
address (waygrid://processor/openai, waygrid://destination/webhook), and its edges say what runs
next on success, on failure, on a timeout or when a condition holds; a fork runs branches in
parallel until a join. The services behind the addresses run in your Waygrid cluster, not here.
This SDK builds traversals in Python, checks them with the server's own compiler rules, computes
the dagHash the server will answer, and submits them.

This demo, all on this machine:
  1. builds the five workflows of the published SDK page, checks them and writes them to files;
  2. submits them to the Waygrid dev server, a local stand-in for the real ingest API;
  3. runs the FastAPI example app and the Django example project against that server.
Today's real server compiles a submission and answers its traversalId and dagHash; it drops the
payload and nothing executes the traversal yet. The dev server keeps both, so you can look."""


def _heading(text: str) -> None:
    print(f"\n== {text}\n")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def show(title: str, spec: Spec, out_dir: Path, *, verbose: bool = False) -> None:
    """Check one workflow, write its JSON and Mermaid files, and print a one-line summary.

    Args:
        title: The workflow's name.
        spec: The workflow.
        out_dir: Where ``<slug>.json`` and ``<slug>.mmd`` are written.
        verbose: Also print the JSON and the Mermaid diagram.
    """
    warnings = spec.validate()  # raises SpecValidationError: the demo's workflows are all valid
    dag = spec.compile()
    base = out_dir / _slug(title)
    json_file, mermaid_file = base.with_suffix(".json"), base.with_suffix(".mmd")
    json_file.write_text(spec.to_json(indent=2) + "\n", encoding="utf-8")
    mermaid_file.write_text(spec.to_mermaid() + "\n", encoding="utf-8")
    print(
        f"{title:<32} valid  dagHash {dag.dag_hash}  {len(dag.nodes):>2} nodes  "
        f"{json_file} (+ .mmd)"
    )
    for warning in warnings:
        print(f"    warning [{warning.code}] at {warning.path}: {warning.message}")
    if verbose:
        print('\nJSON (what POST /v1/ingest receives as "graph"):')
        print(spec.to_json(indent=2))
        print("\nMermaid:")
        print(spec.to_mermaid())
        print()


def show_all(out_dir: Path, *, verbose: bool = False) -> None:
    """Check, summarise and write every workflow (section 1 of the demo)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _heading("1. The workflows: checked with the server's compiler rules, written as files")
    for title, build in WORKFLOWS.items():
        show(title, build(), out_dir, verbose=verbose)
    if not verbose:
        print("\n(JSON is what the server receives; .mmd is the DAG as a Mermaid diagram.")
        print(" Print them here with: python -m examples.demo --verbose)")


async def submit_all(server: DevServer) -> None:
    """Submit every workflow through the SDK's client and print what the server answered."""
    _heading(f"2. Submitting them to the dev server at {server.base_url}")
    async with WaygridClient(server.base_url) as client:
        for title, build in WORKFLOWS.items():
            result = await client.submit(build(), payload={"demo": title})
            print(f"{title:<34} traversalId {result.traversal_id}  dagHash {result.dag_hash}")
    print(f"\nthe dev server holds {len(server.traversals())} traversals, each with its payload")


def next_steps(out_dir: Path) -> None:
    """What to open or run after the demo."""
    _heading("Next")
    print("The dev server above stopped with the demo. To look around yourself:")
    print("  make dev                                  # the dev server on 127.0.0.1:1337")
    print("  open http://127.0.0.1:1337/_dev/          # traversals and their DAGs, drawn")
    print(f"  .venv/bin/waygrid validate {out_dir / 'quick-start.json'}")
    print(f"  .venv/bin/waygrid submit {out_dir / 'quick-start.json'}")
    print(
        "  WAYGRID_BASE_URL=http://127.0.0.1:1337 .venv/bin/uvicorn examples.fastapi_app.main:app"
    )
    print("The README's Concepts and Quickstart sections go on from here.")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the whole demo."""
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__)
    parser.add_argument("--verbose", "--full", action="store_true", help="print JSON and Mermaid")
    parser.add_argument("--out", type=Path, default=Path("waygrid-demo"), help="output directory")
    args = parser.parse_args(argv)
    print(INTRO)
    show_all(args.out, verbose=args.verbose)
    with DevServer() as server:
        asyncio.run(submit_all(server))
        from examples.fastapi_app.demo import run_demo as fastapi_demo

        _heading("3a. The FastAPI example (examples/fastapi_app) against the dev server")
        fastapi_demo(server.base_url)
        from examples.django_project.demo import run_demo as django_demo

        _heading("3b. The Django example (examples/django_project) against the dev server")
        django_demo(server.base_url)
    next_steps(args.out)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
