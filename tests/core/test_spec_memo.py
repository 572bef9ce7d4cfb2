"""The spec computes its JSON text and its warnings once; both stay out of its value."""

from __future__ import annotations

import copy
import pickle

import pytest

from waygrid import Node, Spec, SpecValidationError


def _spec() -> Spec:
    return Spec.single(Node.standard("waygrid://processor/a").label("x" * 300))


def test_json_is_computed_once() -> None:
    """A second to_json() returns the very same text: the spec keeps it."""
    spec = _spec()
    assert spec.to_json() is spec.to_json()
    assert spec.to_json(indent=2) == spec.to_json(indent=2)


def test_memo_is_not_part_of_the_value() -> None:
    """A spec that has written its JSON equals, hashes, pickles and copies like a fresh one."""
    used, fresh = _spec(), _spec()
    used.to_json()
    used.validate()

    assert used == fresh
    assert hash(used) == hash(fresh)
    assert repr(used) == repr(fresh)
    assert pickle.loads(pickle.dumps(used)) == fresh
    assert copy.deepcopy(used).to_json() == fresh.to_json()


def test_warnings_are_computed_once_and_strict_still_raises() -> None:
    """validate() returns a fresh list of the kept warnings; strict=True raises every time."""
    spec = _spec()  # a label over 256 characters: a warning
    first = spec.validate()
    assert [issue.code for issue in first] == ["label-too-long"]
    first.clear()
    assert [issue.code for issue in spec.validate()] == ["label-too-long"]
    for _ in range(2):
        with pytest.raises(SpecValidationError):
            spec.validate(strict=True)
    clean = Spec.single(Node.standard("waygrid://processor/a"))
    assert clean.validate(strict=True) == [] == clean.validate()
