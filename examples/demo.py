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
from datetime import timedelta
from pathlib import Path

from examples.workflows import WORKFLOWS
from waygrid import Simulation, Spec, WaygridClient, simulate
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
  2. simulates them with the server's own runtime rules: all succeeding, then with failures;
  3. submits them to the Waygrid dev server, a local stand-in that also runs what it accepts;
  4. runs the FastAPI example app and the Django example project against that server.
Today's real server compiles a submission and answers its traversalId and dagHash; it drops the
payload and nothing executes the traversal yet. The dev server keeps both, so you can look."""

FAILURES: dict[str, tuple[str, dict[str, object]]] = {
    "Quick Start": ("the AI processor always fails", {"AI Processing": "fail"}),
    "Fork/join enrichment": (
        "the sentiment branch fails",
        {"waygrid://processor/sentiment": "fail"},
    ),
    "Parallel processing with quorum": (
        "providers A and B never answer",
        {"Provider A": "hang", "Provider B": "hang"},
    ),
}
"""The failing runs shown: a workflow, what goes wrong, and the script that makes it so."""
_RUNTIME = "runtime-"
_SPEED = 1_000_000_000.0  # the dev server replays a virtual day in under 0.1 ms


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
        if not warning.code.startswith(_RUNTIME):
            print(f"    warning [{warning.code}] at {warning.path}: {warning.message}")
    runtime = sorted(
        {w.code.removeprefix(_RUNTIME) for w in warnings if w.code.startswith(_RUNTIME)}
    )
    if runtime:  # the long form: waygrid validate <file>
        print(f"    today's server runtime would misbehave: {', '.join(runtime)}")
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


def _clock(at: timedelta) -> str:
    if at >= timedelta(days=1):
        return f"+{at.days}d {at.seconds // 3600}h"
    millis = at // timedelta(milliseconds=1)
    return f"+{millis / 1000:.3f}s" if millis >= 1000 else f"+{millis}ms"


def compact(run: Simulation) -> list[str]:
    """A run in a few lines: one per dispatch (with its answer and retry), joins, the end."""
    lines: list[list[str]] = []
    latest: dict[str, list[str]] = {}
    for event in run.events:
        node = (event.node or "").removeprefix("waygrid://")
        if event.kind == "dispatch":
            latest[node] = [f"  {_clock(event.at):>9}  {node} #{event.get('attempt')}"]
            lines.append(latest[node])
        elif event.kind == "answer" and node in latest:
            latest[node].append(f": {event.get('outcome')}")
        elif event.kind == "retry-scheduled" and node in latest:
            due = timedelta(milliseconds=float(event.get("dueMs") or 0))
            latest[node].append(f", retry #{event.get('attempt')} at {_clock(due)}")
        elif event.kind in ("join-completed", "join-failed", "join-timed-out", "branch-failed"):
            lines.append([f"  {_clock(event.at):>9}  {event.describe()}"])
    lines.append([f"  {run.status} after {_clock(run.duration)}"])
    return ["".join(parts) for parts in lines]


def simulate_all() -> None:
    """Simulate every workflow, all succeeding, then the failing runs (section 2)."""
    _heading("2. What they would do: simulated with the server's runtime rules (waygrid.simulate)")
    for title, build in WORKFLOWS.items():
        run = simulate(build())
        print(
            f"{title:<32} every node succeeds: {run.status} after {_clock(run.duration)}, "
            f"{len(run.dispatches)} dispatches"
        )
    for title, (what, script) in FAILURES.items():
        print(f"\n{title}, when {what} (script {script}):")
        print("\n".join(compact(simulate(WORKFLOWS[title](), script=script))))
    print("\n(retries wait the server's exact delays, jitter included: waygrid simulate FILE)")


async def submit_all(server: DevServer) -> None:
    """Submit every workflow through the SDK's client; print the answer and how the run ended."""
    _heading(f"3. Submitting them to the dev server at {server.base_url}")
    async with WaygridClient(server.base_url) as client:
        for title, build in WORKFLOWS.items():
            result = await client.submit(build(), payload={"demo": title})
            status = server.wait_for_status(result.traversal_id)
            print(
                f"{title:<32} traversalId {result.traversal_id}  dagHash {result.dag_hash}  "
                f"ran: {status}"
            )
    print(f"\nthe dev server holds {len(server.traversals())} traversals, each with its payload")


def next_steps(out_dir: Path) -> None:
    """What to open or run after the demo."""
    _heading("Next")
    print("The dev server above stopped with the demo. To look around yourself:")
    print("  make dev                                  # the dev server on 127.0.0.1:1337")
    print("  open http://127.0.0.1:1337/_dev/          # traversals, their DAGs and timelines")
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
    simulate_all()
    with DevServer(speed=_SPEED) as server:
        asyncio.run(submit_all(server))
        from examples.fastapi_app.demo import run_demo as fastapi_demo

        _heading("4a. The FastAPI example (examples/fastapi_app) against the dev server")
        fastapi_demo(server.base_url)
        from examples.django_project.demo import run_demo as django_demo

        _heading("4b. The Django example (examples/django_project) against the dev server")
        django_demo(server.base_url)
    next_steps(args.out)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
