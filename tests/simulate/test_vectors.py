"""The shared simulator vectors (tests/sim-vectors), run the way their README says."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from waygrid import Spec
from waygrid.simulate import simulate

VECTORS_DIR = Path(__file__).resolve().parent.parent / "sim-vectors"
VECTORS = [
    (path.stem, json.loads(path.read_text(encoding="utf-8")))
    for path in sorted(VECTORS_DIR.glob("*.json"))
]


def _ms(at: timedelta) -> int | float:
    micros = at // timedelta(microseconds=1)
    return micros // 1000 if micros % 1000 == 0 else micros / 1000


def _run(vec: dict[str, Any], seed: int | None = None) -> tuple[str, list[list[Any]]]:
    start = datetime.fromisoformat(vec["start"].replace("Z", "+00:00"))
    run = simulate(
        Spec.from_dict(vec["spec"]),
        script=vec["script"],
        mode=vec["mode"],
        seed=vec["seed"] if seed is None else seed,
        start=start,
    )
    got = sorted(([d.label, _ms(d.at), d.attempt] for d in run.dispatches), key=_order)
    return run.status, got


def _order(item: list[Any]) -> tuple[Any, ...]:
    return (item[1], item[0], item[2])


def test_every_area_and_both_modes_are_covered() -> None:
    """The copied vectors are all there, in both modes."""
    assert len(VECTORS) >= 25
    assert {v["mode"] for _, v in VECTORS} == {"intended", "upstream"}


@pytest.mark.parametrize(("name", "vec"), VECTORS, ids=[name for name, _ in VECTORS])
def test_vector(name: str, vec: dict[str, Any]) -> None:
    """The status is equal and the dispatches agree as a multiset ordered by (atMs, label, attempt)."""
    status, got = _run(vec)
    assert status == vec["expect"]["status"]
    if "dispatches" in vec["expect"]:
        assert got == sorted(vec["expect"]["dispatches"], key=_order)


@pytest.mark.parametrize(
    ("name", "vec"),
    [(n, v) for n, v in VECTORS if "dispatchesRange" in v["expect"]],
    ids=[n for n, v in VECTORS if "dispatchesRange" in v["expect"]],
)
@pytest.mark.parametrize("seed", [0, 1, 7, 12345, 2**40])
def test_random_vector_for_any_seed(name: str, vec: dict[str, Any], seed: int) -> None:
    """The random policies' dispatches stay within their bounds for any seed."""
    status, got = _run(vec, seed)
    assert status == vec["expect"]["status"]
    expected = vec["expect"]["dispatchesRange"]
    assert sorted((label, attempt) for label, _, attempt in got) == sorted(
        (label, attempt) for label, _, _, attempt in expected
    )
    for label, low, high, attempt in expected:
        (at,) = [a for lab, a, att in got if lab == label and att == attempt]
        assert low <= at <= high
